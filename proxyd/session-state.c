#include "config.h"

#include <string.h>

#include "proxyd/session-state.h"

int session_side_half_closed(const struct session *s, int side)
{
	if (side == SESS_SIDE_CLIENT)
		return (s->req.flags & SESS_CH_SHUTR) || (s->res.flags & SESS_CH_SHUTW);
	return (s->res.flags & SESS_CH_SHUTR) || (s->req.flags & SESS_CH_SHUTW);
}

unsigned session_side_timeout(const struct session *s, int side)
{
	unsigned fin = side == SESS_SIDE_CLIENT ? s->to.client_fin : s->to.server_fin;

	if (fin && session_side_half_closed(s, side))
		return fin;
	if (s->tunnel && s->to.tunnel)
		return s->to.tunnel;
	return side == SESS_SIDE_CLIENT ? s->to.client : s->to.server;
}

/* 1 when the channel holds data its producer must not add to yet. */
static int chan_blocked(const struct sess_chan *c)
{
	if (c->flags & SESS_CH_SPLICE)
		return (c->flags & SESS_CH_WAITROOM) != 0;
	return c->len > 0;
}

static int chan_pending(const struct sess_chan *c)
{
	return c->len > 0 || c->pipe_bytes > 0;
}

static void deadline_min(uint64_t *best, enum sess_exp *what, uint64_t d, enum sess_exp w)
{
	if (d < *best) {
		*best = d;
		*what = w;
	}
}

/* Inactivity deadline of one side: in = channel it produces, out = channel
 * it consumes. */
static void side_deadline(const struct session *s, int side, const struct sess_side *sd,
			  const struct sess_chan *in, const struct sess_chan *out,
			  uint64_t *best, enum sess_exp *what)
{
	unsigned to = session_side_timeout(s, side);
	enum sess_exp w = side == SESS_SIDE_CLIENT ? SESS_EXP_CLIENT : SESS_EXP_SERVER;

	if (!to)
		return;
	if (!(in->flags & SESS_CH_SHUTR) && !chan_blocked(in))
		deadline_min(best, what, sd->last_rd + to, w);
	if (out && chan_pending(out) && !(out->flags & SESS_CH_SHUTW))
		deadline_min(best, what, sd->last_wr + to, w);
}

/* HTTP, no server connection in use: between requests, receiving a head,
 * or closing. Keep-alive idle time runs from the end of the previous
 * response; the head's time from its first byte (or from the accept for
 * the first request); each falls back to timeout client from the last read
 * when its own timeout is not set. */
static void http_deadline(const struct session *s, uint64_t *best, enum sess_exp *what)
{
	const struct sess_http *h = &s->http;
	unsigned to;

	switch (h->rq) {
	case HTTP_RQ_IDLE:
		to = h->nreq ? s->to.http_keep_alive : s->to.http_request;
		if (to) {
			deadline_min(best, what, h->t_rq + to,
				     h->nreq ? SESS_EXP_HTTP_KA : SESS_EXP_HTTP_REQ);
			return;
		}
		break;
	case HTTP_RQ_HEAD:
		if (s->to.http_request) {
			deadline_min(best, what, h->t_rq + s->to.http_request, SESS_EXP_HTTP_REQ);
			return;
		}
		break;
	case HTTP_RQ_CLOSING:
		to = s->to.client_fin ? s->to.client_fin : s->to.client;
		if (to)
			deadline_min(best, what, s->cli.last_rd + to, SESS_EXP_CLIENT);
		return;
	default:
		break;
	}
	if (s->to.client)
		deadline_min(best, what, s->cli.last_rd + s->to.client, SESS_EXP_CLIENT);
}

uint64_t session_timer_next(const struct session *s, enum sess_exp *what)
{
	uint64_t best = UINT64_MAX;

	*what = SESS_EXP_NONE;
	switch (s->state) {
	case SESS_ST_ASSIGN:
		if (s->http.on) {
			http_deadline(s, &best, what);
			break;
		}
		side_deadline(s, SESS_SIDE_CLIENT, &s->cli, &s->req, NULL, &best, what);
		break;
	case SESS_ST_QUEUED:
		if (s->to.queue)
			deadline_min(&best, what, s->t_queue + s->to.queue, SESS_EXP_QUEUE);
		side_deadline(s, SESS_SIDE_CLIENT, &s->cli, &s->req, NULL, &best, what);
		break;
	case SESS_ST_TURNAROUND:
		deadline_min(&best, what, s->t_turnaround, SESS_EXP_TURNAROUND);
		side_deadline(s, SESS_SIDE_CLIENT, &s->cli, &s->req, NULL, &best, what);
		break;
	case SESS_ST_CONNECTING:
		if (s->to.connect)
			deadline_min(&best, what, s->t_connect + s->to.connect, SESS_EXP_CONNECT);
		side_deadline(s, SESS_SIDE_CLIENT, &s->cli, &s->req, NULL, &best, what);
		break;
	case SESS_ST_DATA:
		if (s->http.on && s->http.rq == HTTP_RQ_DONE && s->http.rs == HTTP_RS_HEAD) {
			/* The request is complete: only the server is expected
			 * to do something (HAProxy's 504 case). */
			if (s->to.server)
				deadline_min(&best, what, s->srvs.last_rd + s->to.server,
					     SESS_EXP_SERVER);
			break;
		}
		side_deadline(s, SESS_SIDE_CLIENT, &s->cli, &s->req, &s->res, &best, what);
		side_deadline(s, SESS_SIDE_SERVER, &s->srvs, &s->res, &s->req, &best, what);
		break;
	case SESS_ST_CLOSED:
		break;
	}
	return best;
}

enum sess_fin session_fin_now(const struct session *s, enum sess_cause cause)
{
	if (cause == SESS_CAUSE_NONE)
		return SESS_FIN_NONE;
	if (s->http.on && (s->http.rq <= HTTP_RQ_HEAD || s->http.rq == HTTP_RQ_LOCAL))
		return SESS_FIN_REQ;
	if (s->http.on && s->state == SESS_ST_DATA && s->http.rs == HTTP_RS_HEAD)
		return SESS_FIN_HDRS;
	switch (s->state) {
	case SESS_ST_QUEUED:
		return SESS_FIN_QUEUE;
	case SESS_ST_ASSIGN:
	case SESS_ST_TURNAROUND:
	case SESS_ST_CONNECTING:
		return SESS_FIN_CONNECT;
	case SESS_ST_DATA:
	case SESS_ST_CLOSED:
		break;
	}
	/* The server connection is over (it sent its end of stream and has
	 * been sent ours) while the client still receives: LAST data. */
	if ((s->res.flags & SESS_CH_SHUTR) && (s->req.flags & SESS_CH_SHUTW) &&
	    !(s->res.flags & SESS_CH_SHUTW))
		return SESS_FIN_LAST;
	return SESS_FIN_DATA;
}

char session_cause_char(enum sess_cause c)
{
	static const char map[] = {
		[SESS_CAUSE_NONE] = '-',
		[SESS_CAUSE_CLI_ABORT] = 'C',
		[SESS_CAUSE_SRV_ABORT] = 'S',
		[SESS_CAUSE_PROXY] = 'P',
		[SESS_CAUSE_RESOURCE] = 'R',
		[SESS_CAUSE_INTERNAL] = 'I',
		[SESS_CAUSE_DOWN] = 'D',
		[SESS_CAUSE_BACKUP] = 'U',
		[SESS_CAUSE_KILLED] = 'K',
		[SESS_CAUSE_CLI_TO] = 'c',
		[SESS_CAUSE_SRV_TO] = 's',
		[SESS_CAUSE_LOCAL] = 'L',
	};

	if ((unsigned)c >= sizeof(map))
		return 'I';
	return map[c];
}

char session_fin_char(enum sess_fin f)
{
	static const char map[] = {
		[SESS_FIN_NONE] = '-',
		[SESS_FIN_QUEUE] = 'Q',
		[SESS_FIN_CONNECT] = 'C',
		[SESS_FIN_DATA] = 'D',
		[SESS_FIN_LAST] = 'L',
		[SESS_FIN_REQ] = 'R',
		[SESS_FIN_HDRS] = 'H',
	};

	if ((unsigned)f >= sizeof(map))
		return '-';
	return map[f];
}

void session_term_str(const struct session *s, char out[3])
{
	out[0] = session_cause_char(s->cause);
	out[1] = session_fin_char(s->fin);
	out[2] = '\0';
}

enum sess_cause session_why_cause(const char *why)
{
	if (why && strcmp(why, SESS_WHY_DOWN) == 0)
		return SESS_CAUSE_DOWN;
	if (why && strcmp(why, SESS_WHY_BACKUP) == 0)
		return SESS_CAUSE_BACKUP;
	return SESS_CAUSE_KILLED;
}
