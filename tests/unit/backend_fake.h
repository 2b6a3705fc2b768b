/* Fakes for the backend layer's unit tests: a session type, the session
 * layer's functions, a settable clock in place of the event loop, and a
 * builder of configurations in memory. Included by exactly one test file. */
#ifndef TESTS_UNIT_BACKEND_FAKE_H
#define TESTS_UNIT_BACKEND_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "proxyd/cfg-t.h"
#include "proxyd/loop.h"
#include "proxyd/proxy.h"
#include "proxyd/thread.h"

struct session {
	int id;
	int ready;              /* session_queue_ready calls */
	struct server *ready_srv;
	int shut;               /* session_shutdown calls */
	char why[64];
	int release_on_shutdown;        /* behave like the session layer */
	int end_on_ready;       /* the connect fails at once: the session ends */
	struct sess_lb lb;
};

/* Threads: the test sets thread_count; messages are recorded, and run
 * by the test with fake_msgs_run() as their thread would. */
unsigned thread_count = 1;
__thread unsigned thread_id;
static struct thread_msg fake_msgs[64];
static unsigned fake_msg_tid[64];
static unsigned fake_nmsgs;

int thread_send(unsigned tid, const struct thread_msg *m)
{
	if (fake_nmsgs == sizeof(fake_msgs) / sizeof(fake_msgs[0]))
		abort();
	fake_msg_tid[fake_nmsgs] = tid;
	fake_msgs[fake_nmsgs++] = *m;
	return 0;
}

unsigned thread_send_others(const struct thread_msg *m)
{
	unsigned i;

	for (i = 0; i < thread_count; i++)
		if (i != thread_id)
			thread_send(i, m);
	return 0;
}

void thread_isolate(void)
{
}

void thread_release(void)
{
}

/* Runs the recorded messages, each as its thread; returns how many. */
static __attribute__((unused)) unsigned fake_msgs_run(void)
{
	unsigned i, n = fake_nmsgs, self = thread_id;

	for (i = 0; i < n; i++) {
		thread_id = fake_msg_tid[i];
		fake_msgs[i].fn(&fake_msgs[i]);
	}
	thread_id = self;
	memmove(fake_msgs, fake_msgs + n, (fake_nmsgs - n) * sizeof(fake_msgs[0]));
	memmove(fake_msg_tid, fake_msg_tid + n, (fake_nmsgs - n) * sizeof(fake_msg_tid[0]));
	fake_nmsgs -= n;
	return n;
}

static uint64_t fake_now = 1000000;
static int fake_ready_calls;
static int fake_shutdown_calls;

uint64_t loop_now(void)
{
	return fake_now;
}

uint64_t loop_now_real(void)
{
	return 1795242328000ULL + fake_now;
}

/* Ends a session as the session layer would (backend_sess_end when the
 * test links queue.c); defined by each test. */
void fake_session_end(struct session *s);

struct sess_lb *session_lb(struct session *s)
{
	return &s->lb;
}

void session_queue_ready(struct session *s, struct server *srv)
{
	s->ready++;
	s->ready_srv = srv;
	fake_ready_calls++;
	if (s->end_on_ready)
		fake_session_end(s);
}

void session_shutdown(struct session *s, const char *why)
{
	s->shut++;
	snprintf(s->why, sizeof(s->why), "%s", why);
	fake_shutdown_calls++;
	if (s->release_on_shutdown)
		fake_session_end(s);
}

static struct session **fake_sessions;
static size_t fake_nsessions;

void session_foreach(void (*fn)(struct session *s, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < fake_nsessions; i++)
		fn(fake_sessions[i], arg);
}

void session_show(struct session *s, struct sbuf *out)
{
	sb_printf(out, "sess id=%d srv=%s", s->id, s->lb.srv ? s->lb.srv->name : "-");
}

static __attribute__((unused)) void fake_session_init(struct session *s, int id)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	sess_lb_init(&s->lb, s);
}

/* ---- configurations in memory ------------------------------------------ */

static __attribute__((unused)) void fake_addr(struct sockaddr_storage *ss, socklen_t *len, const char *ip, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	*len = sizeof(*sin);
}

/* A server as cfg_load would give it (HAProxy's defaults). */
static __attribute__((unused)) void fake_cfg_server(struct cfg_server *cs, const char *name, unsigned port)
{
	char buf[64];

	memset(cs, 0, sizeof(*cs));
	cs->name = strdup(name);
	snprintf(buf, sizeof(buf), "127.0.0.1:%u", port);
	cs->addr_text = strdup(buf);
	fake_addr(&cs->addr, &cs->addrlen, "127.0.0.1", port);
	cs->inter = cs->fastinter = cs->downinter = 2000;
	cs->fall = 3;
	cs->rise = 2;
	cs->weight = 1;
}

/* A backend with n servers s1..sn. */
static __attribute__((unused)) struct cfg_proxy *fake_cfg_backend(struct cfg *c, const char *name, unsigned n,
					  enum cfg_balance bal)
{
	struct cfg_proxy *p;
	unsigned i;

	c->proxies = realloc(c->proxies, (c->nproxies + 1) * sizeof(*c->proxies));
	p = &c->proxies[c->nproxies++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->cap = CFG_CAP_BE;
	p->balance = bal;
	p->fullconn = 1000;
	p->retries = 3;
	p->default_backend_idx = -1;
	p->servers = calloc(n ? n : 1, sizeof(*p->servers));
	p->nservers = n;
	for (i = 0; i < n; i++) {
		char sn[16];

		snprintf(sn, sizeof(sn), "s%u", i + 1);
		fake_cfg_server(&p->servers[i], sn, 22900 + i);
	}
	return p;
}

static __attribute__((unused)) struct cfg_proxy *fake_cfg_frontend(struct cfg *c, const char *name, int be_idx)
{
	struct cfg_proxy *p;

	c->proxies = realloc(c->proxies, (c->nproxies + 1) * sizeof(*c->proxies));
	p = &c->proxies[c->nproxies++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->cap = CFG_CAP_FE;
	p->maxconn = 2000;
	p->default_backend_idx = be_idx;
	return p;
}

static __attribute__((unused)) void fake_cfg_free(struct cfg *c)
{
	size_t i, j;

	for (i = 0; i < c->nproxies; i++) {
		struct cfg_proxy *p = &c->proxies[i];

		for (j = 0; j < p->nservers; j++) {
			free(p->servers[j].name);
			free(p->servers[j].addr_text);
		}
		free(p->servers);
		free(p->name);
	}
	free(c->proxies);
	memset(c, 0, sizeof(*c));
}

#endif
