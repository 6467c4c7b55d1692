// SPDX-License-Identifier: MIT
/*
 * make check SANITIZE=1: the test programs keep their fixtures' memory
 * until the per-test process ends (criterion forks one per test), so leak
 * reports of theirs are noise.  This hook is the test binaries' own; the
 * daemon and axdp they run keep leak detection, and every other ASan and
 * UBSan check stays on in the tests too.  Unused without the sanitizers.
 */
const char *__lsan_default_options(void);

const char *__lsan_default_options(void)
{
	return "detect_leaks=0";
}
