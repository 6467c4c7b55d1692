#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End to end: the .deb in a Debian 12 guest under qemu (TCG by default).
#
#   1. debootstrap a Debian root file system (SUITE=bookworm: 12 with 6.1, or
#      SUITE=trixie: 13 with 6.12), systemd
#      as init, systemd-networkd (DHCP), socat and busybox (udhcpd); cached in
#      build/e2e/base-SUITE/.  The package of BASE_COMMIT (the upgrade's starting
#      point) is built from a git worktree of it, cached in build/e2e/old-src/.
#   2. Copy the base, add both packages, a second object with other map sizes
#      (build/autoxdp-resized.bpf.o) and the guest's test units, make an ext4
#      image of it (mkfs.ext4 -d: no loop device, no mount on the host).
#   3. Boot it with qemu user-mode networking, restrict=on (the guest reaches
#      nothing), hostfwd on 127.0.0.1 only: HOST_OPEN -> guest 8080 (a socat
#      listener), HOST_CLOSED -> guest 9090 (nothing listens), HOST_SESSION ->
#      guest 2222 (a socat echo: the operator's session).
#   4. First boot, in the guest: dpkg -i of the old package; the host opens the
#      session and sends a line every second for as long as the guest wants
#      it, each echoed back.  dpkg -i of the new package (an upgrade: restart,
#      links kept), then a restart onto the resized object (pinned maps of
#      another definition taken over), the session carrying data before,
#      during and after each.  The host probes 8080 and 9090; the guest judges
#      the closed port itself (drop counter up, no RST sent).  DHCP through the
#      firewall: a veth whose far end, in a namespace, runs busybox udhcpd with
#      a 24 s lease: the lease at (re)start, its renewal, its rebinding.
#   5. Second boot, with the new package enabled: how long after the first
#      default route XDP is attached (route event vs. attach).  Then remove
#      (service stopped, 'axdp off': no pins, no XDP left) and purge.
#
# The guest reports on its serial console, with each stage's duration.
# Nothing here touches the host's interfaces or firewall: autoxdpd only ever
# runs inside the guest.  Needs root (debootstrap, chroot) and the Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
E2E=${E2E_DIR:-$BUILD/e2e}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# SUITE=trixie boots Debian 13 instead of Debian 12; the package is the same one, built here.
SUITE=${SUITE:-bookworm}
case $SUITE in
bookworm) KERNEL_SERIES='6\.1\.' LIBELF=libelf1 ;;
trixie) KERNEL_SERIES='6\.12\.' LIBELF=libelf1t64 ;;
*) echo "e2e: SUITE=$SUITE: bookworm or trixie" >&2; exit 2 ;;
esac
ACCEL=${ACCEL:-tcg}
HOST_OPEN=${HOST_OPEN:-18080}
HOST_CLOSED=${HOST_CLOSED:-18090}
HOST_SESSION=${HOST_SESSION:-18022}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}   # seconds until the guest reports ready (TCG is slow)
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
ARCH=$(dpkg --print-architecture)
# DEB=path tests a given package; by default the working tree's is built first.
DEB_GIVEN=${DEB:-}
DEB=${DEB:-$BUILD/pkg/autoxdp_${VERSION}_$ARCH.deb}
# The upgrade starts from the package of BASE_COMMIT, or from OLD_DEB=path.
BASE_COMMIT=${BASE_COMMIT:-e763454}
OLD_DEB=${OLD_DEB:-}
RESIZED=$BUILD/autoxdp-resized.bpf.o
GUEST_PKGS=systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,iproute2,socat,procps,busybox,libbpf1,libcap2,libmnl0,$LIBELF,libsystemd0,zlib1g

say() { echo "e2e: $*"; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

[[ $(id -u) = 0 ]] || die "needs root (debootstrap and chroot)"
need=()
for p in debootstrap qemu-system-x86 qemu-utils e2fsprogs debhelper; do
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
make "$RESIZED" >/dev/null || die "make $RESIZED"
mkdir -p "$E2E"
E2E=$(cd "$E2E" && pwd)

# The package the upgrade starts from, built by that commit's own 'make deb'.
if [[ -z $OLD_DEB ]]; then
	old=$E2E/old-src
	want=$(git rev-parse "$BASE_COMMIT^{commit}") || die "BASE_COMMIT=$BASE_COMMIT is not a commit"
	if [[ $(git -C "$old" rev-parse HEAD 2>/dev/null) != "$want" ]] || ! ls "$old"/build/pkg/autoxdp_*_"$ARCH".deb >/dev/null 2>&1; then
		say "building the package of $BASE_COMMIT in $old"
		git worktree remove --force "$old" 2>/dev/null || rm -rf "$old"
		git worktree prune
		git worktree add --detach "$old" "$want" >/dev/null 2>&1 || die "git worktree add $old $BASE_COMMIT"
		make -C "$old" deb >"$E2E/old-deb.log" 2>&1 || { tail -30 "$E2E/old-deb.log"; die "make deb at $BASE_COMMIT"; }
	fi
	OLD_DEB=$(ls "$old"/build/pkg/autoxdp_*_"$ARCH".deb | head -1)
fi

# ---- 1. The base image, built once (again when the package list changes) ----
base=$E2E/base-$SUITE
if [[ ! -f $base/.complete || $(cat "$base/.complete") != "$GUEST_PKGS" ]]; then
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
	echo "$GUEST_PKGS" >"$base/.complete"
fi

# ---- 2. This run's image ----
run=$E2E/run
rm -rf "$run" && mkdir -p "$run"
say "preparing the guest image: upgrade from $(basename "$OLD_DEB") of $BASE_COMMIT to $(basename "$DEB")"
cp -a "$base" "$run/root"
rm -f "$run/root/.complete"
cp "$OLD_DEB" "$run/root/root/autoxdp-old.deb"
cp "$DEB" "$run/root/root/autoxdp.deb"
# Outside /root: the service's ProtectHome= hides that.
install -D -m 0644 "$RESIZED" "$run/root/usr/local/lib/autoxdp-e2e/autoxdp-resized.bpf.o"
# DHCP from qemu's restricted user network names no router: the default route
# (which autoxdpd protects) is configured statically.  The guest still reaches
# nothing outside: restrict=on drops everything but the hostfwd ports.
mkdir -p "$run/root/etc/systemd/network"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\nGateway=10.0.2.2\nIPv6AcceptRA=no\n' \
	>"$run/root/etc/systemd/network/20-wired.network"
# The DHCP test's client side (the veth is made by the test); its default route makes autoxdpd protect it.
printf '[Match]\nName=dhcp0\n\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n\n[DHCPv4]\nRouteMetric=2048\n' \
	>"$run/root/etc/systemd/network/30-dhcp0.network"
cp "$(ls "$base"/boot/vmlinuz-* | sort -V | tail -1)" "$run/vmlinuz"
cp "$(ls "$base"/boot/initrd.img-* | sort -V | tail -1)" "$run/initrd.img"

# At every boot, before networking: when the first default route appears and when XDP is on its interface.
cat >"$run/root/usr/local/sbin/autoxdp-e2e-boot" <<'GUEST'
#!/bin/sh
out=/run/autoxdp-e2e-boot
ip -ts monitor route >"$out.routes" 2>&1 &
mon=$!
n=0
until dev=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}') && [ -n "$dev" ]; do
	sleep 0.01; n=$((n + 1)); [ $n -lt 30000 ] || exit 1
done
route_seen=$(date +%s.%N)
until ip link show dev "$dev" | grep -q ' xdp'; do
	sleep 0.01; n=$((n + 1)); [ $n -lt 30000 ] || break
done
xdp_seen=$(date +%s.%N)
sleep 1
kill "$mon"
echo "$dev $route_seen $xdp_seen" >"$out.done"
GUEST
chmod 0755 "$run/root/usr/local/sbin/autoxdp-e2e-boot"
cat >"$run/root/etc/systemd/system/autoxdp-e2e-boot.service" <<'UNIT'
[Unit]
Description=autoxdp end-to-end test: route and XDP times at boot
DefaultDependencies=no
Before=network-pre.target systemd-networkd.service

[Service]
Type=simple
ExecStart=/usr/local/sbin/autoxdp-e2e-boot

[Install]
WantedBy=sysinit.target
UNIT
ln -sf /etc/systemd/system/autoxdp-e2e-boot.service "$run/root/etc/systemd/system/sysinit.target.wants/autoxdp-e2e-boot.service"

cat >"$run/root/usr/local/sbin/autoxdp-e2e" <<'GUEST'
#!/bin/sh
# Runs at each boot of the guest; everything it says goes to the serial console.
say() { echo "E2E: $*"; }
journal() { journalctl -u autoxdp -o cat --no-pager "$@" | sed 's/^/E2E-JOURNAL: /'; }
wait_for() { # wait_for SECONDS COMMAND...
	t=$1; shift
	while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 1; t=$((t - 1)); done
	return 1
}
uptime_s() { cut -d. -f1 /proc/uptime; }
stage_name=boot stage_start=0
stage() { # the stage that ends and its duration, then the next begins
	now=$(uptime_s)
	echo "E2E-TIME: $stage_name: $((now - stage_start)) s"
	stage_name=$1 stage_start=$now
}
count() { axdp stats | awk -v a="$1" -v r="$2" '$1 == a && $2 == r {n = $3} END {print n + 0}'; }
tcp_out_rsts() { awk '/^Tcp:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == "OutRsts") c = i; h = 1} else print $c}' /proc/net/snmp; }
session_lines() { wc -l </run/e2e-session.log 2>/dev/null || echo 0; }
more_session() { [ "$(session_lines)" -ge "$1" ]; }
state=/var/lib/autoxdp-e2e
mkdir -p $state
wait_for 60 sh -c 'ip -o route show default | grep -q .'
iface=$(ip -o route show default | awk '{print $5; exit}')

if [ ! -f $state/first-boot-done ]; then
	ip -br addr | sed 's/^/E2E-NET: /'
	say "kernel $(uname -r), systemd $(systemctl --version | awk 'NR==1 {print $2}'), default route via ${iface:-none}"
	stage install-old
	if timeout 300 dpkg -i /root/autoxdp-old.deb >/tmp/dpkg.log 2>&1; then say "dpkg -i: ok"; else say "dpkg -i: failed"; sed 's/^/E2E: /' /tmp/dpkg.log; fi
	wait_for 60 systemctl is-active -q autoxdp
	say "is-enabled: $(systemctl is-enabled autoxdp)"
	say "is-active: $(systemctl is-active autoxdp)"
	say "status: $(systemctl show -P StatusText autoxdp)"
	ip -d link show dev "$iface" | grep -o 'xdp[a-z]* .*' | sed 's/^/E2E-LINK: /'

	# The operator's session: every line the host sends is logged and echoed back.
	socat TCP-LISTEN:2222,reuseaddr,fork SYSTEM:'tee -a /run/e2e-session.log' &
	socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo autoxdp-e2e-hello' &
	wait_for 30 sh -c 'axdp ports | grep -qw 2222 && axdp ports | grep -qw 8080'
	axdp ports | sed 's/^/E2E-PORTS: /'
	echo "E2E-SESSION-READY"
	stage session
	wait_for 180 more_session 3 || say "the host's session did not start"
	say "session: $(session_lines) lines echoed before the upgrade"

	stage upgrade
	since=$(date '+%Y-%m-%d %H:%M:%S')
	before=$(session_lines)
	dpkg -i /root/autoxdp.deb >/tmp/dpkg2.log 2>&1 && say "upgrade dpkg -i: ok" || { say "upgrade dpkg -i: failed"; sed 's/^/E2E: /' /tmp/dpkg2.log; }
	during=$(session_lines)
	wait_for 60 systemctl is-active -q autoxdp
	wait_for 60 more_session $((during + 3)) || say "the session stalled after the upgrade"
	say "session: $((during - before)) lines echoed during dpkg -i, $(($(session_lines) - during)) after"
	say "after upgrade is-active: $(systemctl is-active autoxdp)"
	journal --since "$since"

	# The same sources with other map sizes: what an upgrade that changes a map does to the pins.
	stage takeover
	since=$(date '+%Y-%m-%d %H:%M:%S')
	# A flow the guest opens itself (tc egress records it, IPv4: in conntrack4): the host's session to an
	# open port needs no entry, so without this the table could be empty and carry nothing over.
	bash -c 'echo e2e >/dev/udp/10.0.2.3/53' 2>/dev/null || say "could not send the datagram that opens a flow"
	flows=$(axdp conntrack | grep -c .)
	mkdir -p /etc/autoxdp.conf.d
	printf '[Daemon]\nBpfObject=/usr/local/lib/autoxdp-e2e/autoxdp-resized.bpf.o\n' >/etc/autoxdp.conf.d/e2e-resized.conf
	before=$(session_lines)
	systemctl restart autoxdp && say "restart onto the resized object: ok" || say "restart onto the resized object: failed"
	wait_for 60 systemctl is-active -q autoxdp
	wait_for 60 more_session $((before + 3)) || say "the session stalled after the takeover"
	say "session: $(($(session_lines) - before)) lines echoed across the takeover"
	say "conntrack: $flows lines before the takeover, $(axdp conntrack | grep -c .) after"
	journal --since "$since"
	rm /etc/autoxdp.conf.d/e2e-resized.conf

	stage probes
	closed0=$(count drop tcp_port_closed) open0=$(count pass tcp_port_open) rsts0=$(tcp_out_rsts)
	echo "E2E-PROBE-READY"
	# The host now connects to 8080 and to 9090, where nothing listens.
	probed() { [ "$(count drop tcp_port_closed)" -gt "$closed0" ] && [ "$(count pass tcp_port_open)" -gt "$open0" ]; }
	wait_for 180 probed || say "the host's probes were not seen"
	sleep 3
	axdp stats | sed 's/^/E2E-STATS: /'
	# qemu's forwarding accepts the host's connection itself: only the guest can tell whether 9090 stayed dark.
	say "closed port in the guest: $(($(count drop tcp_port_closed) - closed0)) SYNs dropped, $(($(tcp_out_rsts) - rsts0)) resets sent"
	say "session: $(session_lines) lines echoed in all"
	echo "E2E-SESSION-END"

	stage dhcp
	lft() { ip -o -4 addr show dev dhcp0 2>/dev/null | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p'; }
	leased() { [ -n "$(lft)" ]; }
	# Renewed when the address's lifetime (the lease's) goes up again; lost when the address goes.
	lease_extended() { # SECONDS
		t=$1 prev=$(lft)
		while [ "$t" -gt 0 ] && [ -n "$prev" ]; do
			sleep 1; t=$((t - 1)); cur=$(lft)
			[ -n "$cur" ] && [ "$cur" -gt "$prev" ] && return 0
			prev=$cur
		done
		return 1
	}
	ip netns add dhcpsrv
	ip link add dhcp0 type veth peer name dhcpsrv0
	ip link set dhcpsrv0 netns dhcpsrv
	ip -n dhcpsrv addr add 10.77.0.1/24 dev dhcpsrv0
	ip -n dhcpsrv link set dhcpsrv0 up
	printf 'interface dhcpsrv0\nstart 10.77.0.10\nend 10.77.0.20\nmin_lease 10\nlease_file /run/udhcpd.leases\noption subnet 255.255.255.0\noption router 10.77.0.1\noption lease 24\n' >/run/udhcpd.conf
	: >/run/udhcpd.leases
	ip netns exec dhcpsrv busybox udhcpd -f /run/udhcpd.conf >/run/udhcpd.log 2>&1 &
	ip link set dhcp0 up
	wait_for 60 leased && say "dhcp0: first lease (dhcp0 not yet protected): $(ip -o -4 addr show dev dhcp0 | awk '{print $4}')" || say "dhcp0: no first lease"
	wait_for 30 sh -c 'ip link show dev dhcp0 | grep -q " xdp"' && say "dhcp0: protected" || say "dhcp0: not protected"
	udp0=$(count drop udp_port_closed) dhcp0=$(count pass dhcp_reply)
	# T1 at half the 24 s lease: a unicast REQUEST, the ACK to the socket bound to port 68.
	lease_extended 20 && say "dhcp0: lease renewed: ok" || say "dhcp0: lease renewed: FAILED"
	# The server stops answering ARP: unicast renewals go nowhere, and at T2 the client broadcasts (rebinding).
	ip -n dhcpsrv link set dhcpsrv0 arp off
	ip neigh flush dev dhcp0
	lease_extended 30 && say "dhcp0: lease rebound: ok" || say "dhcp0: lease rebound: FAILED (address $(leased && echo kept || echo lost))"
	ip -n dhcpsrv link set dhcpsrv0 arp on
	# A client starting over (boot, carrier back): DISCOVER/REQUEST, the replies to a port nothing is bound to.
	ip link set dhcp0 down
	wait_for 10 sh -c '! ip -o -4 addr show dev dhcp0 | grep -q inet' || { say "dhcp0: address kept at carrier loss: flushed"; ip addr flush dev dhcp0; }
	ip link set dhcp0 up
	wait_for 30 leased && say "dhcp0: lease at restart through the firewall: ok" || say "dhcp0: lease at restart through the firewall: FAILED"
	say "dhcp: $(($(count drop udp_port_closed) - udp0)) udp_port_closed drops, $(($(count pass dhcp_reply) - dhcp0)) dhcp_reply passes"
	sed 's/^/E2E-UDHCPD: /' /run/udhcpd.log | tail -20
	stage reboot
	touch $state/first-boot-done
	sync
	echo "E2E-FIRST-BOOT-DONE"
	systemctl reboot
	exit 0
fi

# Second boot: the new package was enabled before the network came up.
stage boot-measure
wait_for 120 test -s /run/autoxdp-e2e-boot.done || say "boot: the route watcher did not finish"
read -r dev route_seen xdp_seen </run/autoxdp-e2e-boot.done
first=$(grep -m1 'default' /run/autoxdp-e2e-boot.routes | sed -n 's/^\[\([^]]*\)\].*/\1/p')
route_at=$(date -d "$first" +%s.%N 2>/dev/null || echo "$route_seen")
attached_at=$(journalctl -b -u autoxdp -o short-unix --no-pager | awk -v d="$dev:" '$0 ~ d" protected, XDP" {print $1; exit}')
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%d", (a - b) * 1000}'; }
say "boot: first default route via $dev at ${route_at} (ip monitor), XDP attached at ${attached_at:-?} (journal), seen by polling at $xdp_seen"
say "boot: XDP attached $(ms "${attached_at:-$xdp_seen}" "$route_at") ms after the first default route (polled: $(ms "$xdp_seen" "$route_seen") ms)"
journalctl -b -u autoxdp -o short-monotonic --no-pager | sed 's/^/E2E-BOOT-JOURNAL: /' | head -20
say "boot: is-active: $(systemctl is-active autoxdp)"
# A start that outlasts TimeoutStartSec= is killed and retried: the boot went unprotected that long.
# Reported, not judged: under TCG on a busy host the guest's CPUs starve (RCU stalls) and a start can.
say "boot: restarts of the service: $(systemctl show -P NRestarts autoxdp)"
dmesg | grep -i 'soft lockup' | sed 's/^/E2E-KERNEL: /'

stage remove
dpkg -r autoxdp >/tmp/dpkg3.log 2>&1 && say "dpkg -r: ok" || { say "dpkg -r: failed"; sed 's/^/E2E: /' /tmp/dpkg3.log; }
say "after remove is-active: $(systemctl is-active autoxdp)"
say "after remove pin dir: $(ls -d /sys/fs/bpf/autoxdp 2>/dev/null || echo absent)"
say "after remove xdp on $iface: $(ip link show dev "$iface" | grep -c ' xdp')"
dpkg -P autoxdp >/dev/null 2>&1 && say "dpkg -P: ok" || say "dpkg -P: failed"
say "after purge /etc/autoxdp.conf: $(ls /etc/autoxdp.conf 2>/dev/null || echo absent)"
stage done
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

# ---- 3. Boot (twice: the guest reboots itself once) ----
say "booting the guest (accel=$ACCEL); serial console in $run/serial.log"
: >"$run/serial.log"
qemu-system-x86_64 -machine q35,accel="$ACCEL" -cpu max -smp 2 -m 1536 \
	-kernel "$run/vmlinuz" -initrd "$run/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.show_status=0 systemd.journald.forward_to_console=1" \
	-drive file="$run/disk.img",format=raw,if=virtio \
	-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$HOST_OPEN-:8080,hostfwd=tcp:127.0.0.1:$HOST_CLOSED-:9090,hostfwd=tcp:127.0.0.1:$HOST_SESSION-:2222" \
	-device virtio-net-pci,netdev=n0 \
	-display none -monitor none -serial file:"$run/serial.log" &
qemu=$!
session_pid=
cleanup() {
	kill "$qemu" 2>/dev/null || true
	[[ -z $session_pid ]] || kill "$session_pid" 2>/dev/null || true
}
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

# The operator's session, from the host through qemu's forwarding: a numbered
# line every second, each echoed back before the next (a hang limit, not a
# timing assertion: TCG is slow), until the guest says it has seen enough.
session() {
	local i=0 line
	exec 3<>"/dev/tcp/127.0.0.1/$HOST_SESSION" || { echo "session: connect failed"; return 1; }
	until grep -q E2E-SESSION-END "$run/serial.log"; do
		i=$((i + 1))
		printf 'line %d\n' "$i" >&3
		if ! IFS= read -r -t 60 line <&3 || [[ $line != "line $i" ]]; then
			echo "session: line $i not echoed (got '${line:-nothing}')"
			return 1
		fi
		sleep 1
	done
	echo "session: all $i lines echoed"
}

start=$SECONDS
waitlog E2E-SESSION-READY "$BOOT_TIMEOUT" || { tail -40 "$run/serial.log"; die "guest not ready after $((SECONDS - start)) s"; }
say "guest ready after $((SECONDS - start)) s"
session >"$run/session.log" 2>&1 &
session_pid=$!

# ---- 4. Probe from outside the guest (127.0.0.1 only) ----
waitlog E2E-PROBE-READY 900 || { tail -40 "$run/serial.log"; die "guest did not get to the probes"; }
banner=$(timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOST_OPEN; timeout 10 head -1 <&3" 2>/dev/null || true)
timeout 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOST_CLOSED; timeout 10 head -1 <&3" >/dev/null 2>&1 || true
say "open port answered: '${banner}'"
wait "$session_pid" || true
session_pid=
cat "$run/session.log"
waitlog E2E-GUEST-DONE 900 || { tail -40 "$run/serial.log"; die "guest did not finish"; }
wait "$qemu" 2>/dev/null || true
trap - EXIT
say "whole guest run: $((SECONDS - start)) s"

# ---- Verdict ----
log=$run/serial.log
tr -d '\r' <"$log" | grep -E '^E2E' >"$run/e2e.log" || true
cat "$run/e2e.log"
has() { grep -qE "$1" "$run/e2e.log"; }
check() { if has "$2"; then ok "$1"; else ko "$1"; fi; }
check "guest runs $SUITE's kernel" "E2E: kernel $KERNEL_SERIES"
check "dpkg -i of $BASE_COMMIT's package succeeded" 'E2E: dpkg -i: ok'
check "service enabled on install" 'E2E: is-enabled: enabled'
check "service active on install" 'E2E: is-active: active'
check "journal: interface protected" 'E2E-JOURNAL: .*protected, XDP'
check "axdp ports lists 8080" 'E2E-PORTS: tcp +8080'
check "upgrade dpkg -i succeeded" 'E2E: upgrade dpkg -i: ok'
check "upgrade restarts the service" 'E2E: after upgrade is-active: active'
check "upgrade keeps the pinned links" 'E2E-JOURNAL: .*existing links kept'
check "session carried data during and after dpkg -i" 'E2E: session: [1-9][0-9]* lines echoed during dpkg -i, [1-9][0-9]* after'
check "restart onto the resized object" 'E2E: restart onto the resized object: ok'
check "changed maps taken over, conntrack carried over" 'E2E-JOURNAL: pinned maps of another definition taken over .*conntrack4 \([0-9]+ entries of [0-9]+ bytes, was [0-9]+ of [0-9]+\): [1-9][0-9]* entries carried over'
check "session carried data across the takeover" 'E2E: session: [1-9][0-9]* lines echoed across the takeover'
if grep -q '^session: all [0-9]* lines echoed' "$run/session.log"; then ok "host's session: every line echoed"; else ko "host's session: every line echoed"; fi
if [[ $banner == autoxdp-e2e-hello ]]; then ok "listener reachable from outside the guest"; else ko "listener reachable from outside the guest"; fi
check "closed port: SYNs dropped in the guest, no reset sent" 'E2E: closed port in the guest: [1-9][0-9]* SYNs dropped, 0 resets sent'
check "open port's packets passed (tcp_port_open > 0)" 'E2E-STATS: pass +tcp_port_open +[1-9]'
check "DHCP: first lease" 'E2E: dhcp0: first lease'
check "DHCP: the lease's interface protected" 'E2E: dhcp0: protected'
check "DHCP: lease at restart through the firewall" 'E2E: dhcp0: lease at restart through the firewall: ok'
check "DHCP: renewal through the firewall" 'E2E: dhcp0: lease renewed: ok'
check "DHCP: rebinding through the firewall" 'E2E: dhcp0: lease rebound: ok'
check "boot: attach delay after the first default route measured" 'E2E: boot: XDP attached -?[0-9]+ ms after the first default route'
check "boot: service active" 'E2E: boot: is-active: active'
check "remove stops the service" 'E2E: after remove is-active: (inactive|unknown)'
check "remove turns protection off (no pins)" 'E2E: after remove pin dir: absent'
check "remove leaves no XDP program" "E2E: after remove xdp on [^:]+: 0"
check "purge removes /etc/autoxdp.conf" 'E2E: after purge /etc/autoxdp.conf: absent'
grep -E '^E2E-TIME:|^E2E: boot: (XDP attached|restarts)' "$run/e2e.log" || true
echo "e2e-qemu: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
((fail == 0))
