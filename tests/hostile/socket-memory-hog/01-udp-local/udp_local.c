/* Hostile submission: pins kernel memory that no address-space limit counts:
 * socket pairs with the largest buffers it may ask for, filled and never read,
 * as many as its descriptors allow; then it keeps them for a while. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	static char chunk[65536];
	long long queued = 0;
	int pair[2], size = 1 << 30;
	ssize_t n;

	int pairs = 0;

	while (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
		setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
		setsockopt(pair[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
		fcntl(pair[0], F_SETFL, O_NONBLOCK);
		while ((n = write(pair[0], chunk, sizeof chunk)) > 0)
			queued += n;
		if (++pairs % 8 == 0) {
			printf("QUEUED %lld in %d socket pairs\n", queued, pairs);
			fflush(stdout);
		}
	}
	printf("QUEUED %lld in %d socket pairs: all it may open\n", queued, pairs);
	fflush(stdout);
	sleep(20);
	return 0;
}
