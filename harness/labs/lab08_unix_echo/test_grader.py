"""Lab 08 unix_echo: an echo server and clients over AF_UNIX sockets, a socketpair()
shared with fork(), and descriptors passed with SCM_RIGHTS. Every server behaviour
is graded against Python clients, every client against a Python server, all on
sockets in the test's own directory (paths) or network namespace (abstract
names). Credentials are checked against the Python peer's real pid, uid and gid,
translated into the program's namespaces the way the kernel does it, and passed
descriptors against the inode and offset of the Python peer's own open file."""
import fcntl
import os
import re
import signal
import socket
import stat
import time
import uuid

import pytest

from harness.grading.contract import line, quote
from harness.labs.lab08_unix_echo.peers import (
    accept, another_mapped_gid, connect, exchange, ids_seen_by, inside_client_command,
    is_socket_file, listener, own_view, pid_seen_by, program_process, receive_until_close,
    receive_with_descriptors, send_piece_by_piece, shared_directory, stale_socket_file)
from harness.peers.tcp import receive_exactly
from harness.peers.wait import wait_readable
from harness.programs.process import NOT_IMPLEMENTED_EXIT, ProgramFailure
from harness.timeouts import scaled

DEFAULT_TEXT = b"Hello over a Unix domain socket"
SUN_PATH = 108  # bytes in sockaddr_un.sun_path on Linux: a name of at most 107
# The shorter bound on a silent peer that the give-up tests set with `-t WAIT` (the
# default, the handout's, is 5 s), so they need not sit it out: a program must keep
# waiting that long (measured, never scaled; a tenth off for clock granularity) and
# give up within it plus a scaled MARGIN.
WAIT = 1
MARGIN = 1.0
# How long a program may take to start and to do its part (under valgrind, on a loaded
# machine). A correct one takes milliseconds: every wait ends as soon as it happens.
ACT = 5.0


# -- helpers ----------------------------------------------------------------------

def outcome(program, timeout=ACT):
    """program's exit status, or None if it is still running after timeout (scaled); a
    skeleton's exit 3 fails at once as "not implemented yet", with its TODO line."""
    code = program.wait(timeout)
    if code == NOT_IMPLEMENTED_EXIT:
        program.expect(r"(?!)", timeout=0, stream="stderr")  # raises "not implemented yet: …"
    return code


def ended(program, timeout=ACT):
    """outcome(), but a program still running is a failure (it should have finished)."""
    code = outcome(program, timeout)
    if code is None:
        raise ProgramFailure(f"{program.label} was still running after {scaled(timeout):.1f} s; "
                             "it was expected to finish by itself")
    return code


def exit_text(code, program):
    """How a program ended (or did not), with its last words, for feedback."""
    if code is None:
        said = (program.stdout[-1:] or ["no output"])[0]
        cut = "…" if len(said) > 100 else ""
        return f"still running (its last line: '{said[:100]}'{cut})"
    return f"exit {code}, {stderr_text(program)}"


def listening(path):
    return line("Listening at {path}", path=re.escape(path))


def start_server(lab, path=None, options=(), **sandbox):
    """`unix_echo server PATH [OPTIONS]` once it says it listens: (program, path). PATH
    defaults to echo.sock in the test's own directory."""
    path = path or os.path.join(lab.workdir, "echo.sock")
    server = lab.run("server", path, *options, **sandbox)
    found = server.expect(r"Listening at .*", timeout=ACT,
                          hint="bind() an AF_UNIX SOCK_STREAM socket to the path, listen(), "
                               "then print 'Listening at PATH' (the name getsockname() "
                               "returns)")
    if found.group(0) != f"Listening at {path}":
        padded = found.group(0).startswith(f"Listening at {path}\\x00")
        lab.fail("the server listens at another name than the one it was given",
                 expected=f"'Listening at {path}'", got=f"'{found.group(0)[:120]}'",
                 hint="an abstract name is as long as the length given to bind() says, NUL "
                      "bytes and all: pass offsetof(struct sockaddr_un, sun_path) + 1 + "
                      "strlen(name)"
                 if padded else "copy the whole name into sun_path (after a NUL byte for "
                      "'@name') and pass the length of exactly that")
    return server, path


def converse(lab, server, path, data, who="a Python client", bind_to=None, timeout=5):
    """A Python client sends data to the server at path, shuts down writing and reads
    the echo until the server closes; fails unless the echo is data."""
    shown = f"'{quote(data)}'" if len(data) <= 64 else f"{len(data)} bytes (every value 0..255)"
    with lab.wire(f"{who} connected to {path} and sent {shown}",
                  hint="accept() the connection and read from the socket accept() returned"):
        sock = connect(lab.host, path, bind_to=bind_to)
        lab.step(f"{who} connected to {path}, sent {shown} and shut down writing")
        echo, closed = exchange(sock, data, timeout, watch=server)
    sock.close()
    same = echo == data
    lab.check(same and closed, "the echo was not exactly what the client sent, followed by "
              "the server's close",
              expected=f"{shown}, then the end of the stream",
              got=(f"'{quote(echo[:64])}'" + ("…" if len(echo) > 64 else "") +
                   f" ({len(echo)} bytes)" + ("" if closed else ", and the connection stayed "
                                              "open")),
              hint=("send back what each recv() returns with a loop over short writes "
                    "(sl_write_full), and close the connection when recv() returns 0"
                    if not same else "recv() returns 0 once the client has shut down "
                    "writing: then close() the connection"))


def accepted(lab, server_sock, program, who):
    """The connection program makes to the Python server; a failure that says how the
    program ended (not implemented yet, say) if it never connects."""
    conn = accept(server_sock, ACT, watch=program)
    if conn is None:
        code = ended(program, 1) if program.poll() is not None else None
        lab.fail(f"{who} did not connect to the Python server",
                 got=f"no connection within {ACT:.0f} s" if code is None
                 else f"it exited {code} first",
                 hint="socket(AF_UNIX, SOCK_STREAM, 0) and connect() to the path")
    return conn


def describe(path):
    """What is at path now, for feedback."""
    if not os.path.lexists(path):
        return "nothing (no file)"
    return "a socket file" if is_socket_file(path) else "a file that is not a socket"


def stderr_text(program):
    return " / ".join(program.stderr[-2:]) or "nothing on stderr"


# -- the server -------------------------------------------------------------------

@pytest.mark.points(6)
def test_server_listens_at_its_path_and_echoes(lab):
    server, path = start_server(lab)
    lab.check(is_socket_file(path), "the server said it listens, but its path holds no "
              "socket file", expected=f"a socket file at {path}", got=describe(path),
              hint="bind() the AF_UNIX socket to the path: that creates the socket file")
    converse(lab, server, path, b"Hello from a Python client")
    server.expect(line("Accepted a connection from an unnamed socket"), timeout=ACT,
                  hint="a client that did not bind() has no name: accept() fills in only "
                       "sun_family, and the program prints 'an unnamed socket'")
    server.expect(line("  Echoed 26 bytes, connection closed"), timeout=ACT,
                  hint="count the bytes sent back, and print the line after close()")


@pytest.mark.points(6)
def test_server_echoes_every_byte_as_it_reads_until_the_half_close(lab):
    server, path = start_server(lab)
    first = b"a first piece"
    with lab.wire(f"a Python client sent '{quote(first)}' and waited for its echo"):
        sock = connect(lab.host, path)
        lab.step(f"a Python client connected to {path}, sent '{quote(first)}' and waited for "
                 "its echo before sending more")
        sock.sendall(first)
        echo = receive_exactly(sock, len(first), ACT, watch=server)
    lab.check(echo == first, "the server did not echo the first piece while the client was "
              "still connected", expected=f"'{quote(first)}' back at once",
              got=f"'{quote(echo)}'" if echo else f"nothing within {ACT:.0f} s",
              hint="send back what each recv() returned right away: the client decides when "
                   "it is done (with shutdown), not the server")
    rest = bytes(range(256)) * 800
    lab.step(f"it then sent {len(rest)} more bytes (every byte value 0..255, more than the "
             "socket buffers hold), reading the echo at the same time, and shut down writing")
    with lab.wire("the Python client sent the rest"):
        echo, closed = exchange(sock, rest, 10, watch=server)
    sock.close()
    differ = next((i for i, (a, b) in enumerate(zip(echo, rest)) if a != b), None)
    lab.check(echo == rest and closed, "the echo of the rest was not every byte sent, in order, "
              "followed by the close",
              expected=f"{len(rest)} bytes, then the end of the stream",
              got=f"{len(echo)} bytes" + (f", the first wrong one at offset {differ}"
                                          if differ is not None else "") +
              ("" if closed else ", and the connection stayed open"),
              hint="echo exactly the count recv() returned (binary data has NUL bytes: no "
                   "string functions), and loop until recv() returns 0")
    server.expect(line("  Echoed {n} bytes, connection closed", n=str(len(first) + len(rest))),
                  timeout=ACT, hint="count every byte sent back on the connection, over all "
                  "its reads, and print the total once it is closed")
    converse(lab, server, path, b"and the next client", who="a second Python client")


@pytest.mark.points(8)
def test_server_prints_each_peers_credentials_as_its_namespaces_see_them(lab):
    # map_ids: uids and gids as the peers have them (harness/README.md, the sandbox).
    server, path = start_server(lab, map_ids=True)
    program = program_process(server.pid)
    own = own_view(program)
    lab.step(f"the server runs in the grader's sandbox, in a PID namespace and a user "
             f"namespace of its own: there it is pid {own[0]}, uid {own[1]}, gid {own[2]}")

    def expect_peer(who, pid, uid, gid, pid_note):
        uid, gid = ids_seen_by(program, uid, gid)
        lab.step(f"{who} connected; as the server's namespaces see it: pid {pid} ({pid_note}), "
                 f"uid {uid}, gid {gid}")
        wanted = f"  Peer pid {pid} uid {uid} gid {gid}"
        found = server.expect(line("  Peer pid {p} uid {u} gid {g}", p=r"(?P<p>-?\d+)",
                                   u=r"(?P<u>\d+)", g=r"(?P<g>\d+)"), timeout=ACT,
                              hint="after accept(), getsockopt(conn, SOL_SOCKET, SO_PEERCRED) "
                                   "and print the pid, uid and gid of the struct ucred")
        got = tuple(int(found[i]) for i in "pug")
        hint = ("getsockopt(SO_PEERCRED) on the connected socket (the one accept() returned) "
                "fills a struct ucred: print its pid, uid and gid, in that order")
        if got == own and got != (pid, uid, gid):
            hint = ("those are the server's own ids (getpid() and getuid() give them, and so "
                    "does SO_PEERCRED on the listening socket): ask about the socket accept() "
                    "returned")
        lab.check(got == (pid, uid, gid), f"the credentials printed for {who} are not the "
                  "ones the kernel reports", expected=f"'{wanted}'",
                  got=f"'{found.group(0)}'", hint=hint)

    with lab.wire(f"a Python client of the grader connected to {path}"):
        sock = connect(lab.host, path)
        exchange(sock, b"who am I?", 5, watch=server)
        sock.close()
    pid = pid_seen_by(program, os.getpid())
    expect_peer("a Python client in the grader's own process", pid, os.geteuid(), os.getegid(),
                "a process outside its PID namespace" if pid == 0 else "its own pid")
    client = lab.host.run(inside_client_command(server.pid, path, b"and me?",
                                                gid=another_mapped_gid()),
                          label="a Python client started inside the server's PID namespace")
    me = client.expect(r"pid (?P<pid>\d+) uid (?P<uid>\d+) gid (?P<gid>\d+)", timeout=ACT)
    client.expect(r"echo .*", timeout=ACT)
    expect_peer("a Python client started inside the server's PID namespace", int(me["pid"]),
                int(me["uid"]), int(me["gid"]), "its pid there: the server can see it")


@pytest.mark.points(7)
def test_server_removes_a_stale_socket_file(lab):
    path = os.path.join(shared_directory(lab), "stale.sock")
    stale_socket_file(lab.host, path)
    lab.step(f"a Python socket was bound to {path} and closed: its socket file stayed, as a "
             "killed server's does, and nothing accepts connections on it")
    server = lab.run("server", path)
    server.expect(line("Removed the stale socket file {path}", path=re.escape(path)), timeout=ACT,
                  hint="bind() fails with EADDRINUSE: lstat() the path (a socket?), then "
                       "connect() to it; ECONNREFUSED means nobody accepts there: unlink() it, "
                       "say so, and bind() again")
    server.expect(listening(path), timeout=ACT,
                  hint="after removing the stale file, bind() and listen() again, then print "
                       "'Listening at PATH'")
    converse(lab, server, path, b"served after the stale file")


@pytest.mark.points(7)
def test_server_refuses_a_path_held_by_a_live_server_or_a_file(lab):
    folder = shared_directory(lab)
    live_path = os.path.join(folder, "live.sock")
    live = listener(lab.host, live_path)
    lab.step(f"a Python server listens at {live_path}; the program was started on the same path")
    server = lab.run("server", live_path)
    code = outcome(server)
    took = any(l.startswith("Listening at") for l in server.stdout)
    lab.check(code == 1 and any("another server is listening there" in l for l in server.stderr),
              "the server took the path of a live server instead of refusing it" if took else
              "the server did not refuse a path where another server is listening",
              expected="exit 1 and 'unix_echo: PATH: another server is listening there'",
              got=exit_text(code, server),
              hint="only a connect() refused with ECONNREFUSED makes a socket file stale; "
                   "one that succeeds means a live server: refuse, and never unlink() its file"
                   if took else "after EADDRINUSE, connect() to the path: success means a "
                   "live server")
    with lab.wire(f"a Python client connected to the Python server at {live_path}",
                  hint="the program must leave a live server's socket file alone"):
        probe = connect(lab.host, live_path)
        served = accept(live, 2)
        probe.close()
    lab.check(served is not None and is_socket_file(live_path),
              "the Python server can no longer be reached at its path",
              expected="its socket file untouched", got=describe(live_path),
              hint="unlink() only a socket file whose connect() was refused")
    served.close()
    live.close()

    plain = os.path.join(folder, "notes.txt")
    with open(plain, "w") as notes:
        notes.write("not a socket\n")
    os.chmod(plain, 0o666)
    lab.step(f"a regular file was made at {plain}, and the program was started on that path")
    server = lab.run("server", plain)
    code = outcome(server)
    intact = os.path.isfile(plain) and open(plain).read() == "not a socket\n"
    lab.check(code == 1 and intact and any("is not a socket" in l for l in server.stderr),
              "the server did not refuse a path that holds a file which is not a socket",
              expected="exit 1, 'unix_echo: PATH: exists and is not a socket; not removing it', "
                       "and the file left as it was",
              got=f"{exit_text(code, server)}; the file is "
                  + ("intact" if intact else describe(plain)),
              hint="lstat() the path after EADDRINUSE, and stop unless S_ISSOCK(st_mode)")


@pytest.mark.points(6)
def test_server_listens_at_an_abstract_name(lab):
    name = f"@socklab-08-{uuid.uuid4().hex[:12]}"
    before = set(os.listdir(lab.workdir))
    server, _ = start_server(lab, name)
    lab.step(f"the program was started on {name}, the abstract name "
             f"'{name[1:]}' (sun_path[0] is a NUL byte)")
    converse(lab, server, name, b"no file needed")
    lab.check(set(os.listdir(lab.workdir)) == before, "a file appeared for an abstract name",
              expected="no file: an abstract name lives in the network namespace only",
              got=", ".join(sorted(set(os.listdir(lab.workdir)) - before)))
    taken = f"@socklab-08-{uuid.uuid4().hex[:12]}"
    holder = listener(lab.host, taken)
    lab.step(f"a Python server listens at {taken}; the program was started on it too")
    second = lab.run("server", taken)
    code = outcome(second)
    holder.close()
    lab.check(code == 1 and any("another server is listening there" in l
                                for l in second.stderr),
              "the server did not refuse an abstract name held by a live server",
              expected="exit 1 and 'unix_echo: @NAME: another server is listening there'",
              got=exit_text(code, second),
              hint="bind() fails with EADDRINUSE for a taken abstract name too; a connect() "
                   "that succeeds shows a live server")


@pytest.mark.points(5)
def test_server_refuses_a_path_too_long_for_sun_path(lab):
    folder = shared_directory(lab)
    path = os.path.join(folder, "x" * (SUN_PATH - len(folder) - 1))
    truncated = path[:SUN_PATH - 1]
    lab.step(f"the program was started on a path of {len(path)} bytes (sun_path holds 108, "
             "NUL included)")
    server = lab.run("server", path)
    code = outcome(server)
    listed = sorted(os.listdir(folder))
    lab.check(not listed, "a file appeared although the path does not fit in sun_path",
              expected="nothing: the path refused", got=f"{', '.join(listed)[:80]} in {folder}"
              + (" (the path cut to 107 bytes)" if os.path.lexists(truncated) else ""),
              hint="compare strlen(path) + 1 with sizeof addr.sun_path before copying: a "
                   "truncated path names another file")
    lab.check(code == 1 and any("too long" in l for l in server.stderr),
              "the server did not refuse a path too long for sun_path",
              expected="exit 1 and 'unix_echo: PATH: too long for a Unix socket address "
                       "(108 bytes, at most 107)'",
              got=exit_text(code, server),
              hint="make_address() returns -1 with ENAMETOOLONG; the caller says so and exits 1")
    name = "@" + "y" * SUN_PATH
    lab.step(f"the client was started on an abstract name of {SUN_PATH} bytes")
    client = lab.run("client", name)
    code = ended(client)
    lab.check(code == 1 and any("too long" in l for l in client.stderr),
              "the client did not refuse an abstract name too long for sun_path",
              expected="exit 1 and '… too long for a Unix socket address (108 bytes, at most "
                       "107)'", got=f"exit {code}, {stderr_text(client)}",
              hint="an abstract name needs one byte of sun_path for its leading NUL, so at "
                   "most 107 bytes follow the '@'")


@pytest.mark.points(7)
def test_server_removes_its_socket_file_on_sigint_and_sigterm(lab):
    for signum in (signal.SIGINT, signal.SIGTERM):
        name = signal.Signals(signum).name
        server, path = start_server(lab, os.path.join(lab.workdir, f"{name.lower()}.sock"))
        converse(lab, server, path, b"before the signal")
        server.expect(line("  Echoed 17 bytes, connection closed"), timeout=ACT)
        lab.step(f"the grader sent {name} to the server")
        os.kill(server.pid, signum)
        code = server.wait(ACT)
        lab.check(not os.path.lexists(path), f"the socket file is still there after {name}",
                  expected=f"{path} removed", got=describe(path),
                  hint="catch SIGINT and SIGTERM with sigaction(); the handler unlink()s the "
                       "file (an async-signal-safe call)")
        lab.check(any(l == f"Stopped by a signal, removed {path}" for l in server.stdout),
                  f"the server did not say it stopped after {name}",
                  expected=f"'Stopped by a signal, removed {path}'",
                  got=f"'{server.stdout[-1]}'" if server.stdout else "no output",
                  hint="write() the note prepared before (printf() is not async-signal-safe)")
        lab.check(code in (-signum, 128 + signum), f"the server did not end by {name}",
                  expected=f"killed by {name} (the default action, raised again)",
                  got="still running" if code is None else f"exit {code}" if code >= 0
                  else f"killed by signal {-code}",
                  hint="in the handler, after the cleanup: signal(signum, SIG_DFL), unblock "
                       "it and raise(signum), so whoever started the server sees how it ended")


@pytest.mark.points(6)
def test_server_goes_on_after_a_client_that_resets_and_one_that_is_silent(lab):
    server, path = start_server(lab, options=("-t", WAIT))
    with lab.wire("a Python client sent 'reset me' and waited for its echo"):
        sock = connect(lab.host, path)
        lab.step(f"a Python client connected to {path}, sent 'reset me', and closed once the "
                 "echo was waiting in its socket, unread: the server's next recv() fails "
                 "with ECONNRESET")
        sock.sendall(b"reset me")
        echoed = wait_readable(sock, time.monotonic() + scaled(ACT), server)
    sock.close()
    lab.check(echoed, "the server did not echo 'reset me'", got=f"nothing within {ACT:.0f} s",
              hint="send back what each recv() returned right away")
    server.expect(line("  Echoed 8 bytes, connection closed"), timeout=ACT,
                  hint="a client that resets ends only its own connection: recv() fails with "
                       "ECONNRESET; warn() and go on to the next client, never exit")
    with lab.wire("a Python client connected and sent nothing"):
        silent = connect(lab.host, path)
    # Before the server accepts it, so what is measured is never shorter than the
    # server's real patience.
    silent_since = time.monotonic()
    lab.step(f"another Python client connected and sent nothing, keeping its connection open "
             f"(the server runs with -t {WAIT})")
    server.expect(rf"unix_echo: the client sent nothing for {WAIT} seconds?", stream="stderr",
                  timeout=WAIT + MARGIN,
                  hint=f"the receive timeout makes recv() fail with EAGAIN after -t {WAIT} "
                       "seconds of silence: report it with warnx() and end that connection; "
                       "retrying keeps every other client waiting")
    patience = time.monotonic() - silent_since
    lab.check(patience >= WAIT * 0.9, "the server gave up on a silent client before its -t "
              "bound ran out", expected=f"'the client sent nothing' after {WAIT} s (-t {WAIT})",
              got=f"after {patience:.2f} s",
              hint="set_io_timeout(): the -t seconds go in tv_sec, microseconds in tv_usec")
    converse(lab, server, path, b"after the silence", who="a third Python client")
    silent.close()


# -- the client -------------------------------------------------------------------

def serve_client(lab, client, server_sock, reply, pieces=3):
    """The Python server's side: accept the client, read until its half-close, send
    reply in pieces (each once the client has read the one before), close. Returns
    what the client sent."""
    conn = accepted(lab, server_sock, client, "the client")
    sent, closed = receive_until_close(conn, ACT, watch=client)
    lab.check(closed, "the client never shut down writing, so the server could not know it "
              "had everything", expected="its text, then the end of its stream",
              got=f"'{quote(sent)}' and then nothing for {ACT:.0f} s",
              hint="after sending, shutdown(sock, SHUT_WR): close() would give up the reading "
                   "half too, and the reply is still to come")
    with lab.wire("the Python server sent its reply piece by piece",
                  hint="the client closed before the reply was complete: one recv() returns "
                       "only what has arrived so far; read until recv() returns 0"):
        send_piece_by_piece(conn, reply, pieces, 1, watch=client)
    conn.close()
    return sent


@pytest.mark.points(8)
def test_client_sends_half_closes_and_prints_the_reply(lab):
    path = os.path.join(shared_directory(lab), "python-server.sock")
    server_sock = listener(lab.host, path)
    for args, text in (((), DEFAULT_TEXT), (("It's a back\\slash",), b"It's a back\\slash")):
        reply = b"A Python server answers: " + text.upper()
        lab.step(f"a Python server at {path} reads until the end of the client's stream, "
                 f"then answers '{quote(reply)}'")
        lab.step("in three pieces, each once the client has read the one before, and closes"
                 + ("" if args else "; the client is given no TEXT"))
        client = lab.run("client", path, *args)
        sent = serve_client(lab, client, server_sock, reply)
        lab.check(sent == text, "the client did not send its TEXT exactly",
                  expected=f"'{quote(text)}'" + (" (the default TEXT)" if not args else ""),
                  got=f"'{quote(sent)}'",
                  hint="send strlen(text) bytes of TEXT, the default 'Hello over a Unix domain "
                       "socket' when none is given")
        client.expect(line("Sent {n} bytes and shut down writing", n=str(len(text))),
                      timeout=ACT)
        client.expect(line("The server echoed '{text}'", text=re.escape(quote(reply))),
                      timeout=ACT,
                      hint="read until recv() returns 0 and print everything, quoted with "
                           "sl_quote(), on one line: the pieces together")
        lab.check(ended(client) == 0, "the client did not exit 0 after the reply")
    server_sock.close()


@pytest.mark.points(3)
def test_client_gives_up_on_a_server_that_says_nothing(lab):
    path = os.path.join(shared_directory(lab), "silent-server.sock")
    server_sock = listener(lab.host, path)
    lab.step(f"a Python server at {path} reads until the end of the client's stream, then "
             f"sends nothing and keeps the connection open; the client runs with -t {WAIT}")
    # Measured from before the start: never shorter than the client's real patience.
    started = time.monotonic()
    client = lab.run("client", path, "-t", WAIT)
    conn = accepted(lab, server_sock, client, "the client")
    receive_until_close(conn, ACT, watch=client)
    code = outcome(client, WAIT + MARGIN)
    took = time.monotonic() - started
    lab.check(code == 1, "the client did not give up on a server that sent nothing",
              expected=f"exit 1 once the server has been silent for {WAIT} s (-t {WAIT})",
              got=exit_text(code, client),
              hint="bound every recv() (set_io_timeout() on the connected socket, as "
                   "connect_to() does): it then fails with EAGAIN, and the client exits 1")
    lab.check(took >= WAIT * 0.9, "the client gave up on a silent server before its -t bound "
              "ran out", expected=f"exit 1 after {WAIT} s (-t {WAIT})", got=f"after {took:.2f} s",
              hint="set_io_timeout(): the -t seconds go in tv_sec, microseconds in tv_usec")
    conn.close()
    server_sock.close()


@pytest.mark.points(5)
def test_client_reports_a_missing_or_refused_path(lab):
    folder = shared_directory(lab)
    missing = os.path.join(folder, "nobody-here.sock")
    stale = os.path.join(folder, "stale.sock")
    stale_socket_file(lab.host, stale)
    absent = f"@socklab-08-absent-{uuid.uuid4().hex[:8]}"
    cases = ((missing, "No such file or directory", "no file at that path"),
             (stale, "Connection refused", "a socket file nobody accepts on"),
             (absent, "Connection refused", "an abstract name nobody holds"))
    for path, reason, what in cases:
        lab.step(f"the client was started on {path}: {what}")
        client = lab.run("client", path)
        code = ended(client)
        lab.check(code == 1 and any(path in l and reason in l for l in client.stderr),
                  f"the client did not report {what} clearly",
                  expected=f"exit 1 and 'unix_echo: connect to {path}: {reason}'",
                  got=f"exit {code}, {stderr_text(client)}",
                  hint="err(1, \"connect to %s\", path) when connect() fails: errno says why")


# -- pair -------------------------------------------------------------------------

def diagnose_pair(lines, kinds, messages, dgram):
    """(problem, hint) for a pair run that did not end well, from what it printed."""
    glued = "".join(messages)
    child_lines = [l for l in lines if l.startswith("Child")]
    if dgram and any(len(c) > len(messages[-1]) for c in kinds["child"]):
        return ("the child received several messages in one read: that is a stream, not "
                "datagrams", "with --dgram, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)")
    if dgram and kinds["child"] == messages and \
            "Child received an empty datagram: the end" not in lines:
        return ("the child got every message and then went on waiting",
                "a datagram socket has no end of stream: closing the parent's end does not "
                "wake the child; the parent sends an empty datagram last, and the child "
                "stops when recv() returns 0")
    if not dgram and "".join(kinds["child"]) == glued and \
            "Child saw the end of the stream" not in lines:
        return ("the child never saw the end of the stream",
                "recv() returns 0 once every descriptor of the other end is closed: the child "
                "must close its copy of the parent's end after fork(); the parent closes its own")
    return ("pair did not end with the child's status 0 (the child printed: "
            + ("; ".join(child_lines)[:100] or "nothing") + ")",
            "fork(); the child echoes every read until the end and exits 0; the parent "
            "reads the answers, closes its end and waitpid()s for the child")


PARENT_SENT = re.compile(r"Parent sent '(.*)'")
CHILD_RECEIVED = re.compile(r"Child received '(.*)'")
PARENT_RECEIVED = re.compile(r"Parent received '(.*)'")


def run_pair(lab, count, *options):
    """`unix_echo pair COUNT [OPTIONS]` to its end: (stdout lines, the lines of each kind,
    the messages quoted). Fails, saying what went wrong, unless it ended with status 0."""
    pair = lab.run("pair", str(count), *options)
    code = outcome(pair, ACT)
    lines = pair.stdout
    kinds = {name: [m[1] for m in map(regex.fullmatch, lines) if m]
             for name, regex in (("sent", PARENT_SENT), ("child", CHILD_RECEIVED),
                                 ("parent", PARENT_RECEIVED))}
    messages = [quote(f"Message {i}".encode()) for i in range(1, count + 1)]
    if code != 0 or not lines or lines[-1] != "Child exited with status 0":
        problem, hint = diagnose_pair(lines, kinds, messages, "--dgram" in options)
        lab.fail(problem, expected="exit 0, the last line 'Child exited with status 0'",
                 got=exit_text(code, pair), hint=hint)
    lab.check(kinds["sent"] == messages and
              all(not l.startswith("Child") for l in lines[:count]),
              "the parent did not send its messages first",
              expected=" then ".join(f"'Parent sent '{m}''" for m in messages[:3]) + " …",
              got="; ".join(lines[:count + 1]),
              hint="send 'Message 1' … 'Message COUNT' on the parent's end before fork()")
    return lines, kinds, messages


@pytest.mark.points(6)
def test_pair_stream_delivers_the_messages_as_one_read(lab):
    lab.step("the program ran `unix_echo pair 4`: four messages queued on a SOCK_STREAM socket "
             "pair before fork(), then read by the child")
    lines, kinds, messages = run_pair(lab, 4)
    glued = "".join(messages)
    lab.check(kinds["child"] == [glued], "the child did not receive the four messages as one "
              "stream of bytes in one read",
              expected=f"'Child received '{glued}'' (a stream keeps no boundaries)",
              got="; ".join(f"'{c}'" for c in kinds["child"]) or "no 'Child received' line",
              hint="SOCK_STREAM with socketpair(); the child recv()s up to 4096 bytes: all "
                   "four messages are waiting when it starts")
    lab.check("".join(kinds["parent"]) == glued, "the parent did not get the child's answer back",
              expected=f"'Parent received '{glued}'' (in one or more reads)",
              got="; ".join(kinds["parent"]) or "nothing",
              hint="the child sends back every read; the parent reads until it has all its "
                   "bytes back")
    end = "Child saw the end of the stream"
    lab.check(end in lines and lines.index(end) > lines.index(f"Child received '{glued}'"),
              "the child did not see the end of the stream", expected=f"'{end}'",
              got="; ".join(l for l in lines if l.startswith("Child")),
              hint="recv() returns 0 on a stream once every descriptor of the other end is "
                   "closed: the parent closes its end, and the child closed its copy after fork()")


@pytest.mark.points(6)
def test_pair_dgram_keeps_each_message_apart(lab):
    lab.step("the program ran `unix_echo pair 5 --dgram`: five datagrams and an empty one "
             "queued on a SOCK_DGRAM socket pair before fork()")
    lines, kinds, messages = run_pair(lab, 5, "--dgram")
    lab.check("Parent sent an empty datagram" in lines[5:6],
              "the parent did not send the empty datagram after its messages",
              expected="'Parent sent an empty datagram' as the sixth line",
              got=f"'{lines[5]}'" if len(lines) > 5 else "fewer lines",
              hint="a datagram socket has no end of stream: send(sock, \"\", 0, 0) marks the end")
    lab.check(kinds["child"] == messages, "the child did not receive one message per read",
              expected="; ".join(f"'{m}'" for m in messages),
              got="; ".join(f"'{c}'" for c in kinds["child"]) or "no 'Child received' line",
              hint="socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) with --dgram: each recv() returns "
                   "one datagram")
    end = "Child received an empty datagram: the end"
    lab.check(end in lines, "the child did not recognise the empty datagram as the end",
              expected=f"'{end}' after the five messages",
              got="; ".join(l for l in lines if l.startswith("Child")),
              hint="on a datagram socket recv() returns 0 for an empty datagram; closing the "
                   "other end does not wake it")
    lab.check(kinds["parent"] == messages, "the parent did not get back one datagram per "
              "message", expected="; ".join(f"'{m}'" for m in messages),
              got="; ".join(f"'{c}'" for c in kinds["parent"]) or "nothing",
              hint="the parent reads COUNT datagrams, one answer each")


# -- part 2: passing descriptors --------------------------------------------------

@pytest.mark.points(6)
def test_send_fd_passes_an_open_descriptor_of_the_file(lab):
    folder = shared_directory(lab)
    path = os.path.join(folder, "fd-server.sock")
    server_sock = listener(lab.host, path)
    file = os.path.join(lab.workdir, "notes.txt")
    content = b"Remember the milk\n"
    with open(file, "wb") as notes:
        notes.write(content)
    os.chmod(file, 0o644)
    answer = b"I read: " + content
    lab.step(f"a Python server at {path} takes one message with its descriptors")
    client = lab.run("send-fd", path, file)
    conn = accepted(lab, server_sock, client, "send-fd")
    data, fds = receive_with_descriptors(conn, len(file), ACT, watch=client)
    try:
        lab.check(data == file.encode(), "the message's bytes were not FILE's name",
                  expected=f"'{quote(file.encode())}'", got=f"'{quote(data)}'",
                  hint="send FILE's name as the data the descriptor travels with")
        lab.check(len(fds) == 1, "the message did not bring exactly one descriptor",
                  expected="one descriptor (SCM_RIGHTS)", got=f"{len(fds)} descriptors",
                  hint="sendmsg() with one control message: SOL_SOCKET, SCM_RIGHTS, "
                       "CMSG_LEN(sizeof(int)), the descriptor at CMSG_DATA")
        mine, theirs = os.stat(file), os.fstat(fds[0])
        lab.check((theirs.st_dev, theirs.st_ino) == (mine.st_dev, mine.st_ino),
                  "the descriptor received is not an open file of FILE",
                  expected=f"a descriptor of {file}",
                  got="a socket" if stat.S_ISSOCK(theirs.st_mode) else "another file",
                  hint="pass the descriptor open() returned for FILE")
        mode = fcntl.fcntl(fds[0], fcntl.F_GETFL) & os.O_ACCMODE
        lab.check(mode == os.O_RDONLY, "FILE was not opened for reading only",
                  expected="O_RDONLY", got="O_WRONLY" if mode == os.O_WRONLY else "O_RDWR")
        lab.check(os.pread(fds[0], 4096, 0) == content, "the file behind the descriptor reads "
                  "differently")
    finally:
        for fd in fds:
            os.close(fd)
    sent_rest, closed = receive_until_close(conn, ACT, watch=client)
    lab.check(closed and not sent_rest, "send-fd did not shut down writing after its message",
              expected="the end of its stream after FILE's name",
              got=f"'{quote(sent_rest)}'" if sent_rest else f"nothing for {ACT:.0f} s",
              hint="shutdown(sock, SHUT_WR) after sendmsg(), then read the server's answer")
    with lab.wire("the Python server sent its answer"):
        conn.sendall(answer)
    conn.close()
    client.expect(line("The server read '{text}'", text=re.escape(quote(answer))), timeout=ACT,
                  hint="read until the server closes and print it, quoted, on one line")
    lab.check(ended(client) == 0, "send-fd did not exit 0 after the answer")
    server_sock.close()


@pytest.mark.points(8)
def test_server_reads_through_a_passed_descriptor(lab):
    server, path = start_server(lab)
    secret = os.path.join(shared_directory(lab), "secret.txt")
    content = b"0123456789The rest is only for the descriptor\n"
    with open(secret, "wb") as out:
        out.write(content)
    os.chmod(secret, 0o600)
    fd = os.open(secret, os.O_RDONLY)
    try:
        skipped = os.read(fd, 10)
        os.unlink(secret)
        lab.step(f"a Python client opened {secret} (mode 0600) and read its first 10 bytes "
                 f"('{quote(skipped)}')")
        lab.step("it deleted the file, passed the open descriptor to the server with the "
                 "bytes 'secret.txt', and shut down writing")
        with lab.wire("the Python client passed the descriptor"):
            sock = connect(lab.host, path)
            socket.send_fds(sock, [b"secret.txt"], [fd])
            sock.shutdown(socket.SHUT_WR)
        reply, closed = receive_until_close(sock, 5, watch=server)
        sock.close()
    finally:
        os.close(fd)
    rest = content[10:]
    hint = "take the descriptor from the SCM_RIGHTS control message recvmsg() filled in, " \
           "and read() through it: the file has no name any more, and its offset is shared"
    if reply == content:
        hint = "the server read from the start: use read() on the descriptor, which goes on " \
               "from the sender's offset (pread() at 0 or a fresh open() do not)"
    elif reply == b"secret.txt":
        hint = "a message that brings a descriptor is answered with what the descriptor reads, " \
               "not with an echo of its bytes"
    lab.check(reply == rest and closed, "the server did not send back what it read through the "
              "descriptor", expected=f"'{quote(rest)}' (from byte 10 on), then the close",
              got=f"'{quote(reply)}'" + ("" if closed else ", and the connection stayed open"),
              hint=hint)
    server.expect(line("  Received descriptor {fd} with 'secret.txt'", fd=r"\d+"), timeout=ACT,
                  hint="print the descriptor number recvmsg() gave you and the message's bytes")
    server.expect(line("  Read {n} bytes through it and sent them back", n=str(len(rest))),
                  timeout=ACT)
    converse(lab, server, path, b"and an ordinary echo after it", who="the next Python client")
