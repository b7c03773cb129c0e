/* Hostile submission: allocates memory until malloc fails, asking for 16 GiB in all.
 * Each block is touched at its ends, not filled: the address-space limit is what must stop
 * it, and filling gigabytes would only time how fast a loaded machine faults pages
 * in for a program the sandbox has already demoted. */
#include <stdio.h>
#include <stdlib.h>

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
		block[0] = 1;
		block[step - 1] = 1;
		total += step;
	}
	return 0;
}
