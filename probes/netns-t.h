#ifndef PROBES_NETNS_T_H
#define PROBES_NETNS_T_H

/* A network namespace is named by an open fd on its nsfs file; -1 means
 * "the caller's own namespace" everywhere in probes/. */
#define NETNS_SELF (-1)

#endif
