/* showip.c - lab 11: print every address the resolver gives for a name, in its order. */
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

/* slide: lookup */
/*
 * Every address of host for a TCP socket, in the resolver's order, or exit
 * with the resolver's own message. AF_UNSPEC asks for both families; the
 * socket type stops each address from coming back once per type (stream,
 * datagram, raw); no service, so every port is 0.
 */
static struct addrinfo *
lookup(const char *host)
{
	struct addrinfo hints, *res;
	int error;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		/* EAI_SYSTEM says only "System error": the reason is in errno. */
		if (error == EAI_SYSTEM)
			err(1, "%s", host);
		errx(1, "%s: %s", host, gai_strerror(error));
	}
	return res;
}
/* end slide */

/* Print one address as "  IPv4: a.b.c.d" or "  IPv6: x:y::z", the port left out.
 * (AF_UNSPEC gives only these two families.) */
static void
print_address(const struct addrinfo *ai)
{
	char text[INET6_ADDRSTRLEN];
	const void *raw;

	if (ai->ai_family == AF_INET6)
		raw = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	else
		raw = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	if (inet_ntop(ai->ai_family, raw, text, sizeof text) == NULL)
		err(1, "inet_ntop");
	printf("  %s: %s\n", ai->ai_family == AF_INET6 ? "IPv6" : "IPv4", text);
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
