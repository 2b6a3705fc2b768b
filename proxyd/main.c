#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "proxyd/cfg.h"
#include "proxyd/check.h"
#include "proxyd/listener.h"
#include "proxyd/logsink.h"
#include "proxyd/loop.h"
#include "proxyd/metrics.h"
#include "proxyd/plog.h"
#include "proxyd/proxy.h"
#include "proxyd/session-state.h"
#include "proxyd/session.h"
#include "proxyd/stats.h"
#include "proxyd/thread.h"

/* fds kept apart from the two per connection: listeners, logs, checks,
 * the stats socket, the event loop. */
#define RESERVED_FDS 32

static struct {
	const char *cfg_path;
	const char *pidfile;
	int check_only;
	int debug;
	int nosplice;
	struct cfg cfg;
	int stopping;           /* graceful stop under way */
	struct loop_timer hard_stop;
	unsigned hard_stop_after;
} M;

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: proxyd -f FILE [-c] [-d] [-S] [-p PIDFILE] [-v] [-h]\n"
		"  -f FILE     configuration file (HAProxy syntax)\n"
		"  -c          check the configuration and exit (0 valid, 1 invalid)\n"
		"  -d          debug logging\n"
		"  -S          never use splice(2): forward through buffers only\n"
		"  -p PIDFILE  write the process id to PIDFILE\n"
		"  -v          print the version and exit\n"
		"  -h          print this help and exit\n");
}

static int check_config(void)
{
	struct cfg_diag d;
	int rc;

	cfg_diag_init(&d);
	rc = cfg_load(M.cfg_path, &M.cfg, &d);
	if (rc == 0)
		cfg_lint(&M.cfg, &d);
	cfg_diag_print(&d, stderr);
	if (rc == 0)
		fprintf(stderr, "%s: configuration is valid (%u warning%s)\n", M.cfg_path,
			d.warnings, d.warnings == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: configuration is invalid (%u error%s, %u warning%s)\n",
			M.cfg_path, d.errors, d.errors == 1 ? "" : "s", d.warnings,
			d.warnings == 1 ? "" : "s");
	cfg_free(&M.cfg);
	cfg_diag_free(&d);
	return rc == 0 ? 0 : 1;
}

/* Loads the configuration for running: errors are fatal, lint warnings
 * are logged. */
static void load_config(void)
{
	struct cfg_diag d;
	size_t i;
	int rc;

	cfg_diag_init(&d);
	rc = cfg_load(M.cfg_path, &M.cfg, &d);
	if (rc == 0)
		cfg_lint(&M.cfg, &d);
	for (i = 0; i < d.nmsgs; i++) {
		if (d.msgs[i].sev == CFG_SEV_ERROR)
			log_warnx("event=config error=\"%s\"", d.msgs[i].text);
		else
			log_warnx("event=config warning=\"%s\"", d.msgs[i].text);
	}
	cfg_diag_free(&d);
	if (rc != 0)
		fatalx("event=config_invalid file=%s", M.cfg_path);
}

/* Applies ulimit-n, or raises the soft fd limit to the hard one; then
 * settles the global maxconn: as configured, else HAProxy's
 * (fds - reserved) / 2. Returns the fd limit in force. */
static unsigned setup_limits(void)
{
	struct rlimit rl;
	struct cfg_global *g = &M.cfg.global;
	unsigned maxconn, need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("event=getrlimit");
	if (g->ulimit_n) {
		struct rlimit want = { .rlim_cur = g->ulimit_n, .rlim_max = g->ulimit_n };

		if (want.rlim_max < rl.rlim_max)
			want.rlim_max = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == -1) {
			if (errno == EPERM || errno == EINVAL)
				fatalx("event=ulimit_n ulimit-n=%u hard_limit=%llu "
				       "error=\"ulimit-n is above the hard fd limit and this "
				       "process may not raise it\"",
				       g->ulimit_n, (unsigned long long)rl.rlim_max);
			fatal("event=ulimit_n ulimit-n=%u", g->ulimit_n);
		}
	} else if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("event=setrlimit");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("event=getrlimit");
	if (!(g->set & CFG_GLOBAL_SET_MAXCONN))
		cfg_finalize_limits(&M.cfg, cfg_global_maxconn_auto(&M.cfg));
	maxconn = g->maxconn_eff;
	need = maxconn * 2 + RESERVED_FDS;
	if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
		log_warnx("event=maxconn_fds maxconn=%u fds_needed=%u fd_limit=%llu "
			  "msg=\"maxconn needs more fds than the limit allows: "
			  "connections will fail with EMFILE before maxconn is reached\"",
			  maxconn, need, (unsigned long long)rl.rlim_cur);
	return rl.rlim_cur == RLIM_INFINITY ? 0xffffffffu : (unsigned)rl.rlim_cur;
}

static void write_pidfile(void)
{
	char buf[32];
	int fd, n;

	if (!M.pidfile)
		return;
	fd = open(M.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		fatal("event=pidfile path=%s", M.pidfile);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n)
		fatal("event=pidfile path=%s", M.pidfile);
	close(fd);
}

/* chroot, then group and user, after every socket is open and before the
 * first accept. */
static void drop_privileges(void)
{
	const struct cfg_global *g = &M.cfg.global;
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	int have_uid = 0, have_gid = 0;

	if (g->user) {
		pw = getpwnam(g->user);
		if (!pw)
			fatalx("event=privdrop error=\"unknown user '%s'\"", g->user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		have_uid = have_gid = 1;
	}
	if (g->group) {
		gr = getgrnam(g->group);
		if (!gr)
			fatalx("event=privdrop error=\"unknown group '%s'\"", g->group);
		gid = gr->gr_gid;
		have_gid = 1;
	}
	if (g->chroot) {
		if (chroot(g->chroot) == -1)
			fatal("event=chroot dir=%s", g->chroot);
		if (chdir("/") == -1)
			fatal("event=chroot dir=%s", g->chroot);
	}
	if (have_gid) {
		if (setgroups(1, &gid) == -1 && getegid() != gid)
			fatal("event=setgroups gid=%u", (unsigned)gid);
		if (setgid(gid) == -1)
			fatal("event=setgid gid=%u", (unsigned)gid);
	}
	if (have_uid && setuid(uid) == -1)
		fatal("event=setuid uid=%u", (unsigned)uid);
	if (g->chroot || have_uid || have_gid)
		log_info("event=privdrop chroot=%s uid=%u gid=%u", g->chroot ? g->chroot : "-",
			 (unsigned)getuid(), (unsigned)getgid());
}

/* ---- stopping ----------------------------------------------------------- */

/* Event loops: `nbthread`, else one per CPU this process may run on. */
static unsigned thread_want(void)
{
	cpu_set_t set;
	int n;

	if (M.cfg.global.set & CFG_GLOBAL_SET_NBTHREAD)
		return M.cfg.global.nbthread;
	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 1;
	n = CPU_COUNT(&set);
	if (n < 1)
		return 1;
	return n > CFG_MAX_THREADS ? CFG_MAX_THREADS : (unsigned)n;
}

static void kill_all_cb(struct thread_msg *m)
{
	session_kill_all(m->a);
}

static void hard_stop_cb(struct loop_timer *t)
{
	struct thread_msg m = { .fn = kill_all_cb, .a = (void *)SESS_WHY_STOP };
	unsigned n = session_count();

	plog_event(PLOG_WARNING, "event=hard_stop hard_stop_after=%ums sessions_killed=%u",
		   M.hard_stop_after, n);
	/* The other threads end theirs before they stop (messages run in
	 * order). */
	thread_send_others(&m);
	session_kill_all(SESS_WHY_STOP);
	loop_stop();
}

static void sig_graceful(int signo, void *arg)
{
	if (M.stopping)
		return;
	M.stopping = 1;
	__atomic_store_n(&proxy_info.stopping, 1, __ATOMIC_RELEASE);
	plog_event(PLOG_NOTICE, "event=graceful_stop signal=SIGUSR1 sessions=%u", session_count());
	listener_close_all();
	stats_close_listeners();
	metrics_close_listener();
	if (listener_sd_notify("STOPPING=1") == -1)
		log_warn("event=sd_notify msg=STOPPING=1");
	if (M.hard_stop_after) {
		loop_timer_init(&M.hard_stop, hard_stop_cb, NULL);
		if (loop_timer_arm_in(&M.hard_stop, M.hard_stop_after) == -1)
			log_warn("event=hard_stop_timer");
	}
}

static void sig_fast(int signo, void *arg)
{
	plog_event(PLOG_NOTICE, "event=fast_stop signal=%s sessions=%u",
		   signo == SIGINT ? "SIGINT" : "SIGTERM", session_count());
	M.stopping = 1;
	__atomic_store_n(&proxy_info.stopping, 1, __ATOMIC_RELEASE);
	(void)listener_sd_notify("STOPPING=1");
	listener_close_all();
	loop_stop();
}

static void sig_hup(int signo, void *arg)
{
	log_info("event=sighup action=ignored msg=\"reloading is the supervisor's job\"");
}

/* Before each sleep of thread 0: a graceful stop ends when the last
 * session of any thread has (the thread that ends it wakes thread 0). */
static void stop_hook(void *arg)
{
	if (M.stopping && session_count() == 0)
		loop_stop();
}

int main(int argc, char **argv)
{
	static const struct thread_hooks hooks = {
		.init = session_thread_init,
		.fini = session_thread_free,
	};
	char err[512];
	unsigned fdlimit, maxpipes, nthreads;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "f:cdSp:vh")) != -1) {
		switch (opt) {
		case 'f':
			M.cfg_path = optarg;
			break;
		case 'c':
			M.check_only = 1;
			break;
		case 'd':
			M.debug = 1;
			break;
		case 'S':
			M.nosplice = 1;
			break;
		case 'p':
			M.pidfile = optarg;
			break;
		case 'v':
			printf("proxyd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!M.cfg_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (M.check_only)
		return check_config();

	log_init("proxyd", 0, M.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	/* Set by proxysv in `log-format json`: event lines as JSON too. */
	if (!strcmp(getenv("PROXYD_LOG_JSON") ?: "", "1"))
		log_set_sink(logsink_json, (void *)"proxyd");
	signal(SIGPIPE, SIG_IGN);
	load_config();
	fdlimit = setup_limits();
	listener_set_maxconn(M.cfg.global.maxconn_eff);
	M.hard_stop_after = M.cfg.global.hard_stop_after;

	if (loop_init() == -1)
		fatal("event=loop_init");
	nthreads = thread_want();
	if (thread_setup(nthreads) == -1)
		fatal("event=thread_setup threads=%u", nthreads);
	if (proxy_build(&M.cfg, loop_now(), err, sizeof(err)) == -1)
		fatalx("event=proxy_build error=\"%s\"", err);
	proxy_info.maxconn = M.cfg.global.maxconn_eff;
	proxy_info.hard_maxconn = M.cfg.global.maxconn_eff;
	proxy_info.maxsock = fdlimit;
	proxy_info.start_mono = loop_now();
	proxy_info.start_real = loop_now_real();
	if (plog_init(&M.cfg, err, sizeof(err)) == -1)
		fatalx("event=log_init error=\"%s\"", err);
	/* Pipes only live while data moves; a quarter of maxconn, as HAProxy's
	 * default maxpipes. */
	maxpipes = M.nosplice ? 0 : M.cfg.global.maxconn_eff / 4;
	if (session_layer_init(&M.cfg, maxpipes) == -1)
		fatalx("event=session_init error=\"out of memory\"");
	if (listener_setup_all(&M.cfg, err, sizeof(err)) == -1)
		fatalx("event=listener_setup error=\"%s\"", err);
	if (stats_start(&M.cfg, err, sizeof(err)) == -1)
		fatalx("event=stats_start error=\"%s\"", err);
	if (metrics_start(&M.cfg, err, sizeof(err)) == -1)
		fatalx("event=metrics_start error=\"%s\"", err);
	write_pidfile();
	drop_privileges();
	if (check_start_all() == -1)
		fatal("event=check_start");

	if (loop_signal(SIGUSR1, sig_graceful, NULL) == -1 ||
	    loop_signal(SIGTERM, sig_fast, NULL) == -1 ||
	    loop_signal(SIGINT, sig_fast, NULL) == -1 ||
	    loop_signal(SIGHUP, sig_hup, NULL) == -1)
		fatal("event=signals");
	if (loop_hook_add(stop_hook, NULL) == -1)
		fatal("event=loop_hook");
	/* After the signals are blocked: the threads inherit the mask, so
	 * that only thread 0's signalfd sees them. */
	if (thread_start(&hooks) == -1)
		fatal("event=thread_start threads=%u", nthreads);
	if (listener_start_all(err, sizeof(err)) == -1)
		fatalx("event=listener_start error=\"%s\"", err);
	plog_event(PLOG_NOTICE, "event=start pid=%ld maxconn=%u listeners=%u fd_limit=%u threads=%u",
		   (long)getpid(), M.cfg.global.maxconn_eff, listener_count(), fdlimit, nthreads);
	if (listener_sd_notify("READY=1") == -1)
		log_warn("event=sd_notify msg=READY=1");

	if (loop_run() == -1) {
		log_warn("event=loop_run");
		rc = 1;
	}

	/* Orderly teardown: every session ended and logged, then every
	 * subsystem in reverse order of setup. */
	listener_close_all();
	thread_stop_join();
	session_kill_all(SESS_WHY_STOP);
	check_stop_all();
	stats_stop();
	metrics_stop();
	plog_event(PLOG_NOTICE, "event=exit pid=%ld", (long)getpid());
	listener_free_all();
	session_layer_free();
	plog_free();
	proxy_free_all();
	thread_free();
	loop_free();
	cfg_free(&M.cfg);
	return rc;
}
