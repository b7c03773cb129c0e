/* Hostile submission: ignores SIGTERM, SIGINT and SIGHUP, claims to listen, then sleeps for ever. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	printf("Listening at 127.0.0.1:9\n");
	fflush(stdout);
	for (;;)
		pause();
}
