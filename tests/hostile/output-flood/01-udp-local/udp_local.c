/* Hostile submission: writes 1 GB to stdout (no newlines) and 1 GB of lines to stderr. */
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static char chunk[65536];
	long i;

	memset(chunk, 'A', sizeof chunk);
	for (i = 0; i < 16384; i++)	/* 16384 * 64 KiB = 1 GiB */
		if (write(1, chunk, sizeof chunk) < 0)
			break;
	chunk[sizeof chunk - 1] = '\n';
	for (i = 0; i < 16384; i++)
		if (write(2, chunk, sizeof chunk) < 0)
			break;
	return 0;
}
