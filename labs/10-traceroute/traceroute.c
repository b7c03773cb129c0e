/* traceroute.c - lab 10: the routers on the way to a host, found one TTL at a time.
 *
 * Fill in every TODO(lab10), in the order of the handout (README.md beside this
 * file); the Internet checksum is in inet_checksum.c. Build and grade with
 * `make grade LAB=10` from the top of the repository. Until a part is written,
 * running into it prints "TODO(lab10): ... is not implemented yet" and exits 3,
 * which the grader reports as "not implemented yet".
 */
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
	/* TODO(lab10): setsockopt(sock, IPPROTO_IP, IP_RECVERR, &on, sizeof on), so
	 * the ICMP errors that answer our probes are queued on this socket; err()
	 * if it fails. Then delete the sl_todo() line. */
	(void)on;
	sl_todo("lab10", "IP_RECVERR on the UDP socket (open_udp_socket)");
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
static int
read_error_queue(int sock, struct answer *got)
{
	/* TODO(lab10): recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) with msg_name
	 * a struct sockaddr_in (the kernel puts the offending probe's destination
	 * there, port included), one iovec of PAYLOAD_LEN bytes, and room for
	 * control data (a union with struct cmsghdr keeps it aligned). EAGAIN or
	 * EWOULDBLOCK: return 0; another failure: -1. Set got->type = -1, then
	 * find the IPPROTO_IP / IP_RECVERR cmsg: CMSG_DATA is a struct
	 * sock_extended_err. Only if ee_origin is SO_EE_ORIGIN_ICMP fill in
	 * got->from (SO_EE_OFFENDER(ee) is a struct sockaddr_in), type and code
	 * (ee_type, ee_code), probe_dest and probe (msg_name's address and port,
	 * ntohs). Return 1. */
	(void)sock;
	(void)got;
	sl_todo("lab10", "reading the error queue (read_error_queue)");
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

/* Send probe number index (0, 1, ...) as a UDP datagram with this TTL to port
 * FIRST_PORT + index of the destination: the port says which probe an
 * answer is about. */
static void
send_udp_probe(const struct tracer *t, int ttl, unsigned index)
{
	/* TODO(lab10): fill_payload() a PAYLOAD_LEN buffer; copy t->dest and set its
	 * port to FIRST_PORT + index (htons); set_ttl(t->sock, ttl); sendto(). If
	 * sendto() fails with EINTR, send again. If it fails otherwise while
	 * discard_error_queue() finds entries (a late error about an earlier probe
	 * fails the next send, once), send again, at most 3 times; anything else:
	 * err(1, "sendto %s", sl_addr_text(&to, sizeof to)), errno saved around
	 * discard_error_queue(). */
	(void)t;
	(void)ttl;
	(void)index;
	(void)fill_payload;
	(void)set_ttl;
	(void)discard_error_queue;
	sl_todo("lab10", "sending a UDP probe (send_udp_probe)");
}

/* Send probe number index as an ICMP echo request with this TTL: our
 * identifier, sequence number index + 1, and a checksum we compute. */
static void
send_echo_request(const struct tracer *t, int ttl, unsigned index)
{
	/* TODO(lab10): build the echo request in an unsigned char array of
	 * PROBE_HEADER_LEN + PAYLOAD_LEN bytes: type ICMP_ECHO, code 0, checksum 0,
	 * identifier t->ident and sequence index + 1 (both big-endian), then
	 * fill_payload(). Compute inet_checksum() over it all and store it
	 * big-endian in bytes 2-3. set_ttl(), then sendto(t->dest), again on EINTR,
	 * else err(1, "sendto %s", ...). */
	(void)t;
	(void)ttl;
	(void)index;
	sl_todo("lab10", "building and sending an echo request (send_echo_request)");
}

static unsigned
load16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Parse an IPv4 packet as read from the raw socket into *got. 0 if it is an
 * echo reply, or a time exceeded or unreachable that quotes an echo request;
 * -1 for anything else: too short, a wrong checksum, other ICMP. */
static int
parse_icmp_packet(const unsigned char *packet, size_t len, struct answer *got)
{
	/* TODO(lab10): the IP header is (packet[0] & 0x0f) * 4 bytes (at least
	 * IP_HEADER_LEN); check len before every read. -1 if the ICMP message after
	 * it (at least 8 bytes) fails inet_checksum() (not 0). got->from is the IP
	 * source (bytes 12-15), type and code are the ICMP's first two bytes.
	 * ICMP_ECHOREPLY: probe_dest = from, ident and probe from bytes 4-5 and
	 * 6-7 (load16), return 0. ICMP_TIME_EXCEEDED or ICMP_DEST_UNREACH: after
	 * its 8 bytes comes the quoted IP header (its own length, protocol byte 9
	 * must be IPPROTO_ICMP, destination bytes 16-19 -> probe_dest), then the
	 * quoted echo request (type ICMP_ECHO): ident and probe from it; return 0.
	 * Anything else: -1. */
	(void)packet;
	(void)len;
	(void)got;
	(void)load16;
	sl_todo("lab10", "parsing ICMP answers (parse_icmp_packet)");
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

/* Is this answer about probe number index of ours? Anything else (a late answer
 * to an earlier probe, another program's) is ignored. */
static int
belongs_to_probe(const struct tracer *t, unsigned index, const struct answer *got)
{
	/* TODO(lab10): 0 unless got->type is not -1 and got->probe_dest is our
	 * destination. With -I (t->icmp): our identifier and the probe's sequence
	 * number, index + 1. With UDP: not an echo reply, and the probe's port,
	 * FIRST_PORT + index. */
	(void)t;
	(void)index;
	(void)got;
	sl_todo("lab10", "matching an answer to its probe (belongs_to_probe)");
}

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

/* traceroute's mark for an unreachable ("!N"), or "" when there is none to make. */
static const char *
annotation(const struct answer *a, char *buf, size_t size)
{
	/* TODO(lab10): "" unless a->type is ICMP_DEST_UNREACH. Port unreachable
	 * (the destination reached): "". Codes ICMP_NET_UNREACH, ICMP_NET_UNKNOWN,
	 * ICMP_NET_UNR_TOS: "!N"; ICMP_HOST_UNREACH, ICMP_HOST_UNKNOWN,
	 * ICMP_HOST_UNR_TOS: "!H"; ICMP_PROT_UNREACH: "!P"; ICMP_NET_ANO,
	 * ICMP_HOST_ANO, ICMP_PKT_FILTERED: "!X"; any other: "!<CODE>" in buf
	 * (snprintf). */
	(void)a;
	(void)buf;
	(void)size;
	sl_todo("lab10", "annotations for unreachables (annotation)");
}

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
