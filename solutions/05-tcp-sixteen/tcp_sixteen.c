/* tcp_sixteen.c - lab 05: a TCP server and client that trade exactly sixteen octets. */
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

/* Both messages are exactly this long: the length is the whole protocol. */
#define MESSAGE_LEN 16
/* How long either side waits for the peer (to answer a connect, to send, to take
 * more data) unless -t says otherwise. */
#define DEFAULT_TIMEOUT_S 5
/* The longest -t accepted: an hour is patience enough for any test by hand. */
#define MAX_TIMEOUT_S 3600

static const char greeting[] = "Hi there, server";
static const char farewell[] = "Farewell, client";

static void
usage(void)
{
	fprintf(stderr, "usage: tcp_sixteen server|client HOST [-p PORT] [-t SECONDS]\n");
	exit(2);
}

/*
 * Send all n bytes. send() may take fewer bytes than offered (the socket's
 * send buffer had room for only part) or fail with EINTR (a signal): both mean
 * "go on with the rest". Returns n or -1 with errno set.
 */
static ssize_t
sendall(int sock, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t put = send(sock, (const char *)buf + done, n - done, 0);
		if (put == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)put;
	}
	return (ssize_t)done;
}

/* slide: recvall */
/*
 * Read exactly n bytes: sendall's mirror image. recv() may return fewer bytes
 * than asked for (the data came in several segments) or fail with EINTR; unlike
 * send(), it may also return 0, which means the peer closed its side.
 * Returns n, fewer than n if the peer closed first, or -1 with errno set.
 */
static ssize_t
recvall(int sock, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t got = recv(sock, (char *)buf + done, n - done, 0);
		if (got == 0)
			break;
		if (got == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)got;
	}
	return (ssize_t)done;
}
/* end slide */

/* Bound every later recv() and send() on sock to `seconds`. 0 or -1. */
static int
set_io_timeout(int sock, int seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
		return -1;
	return setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Resolve HOST:port for a TCP socket; exits with the resolver's message on failure.
 * An empty HOST means every local address (flags AI_PASSIVE) or this host. */
static struct addrinfo *
resolve(const char *host, unsigned short port, int flags)
{
	struct addrinfo *res;
	char why[SL_ERRLEN];

	if (sl_resolve(why, sizeof why, host, port, AF_UNSPEC, SOCK_STREAM, flags, &res) == -1)
		errx(1, "%s", why);
	return res;
}

/* slide: listen-on */
/* A listening socket bound to the address of ai, or -1 with errno set. */
static int
listen_on(const struct addrinfo *ai)
{
	int sock, on = 1, saved;

	if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1)
		return -1;
	/* Let a restarted server bind the port while old connections sit in TIME_WAIT. */
	if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    bind(sock, ai->ai_addr, ai->ai_addrlen) == -1 || listen(sock, 1) == -1) {
		saved = errno;
		close(sock);
		errno = saved;
		return -1;
	}
	return sock;
}
/* end slide */

/* Talk to one accepted client: read its sixteen octets, answer, close conn.
 * A client silent for `timeout` seconds is reported and dropped. */
static void
serve_one(int conn, int timeout)
{
	struct sockaddr_storage name, peer;
	socklen_t namelen = sizeof name, peerlen = sizeof peer;
	char message[MESSAGE_LEN], text[SL_QUOTED_SIZE(MESSAGE_LEN)];
	ssize_t n;
	int answered = 0;

	if (getsockname(conn, (struct sockaddr *)&name, &namelen) == -1 ||
	    getpeername(conn, (struct sockaddr *)&peer, &peerlen) == -1) {
		warn("getsockname/getpeername");
		goto out;
	}
	printf("  Socket name: %s\n", sl_addr_text(&name, namelen));
	printf("  Socket peer: %s\n", sl_addr_text(&peer, peerlen));
	/* A client that never sends must not hold the server (and everyone after it) forever. */
	if (set_io_timeout(conn, timeout) == -1) {
		warn("setsockopt");
		goto out;
	}
	if ((n = recvall(conn, message, sizeof message)) == -1) {
		if (errno == EAGAIN)
			warnx("recv from %s: nothing for %d seconds, giving up",
			      sl_addr_text(&peer, peerlen), timeout);
		else
			warn("recv from %s", sl_addr_text(&peer, peerlen));
		goto out;
	}
	if (n < MESSAGE_LEN) {
		warnx("was expecting %d bytes but only received %zd bytes before the socket closed",
		      MESSAGE_LEN, n);
		goto out;
	}
	sl_quote(message, sizeof message, text, sizeof text);
	printf("  Incoming sixteen-octet message: '%s'\n", text);
	if (sendall(conn, farewell, MESSAGE_LEN) == -1) {
		warn("send to %s", sl_addr_text(&peer, peerlen));
		goto out;
	}
	answered = 1;
out:
	/* Our close sends the FIN that tells the client there is nothing more. */
	if (close(conn) == -1)
		warn("close");
	else if (answered)
		printf("  Reply sent, socket closed\n");
}

/* Accept connections one after another, forever. */
static void
serve(const char *host, unsigned short port, int timeout)
{
	struct addrinfo *res, *ai;
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof addr;
	int sock = -1;

	res = resolve(host, port, AI_PASSIVE);
	for (ai = res; ai != NULL && sock == -1; ai = ai->ai_next)
		sock = listen_on(ai);
	if (sock == -1) {
		int saved = errno;
		freeaddrinfo(res);
		errno = saved;
		err(1, "listen on %s port %u", host[0] != '\0' ? host : "''", port);
	}
	freeaddrinfo(res);
	/* Port 0 asks the OS to choose: print the port it really chose. */
	if (getsockname(sock, (struct sockaddr *)&addr, &addrlen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&addr, addrlen));

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof peer;
		int conn;

		printf("Waiting to accept a new connection\n");
		while ((conn = accept(sock, (struct sockaddr *)&peer, &peerlen)) == -1) {
			/* A connection reset before we accepted it is the client's problem. */
			if (errno != EINTR && errno != ECONNABORTED)
				err(1, "accept");
			peerlen = sizeof peer;
		}
		printf("We have accepted a connection from %s\n",
		       sl_addr_text(&peer, peerlen));
		serve_one(conn, timeout);
	}
}

/*
 * Connect sock to addr, giving up after timeout_ms. A plain connect() to an
 * address that never answers waits for the kernel's SYN retries (over two
 * minutes); a non-blocking connect plus poll() lets us choose the bound.
 * Returns 0 or -1 with errno set (ETIMEDOUT when the bound ran out).
 */
static int
connect_within(int sock, const struct sockaddr *addr, socklen_t addrlen, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLOUT };
	int flags, error = 0, ready;
	socklen_t errlen = sizeof error;
	double deadline = sl_monotonic_seconds() + timeout_ms / 1000.0;

	if ((flags = fcntl(sock, F_GETFL)) == -1 ||
	    fcntl(sock, F_SETFL, flags | O_NONBLOCK) == -1)
		return -1;
	if (connect(sock, addr, addrlen) == -1) {
		if (errno != EINPROGRESS)
			return -1;
		/* The handshake is under way: writable means it finished, one way or the other. */
		do {
			int left = (int)((deadline - sl_monotonic_seconds()) * 1000);
			ready = poll(&pfd, 1, left > 0 ? left : 0);
		} while (ready == -1 && errno == EINTR);
		if (ready == -1)
			return -1;
		if (ready == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &errlen) == -1)
			return -1;
		if (error != 0) {
			errno = error;
			return -1;
		}
	}
	return fcntl(sock, F_SETFL, flags);
}

/* slide: connect-to */
/* A socket connected to the first address of HOST that answers within `timeout`
 * seconds; exits if none does. */
static int
connect_to(const char *host, unsigned short port, int timeout)
{
	struct addrinfo *res, *ai;
	int sock = -1, saved = 0;
	const char *tried = host;
	char address[SL_ADDRSTRLEN];

	res = resolve(host, port, 0);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1) {
			saved = errno;
			continue;
		}
		if (connect_within(sock, ai->ai_addr, ai->ai_addrlen, timeout * 1000) == 0)
			break;
		saved = errno;
		/* Copied: sl_addr_text's buffers are reused by later calls. */
		snprintf(address, sizeof address, "%s", sl_addr_text(ai->ai_addr, ai->ai_addrlen));
		tried = address;
		close(sock);
		sock = -1;
	}
	freeaddrinfo(res);
	if (sock == -1) {
		errno = saved;
		if (saved == ETIMEDOUT)
			errx(1, "connect to %s: no answer within %d seconds", tried, timeout);
		err(1, "connect to %s", tried);
	}
	return sock;
}
/* end slide */

/* slide: ask */
/* Send the greeting and print the server's sixteen-octet answer, waiting at most
 * `timeout` seconds for each step. */
static void
ask(const char *host, unsigned short port, int timeout)
{
	struct sockaddr_storage self;
	socklen_t selflen = sizeof self;
	char reply[MESSAGE_LEN], text[SL_QUOTED_SIZE(MESSAGE_LEN)];
	ssize_t n;
	int sock;

	sock = connect_to(host, port, timeout);
	/* connect() bound the socket to a port the OS picked: which one? */
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("Client has been assigned socket name %s\n", sl_addr_text(&self, selflen));
	if (set_io_timeout(sock, timeout) == -1)
		err(1, "setsockopt");
	if (sendall(sock, greeting, MESSAGE_LEN) == -1)
		err(1, "send");
	if ((n = recvall(sock, reply, sizeof reply)) == -1) {
		if (errno == EAGAIN)
			errx(1, "recv: the server sent nothing for %d seconds", timeout);
		err(1, "recv");
	}
	if (n < MESSAGE_LEN)
		errx(1, "was expecting %d bytes but only received %zd bytes before the socket closed",
		     MESSAGE_LEN, n);
	sl_quote(reply, sizeof reply, text, sizeof text);
	printf("The server said '%s'\n", text);
	close(sock);
}
/* end slide */

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned short port = 1060;
	unsigned long seconds;
	int ch, timeout = DEFAULT_TIMEOUT_S;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:t:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		case 't':
			if (sl_parse_ulong(optarg, 1, MAX_TIMEOUT_S, &seconds) == -1)
				errx(1, "invalid timeout '%s': expected whole seconds from 1 to %d",
				     optarg, MAX_TIMEOUT_S);
			timeout = (int)seconds;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 2)
		usage();
	if (strcmp(argv[0], "server") == 0)
		serve(argv[1], port, timeout);
	else if (strcmp(argv[0], "client") == 0)
		ask(argv[1], port, timeout);
	else
		usage();
	return 0;
}
