#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The verifier check (tests/verifier-kernels.sh) on the other Debian kernels:
# 11's 5.10 and 13's 6.12, booted under qemu the same way as 12's 6.1.  Their
# linux-image .debs come from deb.debian.org through apt with a sources list
# of their own (build/verifier/apt-SUITE), cached like the 6.1 one.
#
# 5.10 is older than the object and must refuse it, for the reason that sets
# the floor: the BPF atomic instructions clang emits for -mcpu=v3
# (__sync_fetch_and_add with its result, xchg, cmpxchg), which kernels know
# from 5.12 ("BPF_STX uses reserved fields" before).  6.1 is the oldest
# kernel checked that loads it.  autoxdpd then protects with nftables alone:
# tests/test_nftables.c (nft/object_the_kernel_refuses_nftables_alone) loads
# an object the running kernel refuses.
#
#   OBJ=path   the object to check (default: build/autoxdp.bpf.o)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
VK=${VK_DIR:-$BUILD/verifier}
OBJ=${OBJ:-$BUILD/autoxdp.bpf.o}
say() { echo "verifier-matrix: $*"; }
die() { echo "verifier-matrix: FAIL: $*" >&2; exit 1; }

# suite, kernel version, expected result, what a refusal's log must say
kernels=(
	"bullseye 5.10 FAIL BPF_STX uses reserved fields"
	"trixie 6.12 PASS"
)

# The linux-image-VERSION*-amd64 .deb of suite, downloaded once into $VK.
fetch() {
	local suite=$1 ver=$2 dir=$PWD/$VK/apt-$1 pkg deb
	deb=$(ls "$VK"/linux-image-"$ver".*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)
	if [[ -z $deb ]]; then
		mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
			>"$dir/sources.list"
		local opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/none"
			    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o APT::Sandbox::User=root)
		apt-get "${opts[@]}" update -qq >&2 || die "apt-get update for $suite"
		pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
		[[ $pkg == linux-image-$ver.* ]] || die "$suite's linux-image-amd64 is '$pkg', not $ver"
		say "downloading $pkg ($suite)" >&2
		(cd "$VK" && apt-get "${opts[@]}" download -qq "$pkg" >&2) || die "apt-get download $pkg"
		deb=$(ls "$VK"/"$pkg"_*.deb)
	fi
	echo "$deb"
}

mkdir -p "$VK"
rc=0
for k in "${kernels[@]}"; do
	read -r suite ver want why <<<"$k"
	deb=$(fetch "$suite" "$ver")
	say "$suite ($ver): expecting $want"
	if KERNEL_DEB=$deb HOST=0 OBJ=$OBJ BUILD=$BUILD tests/verifier-kernels.sh; then got=PASS; else got=FAIL; fi
	cp "$VK/guest.log" "$VK/guest-$suite.log"
	if [[ $got != "$want" ]]; then
		say "FAIL: $suite: expected $want, got $got (log: $VK/guest-$suite.log)"
		rc=1
	elif [[ -n ${why:-} ]] && ! grep -q "$why" "$VK/guest-$suite.log"; then
		say "FAIL: $suite refused the object, but not for '$why' (log: $VK/guest-$suite.log)"
		rc=1
	else
		say "$suite: $got as expected"
	fi
done
exit "$rc"
