/* Kernel counters and settings of one network namespace. */
#ifndef PROBES_KERNEL_H
#define PROBES_KERNEL_H

#include <stddef.h>

#include "probes/kernel-t.h"

/* Reads counters, sockstat and sysctls of namespace nsfd (NETNS_SELF for
 * ours; another namespace's files are opened from inside it). procroot: NULL
 * for "/proc" (tests pass a fake tree; then nsfd must be NETNS_SELF).
 * Missing files leave their part zero / -1. Returns 0, or -1 with err. */
int kernel_read(int nsfd, const char *procroot, struct kn_state *out, char *err, size_t errlen);

/* Parsers on file contents (pairs of header/value lines, matched by name),
 * for unit tests. Each sets only the fields of its own table (TcpExt, Tcp,
 * sockstat TCP), zero where the file lacks them, so netstat and snmp fill
 * one kn_counters together. 0, or -1 (ENOENT) when the table is absent. */
int kernel_parse_netstat(const char *text, struct kn_counters *out);
int kernel_parse_snmp(const char *text, struct kn_counters *out);
int kernel_parse_sockstat(const char *text, struct kn_sockstat *out);

#endif
