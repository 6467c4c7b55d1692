/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer targets share: a scratch directory of this process
 * for the parsers that read files, and a loud abort for a broken property
 * (libFuzzer keeps the input that aborted).
 */
#ifndef AXDP_FUZZ_UTIL_H
#define AXDP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* /dev/shm/axdp-fuzz-PID, made once and removed at exit; aborts when it cannot be made. */
const char *fuzz_dir(void);
/* dir/name holds exactly data; the path, in a static buffer overwritten by the next call. */
const char *fuzz_file(const char *name, const uint8_t *data, size_t len);
/* Empties the scratch directory's subdirectory sub (made if missing); its path. */
const char *fuzz_subdir(const char *sub);

#define FUZZ_ASSERT(cond, ...)                                                               \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                   \
			abort();                                                               \
		}                                                                              \
	} while (0)

#endif
