/* dual_client.c - lab 11: reach a name over IPv6 or IPv4, whichever answers first (Happy Eyeballs).
 *
 * Fill in every TODO(lab11), in the order of the handout (README.md beside this
 * file): showip.c first, then dual_server.c, then dual_client.c. Build and grade
 * with `make grade LAB=11` from the top of the repository. Until a part is
 * written, running into it prints "TODO(lab11): ... is not implemented yet" and
 * exits 3, which the grader reports as "not implemented yet".
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "socklab.h"

#define STAGGER 0.250          /* RFC 8305's Connection Attempt Delay, seconds */
#define CONNECT_TIMEOUT 5.0    /* how long each address may take to answer, seconds */
#define IO_TIMEOUT_S 5         /* how long the server may take to answer once connected */
#define REPLY_MAX 512          /* the server's answer is one short line */

/* One connection attempt: an address and, while it is under way, its socket. */
struct attempt {
	const struct addrinfo *ai;
	int sock;                  /* -1 before it starts and after it ends */
	double deadline;           /* when it is given up on */
};

/* How long each address may take to answer, seconds: CONNECT_TIMEOUT unless -t
 * says otherwise (set once, by main). */
static double connect_timeout = CONNECT_TIMEOUT;

static void
usage(void)
{
	fprintf(stderr, "usage: dual_client HOST [-p PORT] [-t SECONDS]\n");
	exit(2);
}

/* Why an attempt failed, in words: errno's text, but our own for our own bound. */
static const char *
reason(int error)
{
	static char text[64];

	if (error != ETIMEDOUT)
		return strerror(error);
	snprintf(text, sizeof text, "no answer within %g seconds", connect_timeout);
	return text;
}

/* Every address of host for TCP to port, in the resolver's order; exits with
 * the resolver's own message on failure. */
static struct addrinfo *
resolve(const char *host, unsigned short port)
{
	/*
	 * TODO(lab11): as lookup() in showip, but with the port as the service:
	 * snprintf it into a string and add AI_NUMERICSERV to the hints, so that
	 * every address comes back with the port already in it.
	 */
	(void)host;
	(void)port;
	sl_todo("lab11", "resolve() in dual_client (getaddrinfo with a port)");
}

/*
 * Start connecting to a's address without waiting for the handshake. Returns 1
 * if it connected at once, 0 if it is under way (a->sock set), or -1 with
 * errno set if it failed at once (no route, no IPv6 in this kernel, ...).
 */
static int
start_attempt(struct attempt *a, double now)
{
	/*
	 * TODO(lab11): print "Trying ADDR (IPv6)" (or IPv4) with sl_addr_text();
	 * a->sock = socket(family, socktype | SOCK_NONBLOCK, protocol);
	 * a->deadline = now + connect_timeout; connect(): 0 -> return 1,
	 * EINPROGRESS -> return 0, anything else: close, a->sock = -1, keep errno,
	 * return -1.
	 */
	(void)a;
	(void)now;
	sl_todo("lab11", "start_attempt() in dual_client (a non-blocking connect)");
}

/* An attempt that poll() woke up for has finished its handshake, one way or
 * the other: 0 if it connected, else the errno it failed with (SO_ERROR). */
static int
attempt_error(const struct attempt *a)
{
	int error = 0;
	socklen_t errlen = sizeof error;

	if (getsockopt(a->sock, SOL_SOCKET, SO_ERROR, &error, &errlen) == -1)
		return errno;
	return error;
}

/* Say that attempt a failed with error, and let its socket go. */
static void
end_attempt(struct attempt *a, int error)
{
	printf("Failed %s: %s\n", sl_addr_text(a->ai->ai_addr, a->ai->ai_addrlen),
	       reason(error));
	if (a->sock != -1)
		close(a->sock);
	a->sock = -1;
}

/*
 * Wait for the attempts under way (pfds[i] mirrors attempts[i]; poll() skips
 * the -1 sockets) until one finishes, one's deadline passes, or the time
 * `until` comes (0: no such time). Returns at once if none is under way.
 */
static void
wait_attempts(const struct attempt *attempts, struct pollfd *pfds, size_t count,
              double until)
{
	double wake = until, now;
	int under_way = 0;

	for (size_t i = 0; i < count; i++) {
		pfds[i] = (struct pollfd){ .fd = attempts[i].sock, .events = POLLOUT };
		if (attempts[i].sock == -1)
			continue;
		under_way = 1;
		if (wake == 0 || attempts[i].deadline < wake)
			wake = attempts[i].deadline;
	}
	if (!under_way)
		return;
	now = sl_monotonic_seconds();
	/* Round up: waking a little early would only cost one more turn. */
	if (poll(pfds, count, wake > now ? (int)((wake - now) * 1000) + 1 : 0) == -1) {
		if (errno != EINTR)
			err(1, "poll");
		for (size_t i = 0; i < count; i++)
			pfds[i].revents = 0;
	}
}

/*
 * After a wait: end every attempt that failed or ran out of time (each one
 * sets *next_start to now, so the next address starts at once, and *error to
 * its errno). Returns the first attempt that connected, or NULL; sets
 * *under_way to how many are still connecting.
 */
static struct attempt *
settle_attempts(struct attempt *attempts, const struct pollfd *pfds, size_t count,
                double now, double *next_start, int *error, size_t *under_way)
{
	*under_way = 0;
	for (size_t i = 0; i < count; i++) {
		struct attempt *a = &attempts[i];
		int failed;

		if (a->sock == -1)
			continue;
		if (pfds[i].revents != 0) {
			if ((failed = attempt_error(a)) == 0)
				return a;
		} else if (now >= a->deadline) {
			failed = ETIMEDOUT;
		} else {
			(*under_way)++;
			continue;
		}
		end_attempt(a, failed);
		*error = failed;
		*next_start = now;
	}
	return NULL;
}

/* Say which attempt won, and close every other one still connecting: closing
 * a socket in the middle of its handshake just drops it. Returns its socket. */
static int
keep_winner(struct attempt *attempts, size_t count, struct attempt *winner, double start)
{
	struct sockaddr_storage self;
	socklen_t selflen = sizeof self;
	int sock = winner->sock;

	winner->sock = -1;
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("Connected to %s from %s after %.3f s\n",
	       sl_addr_text(winner->ai->ai_addr, winner->ai->ai_addrlen),
	       sl_addr_text(&self, selflen), sl_monotonic_seconds() - start);
	for (size_t i = 0; i < count; i++) {
		if (attempts[i].sock == -1)
			continue;
		printf("Cancelled %s (still connecting)\n",
		       sl_addr_text(attempts[i].ai->ai_addr, attempts[i].ai->ai_addrlen));
		close(attempts[i].sock);
		attempts[i].sock = -1;
	}
	return sock;
}

/*
 * Connect to the first address of res that answers, trying them in order:
 * start the next one STAGGER seconds after the last if nothing has connected
 * yet (at once when an attempt fails), keep the first that connects and close
 * the rest. Returns the connected socket, or -1 with *error set to the errno
 * of the last failure.
 */
static int
connect_first(const struct addrinfo *res, int *error)
{
	/*
	 * TODO(lab11): one struct attempt per address (calloc, .sock = -1) and one
	 * struct pollfd each; next_start = now. Loop while nothing has won and an
	 * address is left or an attempt is under way:
	 *   wait_attempts() until next_start (0 once every address has started);
	 *   settle_attempts() (ends failures, may find the winner);
	 *   if no winner, an address is left, and it is next_start or nothing is
	 *   under way: start_attempt() on it: 1 -> the winner; 0 -> next_start =
	 *   STAGGER after connect() returned; -1 -> end_attempt() with errno,
	 *   next_start = now.
	 * Then keep_winner() (or -1 with *error), free both arrays.
	 */
	(void)res;
	(void)error;
	(void)wait_attempts;
	(void)settle_attempts;
	(void)keep_winner;
	(void)end_attempt;
	(void)start_attempt;
	sl_todo("lab11", "connect_first() in dual_client (Happy Eyeballs)");
}

/* Print the server's answer: its first line (at most REPLY_MAX bytes), or all
 * it sent before closing if there is no newline. */
static void
read_answer(int sock)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S, .tv_usec = 0 };
	char reply[REPLY_MAX], text[SL_QUOTED_SIZE(REPLY_MAX)], *newline = NULL;
	size_t len = 0;

	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
		err(1, "setsockopt");
	while (len < sizeof reply && newline == NULL) {
		ssize_t got = recv(sock, reply + len, sizeof reply - len, 0);

		if (got == 0)
			break;
		if (got == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				errx(1, "recv: the server sent no whole line within %d seconds",
				     IO_TIMEOUT_S);
			err(1, "recv");
		}
		newline = memchr(reply + len, '\n', (size_t)got);
		len += (size_t)got;
	}
	if (newline != NULL)
		len = (size_t)(newline - reply);
	else if (len == 0)
		errx(1, "the server closed the connection without a word");
	sl_quote(reply, len, text, sizeof text);
	printf("The server says '%s'\n", text);
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct addrinfo *res;
	unsigned short port = 1060;
	int ch, sock, error, flags;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:t:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		case 't':
			/* Not 0: every attempt would fail before its handshake could. */
			if (sl_parse_double(optarg, 0.001, 3600.0, &connect_timeout) == -1)
				errx(1, "invalid timeout '%s': expected seconds from 0.001 to 3600",
				     optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	res = resolve(argv[0], port);
	sock = connect_first(res, &error);
	freeaddrinfo(res);
	if (sock == -1)
		errx(1, "could not connect to %s port %u: %s", argv[0], port, reason(error));
	/* From here on an ordinary blocking socket, with a bound on each wait. */
	if ((flags = fcntl(sock, F_GETFL)) == -1 ||
	    fcntl(sock, F_SETFL, flags & ~O_NONBLOCK) == -1)
		err(1, "fcntl");
	read_answer(sock);
	close(sock);
	return 0;
}
