/* sntp_client.c - lab 07: ask an NTP server the time; trust only a reply RFC 4330 would. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ntp_packet.h"
#include "socklab.h"

#define TRIES 3               /* requests sent before giving up */
#define DEFAULT_TIMEOUT 1.0   /* seconds to wait for the reply to each */
#define MAX_DATAGRAM 1024     /* a header plus any extension fields we ignore */
#define NOISE_BITS 0xffffffu  /* low bits of the transmit timestamp made random */

static void
usage(void)
{
	fprintf(stderr, "usage: sntp_client HOST [-p PORT] [-t SECONDS]\n");
	exit(2);
}

/* The local clock now, as Unix time and as an NTP timestamp. */
static uint64_t
clock_now(struct timespec *ts)
{
	if (clock_gettime(CLOCK_REALTIME, ts) == -1)
		err(1, "clock_gettime");
	return ntp_from_timespec(ts);
}

/* Does a datagram's source equal the server's address and port? */
static int
same_address(const struct sockaddr_storage *from, const struct addrinfo *server)
{
	if (from->ss_family != server->ai_family)
		return 0;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		const struct sockaddr_in *b = (const struct sockaddr_in *)server->ai_addr;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
	const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)server->ai_addr;
	return a->sin6_port == b->sin6_port &&
	       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

/* slide: send-request */
/* Send a request stamped with the clock. Sets *t1 to the exact send time and
 * *sent to the transmit timestamp on the wire, which the reply must echo. */
static void
send_request(int sock, const struct addrinfo *server, uint64_t *t1, uint64_t *sent)
{
	unsigned char request[NTP_PACKET_SIZE];
	struct timespec now;
	uint32_t noise;

	/* The server only echoes the transmit timestamp, so its low 24 bits (4 ms)
	 * may be random (RFC 4330 section 3): a forger who cannot see our request
	 * must then guess them as well as our port. T1 keeps the exact reading. */
	if (getentropy(&noise, sizeof noise) == -1)
		err(1, "getentropy");
	*t1 = clock_now(&now);
	*sent = (*t1 & ~(uint64_t)NOISE_BITS) | (noise & NOISE_BITS);
	ntp_encode_request(*sent, request);
	if (sendto(sock, request, sizeof request, 0, server->ai_addr,
	           server->ai_addrlen) == -1)
		err(1, "sendto %s", sl_addr_text(server->ai_addr, server->ai_addrlen));
}
/* end slide */

/* Wait until the monotonic deadline for a datagram. 1 with it in buf (*len
 * bytes, from *from, arrived at *arrival by the clock), 0 if the deadline passed. */
static int
receive_until(int sock, double deadline, unsigned char *buf, size_t *len,
              struct sockaddr_storage *from, socklen_t *fromlen,
              struct timespec *arrival)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t n;

	for (;;) {
		double left = deadline - sl_monotonic_seconds();
		int ready;

		if (left <= 0)
			return 0;
		/* Round up: a poll that wakes a little early just loops once more. */
		ready = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (ready == -1 && errno != EINTR)
			err(1, "poll");
		if (ready <= 0)
			continue;
		*fromlen = sizeof *from;
		n = recvfrom(sock, buf, MAX_DATAGRAM, 0, (struct sockaddr *)from, fromlen);
		/* Read T4 at once: every microsecond spent before is counted as delay. */
		clock_now(arrival);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		*len = (size_t)n;
		return 1;
	}
}

/* Print what a valid reply tells: who, the corrected time, offset and delay. */
static void
report(const struct addrinfo *server, const struct ntp_packet *reply, uint64_t t1,
       const struct timespec *arrival)
{
	uint64_t t4 = ntp_from_timespec(arrival);
	int64_t offset = ntp_offset(t1, reply->receive_ts, reply->transmit_ts, t4);
	int64_t delay = ntp_delay(t1, reply->receive_ts, reply->transmit_ts, t4);
	struct timespec server_now;
	struct tm utc;
	char stamp[32];

	/* The server's clock at T4 is our clock plus the offset. Read it in the
	 * era closest to our own clock, which is what makes 2036 work. */
	server_now = ntp_to_timespec(t4 + (uint64_t)offset, arrival);
	if (gmtime_r(&server_now.tv_sec, &utc) == NULL)
		errx(1, "the server's time %lld is beyond the calendar",
		     (long long)server_now.tv_sec);
	strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &utc);

	printf("Server %s stratum %u\n", sl_addr_text(server->ai_addr, server->ai_addrlen),
	       reply->stratum);
	printf("Time: %s.%06ld UTC\n", stamp, server_now.tv_nsec / 1000);
	printf("Offset: %+.6f s\n", ntp_interval_seconds(offset));
	printf("Delay: %.6f s\n", ntp_interval_seconds(delay));
}

/* What to do with one datagram. */
enum judgement { DISCARD, KISSED, VALID };

/*
 * Judge a datagram of len bytes from `from` while waiting for the answer to
 * the request that carried `sent`. A discarded one or a kiss-o'-death is
 * reported on stderr with the reason; a valid one is decoded into *reply.
 */
static enum judgement
examine(const unsigned char *buf, size_t len, const struct sockaddr_storage *from,
        socklen_t fromlen, const struct addrinfo *server, uint64_t sent,
        struct ntp_packet *reply)
{
	enum ntp_verdict verdict;
	char who[SL_ADDRSTRLEN], code[SL_QUOTED_SIZE(4)];

	snprintf(who, sizeof who, "%s", sl_addr_text(from, fromlen));
	/* Anyone can send to our port; only the server may answer. */
	if (!same_address(from, server)) {
		warnx("discarded reply from %s: not the server %s", who,
		      sl_addr_text(server->ai_addr, server->ai_addrlen));
		return DISCARD;
	}
	if (ntp_decode(buf, len, reply) == -1) {
		warnx("discarded reply from %s: %zu bytes, shorter than an NTP header (%d)",
		      who, len, NTP_PACKET_SIZE);
		return DISCARD;
	}
	verdict = ntp_validate(reply, sent);
	if (verdict == NTP_KISS_OF_DEATH) {
		/* The code says why: RATE (ask less often), DENY or RSTR (stop). */
		sl_quote(reply->reference_id, sizeof reply->reference_id, code, sizeof code);
		warnx("kiss-o'-death from %s: %s", who, code);
		return KISSED;
	}
	if (verdict != NTP_OK) {
		warnx("discarded reply from %s: %s", who, ntp_verdict_text(verdict));
		return DISCARD;
	}
	return VALID;
}

/*
 * Up to TRIES times: send a request and wait up to `timeout` seconds for a
 * reply that passes every check. Returns the exit status: 0 after printing
 * the time, 1 on a kiss-o'-death or when no valid reply came.
 */
static int
query(int sock, const struct addrinfo *server, double timeout)
{
	static unsigned char buf[MAX_DATAGRAM];
	char name[SL_ADDRSTRLEN];

	/* A copy: every reply examined formats addresses too, and sl_addr_text's
	 * four buffers would soon name whoever sent the last one. */
	snprintf(name, sizeof name, "%s", sl_addr_text(server->ai_addr, server->ai_addrlen));

	/* slide: query-tries */
	for (int try = 1; try <= TRIES; try++) {
		double deadline = sl_monotonic_seconds() + timeout;
		struct sockaddr_storage from;
		socklen_t fromlen;
		struct timespec arrival;
		struct ntp_packet reply;
		uint64_t t1, sent;
		size_t len;

		/* A new request each try: a lost request and a lost reply look the
		 * same to us, and a late answer to an old one no longer counts. */
		send_request(sock, server, &t1, &sent);
		while (receive_until(sock, deadline, buf, &len, &from, &fromlen, &arrival)) {
			switch (examine(buf, len, &from, fromlen, server, sent, &reply)) {
			case DISCARD:
				continue; /* keep waiting for the real answer */
			case KISSED:
				return 1;
			case VALID:
				report(server, &reply, t1, &arrival);
				return 0;
			}
		}
		warnx("no reply from %s within %g s (try %d of %d)", name, timeout, try,
		      TRIES);
	}
	/* end slide */
	warnx("no valid reply from %s after %d tries, giving up", name, TRIES);
	return 1;
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct addrinfo *server;
	unsigned short port = 123;
	double timeout = DEFAULT_TIMEOUT;
	char why[SL_ERRLEN];
	int ch, sock, status;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:t:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		case 't':
			if (sl_parse_double(optarg, 0.001, 60, &timeout) == -1)
				errx(1, "invalid timeout '%s': expected seconds from 0.001 to 60",
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

	if (sl_resolve(why, sizeof why, argv[0], port, AF_UNSPEC, SOCK_DGRAM, 0, &server) == -1)
		errx(1, "%s", why);
	/* Not connect()ed: we want to see, and report, replies from anyone else. */
	sock = socket(server->ai_family, server->ai_socktype, server->ai_protocol);
	if (sock == -1) {
		int saved = errno;

		freeaddrinfo(server);
		errno = saved;
		err(1, "socket");
	}
	status = query(sock, server, timeout);
	close(sock);
	freeaddrinfo(server);
	return status;
}
