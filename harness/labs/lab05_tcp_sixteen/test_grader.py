"""Lab 05 tcp_sixteen: a TCP server and client that trade exactly sixteen octets,
each graded against an independent Python peer. TCP is a stream: the grader's
peers split messages into one-byte segments and hang up early, so only a
recvall() loop gets full marks; the life cycle (handshake, who closes first,
TIME_WAIT, refused and unanswered connections) is checked on the wire."""
import re
import socket
import time

import pytest

from harness.grading.contract import ADDRESS, address, line, quote
from harness.network.capture import Capture, tcp_segments
from harness.network.wire import Impairment
from harness.grading.diagnoses import byte_order_hint, byte_swapped_port
from harness.programs.process import ProgramFailure
from harness.peers.tcp import (accept, connect, dribble, listener, receive_exactly,
                               receive_until_close, reset)
from harness.timeouts import scaled

LOOPBACK = "127.0.0.1"
GREETING = b"Hi there, server"
FAREWELL = b"Farewell, client"
LISTENING = line("Listening at {addr}", addr=ADDRESS)
# The programs' own bound for a silent peer or address (documented in the handout).
PROGRAM_TIMEOUT = 5.0
# The shorter bound the give-up tests set with `-t WAIT`, so they need not sit out
# the default: the program must keep waiting that long (measured, never scaled;
# a tenth off for clock granularity) and give up within it plus a scaled MARGIN.
WAIT = 1
MARGIN = 1.0
# A pause in the middle of a message, shorter than the default bound: it is not an end.
STALL = 1.0
SHORT_CLOSE = "was expecting 16 bytes but only received {k} bytes before the socket closed"


def start_server(lab, host_arg=LOOPBACK, port=0, host=None, options=()):
    """`tcp_sixteen server HOST -p PORT [OPTIONS]`, once it says where it listens:
    (program, port)."""
    server = lab.run("server", host_arg, "-p", port, *options, host=host)
    match = server.expect(LISTENING, hint="the server's first line must be 'Listening at "
                          "IP:PORT' with the address getsockname() returns after bind()")
    printed = int(match["port"])
    real = byte_swapped_port(server.pid, printed)
    if real is not None:
        lab.fail(f"the server printed port {printed}, but it listens on port {real}",
                 hint=byte_order_hint(real, printed))
    return server, printed


def gave_up_too_soon(server, answered):
    """A hint when the server's stderr says it stopped waiting for a client (its
    receive timeout ran out), else None: a timeout far below 5 s looks like a
    client that was served wrongly, so say what really happened. None at once when
    the client was answered: the hint is built before lab.check() knows it is not
    needed, and the moment spent waiting for the line is for failures only."""
    if answered:
        return None
    try:
        said = server.expect(r".*(nothing for|temporarily unavailable|timed out).*",
                             timeout=0.5, stream="stderr")[0]
    except ProgramFailure:
        return None
    return (f"the server gave up waiting for the client ({said.strip()[:120]}) although the "
            "client was still sending: its receive timeout is far shorter than 5 s (SO_RCVTIMEO "
            "takes a struct timeval: whole seconds in tv_sec, microseconds in tv_usec)")


def expect_served(lab, server, peer, port, local=LOOPBACK):
    """The server's lines for one connection from the Python client at peer (ip, port)."""
    me = re.escape(address(*peer))
    server.expect(line("Waiting to accept a new connection"))
    server.expect(line("We have accepted a connection from {addr}", addr=me),
                  hint="print the address accept() filled in")
    server.expect(line("  Socket name: {addr}", addr=re.escape(address(local, port))),
                  hint="getsockname() on the connected socket (the one accept() returned)")
    server.expect(line("  Socket peer: {addr}", addr=me),
                  hint="getpeername() on the connected socket")
    server.expect(line("  Incoming sixteen-octet message: '{text}'",
                       text=re.escape(quote(GREETING))),
                  hint="read exactly 16 bytes with a recvall() loop, then print them quoted")
    server.expect(line("  Reply sent, socket closed"))


def converse(lab, server, port, dribble_pause=None, address_to=LOOPBACK, host=None):
    """One Python client: greeting there (maybe one byte at a time), farewell and a close
    back. Returns the client's address (ip, port)."""
    how = f"one byte per segment, {dribble_pause * 1000:.0f} ms apart" if dribble_pause else \
        "in one send()"
    with lab.wire(f"a Python client connected to {address_to}:{port} and sent "
              f"'{quote(GREETING)}' {how}", hint="the server must read all 16 bytes (a recv() "
              "may return just one: loop) before it answers and closes"):
        peer = connect(host or lab.host, address_to, port)
        name = peer.getsockname()
        lab.step(f"a Python client at {address(*name)} connected to {address_to}:{port} and "
                 f"sent '{quote(GREETING)}' {how}")
        if not dribble_pause:
            peer.sendall(GREETING)
    if dribble_pause:
        try:
            dribble(peer, GREETING, dribble_pause)
        except OSError:
            pass  # the server hung up early: the check below says why
    reply, closed = receive_until_close(peer, 3, watch=server)
    answered = reply == FAREWELL and closed
    lab.check(answered, "the server's answer was not 'Farewell, client' "
              "followed by its close", expected=f"'{quote(FAREWELL)}', then end of stream",
              got=f"'{quote(reply)}'" + ("" if closed else ", and the connection stayed open"),
              hint=gave_up_too_soon(server, answered) or
              ("the farewell came but the connection stayed open: close() the connected "
               "socket right after the reply" if reply == FAREWELL else
               "the server answered nothing: it must read all 16 bytes (a recv() may return "
               "just one: loop) before it answers and closes" if not reply else
               "after reading all 16 bytes, send the 16-byte farewell with a sendall() "
               "loop and close() the connected socket"))
    peer.close()
    return name


# -- the server -------------------------------------------------------------

@pytest.mark.points(10)
def test_server_answers_a_python_client(lab):
    server, port = start_server(lab)
    peer = converse(lab, server, port)
    expect_served(lab, server, peer, port)


@pytest.mark.points(5)
def test_server_reads_a_dribbled_message(lab):
    server, port = start_server(lab)
    peer = converse(lab, server, port, dribble_pause=0.02)
    expect_served(lab, server, peer, port)


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_prints_the_real_names_and_peers(lab):
    host, other = lab.net.host("server"), lab.net.host("client")
    link = lab.net.link(host, other, "10.0.5.0/24")
    server, port = start_server(lab, "0.0.0.0", host=host)
    peer = converse(lab, server, port, address_to=link.a_address, host=other)
    lab.step("the server listens on 0.0.0.0, the client is on another host: the connected "
             f"socket's name is {link.a_address}:{port}, its peer {address(*peer)}")
    expect_served(lab, server, peer, port, local=link.a_address)


@pytest.mark.points(5)
def test_server_reports_an_early_close_and_goes_on(lab):
    server, port = start_server(lab)
    lab.step(f"a Python client sent '{quote(GREETING[:7])}' (7 bytes) and closed")
    with lab.wire("a Python client sent 7 bytes"):
        quitter = connect(lab.host, LOOPBACK, port)
        quitter.sendall(GREETING[:7])
        quitter.close()
    server.expect(".*" + re.escape(SHORT_CLOSE.format(k=7)), stream="stderr",
                  hint="when recv() returns 0 before 16 bytes arrived, report how many did "
                       "with warnx() and go back to accept()")
    converse(lab, server, port)


@pytest.mark.points(5)
def test_server_serves_three_clients_in_a_row(lab):
    server, port = start_server(lab)
    for _ in range(3):
        peer = converse(lab, server, port)
        expect_served(lab, server, peer, port)


@pytest.mark.points(5)
@pytest.mark.time_limit(30)
def test_server_survives_a_reset_and_a_silent_client(lab):
    server, port = start_server(lab, options=("-t", WAIT))
    lab.step(f"the server runs with -t {WAIT}; a Python client sent 3 bytes and reset the "
             "connection (SO_LINGER 0); another connected and sent nothing; a third sent the "
             "greeting and waited for an answer; the server must report the first two on "
             "stderr")
    with lab.wire("the three Python clients connected", hint="a reset client must not stop "
              "the server: report the error and go back to accept()"):
        rude = connect(lab.host, LOOPBACK, port)
        rude.sendall(GREETING[:3])
        reset(rude)
        silent = connect(lab.host, LOOPBACK, port)
        # Before the server accepts it, so what is measured is never shorter than
        # the server's real patience.
        silent_since = time.monotonic()
        silent_name = silent.getsockname()
        patient = connect(lab.host, LOOPBACK, port, timeout=(WAIT + MARGIN) * 3)
        patient.sendall(GREETING)
    _, dropped = receive_until_close(silent, WAIT + MARGIN, watch=server)
    patience = time.monotonic() - silent_since
    reply, closed = receive_until_close(patient, MARGIN, watch=server)
    silent.close()
    lab.check(reply == FAREWELL and closed,
              "a client that never sends kept the server from serving the next one",
              expected=f"'{quote(FAREWELL)}' within about {WAIT} s (-t {WAIT})",
              got=f"'{quote(reply)}'" if reply else "nothing",
              hint="set SO_RCVTIMEO on each connected socket (-t seconds, 5 by default), and "
                   "on EAGAIN report the silent client and go back to accept()")
    lab.check(dropped and patience >= WAIT * 0.9,
              "the server gave up on a silent client before its -t bound ran out",
              expected=f"the silent client's connection closed after about {WAIT} s (-t {WAIT})",
              got=f"closed after {patience:.2f} s",
              hint="SO_RCVTIMEO takes a struct timeval: the -t seconds go in tv_sec, "
                   "microseconds in tv_usec")
    quiet = address(*silent_name)
    try:
        server.expect(f"(?i).*({re.escape(quiet)}|nothing|timed? ?out|temporarily unavailable|"
                      "silent|seconds).*", stream="stderr", timeout=1)
    except ProgramFailure:
        lab.fail(f"the server did not report the client at {quiet} that sent nothing",
                 expected="a line on stderr about it (its address, or that it timed out)",
                 got=" | ".join(server.stderr[-3:]) or "nothing",
                 hint="when recv() fails with EAGAIN (the -t bound ran out), say so on stderr with "
                      "the client's address, e.g. warnx(\"recv from %s: nothing for 5 "
                      "seconds\", ...), then go back to accept()")


@pytest.mark.points(5)
def test_server_restarts_on_the_same_port_right_away(lab):
    server, port = start_server(lab)
    converse(lab, server, port)
    server.expect(line("  Reply sent, socket closed"))
    server.kill()
    lab.step(f"the server was stopped; its side of that connection is in TIME_WAIT, and "
             f"a new server started at once on port {port}")
    again = lab.run("server", LOOPBACK, "-p", port)
    again.expect(line("Listening at {addr}", addr=re.escape(address(LOOPBACK, port))),
                 hint="set SO_REUSEADDR on the listening socket before bind(), or bind() "
                      "fails with 'Address already in use' while TIME_WAIT lasts")
    converse(lab, again, port)


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_closes_after_its_reply_on_the_wire(lab):
    server, port = start_server(lab)
    with Capture([lab.host]) as capture:
        lab.step("a packet capture on the loopback watched a Python client send the greeting "
                 "and read until the server closed; the client did not close first")
        with lab.wire("a Python client sent the greeting"):
            peer = connect(lab.host, LOOPBACK, port)
            me = peer.getsockname()
            peer.sendall(GREETING)
        # Long enough for a server that waits for the client first to give up (its
        # own 5 s timeout) and close anyway: the kernel's timestamps then tell the
        # two apart, not how fast this machine happens to be.
        receive_until_close(peer, PROGRAM_TIMEOUT * 2, watch=server)
        fin = capture.wait_for_segment(lambda s: "FIN" in s.flags, scaled(2), port=port)
        peer.close()
        segments = tcp_segments(capture.stop(), port)
    shown = "; ".join(map(str, segments[:12])) or "nothing"
    from_client = [s for s in segments if s.source() == me]
    from_server = [s for s in segments if s.source() != me]
    handshake = (len(from_client) >= 2 and from_client[0].flags == {"SYN"} and
                 from_server and from_server[0].flags == {"SYN", "ACK"} and
                 from_client[1].flags == {"ACK"})
    lab.check(handshake, "the capture does not start with the three-way handshake",
              expected="SYN from the client, SYN+ACK from the server, ACK from the client",
              got=shown)
    data = [s for s in from_server if s.length > 0]
    lab.check(sum(s.length for s in data) == 16, "the server did not send 16 bytes of data",
              got=shown)
    lab.check(fin is not None and fin.source() != me,
              "the server did not close first after its reply",
              expected="a FIN from the server right after its 16 bytes, before the client's",
              got=shown, hint="close() the connected socket as soon as the reply is sent")
    gap = fin.time - data[-1].time
    lab.check(gap < PROGRAM_TIMEOUT / 2, "the server closed only when it gave up waiting for "
              "the client, not right after its reply",
              expected="the server's FIN right after its 16 bytes",
              got=f"the FIN {gap:.1f} s after the reply, while the client sent nothing",
              hint="close() the connected socket as soon as the reply is sent; do not wait "
                   "for the client to hang up first")


@pytest.mark.points(5)
def test_server_waits_out_a_greeting_that_stalls(lab):
    # The default bound (no -t): a pause well under 5 s but far beyond any wrong unit
    # shows the default is seconds, without sitting it out.
    server, port = start_server(lab)
    pause = STALL
    with lab.wire("a Python client sent the greeting in two parts"):
        peer = connect(lab.host, LOOPBACK, port, nodelay=True)
        name = peer.getsockname()
        lab.step(f"a Python client at {address(*name)} sent '{quote(GREETING[:7])}', paused "
                 f"{pause:.1f} s (less than the server's default 5 s bound), then sent "
                 f"'{quote(GREETING[7:])}'")
        peer.sendall(GREETING[:7])
        time.sleep(pause)  # the stall under test, not synchronisation
        peer.sendall(GREETING[7:])
    reply, closed = receive_until_close(peer, 3, watch=server)
    peer.close()
    answered = reply == FAREWELL and closed
    lab.check(answered, "the server did not answer a client that paused "
              "in the middle of its greeting", expected=f"'{quote(FAREWELL)}', then end of "
              "stream", got=f"'{quote(reply)}'" + ("" if closed else ", no close"),
              hint=gave_up_too_soon(server, answered) or "keep reading (recvall) until all 16 bytes are "
              "there; a pause shorter than the 5 s bound is not the end of the message")
    expect_served(lab, server, name, port)


# A long, jittery path that loses, duplicates and reorders a few segments: TCP
# repairs all of it, so the program only has to wait long enough, and loop.
SLOW_LOSSY = Impairment(delay=0.08, jitter=0.03, loss=0.02, duplicate=0.02, reorder=0.05,
                        seed=5)


def slow_lossy_link(lab, first, second):
    """Two hosts joined by SLOW_LOSSY; the link (its seed goes into the story)."""
    a, b = lab.net.host(first), lab.net.host(second)
    link = lab.net.link(a, b, "10.0.5.0/24", impairment=SLOW_LOSSY)
    lab.step(f"the {first} and the {second} are on a link with {SLOW_LOSSY.describe()}")
    return a, b, link


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_answers_across_a_slow_lossy_link(lab):
    host, other, link = slow_lossy_link(lab, "server", "client")
    server, port = start_server(lab, link.a_address, host=host)
    with lab.wire(f"a Python client connected to {link.a_address}:{port} across the link"):
        peer = connect(other, link.a_address, port, timeout=PROGRAM_TIMEOUT)
        name = peer.getsockname()
        lab.step(f"a Python client at {address(*name)} sent '{quote(GREETING)}' one byte per "
                 "segment, 20 ms apart")
        dribble(peer, GREETING, 0.02)
    reply, closed = receive_until_close(peer, PROGRAM_TIMEOUT, watch=server)
    peer.close()
    answered = reply == FAREWELL and closed
    lab.check(answered, "the server did not answer across a slow link",
              expected=f"'{quote(FAREWELL)}', then end of stream",
              got=f"'{quote(reply)}'" + ("" if closed else ", no close"),
              hint=gave_up_too_soon(server, answered) or "bytes arrive late and in pieces here: loop "
              "until all 16 are in, and bound the wait by seconds, not milliseconds")
    expect_served(lab, server, name, port, local=link.a_address)


# -- the client ---------------------------------------------------------------

def start_client(lab, *args):
    """A Python server socket, and `tcp_sixteen client 127.0.0.1 -p PORT` pointed at it."""
    sock = listener(lab.host)
    port = sock.getsockname()[1]
    lab.step(f"a Python server listens at {LOOPBACK}:{port}")
    return sock, lab.run("client", LOOPBACK, "-p", port, *args)


def accept_greeting(lab, sock, client):
    """Accept the client's connection and read its 16 bytes: (conn, client address)."""
    conn, peer = accept_connection(lab, sock, client)
    read_greeting(lab, conn, peer, client)
    return conn, peer


def accept_connection(lab, sock, client):
    """Accept the client's connection: (conn, client address)."""
    got = accept(sock, 3, watch=client)
    if got is None:
        client.expect("Client has been assigned socket name .*", timeout=0.2)
        lab.fail("the Python server saw no connection from the client within 3 s",
                 hint="connect() to HOST and the port given with -p")
    conn, peer = got
    conn.settimeout(scaled(3))
    return conn, peer


def read_greeting(lab, conn, peer, client):
    """Read the client's 16 bytes, and wait a moment for a 17th that must not come."""
    data = receive_exactly(conn, 17, 0.5, watch=client)
    lab.step(f"the Python server accepted {address(*peer)} and received '{quote(data)}'")
    lab.check(data == GREETING, "the client did not send exactly 'Hi there, server'",
              expected=f"'{quote(GREETING)}' (16 bytes, nothing more)", got=f"'{quote(data)}'",
              hint="send the 16 bytes with a sendall() loop; no NUL, no newline")


def expect_farewell(lab, client):
    client.expect(line("The server said '{text}'", text=re.escape(quote(FAREWELL))),
                  hint="read exactly 16 bytes with a recvall() loop, then print them quoted")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after the farewell", got=f"exit {code}")


@pytest.mark.points(5)
def test_client_talks_to_a_python_server(lab):
    sock, client = start_client(lab)
    conn, peer = accept_greeting(lab, sock, client)
    client.expect(line("Client has been assigned socket name {addr}",
                       addr=re.escape(address(*peer))),
                  hint="getsockname() after connect(): the port the OS chose for the client")
    with lab.wire("the Python server sent the farewell"):
        conn.sendall(FAREWELL)
        conn.close()
    expect_farewell(lab, client)


@pytest.mark.points(5)
def test_client_reads_a_dribbled_reply(lab):
    sock, client = start_client(lab)
    conn, _ = accept_greeting(lab, sock, client)
    lab.step(f"the Python server sent '{quote(FAREWELL)}' one byte per segment, 20 ms apart")
    try:
        dribble(conn, FAREWELL, 0.02)
    except OSError:
        pass  # the client hung up early: what it printed tells the story
    expect_farewell(lab, client)
    conn.close()


@pytest.mark.points(5)
def test_client_reports_an_early_close(lab):
    sock, client = start_client(lab)
    conn, _ = accept_greeting(lab, sock, client)
    lab.step(f"the Python server sent '{quote(FAREWELL[:7])}' (7 bytes) and closed")
    with lab.wire("the Python server sent 7 bytes"):
        conn.sendall(FAREWELL[:7])
        conn.close()
    client.expect(".*" + re.escape(SHORT_CLOSE.format(k=7)), stream="stderr",
                  hint="when recv() returns 0 before 16 bytes arrived, report how many did")
    code = client.expect_exit(2)
    lab.check(code == 1, "the client did not exit 1 after a short reply", got=f"exit {code}")


@pytest.mark.points(5)
def test_client_reports_connection_refused_at_once(lab):
    sock = listener(lab.host)
    port = sock.getsockname()[1]
    sock.close()
    lab.step(f"nothing listens at {LOOPBACK}:{port}")
    started = time.monotonic()
    client = lab.run("client", LOOPBACK, "-p", port)
    code = client.expect_exit(2)
    took = time.monotonic() - started
    lab.check(code == 1 and any("Connection refused" in l for l in client.stderr),
              "a refused connection was not reported", expected="exit 1, 'Connection refused' "
              "on stderr", got=f"exit {code}, stderr {client.stderr[-1:] or 'empty'}",
              hint="err(1, ...) when connect() fails: it adds strerror(errno)")
    lab.check(took < scaled(3), "the client was slow to give up on a refused connection",
              expected="at once (an RST comes back straight away)", got=f"{took:.1f} s")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(30)
def test_client_gives_up_on_a_silent_address(lab):
    host, other = lab.net.host("client"), lab.net.host("nobody")
    lab.net.link(host, other, "10.0.5.0/24")
    # A neighbour entry that no interface owns: SYNs leave and vanish, no ARP
    # failure or ICMP comes back, exactly like a host that drops everything.
    host.ip("neigh add 10.0.5.99 lladdr 02:00:00:00:05:99 dev to-nobody nud permanent")
    lab.step("10.0.5.99 is on the client's subnet, but its SYNs are silently dropped; the "
             f"client runs with -t {WAIT}")
    started = time.monotonic()
    client = lab.run("client", "10.0.5.99", "-p", 1060, "-t", WAIT, host=host)
    code = client.wait(WAIT + MARGIN)
    took = time.monotonic() - started
    lab.check(code is not None, "the client kept waiting for an address that never answers",
              expected=f"give up after about {WAIT} s (-t {WAIT}), exit 1",
              got=f"still waiting after {took:.1f} s",
              hint="connect() without a bound waits for the kernel's SYN retries (minutes): "
                   "use a non-blocking connect() and poll() for POLLOUT for at most the -t "
                   "seconds (in milliseconds: poll() counts those)")
    lab.check(code == 1 and took >= WAIT * 0.9,
              "the client did not give up cleanly on an address that never answers",
              expected=f"exit 1 after about {WAIT} s (-t {WAIT})",
              got=f"exit {code} after {took:.2f} s, stderr {client.stderr[-1:] or 'empty'}",
              hint="poll() counts milliseconds: -t 1 is 1000 of them" if code == 1 else None)


@pytest.mark.points(5)
@pytest.mark.time_limit(40)
def test_client_gives_up_on_a_silent_server(lab):
    sock, client = start_client(lab, "-t", WAIT)
    conn, peer = accept_connection(lab, sock, client)
    # The client's patience starts when it has sent its greeting, at about the time
    # of the accept; read_greeting then waits a (scaled) moment for a 17th byte,
    # which must not be taken from the patience measured.
    started = time.monotonic()
    read_greeting(lab, conn, peer, client)
    lab.step(f"the client runs with -t {WAIT}; the Python server read the greeting and then "
             "said nothing, keeping the connection open")
    code = client.wait(WAIT + MARGIN)
    took = time.monotonic() - started
    conn.close()
    lab.check(code is not None, "the client waited forever for a server that accepted and "
              "then said nothing", expected=f"give up after about {WAIT} s (-t {WAIT}), "
              "exit 1", got=f"still waiting after {took:.1f} s",
              hint="a recv() on a blocking socket waits forever: set SO_RCVTIMEO (the -t "
                   "seconds) on the client's socket too, and report the EAGAIN it then returns")
    lab.check(code == 1 and client.stderr, "the client did not report the silent server",
              expected="an error on stderr, exit 1",
              got=f"exit {code}, stderr {client.stderr[-1:] or 'empty'}",
              hint="when recv() fails with EAGAIN, say the server sent nothing for that many "
                   "seconds (errx) and exit 1")
    lab.check(took >= WAIT * 0.9, "the client gave up on the server too soon",
              expected=f"{WAIT} s of patience (-t {WAIT})", got=f"{took:.2f} s",
              hint="SO_RCVTIMEO takes a struct timeval: whole seconds in tv_sec, microseconds "
                   "in tv_usec")


@pytest.mark.points(5)
def test_client_waits_out_a_reply_that_stalls(lab):
    # The default bound (no -t), as for the server's stalled greeting.
    sock, client = start_client(lab)
    conn, _ = accept_greeting(lab, sock, client)
    pause = STALL
    lab.step(f"the Python server sent '{quote(FAREWELL[:7])}', paused {pause:.1f} s (less "
             f"than the client's default 5 s bound), then sent '{quote(FAREWELL[7:])}' and "
             "closed")
    with lab.wire("the Python server sent its reply in two parts"):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(FAREWELL[:7])
        time.sleep(pause)  # the stall under test, not synchronisation
        try:
            conn.sendall(FAREWELL[7:])
        except OSError:
            pass  # the client hung up early: what it printed tells the story
        conn.close()
    client.expect(line("The server said '{text}'", text=re.escape(quote(FAREWELL))),
                  timeout=3, hint="keep reading until all 16 bytes are there: a pause shorter "
                  "than 5 s is not the end of the reply (SO_RCVTIMEO takes a struct timeval: "
                  "whole seconds in tv_sec)")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after the farewell", got=f"exit {code}")


@pytest.mark.points(5)
def test_client_reads_exactly_sixteen_bytes(lab):
    sock, client = start_client(lab)
    conn, _ = accept_greeting(lab, sock, client)
    lab.step(f"the Python server answered twice, '{quote(FAREWELL * 2)}' in one send(), and "
             "kept the connection open")
    with lab.wire("the Python server sent its answer twice"):
        conn.sendall(FAREWELL * 2)
    code = client.wait(3)
    conn.close()
    said = [text for text in client.stdout if text.startswith("The server said")]
    lab.check(said == [f"The server said '{quote(FAREWELL)}'"],
              "the client did not print exactly the first 16 bytes of the answer",
              expected=f"The server said '{quote(FAREWELL)}'",
              got=said[-1] if said else "no 'The server said' line within 3 s",
              hint="the protocol's message is 16 bytes: recvall() exactly 16, whatever else "
                   "the server sends, and do not wait for the server to close"
              if said else "read exactly 16 bytes; waiting for the server to close first "
                           "hangs when it keeps the connection open")
    lab.check(code == 0, "the client did not exit 0 once it had its 16 bytes",
              got="still running after 3 s" if code is None else f"exit {code}")


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_talks_across_a_slow_lossy_link(lab):
    host, other, link = slow_lossy_link(lab, "server", "client")
    sock = listener(host, link.a_address)
    port = sock.getsockname()[1]
    lab.step(f"a Python server listens at {link.a_address}:{port}")
    client = lab.run("client", link.a_address, "-p", port, host=other)
    got = accept(sock, PROGRAM_TIMEOUT, watch=client)
    if got is None:
        lab.fail("the client's connection never reached the Python server across a slow link",
                 got=client.stderr[-1] if client.stderr else None,
                 hint="the handshake takes a round trip of 160 ms or more here: a connect() "
                      "bound counted in milliseconds must be 5000, not 5")
    conn = got[0]
    data = receive_exactly(conn, 16, PROGRAM_TIMEOUT, watch=client)
    lab.check(data == GREETING, "the Python server did not receive the greeting across the "
              "link", expected=f"'{quote(GREETING)}'", got=f"'{quote(data)}'")
    lab.step(f"the Python server sent '{quote(FAREWELL)}' one byte per segment, 20 ms apart, "
             "and closed")
    with lab.wire("the Python server sent the farewell"):
        try:
            dribble(conn, FAREWELL, 0.02)
        except OSError:
            pass  # the client hung up early: what it printed tells the story
        conn.close()
    client.expect(line("The server said '{text}'", text=re.escape(quote(FAREWELL))),
                  timeout=PROGRAM_TIMEOUT,
                  hint="bytes arrive late and in pieces here: loop until all 16 are in, with "
                       "a bound in seconds")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after the farewell", got=f"exit {code}")
