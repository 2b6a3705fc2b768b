#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>

#include "probes/linkstats.h"
#include "probes/netns.h"

struct ls_connect {
	struct nl_sock *sk;
	int nlerr;            /* libnl error code of nl_connect, 0 if none */
};

/* Runs inside the namespace: a netlink socket belongs for its whole life
 * to the namespace it was created in. */
static int ls_connect_fn(void *arg)
{
	struct ls_connect *c = arg;

	c->nlerr = nl_connect(c->sk, NETLINK_ROUTE);
	if (c->nlerr < 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int ls_push(struct ls_table *t, const struct ls_link *l)
{
	if (t->len == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct ls_link *nv = realloc(t->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->len++] = *l;
	return 0;
}

static int ls_cmp(const void *a, const void *b)
{
	const struct ls_link *x = a, *y = b;

	return x->ifindex < y->ifindex ? -1 : x->ifindex > y->ifindex;
}

int linkstats_read(int nsfd, struct ls_table *t, char *err, size_t errlen)
{
	struct ls_connect c = { 0 };
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int rc = -1;
	int nlerr;
	int e;

	t->len = 0;
	c.sk = nl_socket_alloc();
	if (c.sk == NULL) {
		snprintf(err, errlen, "linkstats: netlink socket: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return -1;
	}
	if (netns_call(nsfd, ls_connect_fn, &c) == -1) {
		if (c.nlerr < 0)
			snprintf(err, errlen, "linkstats: netlink connect: %s", nl_geterror(c.nlerr));
		else
			snprintf(err, errlen, "linkstats: enter namespace: %s", strerror(errno));
		goto out;
	}
	nlerr = rtnl_link_alloc_cache(c.sk, AF_UNSPEC, &cache);
	if (nlerr < 0) {
		snprintf(err, errlen, "linkstats: link dump: %s", nl_geterror(nlerr));
		cache = NULL;
		errno = EIO;
		goto out;
	}
	for (obj = nl_cache_get_first(cache); obj != NULL; obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		struct ls_link l = { 0 };
		const char *name = rtnl_link_get_name(link);

		l.ifindex = rtnl_link_get_ifindex(link);
		if (name != NULL)
			snprintf(l.name, sizeof(l.name), "%s", name);
		l.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
		l.rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
		l.tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
		l.rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
		l.tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
		l.rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
		l.tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
		l.rx_errors = rtnl_link_get_stat(link, RTNL_LINK_RX_ERRORS);
		l.tx_errors = rtnl_link_get_stat(link, RTNL_LINK_TX_ERRORS);
		if (ls_push(t, &l) == -1) {
			snprintf(err, errlen, "linkstats: %s", strerror(ENOMEM));
			t->len = 0;
			errno = ENOMEM;
			goto out;
		}
	}
	if (t->len > 1)
		qsort(t->v, t->len, sizeof(*t->v), ls_cmp);
	rc = 0;
out:
	e = errno;
	nl_cache_free(cache);
	nl_socket_free(c.sk);
	errno = e;
	return rc;
}

void ls_table_free(struct ls_table *t)
{
	free(t->v);
	t->v = NULL;
	t->len = 0;
	t->cap = 0;
}
