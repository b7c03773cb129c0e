/* chat_server.c - lab 09: a chat room for many clients, in one thread, with one poll() loop. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat_io.h"
#include "socklab.h"

/* The longest message the server sends: "IP:PORT: " + a line + "\n". */
#define MESSAGE_MAX (SL_ADDRSTRLEN + 2 + CHAT_LINE_MAX + 1)
/* Connections accepted per round at most, so a crowd arriving never starves the room. */
#define ACCEPT_BURST 64

/* A client chats until it leaves (end of stream, an error) or reads too slowly. */
enum state { CHATTING, LEAVING, TOO_SLOW };

struct client {
	int fd;
	enum state state;
	char name[SL_ADDRSTRLEN];	/* its IP:PORT, as everyone sees it */
	char in[CHAT_LINE_MAX + 1];	/* the start of a line, until its newline comes */
	size_t inlen;
	struct chat_queue out;		/* what it has not been sent yet, at most 64 KiB */
};

/* Everyone, and what poll() watches: pfds[0] the listener, pfds[i + 1] clients[i]. */
struct room {
	int listener;
	int accepting;			/* 0 while out of descriptors */
	struct client **clients;
	struct pollfd *pfds;
	size_t count;
	size_t cap;
};

static void
usage(void)
{
	fprintf(stderr, "usage: chat_server HOST [-p PORT]\n");
	exit(2);
}

/* Make fd non-blocking: 0, or -1 with errno set. */
static int
set_nonblocking(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* slide: open-files */
/* Every client is a descriptor: raise the soft limit on open files to the hard one. */
static void
raise_open_files(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
		warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (limit.rlim_cur == limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
		warn("setrlimit RLIMIT_NOFILE");
}
/* end slide */

/* A non-blocking listening socket for ai, or -1 with errno set. */
static int
open_listener(const struct addrinfo *ai)
{
	int sock, on = 1, saved;

	if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1)
		return -1;
	if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == -1 ||
	    bind(sock, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(sock, SOMAXCONN) == -1 || set_nonblocking(sock) == -1) {
		saved = errno;
		close(sock);
		errno = saved;
		return -1;
	}
	return sock;
}

/* open_listener() on the first address of HOST that works; exits if none does. */
static int
listen_on(const char *host, unsigned short port)
{
	char error[SL_ERRLEN];
	struct addrinfo *res, *ai;
	int sock = -1, saved = 0;

	if (sl_resolve(error, sizeof error, host, port, AF_UNSPEC, SOCK_STREAM, AI_PASSIVE,
	               &res) == -1)
		errx(1, "%s", error);
	for (ai = res; ai != NULL && sock == -1; ai = ai->ai_next)
		if ((sock = open_listener(ai)) == -1)
			saved = errno;
	freeaddrinfo(res);
	if (sock == -1) {
		errno = saved;
		err(1, "listen on %s port %u", host, port);
	}
	return sock;
}

/* Room for twice as many clients (and their pollfds): 0, or -1 with errno set. */
static int
grow(struct room *room)
{
	size_t cap = room->cap > 0 ? room->cap * 2 : 16;
	struct client **clients;
	struct pollfd *pfds;

	if ((clients = realloc(room->clients, cap * sizeof *clients)) == NULL)
		return -1;
	room->clients = clients;
	if ((pfds = realloc(room->pfds, (cap + 1) * sizeof *pfds)) == NULL)
		return -1;
	room->pfds = pfds;
	room->cap = cap;
	return 0;
}

/* slide: deliver */
/*
 * Queue msg for c. When its queue is full, the kernel may still take some of
 * it now; if not, c has stopped reading: it is marked TOO_SLOW and dropped at
 * the end of the round, and nobody else ever waits for it.
 */
static void
deliver(struct client *c, const char *msg, size_t n)
{
	ssize_t sent;

	if (chat_queue_push(&c->out, msg, n, CHAT_QUEUE_MAX) == 0)
		return;
	if (errno != ENOBUFS) {
		warn("queue for %s", c->name);
		c->state = LEAVING;
		return;
	}
	if ((sent = chat_queue_send(&c->out, c->fd)) == -1) {
		warn("send to %s", c->name);
		c->state = LEAVING;
	} else if (sent == 0 || chat_queue_push(&c->out, msg, n, CHAT_QUEUE_MAX) == -1) {
		c->state = TOO_SLOW;
	}
}
/* end slide */

/* Queue msg for every chatting client but `from` (NULL: for everyone). */
static void
broadcast(struct room *room, const struct client *from, const char *msg, size_t n)
{
	for (size_t i = 0; i < room->count; i++) {
		struct client *c = room->clients[i];

		if (c != from && c->state == CHATTING)
			deliver(c, msg, n);
	}
}

/* Tell everyone but `from` (NULL: everyone) "*** NAME EVENT". */
static void
announce(struct room *room, const struct client *from, const char *name, const char *event)
{
	char msg[MESSAGE_MAX];
	int n;

	n = snprintf(msg, sizeof msg, "*** %s %s\n", name, event);
	broadcast(room, from, msg, (size_t)n);
}

/* Send "IP:PORT: LINE" to everyone but the client who wrote the line. */
static void
forward_line(struct room *room, const struct client *from, const char *line, size_t len)
{
	char msg[MESSAGE_MAX];
	size_t n = strlen(from->name);

	memcpy(msg, from->name, n);
	msg[n++] = ':';
	msg[n++] = ' ';
	memcpy(msg + n, line, len);
	n += len;
	msg[n++] = '\n';
	broadcast(room, from, msg, n);
}

/* Welcome a new connection and announce it: 0, or -1 with errno set. */
static int
add_client(struct room *room, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	char welcome[MESSAGE_MAX];
	struct client *c;
	int n;

	if (room->count == room->cap && grow(room) == -1)
		return -1;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return -1;
	c->fd = fd;
	c->state = CHATTING;
	snprintf(c->name, sizeof c->name, "%s", sl_addr_text(addr, addrlen));
	n = snprintf(welcome, sizeof welcome, "*** welcome %s, %zu online\n", c->name,
	             room->count + 1);
	if (chat_queue_push(&c->out, welcome, (size_t)n, CHAT_QUEUE_MAX) == -1) {
		free(c);
		return -1;
	}
	room->clients[room->count++] = c;
	printf("%s joined, %zu online\n", c->name, room->count);
	announce(room, c, c->name, "joined");
	return 0;
}

/* Close a client that left or was too slow, tell the others, and free it. */
static void
goodbye(struct room *room, struct client *c)
{
	const char *event = c->state == TOO_SLOW ? "dropped: too slow" : "left";

	if (c->state == TOO_SLOW) {
		/* Reset rather than close: the kernel throws its unread bytes away now. */
		struct linger abort = { .l_onoff = 1, .l_linger = 0 };

		if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort) == -1)
			warn("setsockopt SO_LINGER for %s", c->name);
	}
	if (close(c->fd) == -1)
		warn("close %s", c->name);
	printf("%s %s, %zu online\n", c->name, event, room->count);
	announce(room, NULL, c->name, event);
	chat_queue_free(&c->out);
	free(c);
	room->accepting = 1;	/* a descriptor is free again */
}

/* slide: sweep */
/*
 * Remove every client that left or was too slow. It runs after a round, never
 * during one, so the loop's indices stay valid; saying goodbye can make more
 * clients too slow, so it goes on until a pass removes nobody.
 */
static void
sweep(struct room *room)
{
	int removed;

	do {
		removed = 0;
		for (size_t i = 0; i < room->count;) {
			struct client *c = room->clients[i];

			if (c->state == CHATTING) {
				i++;
				continue;
			}
			room->clients[i] = room->clients[--room->count];
			goodbye(room, c);
			removed = 1;
		}
	} while (removed);
}
/* end slide */

/* slide: accept */
/* Accept the connections waiting in the backlog, up to ACCEPT_BURST of them. */
static void
accept_clients(struct room *room)
{
	for (int burst = 0; burst < ACCEPT_BURST; burst++) {
		struct sockaddr_storage addr;
		socklen_t addrlen = sizeof addr;
		int fd;

		if ((fd = accept(room->listener, (struct sockaddr *)&addr, &addrlen)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;		/* the backlog is empty */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The listener stays readable: stop watching it, or poll() spins. */
				warn("accept (waiting for a client to leave)");
				room->accepting = 0;
				return;
			}
			if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK)
				err(1, "accept");
			continue;	/* ECONNABORTED, EINTR, ...: only that connection failed */
		}
		if (set_nonblocking(fd) == -1 ||
		    add_client(room, fd, (struct sockaddr *)&addr, addrlen) == -1) {
			warn("accept %s", sl_addr_text(&addr, addrlen));
			close(fd);
		}
	}
}
/* end slide */

/* slide: receive */
/* Read what c sent, and forward every complete line in it to the others. */
static void
receive_from(struct room *room, struct client *c)
{
	size_t used = 0, take, len;
	ssize_t n;

	n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		warn("recv from %s", c->name);
		c->state = LEAVING;
		return;
	}
	if (n == 0) {
		c->state = LEAVING;	/* end of stream: it closed, or shut down writing */
		return;
	}
	c->inlen += (size_t)n;
	while ((take = chat_line_next(c->in + used, c->inlen - used, CHAT_LINE_MAX,
	                              &len)) > 0) {
		forward_line(room, c, c->in + used, len);
		used += take;
	}
	/* Keep the start of the next line for the next recv(). */
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
}
/* end slide */

/* Send c what its socket takes now; a failure means it is gone. */
static void
flush_to(struct client *c)
{
	if (chat_queue_send(&c->out, c->fd) == -1) {
		warn("send to %s", c->name);
		c->state = LEAVING;
	}
}

/* slide: watch */
/*
 * Fill in what poll() watches this round: the listener while there are
 * descriptors to accept with, every client for reading, and a client for
 * writing only while something waits for it (else poll() returns at once).
 */
static nfds_t
watch(struct room *room)
{
	room->pfds[0].fd = room->accepting ? room->listener : -1;	/* -1: skipped */
	room->pfds[0].events = POLLIN;
	for (size_t i = 0; i < room->count; i++) {
		room->pfds[i + 1].fd = room->clients[i]->fd;
		room->pfds[i + 1].events = POLLIN;
		if (room->clients[i]->out.len > 0)
			room->pfds[i + 1].events |= POLLOUT;
	}
	return room->count + 1;
}
/* end slide */

/* slide: serve */
/* The one loop: wait for anything to happen, deal with it, tidy up, again. */
static void
serve(struct room *room)
{
	for (;;) {
		nfds_t nfds = watch(room);

		/* No timeout: with nothing to do, the server sleeps here and uses no CPU. */
		if (poll(room->pfds, nfds, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (room->pfds[0].revents & POLLIN)
			accept_clients(room);	/* adds at the end: not in this round */
		for (size_t i = 0; i + 1 < nfds; i++) {
			struct client *c = room->clients[i];
			short revents = room->pfds[i + 1].revents;

			/* On an error or hang-up, send() or recv() says what it was. */
			if (c->state == CHATTING && c->out.len > 0 &&
			    (revents & (POLLOUT | POLLERR | POLLHUP)))
				flush_to(c);
			if (c->state == CHATTING && (revents & (POLLIN | POLLERR | POLLHUP)))
				receive_from(room, c);
		}
		sweep(room);
	}
}
/* end slide */

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct room room = { .listener = -1, .accepting = 1 };
	struct sockaddr_storage addr;
	socklen_t addrlen = sizeof addr;
	unsigned short port = 1060;
	int ch;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "p:", options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (sl_parse_port(optarg, &port) == -1)
				errx(1, "invalid port '%s': expected a number from 0 to 65535",
				     optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();

	raise_open_files();
	room.listener = listen_on(argv[0], port);
	if (grow(&room) == -1)
		err(1, "malloc");
	/* Port 0 asks the OS to choose: print the port it really chose. */
	if (getsockname(room.listener, (struct sockaddr *)&addr, &addrlen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", sl_addr_text(&addr, addrlen));
	serve(&room);
	return 0;
}
