/* udp_local.c - lab 01: a UDP server and client that talk over the loopback interface. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "socklab.h"

/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define MAX_DATAGRAM 65507

static void
usage(void)
{
	fprintf(stderr, "usage: udp_local server|client [-p PORT]\n");
	exit(2);
}

/* slide: loopback */
/* 127.0.0.1:port, the only address this lab uses. */
static struct sockaddr_in
loopback(unsigned short port)
{
	struct sockaddr_in addr;

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return addr;
}
/* end slide */

/* slide: same-sender */
/* Does a datagram's source equal the address we sent to (IP and port)? */
static int
same_sender(const struct sockaddr_storage *from, const struct sockaddr_in *to)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)from;

	return from->ss_family == AF_INET &&
	       in4->sin_addr.s_addr == to->sin_addr.s_addr &&
	       in4->sin_port == to->sin_port;
}
/* end slide */

/* slide: receive-datagram */
/* Receive one datagram into buf, retrying EINTR; its length. Exits on errors. */
static size_t
receive_datagram(int sock, char *buf, size_t size, struct sockaddr_storage *from,
                 socklen_t *fromlen)
{
	for (;;) {
		ssize_t n;

		*fromlen = sizeof *from;
		n = recvfrom(sock, buf, size, 0, (struct sockaddr *)from, fromlen);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			err(1, "recvfrom");
	}
}
/* end slide */

/* slide: server-setup */
/* Answer every datagram with its length, forever. */
static void
serve(unsigned short port)
{
	static char data[MAX_DATAGRAM + 1], text[SL_QUOTED_SIZE(MAX_DATAGRAM + 1)];
	struct sockaddr_in addr = loopback(port);
	socklen_t addrlen = sizeof addr;
	int sock;

	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	if (bind(sock, (struct sockaddr *)&addr, sizeof addr) == -1)
		err(1, "bind to %s", sl_addr_text(&addr, sizeof addr));
	/* Port 0 asks the OS to choose: print the port it really chose. */
	if (getsockname(sock, (struct sockaddr *)&addr, &addrlen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&addr, addrlen));
	/* end slide */

	/* slide: server-loop */
	for (;;) {
		struct sockaddr_storage client;
		socklen_t clientlen;
		char reply[64];
		size_t n;
		int replylen;

		n = receive_datagram(sock, data, sizeof data, &client, &clientlen);
		sl_quote(data, n, text, sizeof text);
		printf("The client at %s says '%s'\n",
		       sl_addr_text(&client, clientlen), text);
		replylen = snprintf(reply, sizeof reply, "Your data was %zu bytes long", n);
		/* A client that vanished must not take the server down with it. */
		if (sendto(sock, reply, (size_t)replylen, 0, (struct sockaddr *)&client,
		           clientlen) == -1)
			warn("sendto %s", sl_addr_text(&client, clientlen));
	}
	/* end slide */
}

/* "The time is YYYY-MM-DD HH:MM:SS.ffffff" in local time, into buf. */
static void
format_time_message(char *buf, size_t size)
{
	struct timespec now;
	struct tm local;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &local);
	strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
	snprintf(buf, size, "The time is %s.%06ld", stamp, now.tv_nsec / 1000);
}

/* slide: client-send */
/* Send the time to the server and print its reply; ignore anyone else. */
static void
ask(unsigned short port)
{
	static char data[MAX_DATAGRAM + 1], text[SL_QUOTED_SIZE(MAX_DATAGRAM + 1)];
	struct sockaddr_in server = loopback(port), self;
	socklen_t selflen = sizeof self;
	char message[64];
	int sock;

	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	format_time_message(message, sizeof message);
	if (sendto(sock, message, strlen(message), 0, (struct sockaddr *)&server,
	           sizeof server) == -1)
		err(1, "sendto %s", sl_addr_text(&server, sizeof server));
	/* The first sendto bound the socket to a port the OS picked: which one? */
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("The OS assigned me the address %s\n", sl_addr_text(&self, selflen));
	/* end slide */

	/* slide: client-receive */
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fromlen;
		size_t n;

		n = receive_datagram(sock, data, sizeof data, &from, &fromlen);
		sl_quote(data, n, text, sizeof text);
		/* Anyone can send to our port: only the server's answer counts. */
		if (!same_sender(&from, &server)) {
			printf("Ignored a datagram from %s, which is not the server: '%s'\n",
			       sl_addr_text(&from, fromlen), text);
			continue;
		}
		printf("The server %s replied '%s'\n", sl_addr_text(&from, fromlen), text);
		break;
	}
	/* end slide */
	close(sock);
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned short port = 1060;
	int ch;

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

	if (argc != 1)
		usage();
	if (strcmp(argv[0], "server") == 0)
		serve(port);
	else if (strcmp(argv[0], "client") == 0)
		ask(port);
	else
		usage();
	return 0;
}
