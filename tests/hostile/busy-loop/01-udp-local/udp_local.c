/* Hostile submission: spins forever without printing anything. */
int
main(void)
{
	volatile unsigned long spins = 0;

	for (;;)
		spins++;
}
