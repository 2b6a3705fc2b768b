/* Socket activation launcher for tests: binds and listens on each
 * ADDR:PORT, passes the sockets to a command with the systemd convention
 * (fds from 3, LISTEN_FDS, LISTEN_PID = the command's pid, LISTEN_FDNAMES),
 * and execs it.
 *
 * Usage: fdpass [-N] [-P PID] SPEC... -- COMMAND [ARGS...]
 *   SPEC is IPV4:PORT or IPV4:PORT=NAME (the name defaults to IPV4_PORT,
 *   the name proxyd gives a bind without `name`).
 *   -N  do not set LISTEN_FDNAMES
 *   -P  set LISTEN_PID to PID instead of our own (to test that it is
 *       ignored) */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFDS 16

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "fdpass: %s %s: %s\n", what, arg, strerror(errno));
	exit(2);
}

int main(int argc, char **argv)
{
	char names[1024] = "", buf[32];
	int fds[MAXFDS], n = 0, i, no_names = 0, opt, one = 1;
	long pid = (long)getpid();

	while ((opt = getopt(argc, argv, "+NP:")) != -1) {
		switch (opt) {
		case 'N':
			no_names = 1;
			break;
		case 'P':
			pid = strtol(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	for (i = optind; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char spec[128], *eq, *colon;
		const char *name;
		struct sockaddr_in sin;
		int fd;

		if (n == MAXFDS || strlen(argv[i]) >= sizeof(spec)) {
			fprintf(stderr, "fdpass: too many or too long specs\n");
			return 2;
		}
		strcpy(spec, argv[i]);
		eq = strchr(spec, '=');
		if (eq)
			*eq = '\0';
		name = eq ? eq + 1 : argv[i];
		colon = strrchr(spec, ':');
		if (!colon) {
			fprintf(stderr, "fdpass: bad spec %s\n", argv[i]);
			return 2;
		}
		*colon = '\0';
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, spec, &sin.sin_addr) != 1) {
			fprintf(stderr, "fdpass: bad address %s\n", spec);
			return 2;
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd == -1)
			die("socket", argv[i]);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			die("bind", argv[i]);
		if (listen(fd, 128) == -1)
			die("listen", argv[i]);
		fds[n++] = fd;
		if (strlen(names) + strlen(name) + 2 > sizeof(names)) {
			fprintf(stderr, "fdpass: names too long\n");
			return 2;
		}
		if (n > 1)
			strcat(names, ":");
		if (eq) {
			strcat(names, name);
		} else {
			char *c = names + strlen(names);

			strcat(names, argv[i]);
			for (; *c; c++)
				if (*c == ':')
					*c = '_';
		}
	}
	if (i >= argc - 1) {
		fprintf(stderr, "usage: fdpass [-N] [-P PID] SPEC... -- COMMAND [ARGS...]\n");
		return 2;
	}
	/* Move the sockets to 3, 4, ... without clobbering one another:
	 * first out of the way, above every target. */
	for (int k = 0; k < n; k++) {
		int hi = fcntl(fds[k], F_DUPFD, 3 + MAXFDS);

		if (hi == -1)
			die("dup", "");
		close(fds[k]);
		fds[k] = hi;
	}
	for (int k = 0; k < n; k++) {
		if (dup2(fds[k], 3 + k) == -1)
			die("dup2", "");
		close(fds[k]);
	}
	snprintf(buf, sizeof(buf), "%d", n);
	setenv("LISTEN_FDS", buf, 1);
	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	if (!no_names)
		setenv("LISTEN_FDNAMES", names, 1);
	execvp(argv[i + 1], &argv[i + 1]);
	die("exec", argv[i + 1]);
	return 2;
}
