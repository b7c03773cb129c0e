/* Hostile submission: the preprocessor reads /dev/zero for ever, which eats the
 * grader's memory unless the compiler has a limit. */
#include "/dev/zero"
int
main(void)
{
	return 0;
}
