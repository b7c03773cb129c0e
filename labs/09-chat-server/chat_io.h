/* chat_io.h - lab 09: the two buffers of every chat connection, lines in and a bounded queue out. */
#ifndef CHAT_IO_H
#define CHAT_IO_H

#include <stddef.h>
#include <sys/types.h>

/* The longest line the server forwards whole, not counting its newline. */
#define CHAT_LINE_MAX 1024
/* The most bytes one connection may have waiting to be sent: 64 KiB. */
#define CHAT_QUEUE_MAX 65536

/*
 * Find the next line at the start of buf[0..len). Returns how many bytes of buf
 * it uses (its newline included) and puts its length without the newline in
 * *linelen; returns 0 while no complete line is there yet. More than max bytes
 * with no newline among them are a line of their own: the first max bytes, cut
 * off (the return value and *linelen are then both max).
 */
size_t chat_line_next(const char *buf, size_t len, size_t max, size_t *linelen);

/* Bytes waiting to go out on one connection: data[start .. start + len) of cap. */
struct chat_queue {
	char *data;
	size_t start;
	size_t len;
	size_t cap;
};

/* An empty queue; it allocates nothing until the first push. */
#define CHAT_QUEUE_EMPTY { NULL, 0, 0, 0 }

/*
 * Append n bytes to the queue, unless it would then hold more than limit bytes.
 * Returns 0, or -1 with errno ENOBUFS (over the limit: nothing was appended) or
 * ENOMEM. The queue's memory never grows beyond limit bytes.
 */
int chat_queue_push(struct chat_queue *q, const void *data, size_t n, size_t limit);

/*
 * send() from the front of the queue what the socket takes now, on a
 * non-blocking socket, and drop that from the queue. Returns the number of
 * bytes sent, 0 when the socket has no room (EAGAIN) or the queue is empty, or
 * -1 with errno set (EPIPE, ECONNRESET: the peer is gone).
 */
ssize_t chat_queue_send(struct chat_queue *q, int sock);

/* Give the queue's memory back; the queue is empty afterwards. */
void chat_queue_free(struct chat_queue *q);

#endif
