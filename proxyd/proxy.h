/* Runtime proxies and servers: building them from the configuration,
 * lookups, counters, and the functions the session layer supplies.
 *
 * Return conventions: int functions return 0, or -1 with a message in
 * (err, errlen); lookups return NULL when not found. */
#ifndef PROXYD_PROXY_H
#define PROXYD_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "common/sbuf.h"
#include "proxyd/cfg-t.h"
#include "proxyd/proxy-t.h"

/* ---- lists ---------------------------------------------------------------- */

static inline void px_list_init(struct px_list *l)
{
	l->next = l;
	l->prev = l;
}

static inline int px_list_empty(const struct px_list *l)
{
	return l->next == l;
}

/* Appends n before head (at the tail). */
static inline void px_list_add_tail(struct px_list *head, struct px_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

/* Unlinks n and leaves it pointing at itself (so that a second del is harmless). */
static inline void px_list_del(struct px_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n;
	n->prev = n;
}

#define px_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- building and lookups ----------------------------------------------- */

/* Builds every proxy of c (sections in file order) with its servers and
 * links frontends to their default backend. Servers start UP (READY), or
 * MAINT when `disabled`, with check health at rise; slowstart does not apply
 * at start. now is loop_now(). Replaces nothing: call proxy_free_all() first
 * when building again. 0, -1 (ENOMEM). */
int proxy_build(const struct cfg *c, uint64_t now, char *err, size_t errlen);
void proxy_free_all(void);

unsigned proxy_count(void);
struct proxy *proxy_at(unsigned i);             /* 0 <= i < proxy_count() */
/* The proxy with this name having all bits of cap (0 = any). */
struct proxy *proxy_find(const char *name, unsigned cap);
struct server *proxy_server_find(const struct proxy *be, const char *name);

/* Parses "BACKEND/SERVER" and finds both. Returns 0, or -1 with one of
 * HAProxy's messages in err: "Require 'backend/server'.", "No such
 * backend.", "No such server.". */
int proxy_server_parse(const char *arg, struct proxy **be, struct server **srv,
		       char *err, size_t errlen);

/* Process-wide figures, updated by the session layer. */
extern struct proxy_info proxy_info;

/* ---- counters ----------------------------------------------------------- */

/* Event counters any thread may bump (bytes, requests, errors): relaxed
 * atomic additions, read with PX_LOAD outside isolation. Counters that
 * move together (scur/smax/stot/rates/averages, queues) are changed only
 * under px_lock() by the functions below and queue.c. */
#define PX_ADD(x, n) ((void)__atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED))
#define PX_INC(x) PX_ADD(x, 1)
#define PX_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A session starts on c (a frontend, a backend or a server): scur, smax,
 * stot, rate, lastsess. */
void px_counters_open(struct px_counters *c, uint64_t now);
/* (px_counters_open, _close and _times take px_lock themselves.) */
/* The session leaves c: scur--. */
void px_counters_close(struct px_counters *c);
/* Feeds the time averages when a session ends (ms; -1u = not measured). */
void px_counters_times(struct px_counters *c, unsigned qtime, unsigned ctime, unsigned ttime);
void px_rate_add(struct px_rate *r, uint64_t now);
unsigned px_rate_get(const struct px_rate *r, uint64_t now);
/* Rates counted in every thread (see struct px_mtrate): nslots is
 * thread_count; add counts one event in the calling thread's slot (and
 * folds the last second into the maximum when a new one starts); max is
 * the highest rate seen, the current one included. */
int px_mtrate_init(struct px_mtrate *m, unsigned nslots);
void px_mtrate_free(struct px_mtrate *m);
void px_mtrate_add(struct px_mtrate *m, uint64_t now);
unsigned px_mtrate_get(const struct px_mtrate *m, uint64_t now);
unsigned px_mtrate_max(const struct px_mtrate *m);

/* ---- server state -------------------------------------------------------- */

enum srv_status server_status(const struct server *srv);
const char *server_status_name(enum srv_status st);     /* "UP", "MAINT", ... */
/* 1 if new sessions may be sent to srv now. */
int server_usable(const struct server *srv);
/* The same, taking px_lock (for the session layer). */
int server_usable_locked(const struct server *srv);
/* Effective weight now (slowstart ramp applied; 0 when not usable). */
unsigned server_eweight(const struct server *srv, uint64_t now);
/* Effective connection limit now: the dynamic maxconn for the backend's
 * current connection count, with the slowstart ramp. 0 = no limit. */
unsigned server_eff_maxconn(const struct server *srv, uint64_t now);
/* Slowstart throttle in percent (0..99) while STARTING, else 100. */
unsigned server_throttle(const struct server *srv, uint64_t now);
/* STARTING servers whose slowstart is over become UP. */
void server_refresh(struct server *srv, uint64_t now);

/* ---- supplied by the session layer (session.c) --------------------------- */

/* These are implemented where struct session is defined; the backend layer
 * never looks inside a struct session. Unit tests supply their own. */
struct sess_lb *session_lb(struct session *s);
/* Ends s now (shutdown-sessions, on-marked-down/up): why is logged. */
void session_shutdown(struct session *s, const char *why);
/* A queued session got a slot on srv: connect now. */
void session_queue_ready(struct session *s, struct server *srv);
void session_foreach(void (*fn)(struct session *s, void *arg), void *arg);
/* Appends one human-readable line describing s, without a newline. */
void session_show(struct session *s, struct sbuf *out);

/* Initialises the backend layer's part of a session (no backend, no slot). */
void sess_lb_init(struct sess_lb *lb, struct session *s);

#endif
