/* dual_server.c - lab 11: one IPv6 listening socket that serves IPv4 clients too.
 *
 * Fill in every TODO(lab11), in the order of the handout (README.md beside this
 * file): showip.c first, then dual_server.c, then dual_client.c. Build and grade
 * with `make grade LAB=11` from the top of the repository. Until a part is
 * written, running into it prints "TODO(lab11): ... is not implemented yet" and
 * exits 3, which the grader reports as "not implemented yet".
 */
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
	/*
	 * TODO(lab11): getaddrinfo(NULL, "PORT", hints) with ai_family = family,
	 * SOCK_STREAM, AI_PASSIVE | AI_NUMERICSERV gives the wildcard address.
	 * socket(); for AF_INET6 setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0) (IPv4
	 * clients welcome); SO_REUSEADDR 1; bind(); listen(sock, 16). On a failure
	 * close the socket, freeaddrinfo, keep errno, return -1.
	 */
	(void)family;
	(void)port;
	sl_todo("lab11", "listen_any() in dual_server (a dual-stack listening socket)");
}

/*
 * If addr is an IPv4 address in IPv6 clothing (::ffff:a.b.c.d), turn it back
 * into the sockaddr_in it stands for, in place, and fix *len. Returns 1 if it
 * did, 0 for any other address (left as it is).
 */
static int
unmap(struct sockaddr_storage *addr, socklen_t *len)
{
	/*
	 * TODO(lab11): only an AF_INET6 address with IN6_IS_ADDR_V4MAPPED() is
	 * mapped. Build a struct sockaddr_in with the same port and the last four
	 * of the sixteen address bytes, copy it over *addr, set *len, return 1.
	 */
	(void)addr;
	(void)len;
	sl_todo("lab11", "unmap() in dual_server (v4-mapped addresses back to IPv4)");
}

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
