/* udp_broadcast.c - lab 04: one datagram to a whole LAN (broadcast) or to a group (multicast). */
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
	if (inet_pton(AF_INET, text, group) != 1 || !IN_MULTICAST(ntohl(group->s_addr))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
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

/* slide: serve */
/* Listen at local (any address, a unicast one, or a broadcast one); with a group,
 * listen on local's port at any address and join the group on local's interface. */
static _Noreturn void
serve(struct sockaddr_in local, const struct in_addr *group)
{
	struct sockaddr_in bound;
	socklen_t boundlen = sizeof bound;
	struct ip_mreq mreq;
	int sock;

	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (group != NULL) {
		/* Joining is per interface: local's address picks it (any = the
		 * interface the routing table would use to reach the group). */
		mreq.imr_multiaddr = *group;
		mreq.imr_interface = local.sin_addr;
		local.sin_addr.s_addr = htonl(INADDR_ANY);
	}
	if (bind(sock, (struct sockaddr *)&local, sizeof local) == -1)
		err(1, "bind to %s", sl_addr_text(&local, sizeof local));
	if (group != NULL && setsockopt(sock, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
	                                sizeof mreq) == -1) {
		char via[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &mreq.imr_interface, via, sizeof via);
		err(1, "join group %s on the interface of %s", inet_ntoa(*group), via);
	}
	if (getsockname(sock, (struct sockaddr *)&bound, &boundlen) == -1)
		err(1, "getsockname");
	if (group != NULL)
		printf("Listening for datagrams at %s in group %s\n",
		       sl_addr_text(&bound, boundlen), inet_ntoa(*group));
	else
		printf("Listening for datagrams at %s\n", sl_addr_text(&bound, boundlen));
	print_datagrams(sock);
}
/* end slide */

/* slide: send-message */
/* Send the message to target (a broadcast or any address); with a group, send to
 * the group on target's port, out of the interface of target's address. */
static void
send_message(struct sockaddr_in target, const struct in_addr *group)
{
	int sock, on = 1;
	unsigned char ttl = GROUP_TTL;

	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (group != NULL) {
		/* Any = let the routing table choose; otherwise leave by that interface. */
		if (target.sin_addr.s_addr != htonl(INADDR_ANY) &&
		    setsockopt(sock, IPPROTO_IP, IP_MULTICAST_IF, &target.sin_addr,
		               sizeof target.sin_addr) == -1)
			err(1, "send from the interface of %s", inet_ntoa(target.sin_addr));
		/* Each router decrements the TTL; at 1 the first router drops it. */
		if (setsockopt(sock, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) == -1)
			err(1, "setsockopt IP_MULTICAST_TTL");
		target.sin_addr = *group;
	} else if (setsockopt(sock, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) == -1) {
		/* Without it the kernel refuses a broadcast address with EACCES. */
		err(1, "setsockopt SO_BROADCAST");
	}
	if (sendto(sock, MESSAGE, strlen(MESSAGE), 0, (struct sockaddr *)&target,
	           sizeof target) == -1)
		err(1, "sendto %s", sl_addr_text(&target, sizeof target));
	printf("Sent '%s' to %s\n", MESSAGE, sl_addr_text(&target, sizeof target));
	close(sock);
}
/* end slide */

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
