/* chat_server.c - lab 09: a chat room for many clients, in one thread, with one poll() loop.
 *
 * Fill in every TODO(lab09), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=09` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab09): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
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

/*
 * Queue msg for c. When its queue is full, the kernel may still take some of
 * it now; if not, c has stopped reading: it is marked TOO_SLOW and dropped at
 * the end of the round, and nobody else ever waits for it.
 */
static void
deliver(struct client *c, const char *msg, size_t n)
{
	/*
	 * TODO(lab09): chat_queue_push(&c->out, msg, n, CHAT_QUEUE_MAX); 0: done.
	 * -1 with errno other than ENOBUFS: warn, c->state = LEAVING. ENOBUFS
	 * (the queue is full): give the kernel what it takes now with
	 * chat_queue_send(&c->out, c->fd). -1: warn, LEAVING. 0 bytes sent, or
	 * the push still fails: c stopped reading, c->state = TOO_SLOW.
	 * Never wait for c: sweep() drops it after the round.
	 */
	(void)c;
	(void)msg;
	(void)n;
	sl_todo("lab09", "queueing a message for a client (deliver)");
}

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

/* Accept the connections waiting in the backlog, up to ACCEPT_BURST of them. */
static void
accept_clients(struct room *room)
{
	/*
	 * TODO(lab09): up to ACCEPT_BURST times: fd = accept(room->listener, ...)
	 * with a struct sockaddr_storage for the address. On -1: EAGAIN or
	 * EWOULDBLOCK means the backlog is empty: return. EMFILE, ENFILE,
	 * ENOBUFS or ENOMEM (out of descriptors or memory): warn, set
	 * room->accepting = 0 and return (the listener stays readable, and
	 * watch() must stop asking, or poll() spins). EBADF, EINVAL, ENOTSOCK:
	 * err(1). Anything else (ECONNABORTED, EINTR): only that connection
	 * failed, go on. A new fd: set_nonblocking(), then add_client(); if
	 * either fails, warn and close the fd.
	 */
	(void)room;
	(void)add_client;	/* yours to call */
	sl_todo("lab09", "accepting clients (accept_clients)");
}

/* Read what c sent, and forward every complete line in it to the others. */
static void
receive_from(struct room *room, struct client *c)
{
	/*
	 * TODO(lab09): one recv() into c->in + c->inlen, at most the room left
	 * (sizeof c->in - c->inlen). -1: EAGAIN, EWOULDBLOCK or EINTR: return;
	 * else warn("recv from %s", c->name) and c->state = LEAVING. 0 (end of
	 * stream): LEAVING. Else add n to c->inlen, and while chat_line_next(c->in
	 * + used, c->inlen - used, CHAT_LINE_MAX, &len) finds a line, forward_line()
	 * it and add what it took to used. Finally memmove() the rest (the start of
	 * the next line) to the front of c->in and subtract used from c->inlen.
	 */
	(void)room;
	(void)c;
	(void)forward_line;	/* yours to call */
	sl_todo("lab09", "receiving lines from a client (receive_from)");
}

/* Send c what its socket takes now; a failure means it is gone. */
static void
flush_to(struct client *c)
{
	if (chat_queue_send(&c->out, c->fd) == -1) {
		warn("send to %s", c->name);
		c->state = LEAVING;
	}
}

/*
 * Fill in what poll() watches this round: the listener while there are
 * descriptors to accept with, every client for reading, and a client for
 * writing only while something waits for it (else poll() returns at once).
 */
static nfds_t
watch(struct room *room)
{
	/*
	 * TODO(lab09): pfds[0] watches the listener for POLLIN, but only while
	 * room->accepting (else set its fd to -1: poll() skips negative fds).
	 * pfds[i + 1] watches clients[i]->fd for POLLIN, and for POLLOUT too only
	 * while its queue (out.len) is not empty: a socket with room is writable
	 * nearly always, so asking for POLLOUT with nothing to send makes poll()
	 * return at once, forever. Return how many entries you filled in.
	 */
	(void)room;
	sl_todo("lab09", "what poll() watches (watch)");
}

/* The one loop: wait for anything to happen, deal with it, tidy up, again. */
static void
serve(struct room *room)
{
	/*
	 * TODO(lab09): forever: nfds = watch(room); poll(room->pfds, nfds, -1)
	 * (no timeout: idle, the server must sleep in poll(); retry on EINTR, any
	 * other error: err). Then, in this order:
	 *   - if the listener's revents has POLLIN: accept_clients(room);
	 *   - for each client i that was polled (i + 1 < nfds), with r its revents:
	 *     still CHATTING, something queued and r has POLLOUT, POLLERR or POLLHUP:
	 *     flush_to(); still CHATTING and r has POLLIN, POLLERR or POLLHUP:
	 *     receive_from();
	 *   - sweep(room): remove who left, only now that the round is over.
	 */
	(void)room;
	(void)watch;		/* yours to call, */
	(void)accept_clients;	/* in this order */
	(void)flush_to;
	(void)receive_from;
	(void)sweep;
	sl_todo("lab09", "the server's poll() loop (serve)");
}

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
