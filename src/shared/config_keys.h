/* SPDX-License-Identifier: MIT */
/*
 * Every key of autoxdp.conf, once.  AXDP_CONFIG_KEYS(KEY, PORTS_BY_L4)
 * expands to one KEY() per key and one PORTS_BY_L4() per pair of TCP
 * and UDP port keys that share an array indexed by enum axdp_l4, in the
 * order --check-config prints them (a section's keys stay together).
 * config.h makes struct axdp_config of it, config.c the table that
 * gives the defaults and parses, prints, compares and copies every key.
 *
 * KEY(section, "Name", type, ctype, field, dims, min, max, names, default)
 *   section        SEC_<section> of config_parse.h: the [Section] the key belongs in
 *   type           T_<type> of config_parse.h: its parser, printer and comparer
 *   ctype field dims  the member of struct axdp_config, e.g. char bpf_object [AXDP_PATH_MAX]
 *   min, max       bounds of the value (UINT, PORTS) or of its length (PATH, PATHS, IFNAMES, NAMES)
 *   names          ENUM: value i is spelled names[i] (a table of config.c); NULL otherwise
 *   default        spelled as in the file, so that defaults go through the parsers
 * PORTS_BY_L4(section, "TcpName", "UdpName", field)
 *   uint8_t field[AXDP_L4_COUNT][AXDP_PORTSET_BYTES]: port lists of 1-65535, empty by default
 *
 * A new key is one line here, its use, and its documentation in
 * config/autoxdp.conf and man/autoxdp.conf.5 (test_config checks both
 * name every key, the sample with its default).
 */
#ifndef AXDP_CONFIG_KEYS_H
#define AXDP_CONFIG_KEYS_H

/* A numeric default macro as the file spells it. */
#define AXDP_STR_(x) #x
#define AXDP_STR(x) AXDP_STR_(x)

/* clang-format off */
#define AXDP_CONFIG_KEYS(KEY, PORTS_BY_L4)                                                                             \
	/* empty: those of the default v4/v6 routes */                                                                 \
	KEY(DAEMON, "Interfaces", IFNAMES, struct axdp_ifname_list, interfaces, , 1, AXDP_IFNAMSIZ - 1, NULL, "")      \
	KEY(DAEMON, "BpfObject", PATH, char, bpf_object, [AXDP_PATH_MAX], 1, AXDP_PATH_MAX - 1, NULL,                  \
	    AXDP_OBJECT_DEFAULT)                                                                                       \
	KEY(DAEMON, "PinDir", PATH, char, pin_dir, [AXDP_PATH_MAX], 1, AXDP_PATH_MAX - 1, NULL, AXDP_PIN_DIR_DEFAULT)  \
	KEY(DAEMON, "XdpMode", ENUM, enum axdp_xdp_mode, xdp_mode, , 0, 0, axdp_xdp_mode_names, "auto")                \
	KEY(DAEMON, "Backend", ENUM, enum axdp_backend, backend, , 0, 0, backend_names, "auto")                        \
	KEY(DAEMON, "Mode", ENUM, enum axdp_run_mode, mode, , 0, 0, run_mode_names, "enforce")                         \
	KEY(DAEMON, "ReconcileIntervalSec", UINT, uint32_t, reconcile_interval_s, , 1, 3600, NULL, "30")               \
	/* written at READY, removed at exit; axdp(8) finds the daemon by it */                                        \
	KEY(DAEMON, "PidFile", PATH, char, pid_file, [AXDP_PATH_MAX], 1, AXDP_PATH_MAX - 1, NULL,                      \
	    "/run/autoxdp/autoxdpd.pid")                                                                               \
	/* runtime bans (bans.h), kept across restarts and reboots */                                                  \
	KEY(DAEMON, "StateDirectory", PATH, char, state_dir, [AXDP_PATH_MAX], 1, AXDP_PATH_MAX - 1, NULL,              \
	    "/var/lib/autoxdp")                                                                                        \
	/* min 0: empty is a value here, "no metrics file" */                                                          \
	KEY(DAEMON, "MetricsFile", PATH, char, metrics_file, [AXDP_PATH_MAX], 0, AXDP_PATH_MAX - 1, NULL, "")          \
	KEY(DAEMON, "MetricsIntervalSec", UINT, uint32_t, metrics_interval_s, , 1, 86400, NULL, "15")                  \
                                                                                                                       \
	/* Port sets: port p is bit (p & 7) of byte p / 8; port 0 is never set. */                                     \
	PORTS_BY_L4(PORTS, "AllowTCP", "AllowUDP", allow_ports)                                                        \
	PORTS_BY_L4(PORTS, "ExcludeTCP", "ExcludeUDP", exclude_ports)                                                  \
	KEY(PORTS, "ExcludeBindCIDR", CIDRS, struct axdp_cidr_list, exclude_bind, , 0, 0, NULL, "")                    \
                                                                                                                       \
	/* Conntrack defaults come from autoxdp_abi.h: the BPF object has the same ones. */                            \
	KEY(CONNTRACK, "TCPTimeoutSec", UINT, uint32_t, tcp_timeout_s, , 1, 2592000, NULL,                             \
	    AXDP_STR(AXDP_DEFAULT_TCP_TIMEOUT_S))                                                                      \
	KEY(CONNTRACK, "TCPClosingTimeoutSec", UINT, uint32_t, tcp_closing_timeout_s, , 1, 3600, NULL,                 \
	    AXDP_STR(AXDP_DEFAULT_TCP_CLOSING_TIMEOUT_S))                                                              \
	KEY(CONNTRACK, "UDPTimeoutSec", UINT, uint32_t, udp_timeout_s, , 1, 86400, NULL,                               \
	    AXDP_STR(AXDP_DEFAULT_UDP_TIMEOUT_S))                                                                      \
	KEY(CONNTRACK, "ICMPTimeoutSec", UINT, uint32_t, icmp_timeout_s, , 1, 3600, NULL,                              \
	    AXDP_STR(AXDP_DEFAULT_ICMP_TIMEOUT_S))                                                                     \
	KEY(CONNTRACK, "FragmentTimeoutSec", UINT, uint32_t, frag_timeout_s, , 1, 120, NULL,                           \
	    AXDP_STR(AXDP_DEFAULT_FRAG_TIMEOUT_S))                                                                     \
                                                                                                                       \
	KEY(POLICY, "DenyCIDR", CIDRS, struct axdp_cidr_list, deny_cidrs, , 0, 0, NULL, "")                            \
	/* read by the daemon (denylist.h), not by the parser */                                                       \
	KEY(POLICY, "DenyListFile", PATHS, struct axdp_path_list, deny_list_files, , 1, AXDP_PATH_MAX - 1, NULL, "")   \
	KEY(POLICY, "TrustCIDR", CIDRS, struct axdp_cidr_list, trust_cidrs, , 0, 0, NULL, "")                          \
	KEY(POLICY, "TrustOpensAllTCP", BOOL, bool, trust_opens_all_tcp, , 0, 0, NULL, "no")                           \
	KEY(POLICY, "DropMartians", BOOL, bool, drop_martians, , 0, 0, NULL, "yes")                                    \
	/* DHCP server replies pass to a client that binds no port */                                                  \
	KEY(POLICY, "AllowDHCPClient", BOOL, bool, allow_dhcp_client, , 0, 0, NULL, "yes")                             \
                                                                                                                       \
	/* Per second and burst (units); per-port and echo rates are split across CPUs.  Upper bounds */               \
	/* keep interval * burst (ns) far inside 64 bits. */                                                           \
	KEY(RATELIMIT, "SYNPerSecond", UINT, uint32_t, syn_per_s, , 0, 1000000000, NULL,                               \
	    AXDP_STR(AXDP_DEFAULT_SYN_PER_S))                                                                          \
	KEY(RATELIMIT, "SYNBurst", UINT, uint32_t, syn_burst, , 1, 1000000, NULL, AXDP_STR(AXDP_DEFAULT_SYN_BURST))    \
	KEY(RATELIMIT, "StrictSYNPerSecond", UINT, uint32_t, strict_syn_per_s, , 0, 1000000000, NULL,                  \
	    AXDP_STR(AXDP_DEFAULT_STRICT_SYN_PER_S))                                                                   \
	KEY(RATELIMIT, "StrictSYNBurst", UINT, uint32_t, strict_syn_burst, , 1, 1000000, NULL,                         \
	    AXDP_STR(AXDP_DEFAULT_STRICT_SYN_BURST))                                                                   \
	KEY(RATELIMIT, "StrictProcesses", NAMES, struct axdp_name_list, strict_processes, , 1, AXDP_IFNAMSIZ - 1,      \
	    NULL, "sshd mysqld mariadbd postgres redis-server mongod")                                                 \
	KEY(RATELIMIT, "StrictTCP", PORTS, uint8_t, strict_tcp, [AXDP_PORTSET_BYTES], 1, 65535, NULL, "")              \
	KEY(RATELIMIT, "UnlimitedTCP", PORTS, uint8_t, unlimited_tcp, [AXDP_PORTSET_BYTES], 1, 65535, NULL, "")        \
	KEY(RATELIMIT, "SourcePrefixIPv4", UINT, uint32_t, source_prefix_v4, , 1, 32, NULL, "32")                      \
	KEY(RATELIMIT, "SourcePrefixIPv6", UINT, uint32_t, source_prefix_v6, , 1, 128, NULL, "64")                     \
	KEY(RATELIMIT, "UDPPerSecond", UINT, uint32_t, udp_per_s, , 0, 1000000000, NULL, "0")                          \
	KEY(RATELIMIT, "UDPBurst", UINT, uint32_t, udp_burst, , 1, 1000000, NULL, "1")                                 \
	KEY(RATELIMIT, "UDPPortPacketsPerSecond", UINT, uint32_t, udp_port_packets_per_s, , 0, 4000000000u, NULL, "0") \
	KEY(RATELIMIT, "UDPPortBytesPerSecond", UINT, uint32_t, udp_port_bytes_per_s, , 0, 4000000000u, NULL, "0")     \
	KEY(RATELIMIT, "ICMPEchoPerSecond", UINT, uint32_t, icmp_echo_per_s, , 0, 1000000000, NULL,                    \
	    AXDP_STR(AXDP_DEFAULT_ICMP_ECHO_PER_S))                                                                    \
	KEY(RATELIMIT, "ICMPEchoBurst", UINT, uint32_t, icmp_echo_burst, , 1, 1000000, NULL,                           \
	    AXDP_STR(AXDP_DEFAULT_ICMP_ECHO_BURST))
/* clang-format on */

#endif
