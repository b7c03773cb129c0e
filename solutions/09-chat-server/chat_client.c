/* chat_client.c - lab 09: type and read a chat at once, with one poll() loop (like nc). */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chat_io.h"
#include "socklab.h"

/* A line from the server longer than this is printed in pieces of this size. */
#define CLIENT_LINE_MAX 4096
/* What one read() of standard input takes at most. */
#define TYPING_CHUNK 4096

/* Both directions of one chat connection. */
struct chat {
	int sock;
	int typing;			/* standard input is still open */
	int shut;			/* we have shut down our sending side */
	struct chat_queue out;		/* typed bytes the socket has not taken yet */
	char in[CLIENT_LINE_MAX + 1];	/* the start of a line from the server */
	size_t inlen;
};

static void
usage(void)
{
	fprintf(stderr, "usage: chat_client HOST [-p PORT]\n");
	exit(2);
}

/* A socket connected to the first address of HOST that answers; exits if none does. */
static int
connect_to(const char *host, unsigned short port)
{
	char error[SL_ERRLEN], tried[SL_ADDRSTRLEN] = "";
	struct addrinfo *res, *ai;
	int sock = -1, saved = 0;

	if (sl_resolve(error, sizeof error, host, port, AF_UNSPEC, SOCK_STREAM, 0, &res) == -1)
		errx(1, "%s", error);
	for (ai = res; ai != NULL && sock == -1; ai = ai->ai_next) {
		snprintf(tried, sizeof tried, "%s", sl_addr_text(ai->ai_addr, ai->ai_addrlen));
		if ((sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1) {
			saved = errno;
		} else if (connect(sock, ai->ai_addr, ai->ai_addrlen) == -1) {
			saved = errno;
			close(sock);
			sock = -1;
		}
	}
	freeaddrinfo(res);
	if (sock == -1) {
		errno = saved;
		err(1, "connect to %s", tried);
	}
	return sock;
}

/* Print one line from the server, quoted so that no byte can steer the terminal. */
static void
print_line(const char *line, size_t len)
{
	static char text[SL_QUOTED_SIZE(CLIENT_LINE_MAX)];

	sl_quote(line, len, text, sizeof text);
	if (printf("%s\n", text) < 0)
		err(1, "write to standard output");
}

/* Take what was typed; at the end of input, note it. The queue has room for it. */
static void
read_typing(struct chat *chat)
{
	char buf[TYPING_CHUNK];
	ssize_t n;

	/* poll() said readable: one read() will not block, even on a terminal. */
	n = read(STDIN_FILENO, buf, sizeof buf);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		err(1, "read standard input");
	}
	if (n == 0) {
		chat->typing = 0;
		return;
	}
	if (chat_queue_push(&chat->out, buf, (size_t)n, CHAT_QUEUE_MAX) == -1)
		err(1, "queue what was typed");
}

/* Print every complete line the server sent. Returns 0 once the server has closed. */
static int
receive_lines(struct chat *chat)
{
	size_t used = 0, take, len;
	ssize_t n;

	n = recv(chat->sock, chat->in + chat->inlen, sizeof chat->in - chat->inlen, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		err(1, "recv from the server");
	}
	if (n == 0) {
		if (chat->inlen > 0)
			print_line(chat->in, chat->inlen);	/* its last line had no newline */
		return 0;
	}
	chat->inlen += (size_t)n;
	while ((take = chat_line_next(chat->in + used, chat->inlen - used, CLIENT_LINE_MAX,
	                              &len)) > 0) {
		print_line(chat->in + used, len);
		used += take;
	}
	memmove(chat->in, chat->in + used, chat->inlen - used);
	chat->inlen -= used;
	return 1;
}

/*
 * Until the server closes: read standard input while the queue has room for
 * more, send while something is queued, and print what arrives. At the end of
 * input, once everything typed is sent, shut down our side and keep reading.
 */
static void
converse(struct chat *chat)
{
	/* slide: client-loop */
	for (;;) {
		int room = chat->out.len <= CHAT_QUEUE_MAX - TYPING_CHUNK;
		struct pollfd pfds[2] = {
			{ .fd = chat->typing && room ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = chat->sock, .events = POLLIN },
		};

		if (chat->out.len > 0)
			pfds[1].events |= POLLOUT;
		if (poll(pfds, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_typing(chat);
		if (pfds[1].revents & (POLLOUT | POLLERR | POLLHUP) &&
		    chat_queue_send(&chat->out, chat->sock) == -1)
			err(1, "send to the server");
		if (!chat->typing && chat->out.len == 0 && !chat->shut) {
			/* Our FIN: the server sees the end, and closes when it is done. */
			if (shutdown(chat->sock, SHUT_WR) == -1)
				err(1, "shutdown");
			chat->shut = 1;
		}
		if ((pfds[1].revents & (POLLIN | POLLERR | POLLHUP)) && !receive_lines(chat))
			return;
	}
	/* end slide */
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct chat chat = { .sock = -1, .typing = 1, .out = CHAT_QUEUE_EMPTY };
	unsigned short port = 1060;
	int ch, flags;

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

	chat.sock = connect_to(argv[0], port);
	/* The socket, not standard input: O_NONBLOCK on a terminal would outlive us. */
	if ((flags = fcntl(chat.sock, F_GETFL)) == -1 ||
	    fcntl(chat.sock, F_SETFL, flags | O_NONBLOCK) == -1)
		err(1, "fcntl");
	converse(&chat);
	if (!chat.shut)
		warnx("the server closed the connection");
	chat_queue_free(&chat.out);
	if (close(chat.sock) == -1)
		err(1, "close");
	return 0;
}
