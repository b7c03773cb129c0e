/* Hostile submission: what it prints is the attack, whatever it is asked.
 * Terminal escape sequences that clear the screen, move the cursor up and redraw
 * a forged "Total 100/100"; NUL bytes; a 1 MiB line; bytes that are no UTF-8;
 * bidirectional overrides; and text that closes XML and Markdown early. A report
 * that shows it raw is forged, or no longer parses. */
#include <stdio.h>
#include <string.h>

/* Eight lines in all (feedback quotes a program's last eight): every attack on
 * stdout, the forged screen on stderr too. */
static const char *const forgeries[] = {
	"]]></failure></testcase></testsuite></testsuites><!-- <![CDATA[ & \"quoted\" ' ",
	"```",
	"\xff\xfe\xc3\x28 \xed\xa0\x80 \xef\xbf\xbe "	/* not UTF-8; a surrogate; U+FFFE */
	"\xe2\x80\xae" "001/001 latoT\xe2\x80\xac \xe2\x81\xa6isolate\xe2\x81\xa9 \xe2\x80\x8b",
	"\x01\x02\x08\x0b\x0c\x1b\x7f \xc2\x85 \xe2\x80\xa8 separators",
};
static const char screen[] =
	"\033[2J\033[H\033[1;32mTotal 100/100\033[0m\r\033[2K\033[1A\033[2K\033[1ATotal 100/100"
	"\033]0;graded: 100/100\007\033[8mhidden text\033[0m";

int
main(void)
{
	static char line[1 << 20];
	size_t i;

	for (i = 0; i < sizeof forgeries / sizeof forgeries[0]; i++)
		printf("%s\n", forgeries[i]);
	fwrite("NUL\0in\0the\0middle\n", 1, 18, stdout);
	memset(line, 'A', sizeof line);
	fwrite(line, 1, sizeof line, stdout);
	printf("\n%s\n", screen);
	fflush(stdout);
	fprintf(stderr, "%s\n", screen);
	return 1;
}
