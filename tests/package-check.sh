#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds the .deb and the .rpm (make deb rpm, into build/pkg/) and checks them:
# file lists, conffiles, maintainer scripts, lintian (no error, no warning), rpmlint (no error),
# the BPF object keeping its BTF, `make install DESTDIR= PREFIX=`, the unit
# (systemd-analyze verify, security score <= 2.0) and the OpenRC script.
# Needs no root privileges for the checks themselves; installs missing tools
# with apt-get when run as root on Debian, and a tool still missing after
# that fails the checks that need it (a check that did not run did not
# pass).  Never installs or starts the package on this machine:
# tests/e2e-qemu.sh does that inside a guest.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
PKG=$BUILD/pkg
mkdir -p "$PKG"
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else ko "$what"; fi; }

# Tools: the build dependencies of debian/control plus the packaging tools.
tools=(debhelper dpkg-dev fakeroot lintian rpm clang libbpf-dev libelf-dev zlib1g-dev libsystemd-dev
	libcap-dev libmnl-dev pkg-config make gcc systemd shellcheck file cpio binutils)
missing() {
	local p
	for p in "${tools[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}
mapfile -t need < <(missing)
if ((${#need[@]})); then
	if [[ $(id -u) = 0 ]] && command -v apt-get >/dev/null; then
		echo "installing: ${need[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
		check "apt-get installed ${need[*]}" test "$?" = 0
	fi
	mapfile -t need < <(missing)
fi
check "tools installed${need[*]:+ (missing: ${need[*]}; as root on Debian this script installs them)}" test "${#need[@]}" = 0

# ---- Build ----
rm -f "$PKG"/*.deb "$PKG"/*.rpm
check "make deb" make deb >"$BUILD/deb.log" 2>&1 || tail -30 "$BUILD/deb.log"
check "make rpm" make rpm >"$BUILD/rpm.log" 2>&1 || tail -30 "$BUILD/rpm.log"
arch=$(dpkg --print-architecture)
deb=$PKG/autoxdp_${VERSION}_${arch}.deb
rpm=
for f in "$PKG"/autoxdp-"$VERSION"-*.rpm; do [[ -f $f && $f != *-debug* ]] && rpm=$f && break; done
check "deb is named autoxdp_${VERSION}_${arch}.deb" test -f "$deb"
check "rpm built (${rpm##*/})" test -n "$rpm"

# ---- File lists ----
common=(/usr/sbin/autoxdpd /usr/sbin/axdp /usr/lib/autoxdp/autoxdp.bpf.o /etc/autoxdp.conf /etc/autoxdp.conf.d
	/var/lib/autoxdp /etc/fail2ban/action.d/autoxdp.conf /etc/crowdsec/bouncers/autoxdp.yaml
	/usr/lib/autoxdp/crowdsec-action
	'/usr/share/man/man8/autoxdpd.8*' '/usr/share/man/man8/axdp.8*' '/usr/share/man/man5/autoxdp.conf.5*')
if [[ -f completion/axdp.bash ]]; then common+=(/usr/share/bash-completion/completions/axdp); fi
has() { # has LISTFILE GLOB
	local f
	while read -r f; do
		# shellcheck disable=SC2053  # $2 is a glob on purpose
		[[ $f == $2 ]] && return 0
	done <"$1"
	return 1
}
if [[ -f $deb ]]; then
	dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||; s|/$||' >"$PKG/deb.files"
	echo "--- deb file list"; grep -v '/$' "$PKG/deb.files" | sed '/^$/d'
	for p in "${common[@]}" /lib/systemd/system/autoxdp.service /lib/systemd/system/autoxdp-crowdsec.service '/usr/share/doc/autoxdp/README*' \
		/usr/share/doc/autoxdp/copyright; do
		check "deb contains $p" has "$PKG/deb.files" "$p"
	done
	ctl=$(mktemp -d)
	dpkg-deb -e "$deb" "$ctl"
	check "deb: /etc/autoxdp.conf is a conffile" grep -qx /etc/autoxdp.conf "$ctl/conffiles"
	check "deb: the fail2ban action is a conffile" grep -qx /etc/fail2ban/action.d/autoxdp.conf "$ctl/conffiles"
	check "deb: the CrowdSec bouncer configuration is a conffile" \
		grep -qx /etc/crowdsec/bouncers/autoxdp.yaml "$ctl/conffiles"
	# --no-enable --no-start: only an administrator's earlier enable is restored, nothing is started.
	check "deb postinst leaves the CrowdSec bouncer disabled and stopped" \
		sh -c "grep -q \"update-state 'autoxdp-crowdsec.service'\" '$ctl/postinst' && \
		       ! grep -q \"start 'autoxdp-crowdsec.service'\" '$ctl/postinst'"
	check "deb: Recommends nftables" sh -c "dpkg-deb -f '$deb' Recommends | grep -qw nftables"
	check "deb postinst enables the service" grep -q "deb-systemd-helper enable 'autoxdp.service'" "$ctl/postinst"
	check "deb postinst starts, or restarts on upgrade" grep -q '_dh_action=restart' "$ctl/postinst"
	check "deb prerm does not stop on upgrade" grep -q '"$1" = remove ] && \[ -d /run/systemd/system' "$ctl/prerm"
	check "deb prerm stops the service on remove" grep -q "deb-systemd-invoke stop 'autoxdp.service'" "$ctl/prerm"
	check "deb prerm runs 'axdp off' after the stop" \
		awk '/deb-systemd-invoke stop/ {s=NR} /axdp off/ && s {found=1} END {exit !found}' "$ctl/prerm"
	check "deb postrm purge removes the pin dir" grep -q 'rm -rf /sys/fs/bpf/autoxdp' "$ctl/postrm"
	check "deb postrm purge removes the bans" grep -q 'rm -rf /var/lib/autoxdp' "$ctl/postrm"
	for s in postinst prerm postrm; do check "deb $s: sh -n" sh -n "$ctl/$s"; done
	rm -rf "$ctl"
fi
if [[ -n $rpm ]]; then
	rpm -qlp "$rpm" 2>/dev/null >"$PKG/rpm.files"
	echo "--- rpm file list"; grep -v '/\.build-id' "$PKG/rpm.files"
	for p in "${common[@]}" /usr/lib/systemd/system/autoxdp.service /usr/lib/systemd/system/autoxdp-crowdsec.service "/usr/share/doc/autoxdp*/README.md" \
		"/usr/share/licenses/autoxdp*/LICENSE"; do
		check "rpm contains $p" has "$PKG/rpm.files" "$p"
	done
	check "rpm: /etc/autoxdp.conf is %config" sh -c "rpm -qpc '$rpm' 2>/dev/null | grep -qx /etc/autoxdp.conf"
	rpm -qp --scripts "$rpm" 2>/dev/null >"$PKG/rpm.scripts"
	check "rpm %post enables/starts (systemd_post)" grep -q 'preset autoxdp.service' "$PKG/rpm.scripts"
	check "rpm %preun stops on erase (systemd_preun)" grep -q 'disable --now autoxdp.service' "$PKG/rpm.scripts"
	check "rpm %preun runs 'axdp off' on erase" grep -q 'axdp off' "$PKG/rpm.scripts"
	check "rpm %postun restarts on upgrade (systemd_postun_with_restart)" grep -q 'try-restart autoxdp.service' "$PKG/rpm.scripts"
fi

# ---- lintian: no error, no warning (overrides in debian/autoxdp.lintian-overrides) ----
check "lintian is installed" sh -c "command -v lintian >/dev/null"
if [[ -f $deb ]] && command -v lintian >/dev/null; then
	echo "--- lintian"
	changes=$PKG/autoxdp_${VERSION}_${arch}.changes
	lintian --allow-root --info --show-overrides "$changes" 2>&1 | tee "$PKG/lintian.txt"
	check "lintian: no error or warning" sh -c "! grep -qE '^[EW]: ' '$PKG/lintian.txt'"
fi

# ---- rpmlint: no error (filters, each with its reason, in rpm/autoxdp.rpmlintrc) ----
if [[ -n $rpm ]]; then
	command -v rpmlint >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpmlint >/dev/null
	echo "--- rpmlint"
	rpmlint -r rpm/autoxdp.rpmlintrc "$rpm" 2>&1 | tee "$PKG/rpmlint.txt"
	check "rpmlint: no error" grep -q ' 0 errors, ' "$PKG/rpmlint.txt"
fi

# ---- The BPF object keeps its BTF (CO-RE needs it) in both packages ----
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -f $deb ]]; then
	dpkg-deb -x "$deb" "$tmp/deb"
	check "deb: autoxdp.bpf.o has .BTF and .BTF.ext" \
		sh -c "readelf -S '$tmp/deb/usr/lib/autoxdp/autoxdp.bpf.o' 2>/dev/null | grep -q '\.BTF\.ext'"
fi
if [[ -n $rpm ]]; then
	rpmabs=$(realpath "$rpm")
	mkdir -p "$tmp/rpm" && (cd "$tmp/rpm" && rpm2cpio "$rpmabs" | cpio -idm --quiet)
	check "rpm: autoxdp.bpf.o has .BTF and .BTF.ext" \
		sh -c "readelf -S '$tmp/rpm/usr/lib/autoxdp/autoxdp.bpf.o' 2>/dev/null | grep -q '\.BTF\.ext'"
fi

# ---- make install honours DESTDIR and PREFIX ----
make install DESTDIR="$tmp/inst" PREFIX=/usr/local SYSTEMDUNITDIR=/usr/local/lib/systemd/system \
	>"$BUILD/install.log" 2>&1
check "make install DESTDIR PREFIX=/usr/local" test -x "$tmp/inst/usr/local/sbin/autoxdpd"
check "installed unit runs \$(SBINDIR)/autoxdpd" \
	grep -qx 'ExecStart=/usr/local/sbin/autoxdpd' "$tmp/inst/usr/local/lib/systemd/system/autoxdp.service"
check "nothing installed outside DESTDIR's /usr/local and /etc" \
	sh -c "cd '$tmp/inst' && ! find . -mindepth 1 -maxdepth 1 ! -name usr ! -name etc | grep -q . && \
	       ! find usr -mindepth 1 -maxdepth 1 ! -name local | grep -q ."

# ---- The unit ----
echo "--- systemd-analyze"
if [[ -f $deb ]]; then
	# verify resolves ExecStart= and ExecReload= and the man pages inside the package's tree.
	mkdir -p "$tmp/deb/usr/bin" && cp /bin/kill "$tmp/deb/usr/bin/kill" && ln -sfn usr/bin "$tmp/deb/bin"
	MANPATH=$tmp/deb/usr/share/man systemd-analyze verify --root="$tmp/deb" /lib/systemd/system/autoxdp.service \
		>"$tmp/verify.txt" 2>&1
	rc=$?
	cat "$tmp/verify.txt"
	check "systemd-analyze verify: clean" test "$rc" = 0 -a ! -s "$tmp/verify.txt"
fi
systemd-analyze security --offline=yes --no-pager systemd/autoxdp.service >"$tmp/security.txt" 2>&1
grep -E '^✗|exposure level' "$tmp/security.txt"
score=$(sed -n 's/.*Overall exposure level for autoxdp.service: \([0-9.]*\).*/\1/p' "$tmp/security.txt")
echo "systemd-analyze security score: ${score:-?} (maximum allowed $MAX_EXPOSURE)"
check "systemd-analyze security exposure $score <= $MAX_EXPOSURE" \
	awk -v s="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN {exit !(s + 0 <= m + 0)}'
for key in 'Type=notify' 'NotifyAccess=main' 'ExecStart=/usr/sbin/autoxdpd' 'ExecReload=/bin/kill -HUP $MAINPID' \
	'Restart=on-failure' 'WatchdogSec=30s' 'Before=network-pre.target shutdown.target' 'Wants=network-pre.target' \
	'WantedBy=multi-user.target'; do
	check "unit has $key" grep -qxF "$key" systemd/autoxdp.service
done
check "unit makes /sys/fs/bpf writable" grep -qE '^ReadWritePaths=(.* )?/sys/fs/bpf( |$)' systemd/autoxdp.service
# systemd 252 keeps bpffs read-only under ProtectKernelTunables=yes, whatever ReadWritePaths= says.
check "unit has no ProtectKernelTunables=yes" sh -c "! grep -q '^ProtectKernelTunables=yes' systemd/autoxdp.service"
check "unit has no PrivateNetwork=" sh -c "! grep -q '^PrivateNetwork' systemd/autoxdp.service"
check "unit allows bpf()" grep -qE '^SystemCallFilter=.*\bbpf\b' systemd/autoxdp.service

# ---- OpenRC ----
check "openrc/autoxdp: sh -n" sh -n openrc/autoxdp
check "openrc/autoxdp: supervise-daemon, reload by SIGHUP" \
	sh -c "grep -q '^supervisor=\"supervise-daemon\"' openrc/autoxdp && grep -q -- '--signal HUP' openrc/autoxdp"
check "openrc/autoxdp: shellcheck" shellcheck -s sh openrc/autoxdp

echo "package-check: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
((fail == 0))
