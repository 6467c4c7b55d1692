# SPDX-License-Identifier: MIT
# autoxdp: build, test, demo, install.  `make help` lists the targets.

VERSION    := 0.3.0
PREFIX     ?= /usr
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/autoxdp
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=

CLANG      ?= clang-14
CC         ?= gcc
# The style src/ follows (.clang-format); make check enforces it.
CLANG_FORMAT ?= clang-format-14
# make check SANITIZE=1: daemon, CLI and tests with ASan and UBSan, in their own build directory.
SANITIZE   ?=
BUILD      ?= $(if $(SANITIZE),build-san,build)

ARCH_INCLUDE := /usr/include/$(shell $(CC) -dumpmachine)
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Wextra -Wno-unused-parameter -Werror -I$(ARCH_INCLUDE) -Ibpf
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Wno-format-truncation -Ibpf -Isrc/shared \
              -DAXDP_VERSION='"$(VERSION)"' -DAXDP_OBJECT_DEFAULT='"$(LIBEXECDIR)/autoxdp.bpf.o"'
ifneq ($(SANITIZE),)
CFLAGS     += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# -ldl: dlopen of libnftables (nft_session.c); part of libc since glibc 2.34, a separate library before (RHEL 8).
LDLIBS     := -lbpf -lelf -lz -lsystemd -lcap -lmnl -ldl

BPF_OBJ    := $(BUILD)/autoxdp.bpf.o
BPF_SRC    := $(wildcard bpf/*.c bpf/*.h)
PROGRAMS   := autoxdpd axdp
# src/shared: what the daemon, the CLI and the tests share; src/daemon: autoxdpd; src/cli: axdp.
# Objects go flat into $(BUILD): a file name is unique across the three.
SHARED_SRC := $(wildcard src/shared/*.c)
SHARED_OBJ := $(SHARED_SRC:src/shared/%.c=$(BUILD)/%.o)
DAEMON_SRC := $(filter-out src/daemon/autoxdpd.c,$(wildcard src/daemon/*.c))
DAEMON_OBJ := $(DAEMON_SRC:src/daemon/%.c=$(BUILD)/%.o)
CLI_SRC    := $(filter-out src/cli/axdp.c,$(wildcard src/cli/*.c))
CLI_OBJ    := $(CLI_SRC:src/cli/%.c=$(BUILD)/%.o)
SRC_HDR    := $(wildcard src/*/*.h)
# What tests and benches link: everything but the two main()s and the CLI's commands.
LIB_OBJ    := $(SHARED_OBJ) $(DAEMON_OBJ)
TEST_SRC   := $(wildcard tests/test_*.c)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/%)
# tests/model: the reference model of the decision tree and the state the differential fuzzer uses.
TEST_LIB   := $(wildcard tests/lib/*.c tests/model/*.c)
TEST_HDR   := $(wildcard tests/lib/*.h tests/model/*.h)
TEST_INC   := -Isrc/daemon -Itests/lib -Itests/model
# Compiled once for every suite, bench and the fuzzer, under $(BUILD)/tests/ (names repeat those of src/).
TEST_OBJ   := $(TEST_LIB:tests/%.c=$(BUILD)/tests/%.o)

# Packages the build and the tests need, by distribution.
# python3: the JSON cross-check of test_axdp.  fail2ban, crowdsec: the real ones run in
# tests/test_fail2ban.c and tests/test_crowdsec.c, instances of the tests' own.  (No RPM
# distribution ships crowdsec: there its suite fails until it is installed.)
DEB_DEPS := $(CLANG) clang-format-14 make gcc pkg-config libbpf-dev libelf-dev zlib1g-dev libsystemd-dev libcap-dev libmnl-dev \
            libcriterion-dev iproute2 bpftool nftables python3 busybox-static isc-dhcp-client \
            fail2ban crowdsec crowdsec-custom-bouncer
RPM_DEPS := clang clang-tools-extra make gcc pkgconf libbpf-devel elfutils-libelf-devel zlib-devel systemd-devel libcap-devel libmnl-devel \
            criterion-devel iproute bpftool nftables python3 busybox dhcp-client fail2ban-server

.PHONY: all deps check bench demo install clean help FORCE
all: $(BPF_OBJ) $(PROGRAMS:%=$(BUILD)/%)

help:
	@echo "make            build $(BPF_OBJ) and the programs"
	@echo "make deps       install build and test dependencies (apt or dnf)"
	@echo "sudo make check run every test against the real kernel"
	@echo "sudo make check SANITIZE=1  the same suites under ASan and UBSan (build-san/; no verifier checks: same object)"
	@echo "sudo make fuzz  the data path against its model, then the parsers' libFuzzer targets (FUZZ_SECONDS=60 each)"
	@echo "make bench      ns/packet of each verdict class through BPF_PROG_TEST_RUN"
	@echo "sudo make demo  the firewall in two throwaway network namespaces"
	@echo "make install    install under DESTDIR/PREFIX"

# The object is rebuilt when the compiler changes (make CLANG=clang-19).
$(BUILD)/clang.stamp: FORCE | $(BUILD)
	@echo '$(CLANG)' | cmp -s - $@ || echo '$(CLANG)' > $@

# User space is rebuilt when the compiler or its flags change (VERSION is one of them).
$(BUILD)/cflags.stamp: FORCE | $(BUILD)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' > $@

$(BUILD):
	mkdir -p $@

$(BPF_OBJ): $(BPF_SRC) $(BUILD)/clang.stamp | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c bpf/autoxdp.bpf.c -o $@

vpath %.c src/shared src/daemon src/cli
$(BUILD)/%.o: %.c $(SRC_HDR) bpf/autoxdp_abi.h $(BUILD)/cflags.stamp | $(BUILD)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/autoxdpd: $(BUILD)/autoxdpd.o $(DAEMON_OBJ) $(SHARED_OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)
$(BUILD)/axdp: $(BUILD)/axdp.o $(CLI_OBJ) $(SHARED_OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# Test artifacts for upgrades across changed map definitions (tests/test_upgrade.c):
# the same sources with other map sizes, and one whose conntrack cannot be created.
UPGRADE_OBJS := $(BUILD)/autoxdp-resized.bpf.o $(BUILD)/autoxdp-badmap.bpf.o
$(BUILD)/autoxdp-resized.bpf.o: BPF_DEFS := -DAXDP_CT_ENTRIES=131072 -DAXDP_DENY_ENTRIES=524288 -DAXDP_IFACE_SLOTS=32
$(BUILD)/autoxdp-badmap.bpf.o: BPF_DEFS := -DAXDP_CT_ENTRIES=0
$(UPGRADE_OBJS): $(BPF_SRC) $(BUILD)/clang.stamp | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) $(BPF_DEFS) -c bpf/autoxdp.bpf.c -o $@
$(BUILD)/test_upgrade: $(UPGRADE_OBJS)

$(BUILD)/tests/%.o: tests/%.c $(TEST_HDR) $(SRC_HDR) bpf/autoxdp_abi.h $(BUILD)/cflags.stamp
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TEST_INC) -c $< -o $@

$(BUILD)/test_%: tests/test_%.c $(TEST_OBJ) $(TEST_HDR) $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) $(TEST_INC) $< $(TEST_OBJ) $(LIB_OBJ) -o $@ $(LDLIBS) -lcriterion

$(BUILD)/dpfuzz: tests/fuzz/dpfuzz.c $(TEST_OBJ) $(TEST_HDR) $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) $(TEST_INC) $< $(TEST_OBJ) $(LIB_OBJ) -o $@ $(LDLIBS)

# Services among them (fail2ban, crowdsec) are installed without being started (a policy-rc.d that
# denies it, unless one exists): the tests run their own instances, and the host's firewall is never
# touched.  crowdsec's postinst registers with the central API, which fails offline; a non-empty
# credentials file, written when it installs crowdsec and there is none, skips that (its README.Debian).
deps:
	@if command -v apt-get >/dev/null; then \
		missing=$$(for p in $(DEB_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
		if [ -n "$$missing" ]; then echo "installing:" $$missing; \
			policy=; if [ ! -e /usr/sbin/policy-rc.d ]; then policy=/usr/sbin/policy-rc.d; \
				printf '#!/bin/sh\nexit 101\n' > $$policy; chmod 755 $$policy; fi; \
			capi=/etc/crowdsec/online_api_credentials.yaml; case " $$missing " in *" crowdsec "*) \
				if [ ! -s $$capi ]; then mkdir -p /etc/crowdsec; \
				echo '# no central API registration (autoxdp make deps); see README.Debian' > $$capi; fi;; esac; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
			rc=$$?; [ -z "$$policy" ] || rm -f $$policy; [ $$rc = 0 ]; fi; \
	elif command -v dnf >/dev/null; then \
		missing=$$(for p in $(RPM_DEPS); do rpm -q $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then dnf install -y $$missing; fi; \
	else echo "make deps: neither apt-get nor dnf found; install: $(DEB_DEPS)" >&2; exit 1; fi

check: deps
	$(CLANG_FORMAT) --dry-run --Werror src/*/*.[ch]
	$(MAKE) -j2 all $(TEST_BIN)
ifeq ($(SANITIZE),)
	BUILD=$(BUILD) OBJ=$(BPF_OBJ) tests/verifier-kernels.sh
	BUILD=$(BUILD) OBJ=$(BPF_OBJ) tests/verifier-matrix.sh
endif
	tests/run-tests-selftest.sh $(BUILD)/run-tests-selftest
	AXDP_BPF_OBJECT=$(BPF_OBJ) AXDP_BUILD=$(BUILD) tests/run-tests $(TEST_BIN)
	# Again with the daemon on nftables, where each suite expects what autoxdpd(8)'s backend table says: every
	# daemon suite but test_upgrade, which is about the takeover of the XDP data path's maps.
	AXDP_TEST_BACKEND=nftables AXDP_BPF_OBJECT=$(BPF_OBJ) AXDP_BUILD=$(BUILD) tests/run-tests \
		$(BUILD)/test_axdp $(BUILD)/test_daemon $(BUILD)/test_policy_daemon $(BUILD)/test_audit $(BUILD)/test_bans \
		$(BUILD)/test_dhcp $(BUILD)/test_fail2ban $(BUILD)/test_crowdsec

$(BUILD)/bench: tests/bench.c $(TEST_OBJ) $(TEST_HDR) $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) $(TEST_INC) $< $(TEST_OBJ) $(LIB_OBJ) -o $@ $(LDLIBS)

$(BUILD)/bench_daemon: tests/bench_daemon.c $(TEST_OBJ) $(TEST_HDR) $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) $(TEST_INC) $< $(TEST_OBJ) $(LIB_OBJ) -o $@ $(LDLIBS) -lpthread

$(BUILD)/bench_flood: tests/bench_flood.c $(TEST_OBJ) $(TEST_HDR) $(LIB_OBJ) | $(BUILD)
	$(CC) $(CFLAGS) $(TEST_INC) $< $(TEST_OBJ) $(LIB_OBJ) -o $@ $(LDLIBS) -lpthread

bench: deps
	$(MAKE) all $(BUILD)/bench $(BUILD)/bench_daemon $(BUILD)/bench_flood
	AXDP_BPF_OBJECT=$(BPF_OBJ) $(BUILD)/bench
	AXDP_BPF_OBJECT=$(BPF_OBJ) AXDP_BUILD=$(BUILD) $(BUILD)/bench_daemon
	AXDP_BPF_OBJECT=$(BPF_OBJ) AXDP_BUILD=$(BUILD) $(BUILD)/bench_flood

demo: deps
	$(MAKE) all
	AXDP_BUILD=$(BUILD) tests/demo.sh

install: all
	install -D -m 0755 $(BUILD)/autoxdpd $(DESTDIR)$(SBINDIR)/autoxdpd
	install -D -m 0755 $(BUILD)/axdp $(DESTDIR)$(SBINDIR)/axdp
	install -D -m 0644 $(BPF_OBJ) $(DESTDIR)$(LIBEXECDIR)/autoxdp.bpf.o
	install -D -m 0644 config/autoxdp.conf $(DESTDIR)$(SYSCONFDIR)/autoxdp.conf
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/autoxdp.conf.d
	install -D -m 0644 config/fail2ban/action.d/autoxdp.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/action.d/autoxdp.conf
	install -D -m 0644 config/crowdsec/autoxdp.yaml $(DESTDIR)$(SYSCONFDIR)/crowdsec/bouncers/autoxdp.yaml
	install -D -m 0755 config/crowdsec/crowdsec-action $(DESTDIR)$(LIBEXECDIR)/crowdsec-action
	install -D -m 0644 man/autoxdpd.8 $(DESTDIR)$(MANDIR)/man8/autoxdpd.8
	install -D -m 0644 man/axdp.8 $(DESTDIR)$(MANDIR)/man8/axdp.8
	install -D -m 0644 man/autoxdp.conf.5 $(DESTDIR)$(MANDIR)/man5/autoxdp.conf.5

clean:
	rm -rf $(BUILD)

# ---- Service, packages and their checks (systemd/, openrc/, debian/, rpm/) ----
SYSTEMDUNITDIR ?= /lib/systemd/system
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
OPENRCDIR      ?= $(SYSCONFDIR)/init.d
PKGDIR         ?= $(BUILD)/pkg
DIST           := autoxdp-$(VERSION)
# rpmbuild on a Debian host: no RPM database of build dependencies, no debuginfo tooling.
RPMBUILD_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps --define 'debug_package %{nil}')

.PHONY: install-service install-completion install-openrc dist deb rpm check-packages check-e2e

# `make install` also installs the unit and, once it exists, the bash completion.
install: install-service install-completion

install-service:
	install -d -m 0755 $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/sbin/|$(SBINDIR)/|g' systemd/autoxdp.service > $(DESTDIR)$(SYSTEMDUNITDIR)/autoxdp.service
	install -m 0644 systemd/autoxdp-crowdsec.service $(DESTDIR)$(SYSTEMDUNITDIR)/autoxdp-crowdsec.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/autoxdp.service

install-completion:
	if [ -f completion/axdp.bash ]; then \
		install -D -m 0644 completion/axdp.bash $(DESTDIR)$(BASHCOMPDIR)/axdp; fi

# Not part of `install`: OpenRC systems run `make install install-openrc`.
install-openrc:
	install -d -m 0755 $(DESTDIR)$(OPENRCDIR)
	sed 's|/usr/sbin/|$(SBINDIR)/|g' openrc/autoxdp > $(DESTDIR)$(OPENRCDIR)/autoxdp
	chmod 0755 $(DESTDIR)$(OPENRCDIR)/autoxdp

# Source tarball of the working tree (tracked and new files, not ignored ones).
dist:
	rm -rf $(PKGDIR)/$(DIST) && mkdir -p $(PKGDIR)/$(DIST)
	{ git ls-files -co --exclude-standard 2>/dev/null || \
	  find . \( -path ./.git -o -path ./$(BUILD) \) -prune -o -type f -print; } | \
		while read -r f; do [ -f "$$f" ] && printf '%s\n' "$$f"; done | \
		tar -cf - -T - | tar -xf - -C $(PKGDIR)/$(DIST)
	tar -C $(PKGDIR) --owner=0 --group=0 -czf $(PKGDIR)/$(DIST).tar.gz $(DIST)
	rm -rf $(PKGDIR)/$(DIST)

# build/pkg/autoxdp_$(VERSION)_<arch>.deb, built from a copy of the tree.
deb: dist
	test "$$(dpkg-parsechangelog -l debian/changelog -S Version)" = "$(VERSION)" || \
		{ echo "debian/changelog does not start with $(VERSION)" >&2; exit 1; }
	rm -rf $(PKGDIR)/deb && mkdir -p $(PKGDIR)/deb
	tar -C $(PKGDIR)/deb -xzf $(PKGDIR)/$(DIST).tar.gz
	cd $(PKGDIR)/deb/$(DIST) && dpkg-buildpackage -us -uc -b
	mv $(PKGDIR)/deb/*.deb $(PKGDIR)/deb/*.changes $(PKGDIR)/deb/*.buildinfo $(PKGDIR)/

# build/pkg/autoxdp-$(VERSION)-1.<dist>.<arch>.rpm
rpm: dist
	test "$$(sed -n 's/^Version: *//p' rpm/autoxdp.spec)" = "$(VERSION)" || \
		{ echo "rpm/autoxdp.spec: Version is not $(VERSION)" >&2; exit 1; }
	rm -rf $(PKGDIR)/rpmbuild && mkdir -p $(PKGDIR)/rpmbuild/SOURCES
	cp $(PKGDIR)/$(DIST).tar.gz $(PKGDIR)/rpmbuild/SOURCES/
	rpmbuild -bb --define '_topdir $(abspath $(PKGDIR)/rpmbuild)' $(RPMBUILD_FLAGS) rpm/autoxdp.spec
	cp $(PKGDIR)/rpmbuild/RPMS/*/*.rpm $(PKGDIR)/

# Builds both packages, checks their contents, lintian, the unit's sandbox score.
check-packages:
	tests/package-check.sh

# Debian 12 guest under qemu (SUITE=trixie: Debian 13): installs the .deb, checks the service protects it.
check-e2e:
	tests/e2e-qemu.sh

# Loads every program on this kernel and on Debian 12's 6.1 under qemu, attaching nothing; then
# Debian 13's 6.12 (must load) and Debian 11's 5.10 (must refuse it: older than the object).
.PHONY: check-verifier
check-verifier: $(BPF_OBJ)
	BUILD=$(BUILD) OBJ=$(BPF_OBJ) tests/verifier-kernels.sh
	BUILD=$(BUILD) OBJ=$(BPF_OBJ) tests/verifier-matrix.sh

# ---- Fuzzing (tests/fuzz/): libFuzzer targets of the parsers, and the data path against its model ----
# make fuzz FUZZ_SECONDS=600 runs each target that long; new corpus entries and crashes stay in $(FUZZ_BUILD).
FUZZ_CC      ?= clang-14
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := config cidr dropin sockdiag rtnetlink json
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -Wall -Wextra -Werror -Wno-gnu-variable-sized-type-not-at-end -Wno-missing-field-initializers -Ibpf -Isrc/shared -Isrc/daemon -Isrc/cli -Itests/lib -Itests/fuzz \
                -DAXDP_VERSION='"$(VERSION)"' -DAXDP_OBJECT_DEFAULT='"$(LIBEXECDIR)/autoxdp.bpf.o"' \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The whole CLI, axdp.c's main renamed: libFuzzer brings its own.
FUZZ_OBJ     := $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(LIB_OBJ) $(CLI_OBJ)) $(FUZZ_BUILD)/axdp.o

.PHONY: fuzz fuzz-build $(FUZZ_TARGETS:%=fuzz-run-%)
$(FUZZ_BUILD):
	mkdir -p $@

$(FUZZ_BUILD)/%.o: %.c $(SRC_HDR) bpf/autoxdp_abi.h | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/axdp.o: FUZZ_CFLAGS += -Dmain=axdp_main

$(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%): $(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.c \
		tests/fuzz/fuzz_util.h tests/lib/jsoncheck.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< tests/fuzz/fuzz_util.c tests/lib/jsoncheck.c $(FUZZ_OBJ) \
		-o $@ $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# The data path against its model for FUZZ_SECONDS, then each target for FUZZ_SECONDS from its seeds in
# tests/fuzz/corpus/TARGET (a crash stops with the input kept): mismatches kept in $(FUZZ_BUILD)/datapath-cases,
# to be copied to tests/fuzz/datapath-cases once decided (make check runs those).
# deps first: on a fresh machine it brings the compilers (make runs prerequisites in order).
fuzz: deps fuzz-build all $(BUILD)/dpfuzz
	AXDP_BPF_OBJECT=$(BPF_OBJ) $(BUILD)/dpfuzz --seconds $(FUZZ_SECONDS) --keep $(FUZZ_BUILD)/datapath-cases
	$(MAKE) --no-print-directory -j2 $(FUZZ_TARGETS:%=fuzz-run-%)

# One target, its progress in $(FUZZ_BUILD)/fuzz_TARGET.log; two at a time (this kind of machine has two cores).
$(FUZZ_TARGETS:%=fuzz-run-%): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$*
	@if $< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/crash-$*- \
		-print_final_stats=1 $(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$* >$(FUZZ_BUILD)/fuzz_$*.log 2>&1; then \
		echo "fuzz_$*: $$(grep -m1 '^Done [0-9]* runs' $(FUZZ_BUILD)/fuzz_$*.log)"; \
	else tail -n 60 $(FUZZ_BUILD)/fuzz_$*.log; echo "fuzz_$*: FAILED, input kept as $(FUZZ_BUILD)/crash-$*-*"; exit 1; fi
