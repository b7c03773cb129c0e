/* Hostile submission: has the assembler copy a file of the grader's machine into
 * the program (.incbin of @CANARY_FILE@, which the test plants), which then
 * prints it as its output, for the feedback to show. */
#include <stdio.h>

__asm__(".section .rodata\n.globl stolen\nstolen:\n.incbin \"@CANARY_FILE@\"\n"
	".byte 0\n.previous");
extern const char stolen[];

int
main(void)
{
	printf("STOLEN: %s\n", stolen);
	return 0;
}
