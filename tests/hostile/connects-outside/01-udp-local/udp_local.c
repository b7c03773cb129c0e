/* Hostile submission: tries to reach a machine outside the lab network over TCP
 * and UDP. The self-test replaces OUTSIDE_HOST and OUTSIDE_PORT with a listener
 * of its own; a public address is tried as well. Prints ESCAPED if it got out. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef OUTSIDE_HOST
#define OUTSIDE_HOST "192.0.2.1"
#endif
#ifndef OUTSIDE_PORT
#define OUTSIDE_PORT 9
#endif

static void
try_address(const char *host, int port)
{
	struct sockaddr_in addr;
	int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	inet_pton(AF_INET, host, &addr.sin_addr);
	if (connect(tcp, (struct sockaddr *)&addr, sizeof addr) == 0)
		printf("ESCAPED: TCP connection to %s:%d\n", host, port);
	if (sendto(udp, "hello", 5, 0, (struct sockaddr *)&addr, sizeof addr) == 5)
		printf("ESCAPED: UDP datagram to %s:%d\n", host, port);
	else
		perror("sendto");
	close(tcp);
	close(udp);
}

int
main(void)
{
	try_address(OUTSIDE_HOST, OUTSIDE_PORT);
	try_address("1.1.1.1", 53);
	return 1;
}
