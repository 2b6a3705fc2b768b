#ifndef SUPERVISOR_DETECT_T_H
#define SUPERVISOR_DETECT_T_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Incident kinds. The strings (detect_kind_name) are a stable interface:
 * they appear in diagnose output, the incident store and metrics. Append only. */
enum detect_kind {
	DK_DUPLICATE_LISTENER = 0,
	DK_ACCEPT_BACKLOG,
	DK_STALE_GENERATION,
	DK_HALF_CLOSE_BUILDUP,
	DK_SESSION_ON_DOWN_SERVER,
	DK_SERVER_QUEUE_STARVATION,
	DK_MAXCONN_SATURATION,
	DK_LOSSY_PEER,
	DK_KERNEL_TUNING,
	DK_CONFIG_LINT,
	DK_RELOAD_FAILED,
	DK_GENERATION_CRASH,
	DK_NKINDS,
};

enum detect_severity {
	DS_INFO = 0,
	DS_WARNING,
	DS_CRITICAL,
};

/* One finding. subject names what it is about, stably, so that the
 * supervisor can keep one incident per (kind, subject): "tcp:0.0.0.0:80",
 * "pid:1234", "pid:1234:port:80", "sysctl:net.ipv4.tcp_fin_timeout".
 * summary is one line for a person; detail is further lines (each ending in
 * '\n') of evidence for a person; evidence is one JSON object with the same
 * facts for machines. All three strings are owned by the finding. */
struct finding {
	enum detect_kind kind;
	enum detect_severity severity;
	char subject[96];
	pid_t pid;         /* main process concerned, 0 if none */
	uint16_t port;     /* main port concerned, 0 if none */
	double value;      /* the figure thresholds compare (queue, count, age...) */
	char *summary;
	char *detail;
	char *evidence;
};

struct finding_list {
	struct finding *v;
	size_t len;
	size_t cap;
};

/* Settings for the detectors of a one-shot diagnose pass (thresholds get
 * their own keys in the supervisor section later). Zero means default. */
struct detect_opts {
	const uint16_t *ports;     /* restrict findings to these ports */
	size_t nports;
	const pid_t *pids;         /* restrict findings to these processes */
	size_t npids;
	const char *const *allow;  /* duplicate-listener allow-list: "ADDR:PORT", ":PORT" or exe basename */
	size_t nallow;
	uint32_t group_window_ms;  /* siblings started within this are one group (default 2000) */
	uint32_t backlog_pct;      /* queue >= this % of backlog is "near" (default 80) */
	uint32_t half_close_min;   /* report half-closed counts from this many (default 10) */
	uint32_t half_close_age_ms;/* ... or any older than this idle age (default 60000) */
	uint32_t half_close_pct;   /* ... counts relative to the process's maxconn: the count
				    * threshold is max(half_close_min, this % of maxconn) when
				    * the maxconn is known (default 5) */
	uint32_t half_close_maxconn;/* maxconn for processes without a stats view here
				     * (the supervisor's proxy configuration; 0 unknown) */
	const struct detect_stats *half_close_views; /* per-process maxconn (show info
						      * Maxconn) when set; may be NULL */
	uint8_t half_close_abs;    /* 1: half_close_min alone, no relative threshold */
	/* The detectors of the proxy's view (stats sockets) and of peers. */
	uint32_t down_grace_ms;    /* session_on_down_server: DOWN for this long (default 5000) */
	uint32_t starve_pct;       /* server_queue_starvation: effective limit below this % of
				    * maxconn (default 50) */
	uint32_t maxconn_pct;      /* maxconn_saturation: current >= this % (default 90) */
	uint32_t lossy_retrans;    /* lossy_peer: a socket with this many consecutive RTO
				    * retransmits now is lossy (default 3) */
	uint32_t lossy_min;        /* ... a peer with this many lossy sockets (default 3) */
};

struct stats_view;

/* The proxy's views for the detectors that need them: one per proxy process
 * whose stats socket was read this tick (and the same set one tick earlier,
 * for trends; matched by pid). */
struct detect_stats {
	const struct stats_view *cur;
	size_t ncur;
	const struct stats_view *prev;
	size_t nprev;
};

#endif
