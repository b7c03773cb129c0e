/* test_chat_io.c - cmocka tests of the lab 09 unit chat_io.c: lines in, a bounded queue out. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "chat_io.h"

/* chat_line_next() on a C string with max 8, checked against what it should find. */
static void
expect_line(const char *buf, size_t max, size_t want_take, size_t want_len)
{
	size_t len = 12345;

	assert_int_equal(chat_line_next(buf, strlen(buf), max, &len), want_take);
	if (want_take > 0)
		assert_int_equal(len, want_len);
}

static void
line_waits_for_its_newline(void **state)
{
	(void)state;
	expect_line("", 8, 0, 0);
	expect_line("hel", 8, 0, 0);
	expect_line("12345678", 8, 0, 0);	/* max bytes: the newline may still come */
}

static void
line_ends_at_the_first_newline(void **state)
{
	(void)state;
	expect_line("hello\n", 8, 6, 5);
	expect_line("hi\nthere\n", 8, 3, 2);
	expect_line("\n", 8, 1, 0);		/* an empty line is a line */
	expect_line("\n\n", 8, 1, 0);
	expect_line("12345678\n", 8, 9, 8);	/* max bytes and a newline: one line */
}

static void
line_longer_than_max_is_cut(void **state)
{
	(void)state;
	expect_line("123456789", 8, 8, 8);		/* max + 1 bytes, no newline */
	expect_line("123456789\n", 8, 8, 8);	/* the newline comes too late */
	expect_line("123456789abcdefghij", 8, 8, 8);
}

static void
line_reads_no_further_than_max_plus_one(void **state)
{
	/* The newline at offset 10 is beyond max + 1 = 9: the line is cut at 8. */
	const char buf[] = "0123456789\n";

	(void)state;
	assert_int_equal(chat_line_next(buf, sizeof buf - 1, 8, &(size_t){ 0 }), 8);
}

static void
line_bytes_are_not_interpreted(void **state)
{
	const char buf[] = { 'a', '\0', '\r', '\xff', '\n', 'b' };
	size_t len;

	(void)state;
	assert_int_equal(chat_line_next(buf, sizeof buf, 8, &len), 5);
	assert_int_equal(len, 4);
}

static void
line_of_the_real_limit(void **state)
{
	char buf[CHAT_LINE_MAX + 2];
	size_t len;

	(void)state;
	memset(buf, 'x', sizeof buf);
	buf[CHAT_LINE_MAX] = '\n';
	assert_int_equal(chat_line_next(buf, CHAT_LINE_MAX + 1, CHAT_LINE_MAX, &len),
	                 CHAT_LINE_MAX + 1);
	assert_int_equal(len, CHAT_LINE_MAX);
	buf[CHAT_LINE_MAX] = 'x';
	assert_int_equal(chat_line_next(buf, CHAT_LINE_MAX + 1, CHAT_LINE_MAX, &len),
	                 CHAT_LINE_MAX);
	assert_int_equal(len, CHAT_LINE_MAX);
	assert_int_equal(chat_line_next(buf, CHAT_LINE_MAX, CHAT_LINE_MAX, &len), 0);
}

/* The queue's bytes, as a C string (the tests push text only). */
static const char *
queued(const struct chat_queue *q)
{
	static char text[CHAT_QUEUE_MAX + 1];

	memcpy(text, q->data + q->start, q->len);
	text[q->len] = '\0';
	return text;
}

static void
queue_keeps_bytes_in_order(void **state)
{
	struct chat_queue q = CHAT_QUEUE_EMPTY;

	(void)state;
	assert_int_equal(chat_queue_push(&q, "one ", 4, 100), 0);
	assert_int_equal(chat_queue_push(&q, "two", 3, 100), 0);
	assert_int_equal(q.len, 7);
	assert_string_equal(queued(&q), "one two");
	chat_queue_free(&q);
	assert_null(q.data);
	assert_int_equal(q.len, 0);
}

static void
queue_takes_exactly_its_limit(void **state)
{
	struct chat_queue q = CHAT_QUEUE_EMPTY;

	(void)state;
	assert_int_equal(chat_queue_push(&q, "12345", 5, 10), 0);
	assert_int_equal(chat_queue_push(&q, "67890", 5, 10), 0);
	assert_int_equal(q.len, 10);
	errno = 0;
	assert_int_equal(chat_queue_push(&q, "x", 1, 10), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(q.len, 10);	/* nothing of a refused push is kept */
	assert_string_equal(queued(&q), "1234567890");
	assert_true(q.cap <= 10);
	chat_queue_free(&q);
}

static void
queue_refuses_one_push_bigger_than_the_limit(void **state)
{
	struct chat_queue q = CHAT_QUEUE_EMPTY;

	(void)state;
	errno = 0;
	assert_int_equal(chat_queue_push(&q, "0123456789", 10, 9), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(q.len, 0);
	chat_queue_free(&q);
}

static void
queue_grows_to_the_full_limit(void **state)
{
	static char big[CHAT_QUEUE_MAX];
	struct chat_queue q = CHAT_QUEUE_EMPTY;

	(void)state;
	memset(big, 'b', sizeof big);
	for (size_t i = 0; i < CHAT_QUEUE_MAX / 1000; i++)
		assert_int_equal(chat_queue_push(&q, big, 1000, CHAT_QUEUE_MAX), 0);
	assert_int_equal(chat_queue_push(&q, big, CHAT_QUEUE_MAX % 1000, CHAT_QUEUE_MAX), 0);
	assert_int_equal(q.len, CHAT_QUEUE_MAX);
	assert_true(q.cap <= CHAT_QUEUE_MAX);
	assert_int_equal(chat_queue_push(&q, big, 1, CHAT_QUEUE_MAX), -1);
	assert_memory_equal(q.data + q.start, big, CHAT_QUEUE_MAX);
	chat_queue_free(&q);
}

/* A connected pair of non-blocking stream sockets with small buffers. */
static void
socket_pair(int sv[2])
{
	int small = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
		assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
		assert_int_equal(fcntl(sv[i], F_SETFL, O_NONBLOCK), 0);
	}
}

static void
queue_sends_from_its_front(void **state)
{
	struct chat_queue q = CHAT_QUEUE_EMPTY;
	char buf[32];
	int sv[2];

	(void)state;
	socket_pair(sv);
	assert_int_equal(chat_queue_send(&q, sv[0]), 0);	/* empty: nothing to do */
	assert_int_equal(chat_queue_push(&q, "hello\nworld\n", 12, 100), 0);
	assert_int_equal(chat_queue_send(&q, sv[0]), 12);
	assert_int_equal(q.len, 0);
	assert_int_equal(read(sv[1], buf, sizeof buf), 12);
	assert_memory_equal(buf, "hello\nworld\n", 12);
	/* A drained queue takes new bytes at its front again. */
	assert_int_equal(chat_queue_push(&q, "again", 5, 100), 0);
	assert_string_equal(queued(&q), "again");
	chat_queue_free(&q);
	close(sv[0]);
	close(sv[1]);
}

static void
queue_send_takes_what_fits_and_keeps_the_rest(void **state)
{
	static char big[CHAT_QUEUE_MAX], got[CHAT_QUEUE_MAX];
	struct chat_queue q = CHAT_QUEUE_EMPTY;
	size_t sent = 0, read_back = 0;
	ssize_t n;
	int sv[2];

	(void)state;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	socket_pair(sv);
	assert_int_equal(chat_queue_push(&q, big, sizeof big, CHAT_QUEUE_MAX), 0);
	n = chat_queue_send(&q, sv[0]);
	assert_true(n > 0 && (size_t)n < sizeof big);	/* the small buffers took some */
	sent += (size_t)n;
	assert_int_equal(q.len, sizeof big - sent);
	assert_int_equal(chat_queue_send(&q, sv[0]), 0);	/* full: EAGAIN is 0 */
	while (read_back < sizeof big) {
		if ((n = read(sv[1], got + read_back, sizeof got - read_back)) > 0)
			read_back += (size_t)n;
		if ((n = chat_queue_send(&q, sv[0])) > 0)
			sent += (size_t)n;
		assert_true(n >= 0);
	}
	assert_int_equal(sent, sizeof big);
	assert_int_equal(q.len, 0);
	assert_memory_equal(got, big, sizeof big);
	chat_queue_free(&q);
	close(sv[0]);
	close(sv[1]);
}

static void
queue_send_to_a_closed_peer_fails(void **state)
{
	struct chat_queue q = CHAT_QUEUE_EMPTY;
	int sv[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	socket_pair(sv);
	close(sv[1]);
	assert_int_equal(chat_queue_push(&q, "anyone?\n", 8, 100), 0);
	errno = 0;
	assert_int_equal(chat_queue_send(&q, sv[0]), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(q.len, 8);
	chat_queue_free(&q);
	close(sv[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_waits_for_its_newline),
		cmocka_unit_test(line_ends_at_the_first_newline),
		cmocka_unit_test(line_longer_than_max_is_cut),
		cmocka_unit_test(line_reads_no_further_than_max_plus_one),
		cmocka_unit_test(line_bytes_are_not_interpreted),
		cmocka_unit_test(line_of_the_real_limit),
		cmocka_unit_test(queue_keeps_bytes_in_order),
		cmocka_unit_test(queue_takes_exactly_its_limit),
		cmocka_unit_test(queue_refuses_one_push_bigger_than_the_limit),
		cmocka_unit_test(queue_grows_to_the_full_limit),
		cmocka_unit_test(queue_sends_from_its_front),
		cmocka_unit_test(queue_send_takes_what_fits_and_keeps_the_rest),
		cmocka_unit_test(queue_send_to_a_closed_peer_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
