/* big_sender.c - lab 03: find the path MTU to a host with Linux path-MTU discovery. */
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
open_probe_socket(const char *host, const char *port, char *why, size_t size)
{
	/* TODO(lab03): getaddrinfo(host, port) for AF_INET/SOCK_DGRAM (on failure put
	 * "cannot resolve HOST: <gai_strerror>" in why); for each result: socket(),
	 * setsockopt IP_MTU_DISCOVER = IP_PMTUDISC_DO and IP_RECVERR = 1, connect();
	 * freeaddrinfo on every path, close the socket of a failed attempt. */
	(void)host;
	(void)port;
	(void)why;
	(void)size;
	sl_todo("lab03", "opening a connected UDP socket with IP_PMTUDISC_DO");
}

/* The kernel's current idea of the path MTU to the connected peer, or -1. */
static int
path_mtu(int sock)
{
	/* TODO(lab03): getsockopt(sock, IPPROTO_IP, IP_MTU, ...) and return it. */
	(void)sock;
	sl_todo("lab03", "reading IP_MTU");
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
	sl_todo("lab03", "reading the socket's error queue (MSG_ERRQUEUE)");
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
	sl_todo("lab03", "waiting for the verdict on a probe");
}

/* Send probes of the path MTU's size until one gets through; return that MTU. */
static int
find_path_mtu(int sock)
{
	/* TODO(lab03): until SEARCH_LIMIT has passed: read path_mtu(), drain_errors(),
	 * send a probe of min(mtu - HEADERS, MAX_DATAGRAM) bytes (send failing with
	 * EMSGSIZE: print "Alas, the datagram did not make it" and try again), then
	 * await_verdict() up to PROBE_WAIT; PASSED -> return mtu; TOO_BIG -> print
	 * the Alas line and go round (the kernel has learnt the smaller MTU). */
	(void)sock;
	(void)drain_errors;
	(void)await_verdict;
	(void)path_mtu;
	sl_todo("lab03", "the probe loop");
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	static char big[MAX_DATAGRAM];
	const char *port = "1060";
	char why[256];
	unsigned short number;
	int ch, sock;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &number) == -1 || number == 0)
				errx(1, "invalid port '%s': expected a number from 1 to 65535",
				     optarg);
			port = optarg;
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
	/* The biggest datagram UDP allows: it fits only a link with a huge MTU. */
	memset(big, '#', sizeof big);
	if (send(sock, big, sizeof big, 0) == -1) {
		if (errno != EMSGSIZE)
			err(1, "send");
		printf("Alas, the datagram did not make it\n");
	}
	printf("Actual MTU: %d\n", find_path_mtu(sock));
	close(sock);
	return 0;
}
