#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/run-tests must fail a suite whose report is missing, short or
# another suite's, or that hangs.  Runs it on stand-in suites: a real criterion binary
# whose runner is killed mid-run, scripts that write a short report or
# none, after a suite that passed.  Usage: tests/run-tests-selftest.sh [DIR]
# (scratch directory, default a fresh one under /tmp).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$(mktemp -d /tmp/axdp-run-tests-selftest.XXXXXX)}
mkdir -p "$dir"
trap '[ -n "${1:-}" ] || rm -rf "$dir"' EXIT
fails=0

# A criterion suite of two tests: the first passes, the second kills the
# runner (its parent) before any report is written.
cat > "$dir/killed.c" <<'C'
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>
Test(selftest, passes) { cr_assert(1); }
Test(selftest, kills_its_runner) { kill(getppid(), SIGKILL); pause(); }
C
cat > "$dir/good.c" <<'C'
#include <criterion/criterion.h>
Test(selftest, one) { cr_assert(1); }
Test(selftest, two) { cr_assert(1); }
C
for s in killed good; do
	cc -o "$dir/$s" "$dir/$s.c" -lcriterion
done

# Stand-ins for a runner that exits 0 with a report cut short, or none.
cat > "$dir/short" <<'SH'
#!/bin/sh
for a; do case $a in --tap=*) tap=${a#--tap=} ;; esac; done
printf 'TAP version 13\n1..3\nok 1 - a\nok 2 - b\n' > "$tap"
SH
printf '#!/bin/sh\nexit 0\n' > "$dir/silent"
# A suite that hangs before its report: killed at RUN_TESTS_LIMIT.
printf '#!/bin/sh\nexec sleep 600\n' > "$dir/hangs"
chmod +x "$dir/short" "$dir/silent" "$dir/hangs"

# expect WANT_RC WANT_SUMMARY SUITE...: run-tests on the suites, its exit status and last line.
expect() {
	want_rc=$1 want=$2
	shift 2
	out=$("$here/run-tests" "$@" 2>"$dir/stderr") && rc=0 || rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [ "$rc" -ne "$want_rc" ] || [ "$last" != "$want" ]; then
		echo "FAIL run-tests ${*##*/}: exit $rc, '$last'; expected exit $want_rc, '$want'" >&2
		sed 's/^/  /' "$dir/stderr" >&2
		fails=$((fails + 1))
	else
		echo "ok: run-tests ${*##*/}: $last"
	fi
}

expect 0 "2 passed, 0 failed, 0 skipped" "$dir/good"
expect 1 "2 passed, 1 failed, 0 skipped" "$dir/good" "$dir/killed"
expect 1 "2 passed, 1 failed, 0 skipped" "$dir/good" "$dir/silent"
expect 1 "4 passed, 1 failed, 0 skipped" "$dir/good" "$dir/short"
RUN_TESTS_LIMIT=2 expect 1 "2 passed, 1 failed, 0 skipped" "$dir/good" "$dir/hangs"
if [ "$fails" -ne 0 ]; then
	echo "run-tests self-test: $fails FAILED" >&2
	exit 1
fi
echo "run-tests self-test: PASS"
