#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `sudo make demo`: autoxdp protecting the server side of two throwaway
# network namespaces.  Builds nothing (make did); touches no interface of
# this machine; removes everything it made, even when interrupted.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${AXDP_BUILD:-build}
[[ $build = /* ]] || build=$root/$build
daemon=$build/autoxdpd
axdp=$build/axdp
object=$build/autoxdp.bpf.o

srv=axdp-demo-srv-$$
cln=axdp-demo-cli-$$
pin=/sys/fs/bpf/axdp-demo-$$
net=10.200.$(($$ % 250 + 1))
srv_ip=$net.1
cli_ip=$net.2
open_port=8080
closed_port=9
tmp=
daemon_pid=
listener_pid=

if [[ -t 1 ]]; then bold=$'\e[1m' plain=$'\e[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# axdp where an operator runs it: beside the daemon, so interface names resolve in its namespace.
axdp_srv() {
	nsenter --net="/run/netns/$srv" "$axdp" --config "$tmp/autoxdp.conf" --pin-dir "$pin" "$@"
}

stop() { # pid: end a process this script started, and reap it
	if [[ -n $1 ]] && kill "$1" 2>/dev/null; then wait "$1" 2>/dev/null || true; fi
}

cleanup() {
	local rc=$?
	set +e
	stop "$listener_pid"
	stop "$daemon_pid"
	if [[ -e $pin ]]; then
		axdp_srv off >/dev/null 2>&1
		# Should 'axdp off' fail, unpinned links are released, and the veth goes with its namespace.
		[[ -e $pin ]] && rm -rf "$pin"
	fi
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cln" 2>/dev/null
	[[ -n $tmp ]] && rm -rf "$tmp"
	((rc == 0)) || echo "demo: stopped (exit $rc); everything it made is removed" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_cli() { nsenter --net="/run/netns/$cln" "$@"; }

# From the client: "answered: LINE", "refused" (the server's stack sent a reset) or "no answer".
probe() {
	local out rc=0
	out=$(in_cli timeout 2 bash -c "exec 3<>/dev/tcp/$srv_ip/$1 && timeout 1 head -n 1 <&3" 2>/dev/null) || rc=$?
	case $rc in
	0) echo "answered: ${out:-(connected)}" ;;
	124) echo "no answer" ;;
	*) echo "refused" ;;
	esac
}

show_probe() { # port, expected result prefix
	local got
	got=$(probe "$1")
	printf '   client -> %s:%s  %s\n' "$srv_ip" "$1" "$got"
	[[ $got == "$2"* ]] || die "port $1: expected '$2', got '$got'"
}

((EUID == 0)) || die "run as root: sudo make demo"
for f in "$daemon" "$axdp" "$object"; do [[ -e $f ]] || die "$f is missing: run 'make' first"; done
for c in ip nsenter timeout perl; do command -v "$c" >/dev/null || die "'$c' not found"; done
tmp=$(mktemp -d)
# The built-in defaults, whatever /etc/autoxdp.conf says; the pid file stays in the scratch directory.
printf '[Daemon]\nPidFile=%s/autoxdpd.pid\n' "$tmp" >"$tmp/autoxdp.conf"

say "Two throwaway namespaces: $srv (server, $srv_ip) and $cln (client, $cli_ip)"
ip netns add "$srv"
ip netns add "$cln"
ip -n "$srv" link set lo up
ip -n "$cln" link set lo up
# Created inside the server namespace, the peer sent straight on: the host never sees either end.
ip -n "$srv" link add veth-srv mtu 1500 type veth peer name veth-cli mtu 1500 netns "$cln"
ip -n "$srv" link set veth-srv up
ip -n "$cln" link set veth-cli up
ip -n "$srv" addr add "$srv_ip/24" dev veth-srv
ip -n "$cln" addr add "$cli_ip/24" dev veth-cli

say "Unprotected, a port where nothing listens refuses at once (the server's stack answers with a reset)"
show_probe "$closed_port" refused

say "autoxdpd starts on the server side: XDP on veth-srv, tc egress, socket hooks"
# nsenter, not in_srv: a function in the background is a subshell, and $! would not be the daemon.
nsenter --net="/run/netns/$srv" "$daemon" --config "$tmp/autoxdp.conf" --interface veth-srv --pin-dir "$pin" \
	--bpf-object "$object" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 50); do
	ip -n "$srv" -d link show dev veth-srv | grep -q 'prog/xdp' && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log" >&2; die "autoxdpd exited"; }
	sleep 0.1
done
ip -n "$srv" -d link show dev veth-srv | grep -q 'prog/xdp' || { cat "$tmp/daemon.log" >&2; die "no XDP program on veth-srv after 5 s"; }
mode=native
ip -n "$srv" link show dev veth-srv | grep -q xdpgeneric && mode=generic
echo "   protecting veth-srv, XDP in $mode mode"

say "Now the same closed port gets no answer at all: the SYN is dropped in the driver"
show_probe "$closed_port" "no answer"

say "A service starts listening on port $open_port; nobody writes a rule"
# shellcheck disable=SC2016 # perl's variables, not the shell's
nsenter --net="/run/netns/$srv" perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $ARGV[0], Listen => 8, ReuseAddr => 1)
		or die "listen on port $ARGV[0]: $!\n";
	while (my $c = $s->accept) { print $c "hello from the protected server\n"; close $c }' "$open_port" &
listener_pid=$!
for _ in $(seq 50); do
	[[ $(probe "$open_port") == answered* ]] && break
	kill -0 "$listener_pid" 2>/dev/null || die "the listener on port $open_port exited"
	sleep 0.1
done
show_probe "$open_port" answered

say "What protects the server (axdp status)"
axdp_srv status

say "Counters (axdp stats, rows that are not zero)"
axdp_srv stats | awk 'NR == 1 || $3 != 0'

say "The daemon stops (SIGTERM); protection stays"
stop "$daemon_pid"
daemon_pid=
show_probe "$closed_port" "no answer"
show_probe "$open_port" answered

say "axdp off removes protection: links, socket hooks, pins"
axdp_srv off
show_probe "$closed_port" refused

stop "$listener_pid"
listener_pid=
ip netns del "$srv"
ip netns del "$cln"
left=$(ip netns list | grep -E "^($srv|$cln)( |\$)" || true)
[[ -e $pin ]] && left+=" $pin"
[[ -z $left ]] || die "left behind: $left"
say "Done: namespaces, veth, pins and links are gone"
