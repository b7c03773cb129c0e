/* Hostile submission: leaves a daemon behind (double fork, setsid, ignores
 * SIGTERM, closes its output), which spins and keeps its files open; the
 * program itself exits 0 at once. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int
main(void)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0;
	setsid();
	if (fork() != 0)
		_exit(0);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;)
		sleep(1);
}
