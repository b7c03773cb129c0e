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
open_probe_socket(const char *host, unsigned short port, char *why, size_t size)
{
	struct addrinfo *res, *ai;
	char reason[SL_ERRLEN];
	int sock = -1, saved;
	int pmtudisc = IP_PMTUDISC_DO, on = 1;

	/* IPv4 only: IP_MTU_DISCOVER and IP_MTU are IPv4 socket options. */
	if (sl_resolve(reason, sizeof reason, host, port, AF_INET, SOCK_DGRAM, 0, &res) == -1) {
		snprintf(why, size, "cannot resolve %s", reason);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1) {
			snprintf(why, size, "socket: %s", strerror(errno));
			continue;
		}
		/* slide: probe-options */
		/* DO: never fragment, refuse what the route cannot carry. RECVERR: keep
		 * each ICMP error (with the router's MTU) in the socket's error queue. */
		if (setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &pmtudisc,
		               sizeof pmtudisc) == 0 &&
		    setsockopt(sock, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0 &&
		    connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		/* end slide */
		saved = errno;
		snprintf(why, size, "cannot set up a socket to %s: %s",
		         sl_addr_text(ai->ai_addr, ai->ai_addrlen), strerror(saved));
		close(sock);
		errno = saved;
		sock = -1;
	}
	freeaddrinfo(res);
	return sock;
}

/* slide: path-mtu */
/* The kernel's current idea of the path MTU to the connected peer, or -1. */
static int
path_mtu(int sock)
{
	int mtu;
	socklen_t len = sizeof mtu;

	if (getsockopt(sock, IPPROTO_IP, IP_MTU, &mtu, &len) == -1)
		return -1;
	return mtu;
}
/* end slide */

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

/* slide: read-queued-error */
/* Read one queued error. Returns its errno value (EMSGSIZE for "too big",
 * ECONNREFUSED for a port unreachable, ...), 0 if the queue is empty, -1 on
 * failure. A router's "fragmentation needed" is reported on stdout. */
static int
read_queued_error(int sock)
{
	char data[64], control[512];
	struct iovec iov = { data, sizeof data };
	struct msghdr msg;
	struct cmsghdr *cmsg;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof control;
	if (recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		struct sock_extended_err *ee;

		if (cmsg->cmsg_level != IPPROTO_IP || cmsg->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cmsg);
		if (ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_errno == EMSGSIZE)
			report_router(ee);
		return (int)ee->ee_errno;
	}
	return 0;
}
/* end slide */

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

/* slide: await-verdict */
/* Wait until the deadline for an ICMP complaint about the probe just sent. Silence
 * or a port unreachable from the far end both mean the probe got there whole. */
static enum verdict
await_verdict(int sock, double deadline)
{
	for (;;) {
		struct pollfd pfd = { sock, 0, 0 };	/* POLLERR is always reported */
		double left = deadline - sl_monotonic_seconds();
		int n, e;

		if (left <= 0)
			return PASSED;
		if ((n = poll(&pfd, 1, (int)(left * 1000) + 1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (n == 0)
			return PASSED;
		if ((e = read_queued_error(sock)) == -1)
			err(1, "recvmsg MSG_ERRQUEUE");
		if (e == EMSGSIZE)
			return TOO_BIG;
		if (e == ECONNREFUSED)
			return PASSED;
		if (e > 0)
			errx(1, "the probe did not reach its destination: %s", strerror(e));
	}
}
/* end slide */

/* slide: try-probe */
/* Send one probe of size bytes and judge it before the deadline end: TOO_BIG when
 * send() refuses it or a router sends it back, PASSED otherwise. */
static enum verdict
try_probe(int sock, const char *probe, size_t size, double end)
{
	double until = sl_monotonic_seconds() + PROBE_WAIT;

	drain_errors(sock);
	while (send(sock, probe, size, 0) == -1) {
		if (errno == EMSGSIZE)
			return TOO_BIG;	/* the kernel already knows a smaller MTU */
		/* ECONNREFUSED: a late port unreachable about an earlier probe. */
		if (errno != ECONNREFUSED && errno != EINTR)
			err(1, "send");
	}
	return await_verdict(sock, until < end ? until : end);
}
/* end slide */

/* slide: find-path-mtu */
/* Probe with the biggest datagram UDP allows, then at the path MTU the kernel has
 * learnt, until a probe passes or time is up; return the MTU that passed. */
static int
find_path_mtu(int sock)
{
	static char probe[MAX_DATAGRAM];
	double end = sl_monotonic_seconds() + SEARCH_LIMIT;
	size_t size = MAX_DATAGRAM;

	memset(probe, '#', sizeof probe);
	while (try_probe(sock, probe, size, end) == TOO_BIG) {
		int mtu;

		printf("Alas, the datagram did not make it\n");
		if ((mtu = path_mtu(sock)) == -1)
			err(1, "getsockopt IP_MTU");
		if (sl_monotonic_seconds() >= end)
			return mtu;	/* the network keeps complaining: the best we know */
		size = mtu - HEADERS < MAX_DATAGRAM ? (size_t)(mtu - HEADERS) : MAX_DATAGRAM;
	}
	return (int)size + HEADERS;
}
/* end slide */

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
