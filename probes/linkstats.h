/* Per-interface packet, drop and error counters, with libnl-route-3. */
#ifndef PROBES_LINKSTATS_H
#define PROBES_LINKSTATS_H

#include <stddef.h>

#include "probes/linkstats-t.h"

/* Fills t (replacing it) with the links of namespace nsfd. 0 or -1 with err. */
int linkstats_read(int nsfd, struct ls_table *t, char *err, size_t errlen);
void ls_table_free(struct ls_table *t);

#endif
