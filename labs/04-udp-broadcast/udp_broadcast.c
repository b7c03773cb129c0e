/* udp_broadcast.c - lab 04: one datagram to a whole LAN (broadcast) or to a group (multicast).
 *
 * Fill in every TODO(lab04), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=04` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab04): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
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

/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define MAX_DATAGRAM 65507
/* What the client sends. */
#define MESSAGE "Broadcast datagram!"
/* Multicast hop limit: 1 keeps the datagram on the sender's own LAN. */
#define GROUP_TTL 1

static void
usage(void)
{
	fprintf(stderr, "usage: udp_broadcast server|client HOST [-p PORT] [--group ADDR]\n");
	exit(2);
}

/* The IPv4 address of host ("" or "0.0.0.0" = any address) and port. Exits
 * with the resolver's message on failure. */
static struct sockaddr_in
resolve(const char *host, unsigned short port)
{
	struct addrinfo *res;
	struct sockaddr_in addr;
	char why[SL_ERRLEN];

	/* AI_PASSIVE: '' is INADDR_ANY, for a client too (0.0.0.0 is this host). */
	if (sl_resolve(why, sizeof why, host, port, AF_INET, SOCK_DGRAM, AI_PASSIVE,
	               &res) == -1)
		errx(1, "cannot resolve %s", why);
	memcpy(&addr, res->ai_addr, sizeof addr);
	freeaddrinfo(res);
	return addr;
}

/* Parse a dotted IPv4 multicast address (224.0.0.0/4) into *group, or -1. */
static int
parse_group(const char *text, struct in_addr *group)
{
	/* TODO(lab04): inet_pton(AF_INET, text, group) must succeed and the address
	 * must be in 224.0.0.0/4 (IN_MULTICAST(ntohl(...))); otherwise errno = EINVAL
	 * and return -1. */
	(void)text;
	(void)group;
	sl_todo("lab04", "parse_group(): checking the multicast group address");
}

/* Print every datagram that reaches sock, forever. */
static _Noreturn void
print_datagrams(int sock)
{
	static char data[MAX_DATAGRAM + 1], text[SL_QUOTED_SIZE(MAX_DATAGRAM + 1)];

	for (;;) {
		struct sockaddr_storage client;
		socklen_t clientlen = sizeof client;
		ssize_t n;

		n = recvfrom(sock, data, sizeof data, 0, (struct sockaddr *)&client,
		             &clientlen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		sl_quote(data, (size_t)n, text, sizeof text);
		printf("The client at %s says: '%s'\n", sl_addr_text(&client, clientlen),
		       text);
	}
}

/* Listen at local (any address, a unicast one, or a broadcast one); with a group,
 * listen on local's port at any address and join the group on local's interface. */
static _Noreturn void
serve(struct sockaddr_in local, const struct in_addr *group)
{
	/* TODO(lab04): a UDP socket. Without a group: bind() to local as is (any,
	 * a unicast or a broadcast address). With a group: bind() to INADDR_ANY on
	 * local's port, then join with setsockopt IP_ADD_MEMBERSHIP, a struct ip_mreq
	 * of the group and local's address (the interface to join on). getsockname()
	 * and print "Listening for datagrams at IP:PORT" (with a group, followed by
	 * " in group ADDR"), then print_datagrams(). */
	(void)local;
	(void)group;
	(void)print_datagrams;
	sl_todo("lab04", "serve(): the server's bind (and group membership)");
}

/* Send the message to target (a broadcast or any address); with a group, send to
 * the group on target's port, out of the interface of target's address. */
static void
send_message(struct sockaddr_in target, const struct in_addr *group)
{
	/* TODO(lab04): a UDP socket. Without a group: setsockopt SO_BROADCAST = 1
	 * (else sending to a broadcast address fails with EACCES) and sendto target.
	 * With a group: IP_MULTICAST_IF = target's address unless it is INADDR_ANY,
	 * IP_MULTICAST_TTL = GROUP_TTL (an unsigned char), sendto the group on
	 * target's port. Print "Sent 'MESSAGE' to IP:PORT" and close the socket. */
	(void)target;
	(void)group;
	sl_todo("lab04", "send_message(): the client's send (SO_BROADCAST, multicast options)");
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "group", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = "1060";
	struct in_addr group;
	struct sockaddr_in addr;
	unsigned short number = 1060;
	int ch, grouped = 0, server;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:g:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &number) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			port = optarg;
			break;
		case 'g':
			if (parse_group(optarg, &group) == -1)
				errx(1, "invalid group '%s': expected an IPv4 multicast "
				     "address, 224.0.0.0 to 239.255.255.255", optarg);
			grouped = 1;
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
		server = 1;
	else if (strcmp(argv[0], "client") == 0)
		server = 0;
	else
		usage();
	addr = resolve(argv[1], number);
	if (!server && addr.sin_port == 0)
		errx(1, "invalid port '%s': a client needs a port from 1 to 65535", port);
	if (server)
		serve(addr, grouped ? &group : NULL);
	send_message(addr, grouped ? &group : NULL);
	return 0;
}
