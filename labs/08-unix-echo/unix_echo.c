/* unix_echo.c - lab 08: sockets on one machine: AF_UNIX, socketpair(), peer credentials, descriptor passing.
 *
 * Fill in every TODO(lab08), in the order of the handout (README.md beside this
 * file). Build and grade with `make grade LAB=08` from the top of the repository.
 * Until a part is written, running into it prints "TODO(lab08): ... is not
 * implemented yet" and exits 3, which the grader reports as "not implemented yet".
 */
/* struct ucred (SO_PEERCRED) and MSG_CMSG_CLOEXEC are Linux's: glibc shows them with _GNU_SOURCE. */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "socklab.h"

/* What the client sends when it is given no TEXT. */
#define DEFAULT_TEXT "Hello over a Unix domain socket"
/* Every read asks for at most this much. */
#define BUF_SIZE 4096
/* How long the server and the clients wait for the other side to send or to take data,
 * unless -t says otherwise; -t accepts up to an hour. */
#define DEFAULT_IO_TIMEOUT_S 5
#define MAX_IO_TIMEOUT_S 3600
/* The most a client reads back: more than any TEXT (the kernel caps one argument at 128 KiB). */
#define MAX_REPLY (256 * 1024)
/* The most the server reads from a file it was given a descriptor for. */
#define MAX_FILE_REPLY (64 * 1024)
/* pair: how many messages, at most (they must all fit in the socket's buffer before fork()). */
#define MAX_COUNT 100
/* The most descriptors the server takes from one message; it uses the first, closes the rest. */
#define MAX_FDS 8
/* Room for a sun_path, every byte quoted, plus the '@' of an abstract name. */
#define NAME_TEXT_SIZE (SL_QUOTED_SIZE(sizeof(((struct sockaddr_un *)0)->sun_path)) + 1)

/* The -t bound on every wait for the other side, in seconds: set once, in main(). */
static int io_timeout = DEFAULT_IO_TIMEOUT_S;

/* What the signal handler needs, ready before it can run (it may call no printf). */
static char socket_file[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char stop_note[sizeof socket_file + 64];
static size_t stop_note_len;

static void
usage(void)
{
	fprintf(stderr, "usage: unix_echo server PATH [-t SECONDS]\n"
	                "       unix_echo client PATH [TEXT] [-t SECONDS]\n"
	                "       unix_echo send-fd PATH FILE [-t SECONDS]\n"
	                "       unix_echo pair [COUNT] [--dgram] [-t SECONDS]\n");
	exit(2);
}

/*
 * Fill addr for PATH, or for '@name' in Linux's abstract namespace (sun_path
 * starts with a NUL byte; no file), and *len for bind() and connect(). -1 with
 * ENAMETOOLONG if it does not fit (never truncate: that names another socket).
 */
static int
make_address(const char *path, struct sockaddr_un *addr, socklen_t *len)
{
	/*
	 * TODO(lab08): n = the length of the name (after the '@' of an abstract
	 * one). 0: errno = EINVAL, return -1. It needs n + 1 bytes of sun_path (a
	 * path's NUL terminator, or an abstract name's leading NUL): more than
	 * sizeof addr->sun_path is errno = ENAMETOOLONG, return -1. Then zero
	 * *addr, set sun_family = AF_UNIX, memcpy the name to sun_path (after one
	 * NUL byte if abstract), and *len = offsetof(struct sockaddr_un, sun_path) + n + 1.
	 */
	(void)path;
	(void)addr;
	(void)len;
	sl_todo("lab08", "the socket address (make_address)");
}

/* make_address(), or exit with a message that says what is wrong with PATH. */
static void
address_or_exit(const char *path, struct sockaddr_un *addr, socklen_t *len)
{
	if (make_address(path, addr, len) == 0)
		return;
	if (errno == ENAMETOOLONG)
		errx(1, "%s: too long for a Unix socket address (%zu bytes, at most %zu)", path,
		     strlen(path + (path[0] == '@')), sizeof addr->sun_path - 1);
	errx(1, "'%s': the socket %s is empty", path, path[0] == '@' ? "name after '@'" : "path");
}

/* The name in a Unix socket address, for printing: the path, "@name" for an
 * abstract name, or "an unnamed socket"; quoted with sl_quote so that any byte
 * prints on one line. buf holds NAME_TEXT_SIZE bytes. */
static const char *
name_text(const struct sockaddr_un *addr, socklen_t len, char *buf)
{
	size_t offset = offsetof(struct sockaddr_un, sun_path);

	if (len <= offset)
		return "an unnamed socket";
	if (addr->sun_path[0] == '\0') {
		buf[0] = '@';
		sl_quote(addr->sun_path + 1, len - offset - 1, buf + 1, NAME_TEXT_SIZE - 1);
	} else {
		sl_quote(addr->sun_path, strnlen(addr->sun_path, len - offset), buf, NAME_TEXT_SIZE);
	}
	return buf;
}

/* Print prefix and data quoted on one line: prefix 'DATA'. Quoted a piece at a time,
 * so any amount fits (sl_quote quotes byte by byte: the pieces join seamlessly). */
static void
print_quoted(const char *prefix, const char *data, size_t n)
{
	char text[SL_QUOTED_SIZE(1024)];

	printf("%s '", prefix);
	for (size_t done = 0; done < n; done += 1024) {
		sl_quote(data + done, n - done < 1024 ? n - done : 1024, text, sizeof text);
		fputs(text, stdout);
	}
	printf("'\n");
}

/* Bound every recv() and send() on sock by io_timeout: -1 with errno on failure. */
static int
set_io_timeout(int sock)
{
	struct timeval limit = { .tv_sec = io_timeout, .tv_usec = 0 };

	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == -1 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == -1)
		return -1;
	return 0;
}

/*
 * SIGINT or SIGTERM: remove our socket file (nothing else would, and the next
 * server would find it in its way), say so, and die of the same signal, so
 * that whoever started us sees how we ended. Only async-signal-safe calls.
 */
static void
remove_socket_file(int signum)
{
	/*
	 * TODO(lab08): unlink(socket_file) unless it is empty (an abstract name
	 * has no file), write(STDOUT_FILENO, stop_note, stop_note_len) (printf is
	 * not async-signal-safe), then signal(signum, SIG_DFL), unblock signum
	 * (sigprocmask: it is blocked while its handler runs) and raise(signum).
	 * If raise() returns (PID 1 of a PID namespace survives it), _exit(128 + signum).
	 */
	(void)signum;
	sl_todo("lab08", "removing the socket file on SIGINT and SIGTERM (remove_socket_file)");
}

/* Remove path (empty for an abstract name) when SIGINT or SIGTERM arrives. */
static void
remove_on_signals(const char *path)
{
	struct sigaction action;

	snprintf(socket_file, sizeof socket_file, "%s", path);
	snprintf(stop_note, sizeof stop_note, "%s%s\n",
	         path[0] != '\0' ? "Stopped by a signal, removed " : "Stopped by a signal", path);
	stop_note_len = strlen(stop_note);
	memset(&action, 0, sizeof action);
	action.sa_handler = remove_socket_file;
	/* While one stop signal is handled, the other waits. */
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, SIGINT);
	sigaddset(&action.sa_mask, SIGTERM);
	if (sigaction(SIGINT, &action, NULL) == -1 || sigaction(SIGTERM, &action, NULL) == -1)
		err(1, "sigaction");
}

/* A stream socket listening at addr, or -1 with errno set (EADDRINUSE: the name is taken). */
static int
listen_at(const struct sockaddr_un *addr, socklen_t len)
{
	/*
	 * TODO(lab08): socket(AF_UNIX, SOCK_STREAM, 0), bind() it to addr (len
	 * bytes), listen(sock, 5); return the socket. On a failure close() the
	 * socket, keeping errno for the caller, and return -1. If listen() fails
	 * after bind() made a file (a path, not an abstract name), unlink() it too.
	 */
	(void)addr;
	(void)len;
	sl_todo("lab08", "the listening socket (listen_at)");
}

/* Is a server accepting connections at addr? 1 yes, 0 no (refused), -1 with errno otherwise. */
static int
server_alive(const struct sockaddr_un *addr, socklen_t len)
{
	int probe, alive, saved;

	/* Non-blocking: a live server with a full backlog answers EAGAIN instead of making us wait. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(probe, (const struct sockaddr *)addr, len) == 0 || errno == EAGAIN)
		alive = 1;
	else
		alive = errno == ECONNREFUSED ? 0 : -1;
	saved = errno;
	close(probe);
	errno = saved;
	return alive;
}

/*
 * Listen at PATH. A socket file outlives its server (a crash, a kill -9), and
 * then bind() fails with EADDRINUSE. Remove such a stale file, but only when it
 * is a socket and nothing accepts on it: never delete a file we did not expect,
 * and never steal the name of a server that is still running.
 */
static int
open_server(const char *path, const struct sockaddr_un *addr, socklen_t len)
{
	struct stat info;
	int sock;

	if ((sock = listen_at(addr, len)) != -1)
		return sock;
	if (errno != EADDRINUSE)
		err(1, "bind %s", path);
	/*
	 * TODO(lab08): the name is taken. A path: lstat() it (err on failure) and
	 * refuse anything that is not a socket (S_ISSOCK): errx(1, "%s: exists and
	 * is not a socket; not removing it", path). Then ask server_alive(): 1 is
	 * errx(1, "%s: another server is listening there", path), -1 is err(1,
	 * "connect to %s", path). A taken abstract name with no server: errx(1,
	 * "%s: the name is taken by a socket that accepts no connections", path).
	 * A dead socket file: unlink() it, print "Removed the stale socket file
	 * PATH", and return listen_at() again (err(1, "bind %s", path) on failure).
	 */
	(void)info;
	(void)server_alive;
	sl_todo("lab08", "removing a stale socket file (open_server)");
}

/*
 * recv() that also accepts descriptors passed with SCM_RIGHTS. *fd is the first
 * one, or -1; any others are closed at once (each is an open file in our table
 * now). Returns what recvmsg() returns.
 */
static ssize_t
receive(int sock, void *buf, size_t size, int *fd)
{
	union {
		struct cmsghdr align;	/* the control buffer must be aligned for cmsghdr */
		char space[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.space, .msg_controllen = sizeof control.space,
	};
	ssize_t n;

	*fd = -1;
	/* MSG_CMSG_CLOEXEC: a descriptor we receive is not passed on to programs we exec. */
	if ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	/*
	 * TODO(lab08): part 2. Walk the control messages: for (cmsg =
	 * CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)). In
	 * each one with cmsg_level SOL_SOCKET and cmsg_type SCM_RIGHTS,
	 * (cmsg_len - CMSG_LEN(0)) / sizeof(int) descriptors sit at CMSG_DATA(cmsg)
	 * (memcpy them out: the data need not be aligned for int). Keep the first
	 * in *fd and close() every other one: each is an open file of ours now.
	 */
	if (msg.msg_controllen > 0)
		sl_todo("lab08", "taking a passed descriptor (receive)");
	/* Descriptors that did not fit were closed by the kernel: say so. */
	if (msg.msg_flags & MSG_CTRUNC)
		warnx("more than %d descriptors in one message: the rest were discarded", MAX_FDS);
	return n;
}

/*
 * Answer a message that brought descriptor fd: read the file through it and send
 * what it holds back (at most MAX_FILE_REPLY bytes). It is the sender's own open
 * file, offset included, even if we could not open that file by its name.
 * label is the message's bytes (the file's name, for the log). Closes fd.
 * Returns -1 if the connection failed.
 */
static int
answer_with_file(int conn, int fd, const char *label, size_t len)
{
	char buf[BUF_SIZE], quoted[SL_QUOTED_SIZE(BUF_SIZE)];
	struct stat info;
	size_t total = 0;
	ssize_t n;
	int result = -1;

	sl_quote(label, len, quoted, sizeof quoted);
	printf("  Received descriptor %d with '%s'\n", fd, quoted);
	/* Check what we were given: a pipe or a socket could keep us waiting forever. */
	if (fstat(fd, &info) == -1) {
		warn("fstat descriptor %d", fd);
		result = 0;
		goto done;
	}
	if (!S_ISREG(info.st_mode)) {
		warnx("descriptor %d is not a regular file: not reading it", fd);
		result = 0;
		goto done;
	}
	while (total < MAX_FILE_REPLY) {
		size_t want = MAX_FILE_REPLY - total < sizeof buf ? MAX_FILE_REPLY - total : sizeof buf;

		if ((n = read(fd, buf, want)) == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warn("read descriptor %d", fd);
			break;
		}
		if (sl_write_full(conn, buf, (size_t)n) == -1) {
			warn("send");
			goto done;
		}
		total += (size_t)n;
	}
	printf("  Read %zu bytes through it and sent them back\n", total);
	result = 0;
done:
	if (close(fd) == -1)
		warn("close descriptor %d", fd);
	return result;
}

/* Serve one client: print its credentials, then echo until it shuts down writing. */
static void
serve_one(int conn)
{
	char buf[BUF_SIZE];
	struct ucred cred;
	socklen_t credlen = sizeof cred;
	size_t echoed = 0;
	ssize_t n;
	int fd;

	/*
	 * TODO(lab08): who connected? getsockopt(conn, SOL_SOCKET, SO_PEERCRED,
	 * &cred, &credlen) fills cred with the pid, uid and gid the kernel recorded
	 * at connect(). Print "  Peer pid P uid U gid G" (casts: (long)cred.pid,
	 * (unsigned long)cred.uid and .gid), or warn() if it fails.
	 */
	(void)cred;
	(void)credlen;
	sl_todo("lab08", "the peer's credentials (serve_one)");
	if (set_io_timeout(conn) == -1)
		warn("setsockopt");
	for (;;) {
		/* receive() is recv() that also takes passed descriptors (part 2). */
		n = receive(conn, buf, sizeof buf, &fd);
		/*
		 * TODO(lab08): n == -1: on EINTR try again; EAGAIN or EWOULDBLOCK is
		 * the timeout: warnx("the client sent nothing for %d seconds",
		 * io_timeout); any other errno: warn("recv"); break after either.
		 * n == 0: the client shut down writing, the echo is complete: break.
		 */
		sl_todo("lab08", "the echo loop (serve_one)");
		if (fd != -1) {
			if (answer_with_file(conn, fd, buf, (size_t)n) == -1)
				break;
			continue;
		}
		if (sl_write_full(conn, buf, (size_t)n) == -1) {
			warn("send");
			break;
		}
		echoed += (size_t)n;
	}
	if (close(conn) == -1)
		warn("close");
	printf("  Echoed %zu bytes, connection closed\n", echoed);
}

/* Listen at PATH and serve clients one after another until SIGINT or SIGTERM. */
static void
serve(const char *path)
{
	struct sockaddr_un addr, self;
	socklen_t len, selflen = sizeof self;
	char name[NAME_TEXT_SIZE];
	int sock;

	address_or_exit(path, &addr, &len);
	sock = open_server(path, &addr, len);
	/* From here the file is ours to remove. (A signal before this line leaves a
	 * stale file, which the next server removes.) */
	remove_on_signals(path[0] == '@' ? "" : path);
	if (getsockname(sock, (struct sockaddr *)&self, &selflen) == -1)
		err(1, "getsockname");
	printf("Listening at %s\n", name_text(&self, selflen, name));

	for (;;) {
		struct sockaddr_un peer;
		socklen_t peerlen = sizeof peer;
		int conn;

		if ((conn = accept(sock, (struct sockaddr *)&peer, &peerlen)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		printf("Accepted a connection from %s\n", name_text(&peer, peerlen, name));
		serve_one(conn);
	}
}

/* A stream socket connected to PATH, with bounded reads and writes; exits on failure. */
static int
connect_to(const char *path)
{
	struct sockaddr_un addr;
	socklen_t len;
	int sock;

	address_or_exit(path, &addr, &len);
	/*
	 * TODO(lab08): sock = socket(AF_UNIX, SOCK_STREAM, 0) (err(1, "socket") on
	 * failure) and connect() it to addr; on failure err(1, "connect to %s",
	 * path): ENOENT (no such file) and ECONNREFUSED (a socket nobody accepts
	 * on, or no such abstract name) say what went wrong.
	 */
	sock = -1;
	sl_todo("lab08", "connecting (connect_to)");
	if (set_io_timeout(sock) == -1)
		err(1, "setsockopt");
	printf("Connected to %s\n", path);
	return sock;
}

/* Read until the server closes (at most MAX_REPLY bytes) and print it as what 'DATA'. */
static void
print_reply(int sock, const char *what)
{
	static char reply[MAX_REPLY];
	size_t got = 0;
	ssize_t n;
	char extra;

	while (got < sizeof reply && (n = recv(sock, reply + got, sizeof reply - got, 0)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errx(1, "recv: the server sent nothing for %d seconds", io_timeout);
			err(1, "recv");
		}
		got += (size_t)n;
	}
	if (got == sizeof reply && recv(sock, &extra, 1, 0) > 0)
		errx(1, "the server sent more than %d bytes", MAX_REPLY);
	print_quoted(what, reply, got);
}

/* Send text, half-close ("that is all"), and print everything that comes back. */
static void
client(const char *path, const char *text)
{
	size_t len = strlen(text);
	int sock;

	sock = connect_to(path);
	/*
	 * TODO(lab08): send all len bytes of text (sl_write_full; err(1, "send")),
	 * then shutdown(sock, SHUT_WR) (err(1, "shutdown")): the server echoes
	 * until the end of our stream, and we still have the echo to read.
	 */
	sl_todo("lab08", "sending and the half-close (client)");
	printf("Sent %zu bytes and shut down writing\n", len);
	print_reply(sock, "The server echoed");
	if (close(sock) == -1)
		err(1, "close");
}

/*
 * Pass descriptor fd to the peer with SCM_RIGHTS, attached to the bytes of label.
 * A stream socket carries ancillary data only along with at least one byte of
 * data. The kernel installs a new descriptor for the same open file in the
 * receiving process; the number there is usually a different one.
 */
static void
send_descriptor(int sock, int fd, const char *label)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)label, .iov_len = strlen(label) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.space, .msg_controllen = sizeof control.space,
	};
	ssize_t n;

	memset(&control, 0, sizeof control);
	/*
	 * TODO(lab08): part 2. struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); set
	 * cmsg_level SOL_SOCKET, cmsg_type SCM_RIGHTS, cmsg_len CMSG_LEN(sizeof(int)),
	 * and memcpy fd to CMSG_DATA(cmsg). Then n = sendmsg(sock, &msg, 0), again
	 * on EINTR; err(1, "sendmsg") on failure.
	 */
	(void)msg;
	(void)fd;
	n = (ssize_t)iov.iov_len;
	sl_todo("lab08", "passing a descriptor (send_descriptor)");
	/* A short count: the descriptor went with the first part; the rest is plain data. */
	if ((size_t)n < iov.iov_len &&
	    sl_write_full(sock, label + n, iov.iov_len - (size_t)n) == -1)
		err(1, "send");
}

/* Open FILE, pass its descriptor to the server at PATH, and print what the server read through it. */
static void
send_fd(const char *path, const char *file)
{
	char quoted[SL_QUOTED_SIZE(BUF_SIZE)];
	int fd, sock;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", file);
	sock = connect_to(path);
	send_descriptor(sock, fd, file);
	if (shutdown(sock, SHUT_WR) == -1)
		err(1, "shutdown");
	sl_quote(file, strlen(file), quoted, sizeof quoted);
	printf("Sent descriptor %d for '%s' and shut down writing\n", fd, quoted);
	/* Our copy can go: the one in flight keeps the file open until the server closes it. */
	if (close(fd) == -1)
		err(1, "close");
	print_reply(sock, "The server read");
	if (close(sock) == -1)
		err(1, "close");
}

/* pair: queue COUNT numbered messages on sock (before fork(), so the child finds
 * them all waiting). On a datagram socket, an empty datagram ends them. Returns
 * the number of bytes queued. */
static size_t
send_messages(int sock, unsigned long count, int type)
{
	char message[32];
	size_t total = 0;
	int len;

	for (unsigned long i = 1; i <= count; i++) {
		len = snprintf(message, sizeof message, "Message %lu", i);
		/* Never wait: with nobody reading yet, a full buffer would mean forever. */
		if (send(sock, message, (size_t)len, MSG_DONTWAIT) != len)
			err(1, "send message %lu", i);
		print_quoted("Parent sent", message, (size_t)len);
		total += (size_t)len;
	}
	if (type == SOCK_DGRAM) {
		if (send(sock, "", 0, MSG_DONTWAIT) != 0)
			err(1, "send the empty datagram");
		printf("Parent sent an empty datagram\n");
	}
	return total;
}

/* pair's child: answer every read with the bytes it brought, until the end. */
static void
child_echo(int sock, int type)
{
	char buf[BUF_SIZE];
	ssize_t n;

	/*
	 * TODO(lab08): loop: n = recv(sock, buf, sizeof buf, 0) (EINTR: again;
	 * EAGAIN or EWOULDBLOCK, the timeout: errx(1, "child: the parent sent
	 * nothing for %d seconds", io_timeout); other errors: err(1, "child:
	 * recv")). n == 0: print "Child saw the end of the stream" (SOCK_STREAM:
	 * the parent closed) or "Child received an empty datagram: the end"
	 * (SOCK_DGRAM has no end of stream: 0 is an empty datagram), and return.
	 * Otherwise print_quoted("Child received", buf, n) and send the n bytes
	 * back (sl_write_full; err(1, "child: send")).
	 */
	(void)buf;
	(void)n;
	(void)type;
	(void)sock;
	sl_todo("lab08", "the child's echo (child_echo)");
}

/* pair's parent: read the child's answers, total bytes (stream) or count datagrams. */
static void
collect_replies(int sock, int type, unsigned long count, size_t total)
{
	char buf[BUF_SIZE];
	size_t got = 0;
	unsigned long replies = 0;
	ssize_t n;

	while (type == SOCK_STREAM ? got < total : replies < count) {
		if ((n = recv(sock, buf, sizeof buf, 0)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errx(1, "recv: the child sent nothing for %d seconds", io_timeout);
			err(1, "recv");
		}
		if (n == 0 && type == SOCK_STREAM)
			errx(1, "the child closed after %zu of %zu bytes", got, total);
		print_quoted("Parent received", buf, (size_t)n);
		got += (size_t)n;
		replies++;
	}
}

/* socketpair() and fork(): the parent talks on one end, the child on the other. */
static void
pair(unsigned long count, int type)
{
	int sv[2], status;
	size_t total;

	/* TODO(lab08): socketpair(AF_UNIX, type, 0, sv) (err(1, "socketpair") on failure). */
	sv[0] = sv[1] = -1;
	sl_todo("lab08", "the socket pair (pair)");
	if (set_io_timeout(sv[0]) == -1 || set_io_timeout(sv[1]) == -1)
		err(1, "setsockopt");
	total = send_messages(sv[0], count, type);
	/* The child gets a copy of stdout's buffer: empty it first, or lines print twice. */
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	/*
	 * TODO(lab08): pid_t child = fork() (err(1, "fork")). In the child: close
	 * sv[0] (each process keeps its own end), child_echo(sv[1], type), exit(0).
	 * In the parent: close sv[1], collect_replies(sv[0], type, count, total),
	 * close sv[0] (the child's recv() then returns 0 on a stream), and
	 * waitpid(child, &status, 0), again on EINTR (err(1, "waitpid")).
	 */
	(void)total;
	(void)child_echo;
	(void)collect_replies;
	status = 0;
	sl_todo("lab08", "fork and the two ends (pair)");
	if (WIFEXITED(status))
		printf("Child exited with status %d\n", WEXITSTATUS(status));
	else
		printf("Child was killed by signal %d\n", WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		exit(1);
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "dgram", no_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long count = 3, seconds;
	int ch, type = SOCK_STREAM;

	sl_init_program();
	while ((ch = getopt_long(argc, argv, "t:", options, NULL)) != -1) {
		switch (ch) {
		case 'd':
			type = SOCK_DGRAM;
			break;
		case 't':
			if (sl_parse_ulong(optarg, 1, MAX_IO_TIMEOUT_S, &seconds) == -1)
				errx(1, "invalid timeout '%s': expected whole seconds from 1 to %d",
				     optarg, MAX_IO_TIMEOUT_S);
			io_timeout = (int)seconds;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc < 1 || (type == SOCK_DGRAM && strcmp(argv[0], "pair") != 0))
		usage();
	if (strcmp(argv[0], "server") == 0 && argc == 2) {
		serve(argv[1]);
	} else if (strcmp(argv[0], "client") == 0 && (argc == 2 || argc == 3)) {
		client(argv[1], argc == 3 ? argv[2] : DEFAULT_TEXT);
	} else if (strcmp(argv[0], "send-fd") == 0 && argc == 3) {
		send_fd(argv[1], argv[2]);
	} else if (strcmp(argv[0], "pair") == 0 && argc <= 2) {
		if (argc == 2 && sl_parse_ulong(argv[1], 1, MAX_COUNT, &count) == -1)
			errx(1, "invalid COUNT '%s': expected a number from 1 to %d", argv[1], MAX_COUNT);
		pair(count, type);
	} else {
		usage();
	}
	return 0;
}
