#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Does the verifier accept the data path object?  Asks the running kernel
# and Debian 12's stock 6.1 kernel, the oldest we ship for: the 6.1
# verifier tracks bounds and prunes states worse, so an object that loads
# here can still be refused there.
#
#   1. The running kernel: every program loaded (nothing attached) with pins
#      in a throwaway directory under /sys/fs/bpf (bpffs mounted there first
#      when missing, tests/lib/mount-bpffs), removed afterwards.
#   2. Debian's 6.1 kernel under qemu (TCG unless ACCEL=kvm), no network,
#      booted straight into a tiny initramfs: busybox, the statically linked
#      tests/verifier-load.c and the object.  The guest reports on its
#      serial console and powers off.
#
# Each load is repeated under the daemon's default knobs, all features on
# and all off (tests/verifier-load.c says why).  Cached in build/verifier/:
# the kernel .deb (fetched with apt-get download once), its vmlinuz, the
# loader.  Needs root (the host load, apt).
#
#   OBJ=path       check this object instead of building build/autoxdp.bpf.o
#   KERNEL_DEB=p   boot the kernel of this linux-image .deb instead
#   HOST=0         skip the running kernel;  GUEST=0  skip the 6.1 guest
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
VK=${VK_DIR:-$BUILD/verifier}
ACCEL=${ACCEL:-tcg}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600}
HOST=${HOST:-1}
GUEST=${GUEST:-1}

say() { echo "check-verifier: $*"; }
die() { echo "check-verifier: FAIL: $*" >&2; exit 1; }

[[ $(id -u) = 0 ]] || die "needs root (loading BPF on this host, apt)"
need=()
for p in qemu-system-x86 busybox-static cpio gcc libbpf-dev libelf-dev zlib1g-dev; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if ((${#need[@]})); then
	say "installing ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$VK"

if [[ -z ${OBJ:-} ]]; then
	OBJ=$BUILD/autoxdp.bpf.o
	make --no-print-directory -s BUILD="$BUILD" "$OBJ"
fi
[[ -f $OBJ ]] || die "no object $OBJ"

# Static: the initramfs has no libraries, and the host's libbpf is the one Debian 12 ships.
loader=$VK/verifier-load
if [[ ! -x $loader || tests/verifier-load.c -nt $loader || bpf/autoxdp_abi.h -nt $loader ]]; then
	gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Ibpf -static tests/verifier-load.c -o "$loader" \
		-l:libbpf.a -l:libelf.a -l:libz.a || die "building $loader"
fi

rc=0
verdicts=()
# report NAME LOG: the loader's lines, then the verdict.
report() {
	sed -n -e 's/^VERIFIER: \([^ ]* [^ ]*\) processed \([0-9]*\) insns .* total_states \([0-9]*\) .*/  \1: \2 insns, \3 states/p' \
		-e '/ processed [0-9]* insns /!s/^VERIFIER\(-LOG\)\{0,1\}: /  /p' "$2"
	if grep -q '^VERIFIER-RESULT: PASS' "$2"; then
		verdicts+=("PASS $1")
	else
		verdicts+=("FAIL $1 (log: $2)")
		rc=1
	fi
}

# ---- 1. The running kernel ----
if [[ $HOST != 0 ]]; then
	pins=/sys/fs/bpf/autoxdp-verifier-$$   # bpffs refuses names with dots
	tests/lib/mount-bpffs || exit 1
	trap 'rm -rf "$pins"' EXIT
	mkdir "$pins"
	say "running kernel $(uname -r)"
	"$loader" "$OBJ" "$pins" >"$VK/host.log" 2>&1 || true
	rm -rf "$pins"
	trap - EXIT
	report "$(uname -r) (this host)" "$VK/host.log"
fi

# ---- 2. Debian 12's 6.1 kernel under qemu ----
if [[ $GUEST != 0 ]]; then
	# `|| true`: with nothing cached yet ls fails, and pipefail would end the script here.
	deb=${KERNEL_DEB:-$(ls "$VK"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)}
	if [[ -z $deb ]]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\.0-/ {print $2; exit}')
		[[ -n $pkg ]] || die "apt knows no linux-image-6.1.0-*-amd64 (is this Debian 12?)"
		say "downloading $pkg"
		(cd "$VK" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") || die "apt-get download $pkg"
		deb=$(ls "$VK"/"$pkg"_*.deb)
	fi
	kernel=$VK/vmlinuz-$(basename "$deb" .deb)
	if [[ ! -s $kernel ]]; then
		dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/vmlinuz-*' >"$kernel.tmp" || die "no vmlinuz in $deb"
		mv "$kernel.tmp" "$kernel"
	fi

	root=$VK/initramfs
	rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys}
	cp /bin/busybox "$root/bin/busybox"
	# The kernel gives init this console only if the node is in the archive.
	mknod -m 600 "$root/dev/console" c 5 1
	cp "$loader" "$root/bin/verifier-load"
	cp "$OBJ" "$root/autoxdp.bpf.o"
	cat >"$root/init" <<-'INIT'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t bpf bpf /sys/fs/bpf
	mkdir /sys/fs/bpf/check
	verifier-load /autoxdp.bpf.o /sys/fs/bpf/check
	echo "VERIFIER-EXIT: $?"
	poweroff -f
	INIT
	chmod 0755 "$root/init"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$VK/initramfs.cpio"

	name=$(basename "$kernel" | sed 's/^vmlinuz-linux-image-\([^_]*\)_.*/\1/')
	say "$name under qemu (accel=$ACCEL); console in $VK/guest.log"
	start=$SECONDS
	timeout "$GUEST_TIMEOUT" qemu-system-x86_64 -machine accel="$ACCEL" -cpu max -smp 1 -m 1G \
		-nographic -no-user-config -nic none -no-reboot \
		-kernel "$kernel" -initrd "$VK/initramfs.cpio" \
		-append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null 2>&1 |
		tr -d '\r' >"$VK/guest.log" || true
	if grep -q '^VERIFIER-EXIT:' "$VK/guest.log"; then
		say "guest done after $((SECONDS - start)) s"
	else
		tail -20 "$VK/guest.log"
		say "the guest stopped without a verdict after $((SECONDS - start)) s (timeout ${GUEST_TIMEOUT}s)"
	fi
	report "$name (qemu)" "$VK/guest.log"
fi

for v in "${verdicts[@]}"; do say "$v"; done
exit "$rc"
