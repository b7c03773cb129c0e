/* big_sender.c - lab 03: find the path MTU to a host with Linux path-MTU discovery.
 *
 * Fill in every TODO(lab03), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=03` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab03): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socklab.h"

/* IPv4 header (20) plus UDP header (8): what a datagram adds to its payload. */
#define HEADERS 28
/* The largest UDP payload over IPv4: 65535 - 28. */
#define MAX_DATAGRAM 65507
/* How long one probe waits for a complaint before we believe it got through. */
#define PROBE_WAIT 0.25
/* The whole search ends after this long, whatever the network does. */
#define SEARCH_LIMIT 1.5

/* What became of one probe. */
enum verdict { PASSED, TOO_BIG };

static void
usage(void)
{
	fprintf(stderr, "usage: big_sender HOST [-p PORT]\n");
	exit(2);
}

/* A UDP socket connect()ed to host:port with DF set on every datagram and ICMP
 * errors queued for us to read, or -1 with the reason in why. */
static int
open_probe_socket(const char *host, unsigned short port, char *why, size_t size)
{
	/* TODO(lab03): sl_resolve(host, port) for AF_INET/SOCK_DGRAM (on failure put
	 * "cannot resolve " and its message in why); for each result: socket(),
	 * setsockopt IP_MTU_DISCOVER = IP_PMTUDISC_DO and IP_RECVERR = 1, connect();
	 * freeaddrinfo on every path, close the socket of a failed attempt. */
	(void)host;
	(void)port;
	(void)why;
	(void)size;
	sl_todo("lab03", "open_probe_socket(): a connected UDP socket with IP_PMTUDISC_DO");
}

/* The kernel's current idea of the path MTU to the connected peer, or -1. */
static int
path_mtu(int sock)
{
	/* TODO(lab03): getsockopt(sock, IPPROTO_IP, IP_MTU, ...) and return it. */
	(void)sock;
	sl_todo("lab03", "path_mtu(): reading IP_MTU");
}

/* Say which router refused a probe and what MTU it gave for its next link. */
static void
report_router(struct sock_extended_err *ee)
{
	const struct sockaddr_in *router = (const struct sockaddr_in *)SO_EE_OFFENDER(ee);
	char ip[INET_ADDRSTRLEN] = "?";

	if (router->sin_family == AF_INET)
		inet_ntop(AF_INET, &router->sin_addr, ip, sizeof ip);
	printf("The router %s says the next link's MTU is %u\n", ip,
	       (unsigned)ee->ee_info);
}

/* Read one queued error. Returns its errno value (EMSGSIZE for "too big",
 * ECONNREFUSED for a port unreachable, ...), 0 if the queue is empty, -1 on
 * failure. A router's "fragmentation needed" is reported on stdout. */
static int
read_queued_error(int sock)
{
	/* TODO(lab03): recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) with room for
	 * control data (EAGAIN means the queue is empty); find the IPPROTO_IP /
	 * IP_RECVERR cmsg, whose data is a struct sock_extended_err; call
	 * report_router() when ee_origin is SO_EE_ORIGIN_ICMP and ee_errno EMSGSIZE;
	 * return ee_errno. */
	(void)sock;
	(void)report_router;
	sl_todo("lab03", "read_queued_error(): reading the error queue (MSG_ERRQUEUE)");
}

/* Empty the error queue (stale complaints about earlier probes). */
static void
drain_errors(int sock)
{
	int e;

	while ((e = read_queued_error(sock)) > 0)
		;
	if (e == -1)
		err(1, "recvmsg MSG_ERRQUEUE");
}

/* Wait until the deadline for an ICMP complaint about the probe just sent. Silence
 * or a port unreachable from the far end both mean the probe got there whole. */
static enum verdict
await_verdict(int sock, double deadline)
{
	/* TODO(lab03): loop: poll() the socket for POLLERR (events 0 will do) until
	 * the deadline (sl_monotonic_seconds); on timeout return PASSED; on POLLERR
	 * read_queued_error(): EMSGSIZE -> TOO_BIG, ECONNREFUSED -> PASSED (the far
	 * end got it), another error -> errx. Retry poll on EINTR. */
	(void)sock;
	(void)deadline;
	sl_todo("lab03", "await_verdict(): waiting for the verdict on a probe");
}

/* Send one probe of size bytes and judge it before the deadline end: TOO_BIG when
 * send() refuses it or a router sends it back, PASSED otherwise. */
static enum verdict
try_probe(int sock, const char *probe, size_t size, double end)
{
	/* TODO(lab03): drain_errors() (complaints about earlier probes are stale);
	 * send() the probe: EMSGSIZE -> TOO_BIG (the kernel knows a smaller MTU
	 * already), ECONNREFUSED or EINTR -> send again, other errors -> err();
	 * then await_verdict() until PROBE_WAIT from now, but never past end. */
	(void)sock;
	(void)probe;
	(void)size;
	(void)end;
	(void)drain_errors;
	(void)await_verdict;
	sl_todo("lab03", "try_probe(): sending a probe");
}

/* Probe with the biggest datagram UDP allows, then at the path MTU the kernel has
 * learnt, until a probe passes or time is up; return the MTU that passed. */
static int
find_path_mtu(int sock)
{
	/* TODO(lab03): start with size = MAX_DATAGRAM and a deadline SEARCH_LIMIT
	 * from now; while try_probe() says TOO_BIG: print "Alas, the datagram did
	 * not make it", read path_mtu(), stop (returning it) if the deadline has
	 * passed, else size = min(mtu - HEADERS, MAX_DATAGRAM). A probe that passed
	 * shows the path MTU: size + HEADERS. */
	(void)sock;
	(void)path_mtu;
	(void)try_probe;
	sl_todo("lab03", "find_path_mtu(): the probe loop");
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned short port = 1060;
	char why[SL_ERRLEN + 16];	/* "cannot resolve " and sl_resolve's message */
	int ch, sock;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1 || port == 0)
				errx(1, "invalid port '%s': expected a number from 1 to 65535",
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

	if ((sock = open_probe_socket(argv[0], port, why, sizeof why)) == -1)
		errx(1, "%s", why);
	printf("Actual MTU: %d\n", find_path_mtu(sock));
	close(sock);
	return 0;
}
