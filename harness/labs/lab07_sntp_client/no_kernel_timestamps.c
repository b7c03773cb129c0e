/*
 * ntp_no_kernel_timestamps.c - preloaded into the lab 07 grader's chronyd.
 *
 * libfaketime shifts the clock chronyd reads, but not the kernel's receive
 * timestamps (SO_TIMESTAMP*), which chronyd prefers for T2 when they lie within
 * a second of its own clock. A shift under a second would then give a T2 from
 * the real clock and a T3 from the shifted one: half the offset and a negative
 * delay. Refusing those socket options makes chronyd stamp every packet with
 * its own, shifted, clock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

int
setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (level == SOL_SOCKET &&
	    (name == SO_TIMESTAMP || name == SO_TIMESTAMPNS || name == SO_TIMESTAMPING)) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT,
		                                                              "setsockopt");
	return real(fd, level, name, value, len);
}
