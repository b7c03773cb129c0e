/* traceroute.c - lab 10: the routers on the way to a host, found one TTL at a time. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet_checksum.h"
#include "socklab.h"

#define FIRST_PORT 33434     /* traceroute's first UDP destination port, since 1988 */
#define PAYLOAD_LEN 32       /* probe data; with the headers, 60-byte packets */
#define IP_HEADER_LEN 20     /* an IPv4 header without options */
#define PROBE_HEADER_LEN 8   /* a UDP header, or an ICMP echo header: both 8 bytes */
#define MAX_PACKET 4096      /* an ICMP answer as read from the raw socket */
#define DEFAULT_MAX_HOPS 30
#define DEFAULT_PROBES 3
#define DEFAULT_WAIT 5.0     /* seconds a probe waits for its answer */
#define MAX_PROBES 10

/* The way we are tracing: the socket, the destination, and how probes are sent. */
struct tracer {
	int sock;
	int icmp;                 /* -I: echo requests on a raw socket; else UDP */
	struct sockaddr_in dest;
	uint16_t ident;           /* -I: the identifier of our echo requests */
	double wait;              /* seconds each probe waits for its answer */
};

/* One ICMP message that came back, with what it says about the probe it answers. */
struct answer {
	struct in_addr from;       /* who sent it: a router, or the destination */
	int type, code;            /* the ICMP type and code; -1: not an ICMP answer */
	struct in_addr probe_dest; /* where the probe it answers was going */
	unsigned probe;            /* that probe: its UDP port, or its echo sequence */
	unsigned ident;            /* -I: that probe's echo identifier */
};

/* What became of one probe. */
struct result {
	int answered;              /* 0: no answer within WAIT, printed as '*' */
	struct answer answer;
	double rtt;                /* seconds from sending to the answer */
};

static void
usage(void)
{
	fprintf(stderr, "usage: traceroute HOST [-m MAX_HOPS] [-q PROBES] [-w WAIT] [-I]\n");
	exit(2);
}

/* The bytes every probe carries: 0x40, 0x41, ... as Debian's traceroute sends. */
static void
fill_payload(unsigned char *data)
{
	for (int i = 0; i < PAYLOAD_LEN; i++)
		data[i] = (unsigned char)(0x40 + i);
}

/* A UDP socket whose ICMP errors queue up for us to read (see read_error_queue). */
static int
open_udp_socket(void)
{
	int sock, on = 1;

	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	/* slide: recverr */
	/* Without IP_RECVERR an unconnected UDP socket never hears of ICMP errors;
	 * with it, each one is queued on the socket, whole, with who sent it. */
	if (setsockopt(sock, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == -1)
		err(1, "setsockopt IP_RECVERR");
	/* end slide */
	return sock;
}

/* A raw ICMP socket: it sends the ICMP messages we build and receives a copy
 * of every ICMP message that reaches this host. Needs CAP_NET_RAW. */
static int
open_icmp_socket(void)
{
	int sock;

	if ((sock = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)) == -1)
		err(1, "raw ICMP socket for -I (it needs CAP_NET_RAW)");
	return sock;
}

/* A random echo identifier, so two traceroutes on one host tell their answers apart. */
static uint16_t
random_ident(void)
{
	uint16_t ident;

	if (getentropy(&ident, sizeof ident) == -1)
		err(1, "getentropy");
	return ident;
}

static void
set_ttl(int sock, int ttl)
{
	if (setsockopt(sock, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == -1)
		err(1, "setsockopt IP_TTL %d", ttl);
}

/* Read one entry of the socket's error queue into *got (type -1 for an error
 * that is not an ICMP message, e.g. a local one). 1 if an entry was read, 0 if
 * the queue is empty, -1 on failure. */
/* slide: error-queue-recvmsg */
static int
read_error_queue(int sock, struct answer *got)
{
	unsigned char data[PAYLOAD_LEN];
	union { char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
	                            sizeof(struct sockaddr_in))]; struct cmsghdr align; } control;
	struct sockaddr_in original;	/* the offending probe's destination */
	struct iovec iov = { data, sizeof data };
	struct msghdr msg = {
		.msg_name = &original, .msg_namelen = sizeof original,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof control.buf,
	};
	struct cmsghdr *cmsg;

	if (recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	/* end slide */
	/* slide: error-queue-cmsg */
	got->type = -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		struct sock_extended_err *ee;
		struct sockaddr_in *offender;

		if (cmsg->cmsg_level != IPPROTO_IP || cmsg->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cmsg);
		if (ee->ee_origin != SO_EE_ORIGIN_ICMP)
			break;	/* the local stack complains, no router */
		offender = (struct sockaddr_in *)SO_EE_OFFENDER(ee);
		got->from = offender->sin_addr;
		got->type = ee->ee_type;
		got->code = ee->ee_code;
		got->probe_dest = original.sin_addr;
		got->probe = ntohs(original.sin_port);
	}
	return 1;
	/* end slide */
}

/* Read every entry of the socket's error queue and forget it: how many there were. */
static int
discard_error_queue(int sock)
{
	struct answer stale;
	int n = 0, r;

	while ((r = read_error_queue(sock, &stale)) == 1)
		n++;
	if (r == -1)
		err(1, "recvmsg MSG_ERRQUEUE");
	return n;
}

/* slide: send-udp-probe */
/* Send probe number index (0, 1, ...) as a UDP datagram with this TTL to port
 * FIRST_PORT + index of the destination: the port says which probe an
 * answer is about. */
static void
send_udp_probe(const struct tracer *t, int ttl, unsigned index)
{
	unsigned char payload[PAYLOAD_LEN];
	struct sockaddr_in to = t->dest;
	int tries, saved;

	fill_payload(payload);
	to.sin_port = htons(FIRST_PORT + index);
	set_ttl(t->sock, ttl);
	for (tries = 0; sendto(t->sock, payload, sizeof payload, 0,
	                       (struct sockaddr *)&to, sizeof to) == -1; tries++) {
		/* A late ICMP error about an earlier probe also fails the next
		 * send, once: it is not about this one. Empty the queue, try again. */
		if (errno == EINTR)
			continue;
		saved = errno;
		if (tries == 3 || discard_error_queue(t->sock) == 0) {
			errno = saved;
			err(1, "sendto %s", sl_addr_text(&to, sizeof to));
		}
	}
}
/* end slide */

/* slide: send-echo-request */
/* Send probe number index as an ICMP echo request with this TTL: our
 * identifier, sequence number index + 1, and a checksum we compute. */
static void
send_echo_request(const struct tracer *t, int ttl, unsigned index)
{
	unsigned char packet[PROBE_HEADER_LEN + PAYLOAD_LEN];
	unsigned seq = index + 1;
	uint16_t sum;

	packet[0] = ICMP_ECHO;	/* type 8 */
	packet[1] = 0;		/* code 0 */
	packet[2] = packet[3] = 0;	/* the checksum, zero while it is computed */
	packet[4] = (unsigned char)(t->ident >> 8);
	packet[5] = (unsigned char)t->ident;
	packet[6] = (unsigned char)(seq >> 8);
	packet[7] = (unsigned char)seq;
	fill_payload(packet + PROBE_HEADER_LEN);
	sum = inet_checksum(packet, sizeof packet);
	packet[2] = (unsigned char)(sum >> 8);
	packet[3] = (unsigned char)sum;
	set_ttl(t->sock, ttl);
	/* The kernel puts the IP header in front (no IP_HDRINCL). */
	while (sendto(t->sock, packet, sizeof packet, 0, (const struct sockaddr *)&t->dest,
	              sizeof t->dest) == -1)
		if (errno != EINTR)
			err(1, "sendto %s", inet_ntoa(t->dest.sin_addr));
}
/* end slide */

static unsigned
load16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Parse an IPv4 packet as read from the raw socket into *got. 0 if it is an
 * echo reply, or a time exceeded or unreachable that quotes an echo request;
 * -1 for anything else: too short, a wrong checksum, other ICMP. */
/* slide: parse-ip-header */
static int
parse_icmp_packet(const unsigned char *packet, size_t len, struct answer *got)
{
	const unsigned char *icmp, *inner;
	size_t ihl, inner_ihl;

	if (len < IP_HEADER_LEN || (ihl = (size_t)(packet[0] & 0x0f) * 4) < IP_HEADER_LEN ||
	    len < ihl + 8)
		return -1;
	icmp = packet + ihl;
	len -= ihl;
	if (inet_checksum(icmp, len) != 0)
		return -1;	/* damaged on the way, or forged carelessly */
	memcpy(&got->from, packet + 12, 4);	/* the IP source address */
	got->type = icmp[0];
	got->code = icmp[1];
	if (got->type == ICMP_ECHOREPLY) {
		got->probe_dest = got->from;	/* the host we pinged answers itself */
		got->ident = load16(icmp + 4);
		got->probe = load16(icmp + 6);
		return 0;
	}
	/* end slide */
	/* slide: parse-quote */
	if (got->type != ICMP_TIME_EXCEEDED && got->type != ICMP_DEST_UNREACH)
		return -1;
	/* An ICMP error quotes the IP header and first 8 bytes of what it is about. */
	inner = icmp + 8;
	len -= 8;
	if (len < IP_HEADER_LEN || (inner_ihl = (size_t)(inner[0] & 0x0f) * 4) < IP_HEADER_LEN ||
	    len < inner_ihl + 8 || inner[9] != IPPROTO_ICMP || inner[inner_ihl] != ICMP_ECHO)
		return -1;
	memcpy(&got->probe_dest, inner + 16, 4);	/* the quoted destination */
	got->ident = load16(inner + inner_ihl + 4);
	got->probe = load16(inner + inner_ihl + 6);
	return 0;
	/* end slide */
}

/* Read one packet from the raw socket into *got (type -1 if it is none of
 * ours to consider). 1 if a packet was read, 0 if none is waiting, -1 on failure. */
static int
read_icmp_socket(int sock, struct answer *got)
{
	unsigned char packet[MAX_PACKET];
	ssize_t n;

	if ((n = recv(sock, packet, sizeof packet, MSG_DONTWAIT)) == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (parse_icmp_packet(packet, (size_t)n, got) == -1)
		got->type = -1;
	return 1;
}

/* slide: belongs */
/* Is this answer about probe number index of ours? Anything else (a late answer
 * to an earlier probe, another program's) is ignored. */
static int
belongs_to_probe(const struct tracer *t, unsigned index, const struct answer *got)
{
	if (got->type == -1 || got->probe_dest.s_addr != t->dest.sin_addr.s_addr)
		return 0;
	if (t->icmp)
		return got->ident == t->ident && got->probe == index + 1;
	return got->type != ICMP_ECHOREPLY && got->probe == FIRST_PORT + index;
}
/* end slide */

/* slide: await-answer */
/* Wait until the deadline for the answer to probe number index; 1 with *got
 * filled in, 0 if none came in time. */
static int
await_answer(const struct tracer *t, unsigned index, double deadline, struct answer *got)
{
	for (;;) {
		/* UDP answers are errors (POLLERR, always reported); raw ones are data. */
		struct pollfd pfd = { t->sock, t->icmp ? POLLIN : 0, 0 };
		double left = deadline - sl_monotonic_seconds();
		int r;

		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		while ((r = t->icmp ? read_icmp_socket(t->sock, got)
		                    : read_error_queue(t->sock, got)) == 1)
			if (belongs_to_probe(t, index, got))
				return 1;
		if (r == -1)
			err(1, t->icmp ? "recv" : "recvmsg MSG_ERRQUEUE");
	}
}
/* end slide */

/* Send probe number index with this TTL and wait for its answer into *r. */
static void
probe(const struct tracer *t, int ttl, unsigned index, struct result *r)
{
	double sent = sl_monotonic_seconds();

	if (t->icmp)
		send_echo_request(t, ttl, index);
	else
		send_udp_probe(t, ttl, index);
	r->answered = await_answer(t, index, sent + t->wait, &r->answer);
	r->rtt = sl_monotonic_seconds() - sent;
}

/* Does this answer end the trace: the destination answered, or could not be reached? */
static int
is_final(const struct answer *a)
{
	return a->type == ICMP_ECHOREPLY || a->type == ICMP_DEST_UNREACH;
}

/* slide: annotation */
/* traceroute's mark for an unreachable ("!N"), or "" when there is none to make. */
static const char *
annotation(const struct answer *a, char *buf, size_t size)
{
	if (a->type != ICMP_DEST_UNREACH)
		return "";
	switch (a->code) {
	case ICMP_PORT_UNREACH:	/* the destination: no one listens on the port */
		return "";
	case ICMP_NET_UNREACH: case ICMP_NET_UNKNOWN: case ICMP_NET_UNR_TOS:
		return "!N";
	case ICMP_HOST_UNREACH: case ICMP_HOST_UNKNOWN: case ICMP_HOST_UNR_TOS:
		return "!H";
	case ICMP_PROT_UNREACH:
		return "!P";
	case ICMP_NET_ANO: case ICMP_HOST_ANO: case ICMP_PKT_FILTERED:
		return "!X";
	default:
		snprintf(buf, size, "!<%d>", a->code);
		return buf;
	}
}
/* end slide */

/* slide: print-hop */
/* One line per hop: the TTL, then per probe the address that answered (when it
 * is not the one before), the round-trip time and any annotation, or '*'. */
static void
print_hop(int ttl, const struct result *results, int n)
{
	const struct in_addr *last = NULL;
	char ip[INET_ADDRSTRLEN], buf[16];
	const char *mark;

	printf("%2d ", ttl);
	for (int i = 0; i < n; i++) {
		const struct result *r = &results[i];

		if (!r->answered) {
			printf(" *");
			continue;
		}
		if (last == NULL || last->s_addr != r->answer.from.s_addr) {
			inet_ntop(AF_INET, &r->answer.from, ip, sizeof ip);
			printf(" %s", ip);
		}
		last = &r->answer.from;
		printf("  %.3f ms", r->rtt * 1000);
		if (*(mark = annotation(&r->answer, buf, sizeof buf)) != '\0')
			printf(" %s", mark);
	}
	printf("\n");
}
/* end slide */

/* slide: trace */
/* Probe with TTL 1, 2, ... until the destination answers, a router says it
 * cannot be reached, or max_hops is done. */
static void
trace(const struct tracer *t, int max_hops, int probes)
{
	struct result results[MAX_PROBES];
	unsigned index = 0;
	int ttl, done = 0;

	for (ttl = 1; ttl <= max_hops && !done; ttl++) {
		for (int i = 0; i < probes; i++, index++) {
			probe(t, ttl, index, &results[i]);
			if (results[i].answered && is_final(&results[i].answer))
				done = 1;
		}
		print_hop(ttl, results, probes);
	}
}
/* end slide */

/* Resolve host to one IPv4 address into *dest; exits with the resolver's message. */
static void
resolve(const char *host, struct sockaddr_in *dest)
{
	char why[SL_ERRLEN];
	struct addrinfo *res;

	if (sl_resolve(why, sizeof why, host, 0, AF_INET, SOCK_DGRAM, 0, &res) == -1)
		errx(1, "%s", why);
	memcpy(dest, res->ai_addr, sizeof *dest);
	freeaddrinfo(res);
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "max-hops", required_argument, NULL, 'm' },
		{ "queries", required_argument, NULL, 'q' },
		{ "wait", required_argument, NULL, 'w' },
		{ "icmp", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct tracer t = { .sock = -1, .wait = DEFAULT_WAIT };
	unsigned long max_hops = DEFAULT_MAX_HOPS, probes = DEFAULT_PROBES;
	char ip[INET_ADDRSTRLEN];
	int ch;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "m:q:w:I", options, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (sl_parse_ulong(optarg, 1, 255, &max_hops) == -1)
				errx(1, "invalid max hops '%s': expected a number from 1 to 255",
				     optarg);
			break;
		case 'q':
			if (sl_parse_ulong(optarg, 1, MAX_PROBES, &probes) == -1)
				errx(1, "invalid probes per hop '%s': expected a number from 1 to %d",
				     optarg, MAX_PROBES);
			break;
		case 'w':
			if (sl_parse_double(optarg, 0.01, 60, &t.wait) == -1)
				errx(1, "invalid wait '%s': expected seconds from 0.01 to 60", optarg);
			break;
		case 'I':
			t.icmp = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	resolve(argv[0], &t.dest);
	if (t.icmp) {
		t.sock = open_icmp_socket();
		t.ident = random_ident();
	} else {
		t.sock = open_udp_socket();
	}
	inet_ntop(AF_INET, &t.dest.sin_addr, ip, sizeof ip);
	printf("traceroute to %s (%s), %lu hops max, %d byte packets\n", argv[0], ip,
	       max_hops, IP_HEADER_LEN + PROBE_HEADER_LEN + PAYLOAD_LEN);
	trace(&t, (int)max_hops, (int)probes);
	close(t.sock);
	return 0;
}
