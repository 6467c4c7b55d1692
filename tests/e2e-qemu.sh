#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End to end: the .deb in a Debian 12 guest under qemu (TCG by default).
#
#   1. debootstrap a bookworm root file system with Debian's 6.1 kernel, systemd
#      as init, systemd-networkd (DHCP) and socat; cached in build/e2e/base/.
#   2. Copy it, add build/pkg/autoxdp_*.deb and a one-shot test unit, make an
#      ext4 image of it (mkfs.ext4 -d: no loop device, no mount on the host).
#   3. Boot it with qemu user-mode networking, restrict=on (the guest reaches
#      nothing), hostfwd on 127.0.0.1 only: HOST_OPEN -> guest 8080 (a socat
#      listener), HOST_CLOSED -> guest 9090 (nothing listens).
#   4. In the guest: dpkg -i (postinst enables and starts the service), the
#      service is active, the journal shows the port lines, then the host
#      connects: 8080 answers, the SYNs to 9090 are dropped (drop
#      tcp_port_closed counts them).  Then an upgrade (dpkg -i again: restart,
#      existing links kept), a remove (service stopped, 'axdp off': no pins,
#      no XDP left), a purge.  The guest reports on its serial console.
#
# Nothing here touches the host's interfaces or firewall: autoxdpd only ever
# runs inside the guest.  Needs root (debootstrap, chroot) and the Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
E2E=${E2E_DIR:-$BUILD/e2e}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ACCEL=${ACCEL:-tcg}
HOST_OPEN=${HOST_OPEN:-18080}
HOST_CLOSED=${HOST_CLOSED:-18090}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}   # seconds until the guest reports ready (TCG is slow)
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
# DEB=path tests a given package; by default the working tree's is built first.
DEB_GIVEN=${DEB:-}
DEB=${DEB:-$BUILD/pkg/autoxdp_${VERSION}_$(dpkg --print-architecture).deb}
GUEST_PKGS=systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,iproute2,socat,procps,libbpf1,libcap2,libelf1,libsystemd0,zlib1g

say() { echo "e2e: $*"; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

[[ $(id -u) = 0 ]] || die "needs root (debootstrap and chroot)"
need=()
for p in debootstrap qemu-system-x86 qemu-utils e2fsprogs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if ((${#need[@]})); then
	say "installing ${need[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ -z $DEB_GIVEN ]]; then
	say "building $DEB"
	make deb >"$BUILD/deb.log" 2>&1 || { tail -30 "$BUILD/deb.log"; die "make deb"; }
fi
mkdir -p "$E2E"
E2E=$(cd "$E2E" && pwd)

# ---- 1. The base image, built once ----
base=$E2E/base
if [[ ! -f $base/.complete ]]; then
	say "debootstrap $SUITE into $base (a few minutes)"
	rm -rf "$base"
	debootstrap --variant=minbase --include="$GUEST_PKGS" "$SUITE" "$base" "$MIRROR" >"$E2E/debootstrap.log" 2>&1 ||
		{ tail -30 "$E2E/debootstrap.log"; die "debootstrap"; }
	echo autoxdp-e2e >"$base/etc/hostname"
	printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$base/etc/fstab"
	chroot "$base" systemctl enable systemd-networkd.service systemd-networkd-wait-online.service >/dev/null 2>&1
	chroot "$base" passwd -d root >/dev/null
	chroot "$base" apt-get clean
	ls "$base"/boot/vmlinuz-* "$base"/boot/initrd.img-* >/dev/null || die "no kernel or initrd in $base/boot"
	touch "$base/.complete"
fi

# ---- 2. This run's image ----
run=$E2E/run
rm -rf "$run" && mkdir -p "$run"
say "preparing the guest image"
cp -a "$base" "$run/root"
rm -f "$run/root/.complete"
cp "$DEB" "$run/root/root/autoxdp.deb"
# DHCP from qemu's restricted user network names no router: the default route
# (which autoxdpd protects) is configured statically.  The guest still reaches
# nothing outside: restrict=on drops everything but the hostfwd ports.
mkdir -p "$run/root/etc/systemd/network"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\nGateway=10.0.2.2\nIPv6AcceptRA=no\n' \
	>"$run/root/etc/systemd/network/20-wired.network"
cp "$(ls "$base"/boot/vmlinuz-* | sort -V | tail -1)" "$run/vmlinuz"
cp "$(ls "$base"/boot/initrd.img-* | sort -V | tail -1)" "$run/initrd.img"

cat >"$run/root/usr/local/sbin/autoxdp-e2e" <<'GUEST'
#!/bin/sh
# Runs once in the guest; everything it says goes to the serial console.
say() { echo "E2E: $*"; }
journal() { journalctl -u autoxdp -o cat --no-pager "$@" | sed 's/^/E2E-JOURNAL: /'; }
wait_for() { # wait_for SECONDS COMMAND...
	t=$1; shift
	while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 1; t=$((t - 1)); done
	return 1
}
wait_for 60 sh -c 'ip -o route show default | grep -q .'
iface=$(ip -o route show default | awk '{print $5; exit}')
ip -br addr | sed 's/^/E2E-NET: /'
say "kernel $(uname -r), systemd $(systemctl --version | awk 'NR==1 {print $2}'), default route via ${iface:-none}"

say "installing the package"
if timeout 300 dpkg -i /root/autoxdp.deb >/tmp/dpkg.log 2>&1; then say "dpkg -i: ok"; else say "dpkg -i: failed"; sed 's/^/E2E: /' /tmp/dpkg.log; fi
wait_for 60 systemctl is-active -q autoxdp
say "is-enabled: $(systemctl is-enabled autoxdp)"
say "is-active: $(systemctl is-active autoxdp)"
say "status: $(systemctl show -P StatusText autoxdp)"
systemctl status --no-pager autoxdp | sed 's/^/E2E-STATUS: /'
ip -d link show dev "$iface" | grep -o 'xdp[a-z]* .*' | sed 's/^/E2E-LINK: /'

socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo autoxdp-e2e-hello' &
wait_for 30 sh -c 'axdp ports | grep -qw 8080'
axdp ports | sed 's/^/E2E-PORTS: /'
sleep 1
journal
echo "E2E-GUEST-READY"

# The host now connects to 8080 and to 9090, where nothing listens.
count() { axdp stats | awk -v a="$1" -v r="$2" '$1 == a && $2 == r {n = $3} END {print n + 0}'; }
probed() { [ "$(count drop tcp_port_closed)" -gt 0 ] && [ "$(count pass tcp_port_open)" -gt 0 ]; }
wait_for 180 probed || say "the host's probes were not seen"
sleep 3
axdp stats | sed 's/^/E2E-STATS: /'
say "closed-port drops: $(count drop tcp_port_closed)"

say "upgrade: installing the same package again"
since=$(date '+%Y-%m-%d %H:%M:%S')
dpkg -i /root/autoxdp.deb >/tmp/dpkg2.log 2>&1 && say "upgrade dpkg -i: ok" || say "upgrade dpkg -i: failed"
wait_for 60 systemctl is-active -q autoxdp
sleep 2
say "after upgrade is-active: $(systemctl is-active autoxdp)"
journal --since "$since"

say "removing the package"
dpkg -r autoxdp >/tmp/dpkg3.log 2>&1 && say "dpkg -r: ok" || { say "dpkg -r: failed"; sed 's/^/E2E: /' /tmp/dpkg3.log; }
say "after remove is-active: $(systemctl is-active autoxdp)"
say "after remove pin dir: $(ls -d /sys/fs/bpf/autoxdp 2>/dev/null || echo absent)"
say "after remove xdp on $iface: $(ip link show dev "$iface" | grep -c ' xdp')"
dpkg -P autoxdp >/dev/null 2>&1 && say "dpkg -P: ok" || say "dpkg -P: failed"
say "after purge /etc/autoxdp.conf: $(ls /etc/autoxdp.conf 2>/dev/null || echo absent)"
echo "E2E-GUEST-DONE"
systemctl poweroff
GUEST
chmod 0755 "$run/root/usr/local/sbin/autoxdp-e2e"
cat >"$run/root/etc/systemd/system/autoxdp-e2e.service" <<'UNIT'
[Unit]
Description=autoxdp end-to-end test
Wants=network-online.target
After=network-online.target multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/autoxdp-e2e
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/autoxdp-e2e.service "$run/root/etc/systemd/system/multi-user.target.wants/autoxdp-e2e.service"
# A getty on the serial console would hang up the test's output (vhangup).
ln -sf /dev/null "$run/root/etc/systemd/system/serial-getty@ttyS0.service"

mkfs.ext4 -q -F -L root -d "$run/root" "$run/disk.img" 3G >/dev/null || die "mkfs.ext4 -d"
rm -rf "$run/root"

# ---- 3. Boot ----
say "booting the guest (accel=$ACCEL); serial console in $run/serial.log"
: >"$run/serial.log"
qemu-system-x86_64 -machine q35,accel="$ACCEL" -cpu max -smp 2 -m 1536 \
	-kernel "$run/vmlinuz" -initrd "$run/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.show_status=0 systemd.journald.forward_to_console=1" \
	-drive file="$run/disk.img",format=raw,if=virtio \
	-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$HOST_OPEN-:8080,hostfwd=tcp:127.0.0.1:$HOST_CLOSED-:9090" \
	-device virtio-net-pci,netdev=n0 \
	-display none -monitor none -serial file:"$run/serial.log" -no-reboot &
qemu=$!
cleanup() { kill "$qemu" 2>/dev/null || true; }
trap cleanup EXIT

waitlog() { # waitlog PATTERN SECONDS
	local t=$2
	while ((t > 0)); do
		grep -q "$1" "$run/serial.log" && return 0
		kill -0 "$qemu" 2>/dev/null || return 1
		sleep 2; t=$((t - 2))
	done
	return 1
}
start=$SECONDS
waitlog E2E-GUEST-READY "$BOOT_TIMEOUT" || { tail -40 "$run/serial.log"; die "guest not ready after $((SECONDS - start)) s"; }
say "guest ready after $((SECONDS - start)) s"

# ---- 4. Probe from outside the guest (127.0.0.1 only) ----
banner=$(timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOST_OPEN; timeout 10 head -1 <&3" 2>/dev/null || true)
closed=$(timeout 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOST_CLOSED; timeout 10 head -1 <&3" 2>/dev/null || true)
say "open port answered: '${banner}'; closed port answered: '${closed}'"
waitlog E2E-GUEST-DONE 600 || { tail -40 "$run/serial.log"; die "guest did not finish"; }
wait "$qemu" 2>/dev/null || true
trap - EXIT

# ---- Verdict ----
log=$run/serial.log
tr -d '\r' <"$log" | grep -E '^E2E' >"$run/e2e.log" || true
cat "$run/e2e.log"
has() { grep -qE "$1" "$run/e2e.log"; }
check() { if has "$2"; then ok "$1"; else ko "$1"; fi; }
check "guest runs Debian's 6.1 kernel" 'E2E: kernel 6\.1\.'
check "dpkg -i succeeded" 'E2E: dpkg -i: ok'
check "service enabled on install" 'E2E: is-enabled: enabled'
check "service active on install" 'E2E: is-active: active'
check "journal: interface protected" 'E2E-JOURNAL: .*protected, XDP'
check "journal: tcp/8080 opened for socat" 'E2E-JOURNAL: opened tcp/8080 for socat'
check "axdp ports lists 8080" 'E2E-PORTS: tcp +8080'
if [[ $banner == autoxdp-e2e-hello ]]; then ok "listener reachable from outside the guest"; else ko "listener reachable from outside the guest"; fi
if [[ -z $closed ]]; then ok "closed port gives nothing from outside"; else ko "closed port gives nothing from outside"; fi
check "closed port's SYNs dropped (tcp_port_closed > 0)" 'E2E-STATS: drop +tcp_port_closed +[1-9]'
check "open port's packets passed (tcp_port_open > 0)" 'E2E-STATS: pass +tcp_port_open +[1-9]'
check "upgrade restarts the service" 'E2E: after upgrade is-active: active'
check "upgrade keeps the pinned links" 'E2E-JOURNAL: .*existing links kept'
check "remove stops the service" 'E2E: after remove is-active: (inactive|unknown)'
check "remove turns protection off (no pins)" 'E2E: after remove pin dir: absent'
check "remove leaves no XDP program" "E2E: after remove xdp on [^:]+: 0"
check "purge removes /etc/autoxdp.conf" 'E2E: after purge /etc/autoxdp.conf: absent'
echo "e2e-qemu: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
((fail == 0))
