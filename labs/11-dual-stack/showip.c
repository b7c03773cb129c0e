/* showip.c - lab 11: print every address the resolver gives for a name, in its order.
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

#include "socklab.h"

static void
usage(void)
{
	fprintf(stderr, "usage: showip HOST\n");
	exit(2);
}

/*
 * Every address of host for a TCP socket, in the resolver's order, or exit
 * with the resolver's own message. AF_UNSPEC asks for both families; the
 * socket type stops each address from coming back once per type (stream,
 * datagram, raw); no service, so every port is 0.
 */
static struct addrinfo *
lookup(const char *host)
{
	/*
	 * TODO(lab11): hints zeroed, ai_family AF_UNSPEC, ai_socktype SOCK_STREAM;
	 * getaddrinfo(host, NULL, &hints, &res). On failure errx(1, "%s: %s", host,
	 * gai_strerror(error)), but err(1, "%s", host) for EAI_SYSTEM. Return res.
	 */
	(void)host;
	sl_todo("lab11", "lookup() in showip (getaddrinfo)");
}

/* Print one address as "  IPv4: a.b.c.d" or "  IPv6: x:y::z", the port left out.
 * (AF_UNSPEC gives only these two families.) */
static void
print_address(const struct addrinfo *ai)
{
	/*
	 * TODO(lab11): the raw address is sin6_addr of a struct sockaddr_in6 for
	 * AF_INET6, else sin_addr of a struct sockaddr_in; inet_ntop() it into a
	 * buffer of INET6_ADDRSTRLEN and print "  IPv6: ADDR" or "  IPv4: ADDR".
	 */
	(void)ai;
	sl_todo("lab11", "print_address() in showip (inet_ntop)");
}

int
main(int argc, char *argv[])
{
	struct addrinfo *res, *ai;

	sl_init_program();
	if (getopt(argc, argv, "") != -1)
		usage();
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	res = lookup(argv[0]);
	printf("IP addresses for %s:\n", argv[0]);
	for (ai = res; ai != NULL; ai = ai->ai_next)
		print_address(ai);
	freeaddrinfo(res);
	return 0;
}
