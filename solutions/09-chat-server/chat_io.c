/* chat_io.c - lab 09: partial lines in, a bounded queue out; contracts in chat_io.h. */
#include "chat_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A drained queue keeps this much memory for the next message, and frees more. */
#define QUEUE_KEEP 4096
/* The first allocation of a queue: a few chat lines. */
#define QUEUE_FIRST 256

/* slide: line-next */
size_t
chat_line_next(const char *buf, size_t len, size_t max, size_t *linelen)
{
	/* A line of max bytes still has its newline at buf[max]: look that far. */
	size_t look = len < max + 1 ? len : max + 1;
	const char *newline = memchr(buf, '\n', look);

	if (newline != NULL) {
		*linelen = (size_t)(newline - buf);
		return *linelen + 1;
	}
	if (len > max) {
		/* max + 1 bytes and no newline: the line is too long, cut it. */
		*linelen = max;
		return max;
	}
	return 0;	/* the start of a line: keep it until the rest arrives */
}
/* end slide */

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

/* slide: queue-push */
int
chat_queue_push(struct chat_queue *q, const void *data, size_t n, size_t limit)
{
	if (n > limit || q->len > limit - n) {
		errno = ENOBUFS;	/* the reader is too slow: the caller decides */
		return -1;
	}
	if (make_room(q, n, limit) == -1)
		return -1;
	memcpy(q->data + q->start + q->len, data, n);
	q->len += n;
	return 0;
}
/* end slide */

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
