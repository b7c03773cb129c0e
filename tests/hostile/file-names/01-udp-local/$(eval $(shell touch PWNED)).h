/* Hostile submission: a source whose name no person writes (see udp_local.c). */
#include <stdio.h>

__attribute__((constructor)) static void
announce(void)
{
	puts("BAD NAME WAS BUILT");
}
