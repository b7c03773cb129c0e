/* Hostile submission: the sources' names are the attack. Beside this skeleton-like
 * program lie files named with make syntax ($(shell …)), shell metacharacters and
 * backquotes; a grader that passes names to make or a shell runs `touch PWNED`,
 * and one that builds them links in a constructor that says BAD NAME WAS BUILT.
 * Staged correctly, only this file is built, and it is not implemented. */
#include <stdio.h>

int
main(void)
{
	fputs("udp_local: TODO(lab01): nothing is implemented yet\n", stderr);
	return 3;
}
