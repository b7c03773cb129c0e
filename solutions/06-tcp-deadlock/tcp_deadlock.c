/* tcp_deadlock.c - lab 06: a TCP upper-casing echo that deadlocks when used naively, and the fix. */
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
#include <unistd.h>

#include "socklab.h"

/* The client's data is this 16-byte chunk, over and over. */
#define CHUNK "capitalize this!"
#define CHUNK_LEN 16
/* What the server reads (and so writes back) at most per call: the classic value. */
#define SERVER_BUF 1024
/* The poll client moves data in pieces this big (a multiple of CHUNK_LEN). */
#define CLIENT_BUF 65536
/* The poll client gives up when the server makes no progress for this long,
 * unless -t says otherwise; -t accepts up to an hour. */
#define DEFAULT_STALL_TIMEOUT_S 10
#define MAX_STALL_TIMEOUT_S 3600
/* Largest BYTECOUNT accepted: 1 TiB, far beyond any experiment. */
#define MAX_BYTECOUNT (1ULL << 40)

enum mode { MODE_NAIVE, MODE_POLL };

/* What the client has had back so far, and the check that it is our data upper-cased. */
struct echo {
	unsigned long long received;
	char first[CHUNK_LEN];	/* the first bytes back, for "The first data received" */
	int first_printed;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tcp_deadlock server HOST [-p PORT]\n"
	                "       tcp_deadlock client HOST [BYTECOUNT] [-p PORT] "
	                "[--mode naive|poll] [-t SECONDS]\n");
	exit(2);
}

/* Upper-case ASCII letters in place; every other byte value stays as it is. */
static void
upcase(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] >= 'a' && buf[i] <= 'z')
			buf[i] = (char)(buf[i] - 'a' + 'A');
}

/* Send all n bytes on a blocking socket, retrying short sends and EINTR. n or -1. */
static ssize_t
sendall(int sock, const void *buf, size_t n)
{
	return sl_write_full(sock, buf, n);
}

/* A socket for ai, listening (server) or connected (client), or -1 with errno set. */
static int
open_socket(const struct addrinfo *ai, int server)
{
	int sock, on = 1, ok, saved;

	if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1)
		return -1;
	if (server)
		ok = setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
		     bind(sock, ai->ai_addr, ai->ai_addrlen) == 0 && listen(sock, 1) == 0;
	else
		ok = connect(sock, ai->ai_addr, ai->ai_addrlen) == 0;
	if (!ok) {
		saved = errno;
		close(sock);
		errno = saved;
		return -1;
	}
	return sock;
}

/* open_socket() on the first address of HOST that works; exits if none does.
 * An empty HOST means every local address (server) or this host (client). */
static int
open_first(const char *host, unsigned short port, int server)
{
	struct addrinfo *res, *ai;
	char why[SL_ERRLEN];
	int sock = -1, saved = 0;

	if (sl_resolve(why, sizeof why, host, port, AF_UNSPEC, SOCK_STREAM,
	               server ? AI_PASSIVE : 0, &res) == -1)
		errx(1, "%s", why);
	for (ai = res; ai != NULL && sock == -1; ai = ai->ai_next)
		if ((sock = open_socket(ai, server)) == -1)
			saved = errno;
	freeaddrinfo(res);
	if (sock == -1) {
		errno = saved;
		err(1, "%s %s port %u", server ? "listen on" : "connect to",
		    host[0] != '\0' ? host : "''", port);
	}
	return sock;
}

/* slide: serve-one */
/* Upper-case and send back everything one client sends, until it stops or fails. */
static void
serve_one(int conn, const char *peer)
{
	char buf[SERVER_BUF];
	ssize_t n;

	printf("Processing up to %d bytes at a time from %s\n", SERVER_BUF, peer);
	for (;;) {
		n = recv(conn, buf, sizeof buf, 0);
		if (n == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warn("recv from %s", peer);
			break;
		}
		upcase(buf, (size_t)n);
		/* While we are stuck here, we read nothing: the heart of the deadlock. */
		if (sendall(conn, buf, (size_t)n) == -1) {
			warn("send to %s", peer);
			break;
		}
	}
	if (close(conn) == -1)
		warn("close");
	printf("  Socket closed\n");
}
/* end slide */

/* Serve clients one after another, forever. */
static void
serve(const char *host, unsigned short port)
{
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof addr;
	int sock;

	sock = open_first(host, port, 1);
	/* Port 0 asks the OS to choose: print the port it really chose. */
	if (getsockname(sock, (struct sockaddr *)&addr, &addrlen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&addr, addrlen));

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof peer;
		char name[SL_ADDRSTRLEN];
		int conn;

		if ((conn = accept(sock, (struct sockaddr *)&peer, &peerlen)) == -1) {
			/* A connection reset before we accepted it is the client's problem. */
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		/* A copy for the whole connection: sl_addr_text's buffers are reused. */
		snprintf(name, sizeof name, "%s", sl_addr_text(&peer, peerlen));
		serve_one(conn, name);
	}
}

/* The pattern a buffer of CLIENT_BUF + CHUNK_LEN bytes holds: CHUNK, upper-cased or not. */
static const char *
pattern(int upper)
{
	static char plain[CLIENT_BUF + CHUNK_LEN], caps[CLIENT_BUF + CHUNK_LEN];
	char *buf = upper ? caps : plain;

	if (buf[0] == '\0') {
		for (size_t i = 0; i < sizeof plain; i += CHUNK_LEN)
			memcpy(buf + i, CHUNK, CHUNK_LEN);
		if (upper)
			upcase(buf, sizeof caps);
	}
	return buf;
}

/* Print the first data received once there is a whole chunk of it (or the stream ended). */
static void
print_first(struct echo *echo)
{
	char text[SL_QUOTED_SIZE(CHUNK_LEN)];
	size_t n = echo->received < CHUNK_LEN ? (size_t)echo->received : CHUNK_LEN;

	sl_quote(echo->first, n, text, sizeof text);
	printf("  The first data received says '%s'\n", text);
	echo->first_printed = 1;
}

/* Account for n bytes received; exits if they are not our data upper-cased. */
static void
check_echo(struct echo *echo, const char *data, size_t n)
{
	const char *want = pattern(1) + echo->received % CHUNK_LEN;
	char expected[8], got[8];

	if (echo->received < CHUNK_LEN) {
		size_t room = CHUNK_LEN - (size_t)echo->received;
		memcpy(echo->first + echo->received, data, n < room ? n : room);
	}
	/* Fast path first: a whole buffer compared at memcmp speed. */
	if (memcmp(data, want, n) != 0) {
		size_t i = 0;
		while (data[i] == want[i])
			i++;
		sl_quote(want + i, 1, expected, sizeof expected);
		sl_quote(data + i, 1, got, sizeof got);
		errx(1, "corrupted echo at byte offset %llu: expected '%s' but got '%s'",
		     echo->received + i, expected, got);
	}
	echo->received += n;
	if (!echo->first_printed && echo->received >= CHUNK_LEN)
		print_first(echo);
}

/* Receive into echo until the server closes; on a blocking socket. */
static void
receive_rest(int sock, struct echo *echo)
{
	static char buf[CLIENT_BUF];
	ssize_t n;

	while ((n = recv(sock, buf, sizeof buf, 0)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recv");
		}
		check_echo(echo, buf, (size_t)n);
	}
}

/* slide: exchange-naive */
/*
 * The classic mistake: send everything, and only then read. Once the server's
 * replies fill our receive buffer and its send buffer, it stops reading; then
 * our sends fill its receive buffer and our send buffer, and we both wait forever.
 */
static void
exchange_naive(int sock, unsigned long long total, struct echo *echo)
{
	for (unsigned long long sent = 0; sent < total; sent += CHUNK_LEN)
		if (sendall(sock, CHUNK, CHUNK_LEN) == -1)
			err(1, "send");
	if (shutdown(sock, SHUT_WR) == -1)
		err(1, "shutdown");
	receive_rest(sock, echo);
}
/* end slide */

/* Send what the socket will take now, without blocking. Returns the new count sent. */
static unsigned long long
send_some(int sock, unsigned long long sent, unsigned long long total)
{
	unsigned long long left = total - sent;
	size_t n = left < CLIENT_BUF ? (size_t)left : CLIENT_BUF;
	ssize_t put;

	put = send(sock, pattern(0) + sent % CHUNK_LEN, n, 0);
	if (put == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return sent;
		err(1, "send");
	}
	return sent + (unsigned long long)put;
}

/* Receive what is waiting, without blocking. Returns 0 at end of stream, else 1. */
static int
receive_some(int sock, struct echo *echo)
{
	static char buf[CLIENT_BUF];
	ssize_t n;

	n = recv(sock, buf, sizeof buf, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		err(1, "recv");
	}
	if (n > 0)
		check_echo(echo, buf, (size_t)n);
	return n != 0;
}

/*
 * The fix: never block in send() while replies are waiting. poll() says which
 * way the socket can move right now, and a non-blocking socket makes sure that
 * neither send() nor recv() can stop us even if it would take less than asked.
 */
static void
exchange_poll(int sock, unsigned long long total, struct echo *echo, int timeout_ms)
{
	unsigned long long sent = 0;
	int flags, open = 1, shut = 0;

	if ((flags = fcntl(sock, F_GETFL)) == -1 ||
	    fcntl(sock, F_SETFL, flags | O_NONBLOCK) == -1)
		err(1, "fcntl");
	/* slide: poll-loop */
	while (open) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int ready;

		if (sent < total)
			pfd.events |= POLLOUT;
		ready = poll(&pfd, 1, timeout_ms);
		if (ready == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (ready == 0)
			errx(1, "the server made no progress for %d seconds (sent %llu, received %llu)",
			     timeout_ms / 1000, sent, echo->received);
		/* On an error or hang-up, the calls below report it. */
		if (sent < total && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)))
			sent = send_some(sock, sent, total);
		if (sent == total && !shut) {
			/* Our FIN tells the server there is no more; it then closes its side. */
			if (shutdown(sock, SHUT_WR) == -1)
				err(1, "shutdown");
			shut = 1;
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
			open = receive_some(sock, echo);
	}
	/* end slide */
}

/* Send total bytes of CHUNKs, read them back, and check every one came back upper-cased.
 * In poll mode, give up when the server makes no progress for stall_s seconds. */
static void
ask(const char *host, unsigned short port, unsigned long long total, enum mode mode,
    int stall_s)
{
	struct echo echo = { 0 };
	int sock;

	printf("Sending %llu bytes of data, in chunks of %d bytes\n", total, CHUNK_LEN);
	sock = open_first(host, port, 0);
	if (mode == MODE_POLL)
		exchange_poll(sock, total, &echo, stall_s * 1000);
	else
		exchange_naive(sock, total, &echo);
	if (!echo.first_printed)
		print_first(&echo);
	printf("  %llu bytes received\n", echo.received);
	close(sock);
	if (echo.received != total)
		errx(1, "the server closed after sending back %llu of %llu bytes",
		     echo.received, total);
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned short port = 1060;
	unsigned long count = 16, seconds;
	enum mode mode = MODE_NAIVE;
	int ch, stall_s = DEFAULT_STALL_TIMEOUT_S;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:m:t:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		case 'm':
			if (strcmp(optarg, "naive") == 0)
				mode = MODE_NAIVE;
			else if (strcmp(optarg, "poll") == 0)
				mode = MODE_POLL;
			else
				errx(1, "invalid mode '%s': expected naive or poll", optarg);
			break;
		case 't':
			if (sl_parse_ulong(optarg, 1, MAX_STALL_TIMEOUT_S, &seconds) == -1)
				errx(1, "invalid timeout '%s': expected whole seconds from 1 to %d",
				     optarg, MAX_STALL_TIMEOUT_S);
			stall_s = (int)seconds;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc < 2)
		usage();
	if (strcmp(argv[0], "server") == 0 && argc == 2) {
		serve(argv[1], port);
	} else if (strcmp(argv[0], "client") == 0 && argc <= 3) {
		if (argc == 3 && sl_parse_ulong(argv[2], 0, MAX_BYTECOUNT, &count) == -1)
			errx(1, "invalid BYTECOUNT '%s': expected a number from 0 to %llu",
			     argv[2], MAX_BYTECOUNT);
		/* Round up to whole chunks, as the Python original does. */
		ask(argv[1], port, (count + CHUNK_LEN - 1) / CHUNK_LEN * CHUNK_LEN, mode,
		    stall_s);
	} else {
		usage();
	}
	return 0;
}
