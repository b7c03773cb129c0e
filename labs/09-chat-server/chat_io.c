/* chat_io.c - lab 09: partial lines in, a bounded queue out; contracts in chat_io.h.
 *
 * Fill in every TODO(lab09), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=09` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab09): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
#include "chat_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "socklab.h"

/* A drained queue keeps this much memory for the next message, and frees more. */
#define QUEUE_KEEP 4096
/* The first allocation of a queue: a few chat lines. */
#define QUEUE_FIRST 256

size_t
chat_line_next(const char *buf, size_t len, size_t max, size_t *linelen)
{
	/*
	 * TODO(lab09): look for '\n' with memchr() in the first max + 1 bytes of
	 * buf (fewer when len is smaller: a line of exactly max bytes has its
	 * newline at buf[max]). Found at offset i: *linelen = i, return i + 1.
	 * Not found but len > max: too long, cut it: *linelen = max, return max.
	 * Otherwise return 0, and the caller keeps the bytes until the newline comes.
	 */
	(void)buf;
	(void)len;
	(void)max;
	(void)linelen;
	sl_todo("lab09", "chat_line_next (finding complete lines)");
}

/* Make room for n more bytes after the queued ones, with len + n <= limit.
 * 0, or -1 with errno ENOMEM. Memory grows by doubling, never beyond limit. */
static int
make_room(struct chat_queue *q, size_t n, size_t limit)
{
	size_t cap;
	char *data;

	if (q->start + q->len + n <= q->cap)
		return 0;
	/* First move what is waiting to the front; grow only if that is not enough. */
	if (q->len > 0)
		memmove(q->data, q->data + q->start, q->len);
	q->start = 0;
	if (q->len + n <= q->cap)
		return 0;
	cap = q->cap > 0 ? q->cap : QUEUE_FIRST;
	while (cap < q->len + n)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if ((data = realloc(q->data, cap)) == NULL)
		return -1;
	q->data = data;
	q->cap = cap;
	return 0;
}

int
chat_queue_push(struct chat_queue *q, const void *data, size_t n, size_t limit)
{
	/*
	 * TODO(lab09): if the queue would then hold more than limit bytes (q->len
	 * + n > limit, written so that it cannot overflow), set errno = ENOBUFS and
	 * return -1 without appending anything: the caller decides what a full
	 * queue means. Otherwise make_room(q, n, limit) (-1: return -1), copy the
	 * n bytes to q->data + q->start + q->len, add n to q->len, and return 0.
	 */
	(void)q;
	(void)data;
	(void)n;
	(void)limit;
	(void)make_room;	/* yours to call */
	sl_todo("lab09", "chat_queue_push (the bounded output queue)");
}

ssize_t
chat_queue_send(struct chat_queue *q, int sock)
{
	ssize_t sent;

	if (q->len == 0)
		return 0;
	sent = send(sock, q->data + q->start, q->len, 0);
	if (sent == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -1;
	}
	q->start += (size_t)sent;
	q->len -= (size_t)sent;
	if (q->len == 0) {
		q->start = 0;
		/* A burst is over: give its memory back, so idle clients cost little. */
		if (q->cap > QUEUE_KEEP)
			chat_queue_free(q);
	}
	return sent;
}

void
chat_queue_free(struct chat_queue *q)
{
	free(q->data);
	q->data = NULL;
	q->start = q->len = q->cap = 0;
}
