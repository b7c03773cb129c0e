/* udp_local.c - lab 01: a UDP server and client that talk over the loopback interface.
 *
 * Fill in every TODO(lab01), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=01` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab01): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
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

/* Does a datagram's source equal the address we sent to (IP and port)? */
static int
same_sender(const struct sockaddr_storage *from, const struct sockaddr_in *to)
{
	(void)from;
	(void)to;
	/* TODO(lab01): true when from is AF_INET with the same sin_addr and sin_port as to. */
	sl_todo("lab01", "same_sender(): comparing a reply's source with the server");
}

/* Answer every datagram with its length, forever. */
static void
serve(unsigned short port)
{
	struct sockaddr_in addr = loopback(port);

	(void)addr;
	/* TODO(lab01): socket(AF_INET, SOCK_DGRAM, 0), then bind() it to addr. */
	/* TODO(lab01): getsockname() tells the port really bound (port 0 = "any");
	 *              print "Listening at IP:PORT" using sl_addr_text(). */
	/* TODO(lab01): loop forever: recvfrom() into a MAX_DATAGRAM buffer, print
	 *              "The client at IP:PORT says 'TEXT'" (TEXT from sl_quote()), then
	 *              sendto() the sender "Your data was N bytes long". */
	sl_todo("lab01", "serve(): the server");
}

/* Send the time to the server and print its reply; ignore anyone else. */
static void
ask(unsigned short port)
{
	struct sockaddr_in server = loopback(port);

	(void)server;
	(void)same_sender;
	/* TODO(lab01): socket(), then sendto() the server the text
	 *              "The time is YYYY-MM-DD HH:MM:SS.ffffff" (clock_gettime(CLOCK_REALTIME),
	 *              localtime_r(), strftime(), then the microseconds with %06ld). */
	/* TODO(lab01): getsockname(): print "The OS assigned me the address IP:PORT". */
	/* TODO(lab01): recvfrom() until a datagram comes from the server (same_sender());
	 *              print others as "Ignored a datagram from IP:PORT, which is not the
	 *              server: 'TEXT'", then print "The server IP:PORT replied 'TEXT'". */
	sl_todo("lab01", "ask(): the client");
}

int
main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	(void)usage;
	(void)serve;
	(void)ask;
	sl_init_program();
	/* TODO(lab01): the command line (handout step 1):
	 *   - getopt_long() with -p PORT / --port PORT; parse the number with
	 *     sl_parse_port(); a bad port is errx(1, "invalid port '%s': ...").
	 *   - any unknown option, a missing or unknown role, or an extra argument:
	 *     usage(), which exits 2.
	 *   - then serve(port) for "server" or ask(port) for "client"; the port is 1060
	 *     unless -p says otherwise. */
	sl_todo("lab01", "main(): the command line (step 1 of the handout)");
}
