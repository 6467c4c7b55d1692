// SPDX-License-Identifier: MIT
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>
#include "autoxdpd.h"

int daemon_set_interval(int fd, unsigned long long usec)
{
	struct itimerspec its = { .it_interval = { usec / 1000000, (usec % 1000000) * 1000 } };

	its.it_value = its.it_interval;
	return timerfd_settime(fd, 0, &its, NULL);
}

int daemon_timer_fd(unsigned long long usec)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && daemon_set_interval(fd, usec) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
