/* udp_remote.c - lab 02: UDP across a network, where datagrams get lost and the client retries.
 *
 * Fill in every TODO(lab02), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=02` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab02): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "socklab.h"

/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define MAX_DATAGRAM 65507

/* The client's backoff by default: the first wait, and the longest wait it
 * will try. --first-wait scales the whole schedule, MAX_DELAY with it. */
#define FIRST_DELAY 0.1
#define MAX_DELAY 2.0

static void
usage(void)
{
	fprintf(stderr, "usage: udp_remote server HOST [-p PORT] [--drop RATE] [--seed N]\n"
	                "       udp_remote client HOST [-p PORT] [--first-wait SECONDS]\n");
	exit(2);
}

/*
 * A small seeded generator (splitmix64), so that `--seed N` replays the same
 * drops on every machine; rand() differs between C libraries.
 */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A uniform fraction in [0, 1): the top 53 bits fill a double's mantissa exactly. */
static double
random_fraction(uint64_t *state)
{
	return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

/*
 * A UDP socket bound to (passive) or connected to (!passive) HOST:PORT, trying
 * each address the resolver offers. '' as HOST means every IPv4 interface for
 * a server and this host's IPv4 loopback for a client, as in the Python
 * original. Exits with the resolver's or the socket's message on failure.
 */
static int
open_socket(const char *host, unsigned short port, int passive)
{
	struct addrinfo *res, *ai;
	char why[SL_ERRLEN];
	int sock = -1, saved;

	if (sl_resolve(why, sizeof why, host, port, host[0] == '\0' ? AF_INET : AF_UNSPEC,
	               SOCK_DGRAM, passive ? AI_PASSIVE : 0, &res) == -1)
		errx(1, "%s", why);

	errno = EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1)
			continue;
		if (passive && bind(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		/* TODO(lab02): connect() the client's socket to ai->ai_addr, and
		 * break out of the loop on success, like bind() above. */
		if (!passive)
			sl_todo("lab02", "open_socket(): connecting the client's socket");
		saved = errno;
		close(sock);
		errno = saved;
		sock = -1;
	}
	saved = errno;
	freeaddrinfo(res);
	if (sock == -1) {
		errno = saved;
		err(1, "%s %s port %u", passive ? "bind to" : "connect to",
		    host[0] != '\0' ? host : "''", port);
	}
	return sock;
}

/* Answer datagrams with their length forever, pretending to lose a fraction drop_rate of them. */
static void
serve(const char *host, unsigned short port, double drop_rate, uint64_t seed)
{
	static char data[MAX_DATAGRAM + 1];
	struct sockaddr_storage self;
	socklen_t selflen = sizeof self;
	int sock = open_socket(host, port, 1);

	/* Port 0 asks the OS to choose: print the port it really chose. */
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&self, selflen));

	for (;;) {
		struct sockaddr_storage client;
		socklen_t clientlen = sizeof client;
		ssize_t n;

		n = recvfrom(sock, data, sizeof data, 0, (struct sockaddr *)&client,
		             &clientlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		/* One draw per datagram, so a seed fixes which ones are lost. */
		if (random_fraction(&seed) < drop_rate) {
			/* TODO(lab02): print "Pretending to drop packet from IP:PORT"
			 * (sl_addr_text) and go back for the next datagram. */
			sl_todo("lab02", "serve(): pretending to drop a datagram");
		}
		/* TODO(lab02): as in lab 01, print "The client at IP:PORT says 'TEXT'"
		 * (sl_quote the n bytes) and reply "Your data was N bytes long". */
		sl_todo("lab02", "serve(): answering a datagram");
	}
}

/*
 * Ask the server, doubling the wait after each silence from first_delay; give
 * up past the longest wait, as many times first_delay as MAX_DELAY is FIRST_DELAY.
 * Returns the exit status: 0 with an answer, 1 without.
 */
static int
ask(const char *host, unsigned short port, double first_delay)
{
	struct sockaddr_storage self;
	socklen_t selflen = sizeof self;
	double max_delay = first_delay * (MAX_DELAY / FIRST_DELAY);
	int sock;

	/* connect() fixes the peer: the kernel drops datagrams from anyone else,
	 * and ICMP errors about our datagrams come back to us as ECONNREFUSED. */
	sock = open_socket(host, port, 0);
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("Client socket name is %s\n", sl_addr_text(&self, selflen));

	/*
	 * TODO(lab02): for delay = first_delay (FIRST_DELAY unless --first-wait said
	 * otherwise), doubling while delay <= max_delay:
	 *   - send() "This is another message" (the same bytes every time; if send
	 *     fails with ECONNREFUSED, that refusal was about an earlier datagram:
	 *     send once more);
	 *   - print "Waiting up to %g seconds for a reply" with the delay;
	 *   - wait with poll() until a deadline of sl_monotonic_seconds() + delay.
	 *     Recompute what is left after every wake-up: EINTR, or recv() failing
	 *     with ECONNREFUSED (no server there yet), must neither end this try
	 *     early nor restart the full delay.
	 * With a reply, print "The server says 'TEXT'" (sl_quote) and return 0.
	 * After the last silent try, print "I think the server is down" on stderr
	 * and return 1. Close the socket on both paths.
	 */
	(void)sock;
	(void)max_delay;
	sl_todo("lab02", "ask(): sending the request and waiting with backoff");
}

/* A seed for when the user gives none: differs from run to run. */
static uint64_t
seed_from_clock(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) ^
	       ((uint64_t)getpid() << 32);
}

int
main(int argc, char *argv[])
{
	enum { OPT_DROP = 256, OPT_SEED, OPT_FIRST_WAIT };
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "drop", required_argument, NULL, OPT_DROP },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "first-wait", required_argument, NULL, OPT_FIRST_WAIT },
		{ NULL, 0, NULL, 0 },
	};
	unsigned short port = 1060;
	unsigned long seed_value;
	uint64_t seed = seed_from_clock();
	double drop_rate = 0.5, first_delay = FIRST_DELAY;
	int ch, server_options = 0, client_options = 0;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		case OPT_DROP:
			if (sl_parse_double(optarg, 0.0, 1.0, &drop_rate) == -1)
				errx(1, "invalid drop rate '%s': expected a fraction from 0 to 1",
				     optarg);
			server_options = 1;
			break;
		case OPT_SEED:
			if (sl_parse_ulong(optarg, 0, ULONG_MAX, &seed_value) == -1)
				errx(1, "invalid seed '%s': expected a whole number from 0 to %lu",
				     optarg, ULONG_MAX);
			seed = seed_value;
			server_options = 1;
			break;
		case OPT_FIRST_WAIT:
			/* Not 0: a client that never waits floods the server. */
			if (sl_parse_double(optarg, 0.001, 10.0, &first_delay) == -1)
				errx(1, "invalid first wait '%s': expected seconds from 0.001 to 10",
				     optarg);
			client_options = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 2)
		usage();
	if (strcmp(argv[0], "server") == 0 && !client_options)
		serve(argv[1], port, drop_rate, seed);
	else if (strcmp(argv[0], "client") == 0 && !server_options)
		return ask(argv[1], port, first_delay);
	else
		usage();
	return 0;
}
