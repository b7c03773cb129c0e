/* Hostile submission: allocates (and touches) memory until malloc fails, asking for 16 GiB in all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	size_t step = 64 << 20, total = 0;

	while (total < ((size_t)16 << 30)) {
		char *block = malloc(step);

		if (block == NULL) {
			fprintf(stderr, "udp_local: malloc failed after %zu MiB\n", total >> 20);
			abort();
		}
		memset(block, 1, step);
		total += step;
	}
	return 0;
}
