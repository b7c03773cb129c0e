/* socklab.c - small plumbing shared by every lab program; contracts in socklab.h. */
#include "socklab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char *program_invocation_short_name;

void
sl_init_program(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
}

int
sl_parse_ulong(const char *text, unsigned long min, unsigned long max,
               unsigned long *out)
{
	char *end;
	unsigned long value;

	/* strtoul accepts spaces, signs and "-1" (as ULONG_MAX); a port must not. */
	if (text == NULL || *text < '0' || *text > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	value = strtoul(text, &end, 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || value < min || value > max) {
		errno = ERANGE;
		return -1;
	}
	*out = value;
	return 0;
}

int
sl_parse_port(const char *text, unsigned short *port)
{
	unsigned long value;

	if (sl_parse_ulong(text, 0, 65535, &value) == -1)
		return -1;
	*port = (unsigned short)value;
	return 0;
}

int
sl_parse_double(const char *text, double min, double max, double *out)
{
	char *end;
	double value;

	/* Only plain decimals: strtod would also take "inf", "nan", hex and spaces. */
	if (text == NULL || text[strspn(text, "0123456789.")] != '\0' ||
	    strspn(text, "0123456789") == 0) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	value = strtod(text, &end);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || !isfinite(value) || value < min || value > max) {
		errno = ERANGE;
		return -1;
	}
	*out = value;
	return 0;
}

int
sl_format_addr(const struct sockaddr *addr, socklen_t addrlen, char *buf,
               size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	const void *raw;
	unsigned port;
	int n;

	if (addr->sa_family == AF_INET && addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
		raw = &in4->sin_addr;
		port = ntohs(in4->sin_port);
	} else if (addr->sa_family == AF_INET6 &&
	           addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		raw = &in6->sin6_addr;
		port = ntohs(in6->sin6_port);
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (inet_ntop(addr->sa_family, raw, ip, sizeof ip) == NULL)
		return -1;
	n = snprintf(buf, size, addr->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	             ip, port);
	if (n < 0 || (size_t)n >= size) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

const char *
sl_addr_text(const void *addr, socklen_t addrlen)
{
	static char texts[4][SL_ADDRSTRLEN];
	static unsigned next;
	char *text = texts[next++ % 4];

	if (sl_format_addr(addr, addrlen, text, SL_ADDRSTRLEN) == -1)
		strcpy(text, "?");
	return text;
}

size_t
sl_quote(const void *data, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bytes = data;
	size_t need = 0, used = 0;
	int full = size == 0;

	for (size_t i = 0; i < len; i++) {
		char piece[4];
		size_t plen;
		unsigned char c = bytes[i];

		if (c == '\\' || c == '\'') {
			piece[0] = '\\';
			piece[1] = (char)c;
			plen = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			piece[0] = (char)c;
			plen = 1;
		} else {
			piece[0] = '\\';
			piece[1] = 'x';
			piece[2] = hex[c >> 4];
			piece[3] = hex[c & 0xf];
			plen = 4;
		}
		/* Copy only whole escapes, so truncated output never ends mid-escape. */
		if (!full && used + plen < size) {
			memcpy(buf + used, piece, plen);
			used += plen;
		} else {
			full = 1;
		}
		need += plen;
	}
	if (size > 0)
		buf[used] = '\0';
	return need;
}

/* slide: resolve */
int
sl_resolve(char *err, size_t errlen, const char *host, unsigned short port,
           int family, int socktype, int flags, struct addrinfo **res)
{
	/* '' as in the Python originals: getaddrinfo's NULL, which is the
	 * wildcard address with AI_PASSIVE and the loopback without. */
	const char *name = host != NULL && *host != '\0' ? host : NULL;
	struct addrinfo hints;
	char service[8];
	int error;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_flags = flags | AI_NUMERICSERV;
	snprintf(service, sizeof service, "%u", port);
	if ((error = getaddrinfo(name, service, &hints, res)) == 0)
		return 0;
	/* EAI_SYSTEM says only "System error": the reason is in errno. */
	snprintf(err, errlen, "%s: %s", name != NULL ? name : "''",
	         error == EAI_SYSTEM ? strerror(errno) : gai_strerror(error));
	*res = NULL;
	return -1;
}
/* end slide */

double
sl_monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

ssize_t
sl_read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t got = read(fd, (char *)buf + done, n - done);
		if (got == 0)
			break;
		if (got == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)got;
	}
	return (ssize_t)done;
}

ssize_t
sl_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t put = write(fd, (const char *)buf + done, n - done);
		if (put == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)put;
	}
	return (ssize_t)done;
}

void
sl_todo(const char *lab, const char *what)
{
	fprintf(stderr, "%s: TODO(%s): %s is not implemented yet\n",
	        program_invocation_short_name, lab, what);
	exit(3);
}
