/* test_socklab.c - cmocka tests of labs/common: the edges of every helper.
 * Built with -Wl,--wrap=read,--wrap=write so the I/O tests can make the kernel
 * look stingy: one byte per call, and an EINTR now and then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "socklab.h"

/* -- parsing ------------------------------------------------------------- */

static void
expect_port(const char *text, int ok, unsigned short value, int error)
{
	unsigned short port = 4242;

	errno = 0;
	if (ok) {
		assert_int_equal(sl_parse_port(text, &port), 0);
		assert_int_equal(port, value);
	} else {
		assert_int_equal(sl_parse_port(text, &port), -1);
		assert_int_equal(errno, error);
		assert_int_equal(port, 4242); /* untouched on failure */
	}
}

static void
test_parse_port_edges(void **state)
{
	(void)state;
	expect_port("0", 1, 0, 0);
	expect_port("1060", 1, 1060, 0);
	expect_port("65535", 1, 65535, 0);
	expect_port("065535", 1, 65535, 0);
	expect_port("65536", 0, 0, ERANGE);
	expect_port("99999999999999999999999", 0, 0, ERANGE);
	expect_port("-1", 0, 0, EINVAL);
	expect_port("12ab", 0, 0, EINVAL);
	expect_port("", 0, 0, EINVAL);
	expect_port("+80", 0, 0, EINVAL);
	expect_port(" 80", 0, 0, EINVAL);
	expect_port("80 ", 0, 0, EINVAL);
	expect_port("0x50", 0, 0, EINVAL);
	expect_port(NULL, 0, 0, EINVAL);
}

static void
test_parse_ulong_bounds(void **state)
{
	unsigned long value;

	(void)state;
	assert_int_equal(sl_parse_ulong("16", 16, 32, &value), 0);
	assert_int_equal(value, 16);
	assert_int_equal(sl_parse_ulong("32", 16, 32, &value), 0);
	errno = 0;
	assert_int_equal(sl_parse_ulong("15", 16, 32, &value), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(sl_parse_ulong("33", 16, 32, &value), -1);
	assert_int_equal(errno, ERANGE);
}

static void
test_parse_double(void **state)
{
	double value;
	const char *bad[] = { "", ".5", "-1", "+1", "1e3", "inf", "nan", "0x1p3", " 1",
	                      "1 ", "1..2", NULL };

	(void)state;
	assert_int_equal(sl_parse_double("0.5", 0, 60, &value), 0);
	assert_true(value == 0.5);
	assert_int_equal(sl_parse_double("2", 0, 60, &value), 0);
	assert_true(value == 2.0);
	assert_int_equal(sl_parse_double("0", 0, 1, &value), 0);
	assert_int_equal(sl_parse_double("1.0", 0, 1, &value), 0);
	errno = 0;
	assert_int_equal(sl_parse_double("1.5", 0, 1, &value), -1);
	assert_int_equal(errno, ERANGE);
	for (int i = 0; bad[i] != NULL; i++) {
		errno = 0;
		assert_int_equal(sl_parse_double(bad[i], 0, 1e9, &value), -1);
		assert_int_equal(errno, EINVAL);
	}
}

/* -- addresses ------------------------------------------------------------- */

static void
test_format_ipv4(void **state)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(1060) };
	char buf[SL_ADDRSTRLEN];

	(void)state;
	inet_pton(AF_INET, "192.0.2.33", &in4.sin_addr);
	assert_int_equal(sl_format_addr((struct sockaddr *)&in4, sizeof in4, buf, sizeof buf), 0);
	assert_string_equal(buf, "192.0.2.33:1060");
	in4.sin_port = htons(0);
	in4.sin_addr.s_addr = htonl(INADDR_ANY);
	assert_int_equal(sl_format_addr((struct sockaddr *)&in4, sizeof in4, buf, sizeof buf), 0);
	assert_string_equal(buf, "0.0.0.0:0");
	in4.sin_port = htons(65535);
	in4.sin_addr.s_addr = htonl(0xffffffff);
	assert_int_equal(sl_format_addr((struct sockaddr *)&in4, sizeof in4, buf, sizeof buf), 0);
	assert_string_equal(buf, "255.255.255.255:65535");
}

static void
test_format_ipv6(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(123) };
	char buf[SL_ADDRSTRLEN];
	struct { const char *ip, *text; } cases[] = {
		{ "::1", "[::1]:123" },
		{ "2001:db8::8:800:200c:417a", "[2001:db8::8:800:200c:417a]:123" },
		{ "::ffff:192.0.2.1", "[::ffff:192.0.2.1]:123" },
		{ "fe80::1", "[fe80::1]:123" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		inet_pton(AF_INET6, cases[i].ip, &in6.sin6_addr);
		assert_int_equal(sl_format_addr((struct sockaddr *)&in6, sizeof in6, buf,
		                                sizeof buf), 0);
		assert_string_equal(buf, cases[i].text);
	}
}

static void
test_format_refuses(void **state)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(1060) };
	char buf[SL_ADDRSTRLEN], small[8];

	(void)state;
	errno = 0;
	assert_int_equal(sl_format_addr((struct sockaddr *)&un, sizeof un, buf, sizeof buf), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	errno = 0; /* a length too short for the family is refused, never over-read */
	assert_int_equal(sl_format_addr((struct sockaddr *)&in4, 4, buf, sizeof buf), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	errno = 0;
	inet_pton(AF_INET, "192.0.2.1", &in4.sin_addr);
	assert_int_equal(sl_format_addr((struct sockaddr *)&in4, sizeof in4, small,
	                                sizeof small), -1);
	assert_int_equal(errno, ENOSPC);
	assert_string_equal(sl_addr_text(&un, sizeof un), "?");
}

static void
test_addr_text_keeps_four(void **state)
{
	struct sockaddr_in a[4];
	const char *text[4];
	char want[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		memset(&a[i], 0, sizeof a[i]);
		a[i].sin_family = AF_INET;
		a[i].sin_port = htons((unsigned short)(1000 + i));
		a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		text[i] = sl_addr_text(&a[i], sizeof a[i]);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(want, sizeof want, "127.0.0.1:%d", 1000 + i);
		assert_string_equal(text[i], want);
	}
}

/* The hazard socklab.h warns about: a kept pointer silently names another address
 * once four more addresses have been formatted (lab 07 blamed a spoofer this way). */
static void
test_addr_text_fifth_call_reuses_the_first(void **state)
{
	struct sockaddr_in server, stranger;
	const char *kept;

	(void)state;
	memset(&server, 0, sizeof server);
	server.sin_family = AF_INET;
	server.sin_port = htons(123);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	stranger = server;
	stranger.sin_port = htons(40000);
	kept = sl_addr_text(&server, sizeof server);
	for (int i = 0; i < 3; i++)
		assert_string_equal(sl_addr_text(&stranger, sizeof stranger), "127.0.0.1:40000");
	assert_string_equal(kept, "127.0.0.1:123");
	sl_addr_text(&stranger, sizeof stranger);
	assert_string_equal(kept, "127.0.0.1:40000");
}

/* -- quoting --------------------------------------------------------------- */

static void
test_quote_every_byte(void **state)
{
	char buf[8], want[8];

	(void)state;
	for (int c = 0; c < 256; c++) {
		unsigned char byte = (unsigned char)c;
		size_t need = sl_quote(&byte, 1, buf, sizeof buf);

		if (c == '\\' || c == '\'')
			snprintf(want, sizeof want, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			snprintf(want, sizeof want, "%c", c);
		else
			snprintf(want, sizeof want, "\\x%02x", c);
		assert_string_equal(buf, want);
		assert_int_equal(need, strlen(want));
	}
}

static void
test_quote_truncates_whole_escapes(void **state)
{
	const unsigned char data[] = { 'a', 0x00, 'b' }; /* quoted: a\x00b (6 chars) */
	char buf[16];

	(void)state;
	assert_int_equal(sl_quote(data, sizeof data, buf, sizeof buf), 6);
	assert_string_equal(buf, "a\\x00b");
	for (size_t size = 1; size <= 7; size++) {
		memset(buf, '#', sizeof buf);
		assert_int_equal(sl_quote(data, sizeof data, buf, size), 6);
		assert_string_equal(buf, size == 1 ? "" : size < 6 ? "a" : size == 6 ? "a\\x00"
		                                                               : "a\\x00b");
	}
	assert_int_equal(sl_quote(data, sizeof data, NULL, 0), 6);
	assert_int_equal(sl_quote("", 0, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	assert_int_equal(SL_QUOTED_SIZE(3), 13);
}

/* -- short counts and EINTR ------------------------------------------------- */

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
static int stingy; /* when set, read/write move one byte and every third call fails EINTR */
static int calls;

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	if (!stingy)
		return __real_read(fd, buf, n);
	if (++calls % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	return __real_read(fd, buf, n > 0 ? 1 : 0);
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	if (!stingy)
		return __real_write(fd, buf, n);
	if (++calls % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	return __real_write(fd, buf, n > 0 ? 1 : 0);
}

static void
test_full_io_one_byte_at_a_time(void **state)
{
	const char message[] = "Hi there, server";
	char got[sizeof message] = "";
	int pair[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	stingy = 1;
	calls = 0;
	assert_int_equal(sl_write_full(pair[0], message, 16), 16);
	assert_int_equal(sl_read_full(pair[1], got, 16), 16);
	assert_true(calls > 32); /* really went byte by byte, through EINTRs */
	stingy = 0;
	assert_memory_equal(got, message, 16);
	close(pair[0]);
	close(pair[1]);
}

static void
test_read_full_stops_at_end_of_stream(void **state)
{
	char got[16];
	int pair[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	assert_int_equal(write(pair[0], "seven!!", 7), 7);
	close(pair[0]);
	stingy = 1;
	assert_int_equal(sl_read_full(pair[1], got, sizeof got), 7);
	stingy = 0;
	assert_memory_equal(got, "seven!!", 7);
	close(pair[1]);
}

static void
test_full_io_reports_errors(void **state)
{
	char byte = 0;

	(void)state;
	errno = 0;
	assert_int_equal(sl_read_full(-1, &byte, 1), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(sl_write_full(-1, &byte, 1), -1);
	assert_int_equal(errno, EBADF);
}

static void
test_monotonic_clock_moves_forward(void **state)
{
	double before = sl_monotonic_seconds(), after = sl_monotonic_seconds();

	(void)state;
	assert_true(before > 0);
	assert_true(after >= before);
}

/* -- name resolution (numeric names only: a unit test never waits on DNS) -- */

/* sl_resolve(host, family, flags) must give exactly the addresses in want. */
static void
expect_resolved(const char *host, int family, int flags, const char *const *want)
{
	char err[SL_ERRLEN] = "";
	struct addrinfo *res, *ai;
	size_t i = 0;

	assert_int_equal(sl_resolve(err, sizeof err, host, 1060, family, SOCK_STREAM, flags, &res), 0);
	for (ai = res; ai != NULL; ai = ai->ai_next, i++) {
		assert_non_null(want[i]);
		assert_string_equal(sl_addr_text(ai->ai_addr, ai->ai_addrlen), want[i]);
		assert_int_equal(ai->ai_socktype, SOCK_STREAM);
	}
	assert_null(want[i]);
	freeaddrinfo(res);
}

static void
test_resolve_numeric_and_empty_hosts(void **state)
{
	const char *const v4[] = {"127.0.0.1:1060", NULL};
	const char *const v6[] = {"[::1]:1060", NULL};
	const char *const any4[] = {"0.0.0.0:1060", NULL};
	const char *const loop4[] = {"127.0.0.1:1060", NULL};

	(void)state;
	expect_resolved("127.0.0.1", AF_UNSPEC, 0, v4);
	expect_resolved("::1", AF_INET6, 0, v6);
	expect_resolved("", AF_INET, AI_PASSIVE, any4);	/* '' as in the Python originals */
	expect_resolved(NULL, AF_INET, AI_PASSIVE, any4);
	expect_resolved("", AF_INET, 0, loop4);
}

static void
test_resolve_failure_fills_the_message(void **state)
{
	char err[SL_ERRLEN] = "";
	struct addrinfo *res = (struct addrinfo *)&err;	/* must come back NULL */

	(void)state;
	assert_int_equal(sl_resolve(err, sizeof err, "::1", 1060, AF_INET, SOCK_DGRAM, 0, &res), -1);
	assert_null(res);
	assert_string_equal(err, "::1: Address family for hostname not supported");
	/* A short buffer is cut, never overrun. */
	assert_int_equal(sl_resolve(err, 6, "::1", 1060, AF_INET, SOCK_DGRAM, 0, &res), -1);
	assert_string_equal(err, "::1: ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_port_edges),
		cmocka_unit_test(test_parse_ulong_bounds),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_format_ipv4),
		cmocka_unit_test(test_format_ipv6),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_addr_text_keeps_four),
		cmocka_unit_test(test_addr_text_fifth_call_reuses_the_first),
		cmocka_unit_test(test_quote_every_byte),
		cmocka_unit_test(test_quote_truncates_whole_escapes),
		cmocka_unit_test(test_full_io_one_byte_at_a_time),
		cmocka_unit_test(test_read_full_stops_at_end_of_stream),
		cmocka_unit_test(test_full_io_reports_errors),
		cmocka_unit_test(test_monotonic_clock_moves_forward),
		cmocka_unit_test(test_resolve_numeric_and_empty_hosts),
		cmocka_unit_test(test_resolve_failure_fills_the_message),
	};

	return cmocka_run_group_tests_name("labs/common", tests, NULL, NULL);
}
