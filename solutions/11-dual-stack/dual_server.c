/* dual_server.c - lab 11: one IPv6 listening socket that serves IPv4 clients too. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "socklab.h"

/* "You are [ffff:...]:65535 over IPv6\n" and its NUL fit with room to spare. */
#define REPLY_MAX (SL_ADDRSTRLEN + 32)

static void
usage(void)
{
	fprintf(stderr, "usage: dual_server [-p PORT]\n");
	exit(2);
}

/*
 * A listening socket on the wildcard address of family (AF_INET6: "::",
 * AF_INET: "0.0.0.0") and port, or -1 with errno set (EAFNOSUPPORT: no such
 * family in this kernel). An AF_INET6 socket is
 * made dual-stack: with IPV6_V6ONLY off it also accepts IPv4 connections,
 * which then look like IPv6 ones from ::ffff:a.b.c.d.
 */
static int
listen_any(int family, unsigned short port)
{
	struct addrinfo hints, *res = NULL;
	char service[8];
	int sock = -1, on = 1, off = 0, error, saved;

	/* slide: listen-any */
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;  /* no host: the wildcard */
	snprintf(service, sizeof service, "%u", port);
	if ((error = getaddrinfo(NULL, service, &hints, &res)) != 0)
		errx(1, "getaddrinfo: %s", gai_strerror(error));
	if ((sock = socket(res->ai_family, res->ai_socktype, res->ai_protocol)) == -1)
		goto fail;
	/* The default comes from net.ipv6.bindv6only (FreeBSD's is "on"): say it. */
	if (family == AF_INET6 &&
	    setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == -1)
		goto fail;
	if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    bind(sock, res->ai_addr, res->ai_addrlen) == -1 || listen(sock, 16) == -1)
		goto fail;
	freeaddrinfo(res);
	return sock;
	/* end slide */
fail:
	saved = errno;
	if (sock != -1)
		close(sock);
	freeaddrinfo(res);
	errno = saved;
	return -1;
}

/* slide: unmap */
/*
 * If addr is an IPv4 address in IPv6 clothing (::ffff:a.b.c.d), turn it back
 * into the sockaddr_in it stands for, in place, and fix *len. Returns 1 if it
 * did, 0 for any other address (left as it is).
 */
static int
unmap(struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in6 in6;
	struct sockaddr_in in4;

	if (addr->ss_family != AF_INET6)
		return 0;
	memcpy(&in6, addr, sizeof in6);
	if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
		return 0;
	memset(&in4, 0, sizeof in4);
	in4.sin_family = AF_INET;
	in4.sin_port = in6.sin6_port;
	/* The IPv4 address is the last four of the sixteen bytes. */
	memcpy(&in4.sin_addr, &in6.sin6_addr.s6_addr[12], sizeof in4.sin_addr);
	memcpy(addr, &in4, sizeof in4);
	*len = sizeof in4;
	return 1;
}
/* end slide */

/* Tell one accepted client what its address looked like from here, then hang up. */
static void
serve_one(int conn, struct sockaddr_storage *peer, socklen_t peerlen)
{
	char seen[SL_ADDRSTRLEN], reply[REPLY_MAX];
	const char *family;
	int mapped, n;

	/* Keep the address exactly as accept() gave it, for the record. */
	snprintf(seen, sizeof seen, "%s", sl_addr_text(peer, peerlen));
	mapped = unmap(peer, &peerlen);
	family = peer->ss_family == AF_INET6 ? "IPv6" : "IPv4";
	if (mapped)
		printf("Client %s over IPv4 (seen as %s)\n", sl_addr_text(peer, peerlen), seen);
	else
		printf("Client %s over %s\n", seen, family);
	n = snprintf(reply, sizeof reply, "You are %s over %s\n",
	             sl_addr_text(peer, peerlen), family);
	/* A client that has already gone is its own problem, not the server's. */
	if (sl_write_full(conn, reply, (size_t)n) == -1)
		warn("send to %s", sl_addr_text(peer, peerlen));
	if (close(conn) == -1)
		warn("close");
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof addr;
	unsigned short port = 1060;
	int ch, sock;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();

	/* One socket for both families; IPv4 alone where the kernel has no IPv6. */
	if ((sock = listen_any(AF_INET6, port)) == -1 && errno == EAFNOSUPPORT) {
		warnx("IPv6 is not available here: listening on IPv4 only");
		sock = listen_any(AF_INET, port);
	}
	if (sock == -1)
		err(1, "listen on port %u", port);
	if (getsockname(sock, (struct sockaddr *)&addr, &addrlen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&addr, addrlen));

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peerlen = sizeof peer;
		int conn;

		if ((conn = accept(sock, (struct sockaddr *)&peer, &peerlen)) == -1) {
			/* A client that reset before we got to it is no reason to stop. */
			if (errno != EINTR && errno != ECONNABORTED)
				err(1, "accept");
			continue;
		}
		serve_one(conn, &peer, peerlen);
	}
}
