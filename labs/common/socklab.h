/* socklab.h - small plumbing shared by every lab program (not the lessons themselves). */
#ifndef SOCKLAB_H
#define SOCKLAB_H

#include <stddef.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Room for "[ffff:...:ffff%ifname]:65535" plus the terminating NUL. */
#define SL_ADDRSTRLEN 80

/*
 * Core helpers: they return 0 (or a count) on success and -1 with errno set on
 * failure. They never print and never exit; the programs decide what to do.
 */

/* Line-buffer stdout (one event per line even through a pipe) and ignore SIGPIPE
 * so a write to a closed socket returns EPIPE instead of killing the program. */
void sl_init_program(void);

/* Parse a whole decimal number in [min, max]: no sign, no spaces, no trailing
 * junk. -1 with errno EINVAL (not a number) or ERANGE (out of bounds). */
int sl_parse_ulong(const char *text, unsigned long min, unsigned long max,
                   unsigned long *out);

/* Parse a TCP/UDP port number, 0..65535, with the rules of sl_parse_ulong. */
int sl_parse_port(const char *text, unsigned short *port);

/* Parse a finite decimal fraction such as "0.5" in [min, max]. -1 with errno
 * EINVAL (not a number) or ERANGE (out of bounds). */
int sl_parse_double(const char *text, double min, double max, double *out);

/* Write "IP:PORT" (IPv4) or "[IP]:PORT" (IPv6) for an address into buf.
 * -1 with errno EAFNOSUPPORT for other families, ENOSPC if buf is too small. */
int sl_format_addr(const struct sockaddr *addr, socklen_t addrlen, char *buf,
                   size_t size);

/* For printing only: sl_format_addr into one of four rotating static buffers,
 * so up to four addresses can appear in one printf. Gives "?" for an address it
 * cannot format. Not thread-safe (the lab programs are single-threaded).
 *
 * WARNING: the text is overwritten by the fourth call after this one, wherever
 * that call happens. Use the result only as an argument of the call that prints
 * it. Never keep the pointer in a variable or pass it to a function that runs
 * longer: a later sl_addr_text (in a loop, in a helper) silently makes it name
 * another address. To keep the text, copy it into a char[SL_ADDRSTRLEN] (or call
 * sl_format_addr with a buffer of your own). */
const char *sl_addr_text(const void *addr, socklen_t addrlen);

/* Quote bytes for one-line output: printable ASCII as is, a backslash or a
 * single quote escaped with a backslash, every other byte as \xNN. Writes at
 * most size-1 characters plus NUL into buf (truncating) and returns the full
 * length the quoted text needs, like snprintf. */
size_t sl_quote(const void *data, size_t len, char *buf, size_t size);

/* Largest buffer sl_quote can need for len bytes (each byte becomes at most 4). */
#define SL_QUOTED_SIZE(len) ((len) * 4 + 1)

/* Room for any message sl_resolve writes into its err buffer. */
#define SL_ERRLEN 256

/* Resolve host and port with getaddrinfo into addresses for sockets of socktype
 * (SOCK_STREAM, SOCK_DGRAM) in family (AF_UNSPEC, AF_INET, AF_INET6). flags are
 * getaddrinfo's (AI_PASSIVE for a server). A NULL or empty host means the
 * wildcard address with AI_PASSIVE and the loopback without it. Returns 0 with
 * *res (free it with freeaddrinfo) or -1 with a message in err (errlen bytes,
 * at least SL_ERRLEN is enough): "HOST: " and the resolver's own words, or
 * strerror's when the resolver failed in a system call. Never prints. */
int sl_resolve(char *err, size_t errlen, const char *host, unsigned short port,
               int family, int socktype, int flags, struct addrinfo **res);

/* Seconds on the monotonic clock: for timeouts and intervals, never the date. */
double sl_monotonic_seconds(void);

/* Read exactly n bytes unless the peer closes first. Retries short reads and
 * EINTR. Returns the number read (less than n only at end of stream) or -1. */
ssize_t sl_read_full(int fd, void *buf, size_t n);

/* Write all n bytes, retrying short writes and EINTR. Returns n or -1. */
ssize_t sl_write_full(int fd, const void *buf, size_t n);

/*
 * For skeletons only: report that the part `what` of lab `lab` is still to be
 * written, as "PROG: TODO(labNN): what is not implemented yet", and exit 3 so the
 * grader can say "not implemented yet" rather than "crashed".
 */
_Noreturn void sl_todo(const char *lab, const char *what);

#endif
