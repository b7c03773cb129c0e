"""Lab 06 tcp_deadlock: an upper-casing TCP echo server, and a client that
deadlocks when it sends everything before reading (`--mode naive`) but not when
it interleaves both with poll() (`--mode poll`). Each side is graded against a
fast, byte-checking Python peer; the deadlock itself is demonstrated by watching
both sides stop making progress."""
import re
import socket
import threading
import time

import pytest

from harness.grading.contract import ADDRESS, address, line, quote
from harness.labs.lab06_tcp_deadlock.peers import (CHUNK, EchoServer, Pattern, StreamClient,
                                        socket_queues, upper, wait_for_stall)
from harness.network.wire import Impairment
from harness.peers.tcp import accept, connect, listener, receive_until_close, reset
from harness.programs.process import ProgramFailure, describe_exit
from harness.timeouts import scaled

LOOPBACK = "127.0.0.1"
LISTENING = line("Listening at {addr}", addr=ADDRESS)
MIB = 1 << 20
# The naive client's output ends with these; a deadlocked one never gets there.
RECEIVED = "  {n} bytes received"
_peers = []  # the Python peers a test started, stopped when it ends however it ends


@pytest.fixture(autouse=True)
def stop_peers():
    yield
    while _peers:
        _peers.pop().stop()


def started(peer):
    """Register a Python peer for stopping at the end of the test, and return it."""
    _peers.append(peer)
    return peer


def start_server(lab):
    """`tcp_deadlock server 127.0.0.1 -p 0`, once it says where it listens: (program, port)."""
    server = lab.run("server", LOOPBACK, "-p", "0")
    match = server.expect(LISTENING, hint="the server's first line must be 'Listening at "
                          "IP:PORT' with the address getsockname() returns after bind()")
    return server, int(match["port"])


# -- the server -------------------------------------------------------------

def expect_running(lab, server):
    """Fail with the server's own story if it has exited: it must serve forever."""
    code = server.poll()
    if code is not None:
        lab.fail(f"the server {describe_exit(code)} while serving a client",
                 got=server.stderr[-1] if server.stderr else None,
                 hint="the server serves one client after another and never exits by itself")


def echo_of(lab, server, port, payload, what):
    """Send payload from a Python client, half-close, and read everything back."""
    lab.step(f"a Python client sent {what} ({len(payload)} bytes), shut down its sending "
             "side and read until the server closed")
    with lab.wire(f"a Python client sent {what}", hint="read until recv() returns 0, "
              "echoing everything; only then close"):
        peer = connect(lab.host, LOOPBACK, port, timeout=3)
        me = peer.getsockname()
        peer.sendall(payload)
        peer.shutdown(socket.SHUT_WR)
    echo, closed = receive_until_close(peer, 5, watch=server, limit=len(payload) + 1)
    peer.close()
    expect_running(lab, server)
    server.expect(line("Processing up to 1024 bytes at a time from {addr}",
                       addr=re.escape(address(*me))),
                  hint="print the client's address from accept() before echoing")
    return echo, closed


@pytest.mark.points(10)
def test_server_upper_cases_every_byte_value(lab):
    server, port = start_server(lab)
    payload = bytes(range(256)) * 64 + CHUNK * 64
    echo, closed = echo_of(lab, server, port, payload, "every byte value 0..255, 64 times, "
                           "then 'capitalize this!' 64 times")
    want = upper(payload)
    if echo != want:
        bad = next((i for i in range(min(len(echo), len(want))) if echo[i] != want[i]),
                   min(len(echo), len(want)))
        lab.fail("the echo is not the data upper-cased", expected=f"{len(want)} bytes; byte "
                 f"{bad} '{quote(want[bad:bad + 1])}'",
                 got=f"{len(echo)} bytes; byte {bad} '{quote(echo[bad:bad + 1])}'"
                 if bad < len(echo) else f"only {len(echo)} bytes",
                 hint="change only 'a'..'z' (subtract 32); leave every other byte, including "
                      "0x80..0xff and NUL, as it is, and send back exactly what recv() returned")
    lab.check(closed, "the server did not close after the client finished",
              hint="recv() returns 0 once the client has shut down its side: then close()")
    server.expect(line("  Socket closed"))


@pytest.mark.points(5)
def test_server_survives_a_client_that_resets_midstream(lab):
    server, port = start_server(lab)
    with lab.wire("a Python client connected"):
        rude = connect(lab.host, LOOPBACK, port, timeout=3)
    rude.setblocking(False)
    sent = 0
    try:
        while sent < 8 * MIB:
            sent += rude.send(CHUNK * 4096)
    except BlockingIOError:
        pass  # the buffers are full: the server is stuck sending to us
    except OSError as error:
        expect_running(lab, server)
        lab.fail(f"the server broke the connection while a client was sending: {error}")
    lab.step(f"a Python client sent {sent} bytes without reading anything back, then "
             "reset the connection (SO_LINGER 0)")
    server.expect(line("Processing up to 1024 bytes at a time from {addr}",
                       addr=re.escape(address(*rude.getsockname()))))
    reset(rude)
    server.expect(line("  Socket closed"), hint="when send() or recv() fails (ECONNRESET, "
                  "EPIPE), warn, close that connection and go back to accept()")
    echo, closed = echo_of(lab, server, port, b"still there?", "'still there?'")
    lab.check(echo == b"STILL THERE?" and closed, "the server did not serve the next client "
              "after a reset", expected="'STILL THERE?', then end of stream",
              got=f"'{quote(echo)}'", hint="SIGPIPE must be ignored (sl_init_program() does) "
              "and a failed send() must end only that connection")


@pytest.mark.points(5)
def test_server_echoes_each_piece_as_it_comes(lab):
    server, port = start_server(lab)
    pieces = (CHUNK, b"hi", CHUNK[:5])
    lab.step("a Python client sent " + ", then ".join(f"'{quote(p)}'" for p in pieces) +
             ", waiting for each echo before sending the next, then shut down its sending "
             "side")
    with lab.wire("a Python client sent small pieces one after another",
                  hint="echo what each recv() returns at once; the end is only the client's "
                       "end of stream (recv() returns 0), not a short recv()"):
        peer = connect(lab.host, LOOPBACK, port, timeout=3, nodelay=True)
        for piece in pieces:
            peer.sendall(piece)
            echo, chunk = bytearray(), None
            deadline = time.monotonic() + scaled(3)
            while len(echo) < len(piece) and time.monotonic() < deadline:
                peer.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = peer.recv(len(piece) - len(echo))
                except socket.timeout:
                    break
                if not chunk:
                    break
                echo += chunk
            expect_running(lab, server)
            lab.check(bytes(echo) == upper(piece), f"the server did not echo '{quote(piece)}' "
                      "while the client waited for it", expected=f"'{quote(upper(piece))}' "
                      "within 3 s", got=f"'{quote(bytes(echo))}'" + (
                          "" if echo else " (and the connection " +
                          ("was closed)" if chunk == b"" else "stayed silent)")),
                      hint="echo each recv()'s bytes as soon as they arrive: a server that "
                           "waits for 1024 bytes (or for the end) deadlocks with a client "
                           "that waits for its echo; a short recv() is not the end")
        peer.shutdown(socket.SHUT_WR)
    rest, closed = receive_until_close(peer, 3, watch=server)
    peer.close()
    lab.check(closed and not rest, "the server did not close after the client's end of stream",
              got=f"'{quote(rest)}'" if rest else "the connection stayed open",
              hint="recv() returns 0 once the client has shut down its side: then close()")


@pytest.mark.points(10)
@pytest.mark.bulk
def test_server_echoes_64_mib_to_a_polling_client(lab):
    server, port = start_server(lab)
    pattern = Pattern(bytes(range(256)))
    total = 64 * MIB
    lab.step(f"a Python client sent {total} bytes (every byte value, repeating) while "
             "reading the echo at the same time")
    with lab.wire("a Python client connected"):
        peer = started(StreamClient(lab.host, port, pattern, total))
    finished = peer.wait(scaled(20))
    peer.stop()
    expect_running(lab, server)
    lab.check(finished and peer.error is None and peer.eof, "the echo of 64 MiB did not finish",
              expected=f"{total} bytes back, then end of stream",
              got=f"{peer.received} bytes back" + (f", {peer.error}" if peer.error else ""),
              hint="send back every byte you receive, looping over short sends")
    lab.check(peer.first_bad is None, "the 64 MiB echo is wrong",
              expected="every byte upper-cased, in order",
              got=f"a wrong byte at offset {peer.first_bad}")
    lab.check(peer.received == total, "the echo has the wrong length",
              expected=f"{total} bytes", got=f"{peer.received} bytes")


# -- the client ---------------------------------------------------------------

def start_client(lab, *args, **server_options):
    """A Python echo server, and `tcp_deadlock client 127.0.0.1 ARGS -p PORT` pointed at it."""
    peer = started(EchoServer(lab.host, expect=Pattern(CHUNK), **server_options))
    lab.step(f"a Python upper-casing echo server listens at {LOOPBACK}:{peer.port}")
    return peer, lab.run("client", LOOPBACK, *args, "-p", peer.port)


def expect_complete(lab, client, peer, total, timeout=5):
    """The client's lines for a finished exchange of total bytes, checked on the wire too."""
    client.expect(line("Sending {n} bytes of data, in chunks of 16 bytes", n=str(total)),
                  timeout=5, hint=f"round BYTECOUNT up to a multiple of 16 ({total}) and say so first")
    first = quote(upper(CHUNK)[:min(16, total)])
    try:
        client.expect(line("  The first data received says '{text}'", text=re.escape(first)),
                      timeout=timeout, hint="print the first 16 bytes that came back, quoted")
    except ProgramFailure:
        if total and peer.received == 0:
            lab.fail("the client sent nothing at all", expected=f"{total} bytes of "
                     "'capitalize this!' chunks", got="0 bytes at the Python server",
                     hint="poll() reports POLLOUT only when asked: set it in events while "
                          "there is data left to send, and send() when revents has it")
        raise
    client.expect(line(RECEIVED, n=str(total)), timeout=timeout,
                  hint="count every byte recv() returns until it returns 0")
    code = client.expect_exit(3)
    peer.closed.wait(scaled(2))
    lab.check(code == 0, "the client did not exit 0 after a complete echo", got=f"exit {code}")
    lab.check(peer.received == total and peer.first_bad is None,
              "the Python server did not receive exactly the 'capitalize this!' chunks",
              expected=f"{total} bytes of 'capitalize this!' repeated",
              got=f"{peer.received} bytes" + (f", the first wrong one at offset {peer.first_bad}"
                                              if peer.first_bad is not None else ""))


@pytest.mark.points(10)
def test_client_naive_completes_small_counts(lab):
    for total in (16, 32, MIB):
        peer, client = start_client(lab, total, "--mode", "naive")
        expect_complete(lab, client, peer, total)
        peer.stop()


@pytest.mark.points(5)
def test_client_rounds_up_to_whole_chunks(lab):
    for args, total in (((), 16), ((1,), 16), ((20,), 32), ((0,), 0)):
        peer, client = start_client(lab, *args)
        if total:
            expect_complete(lab, client, peer, total)
        else:
            client.expect(line(RECEIVED, n="0"), hint="a BYTECOUNT of 0 sends nothing, "
                          "shuts down and receives nothing")
        peer.stop()


@pytest.mark.points(5)
@pytest.mark.bulk
@pytest.mark.time_limit(60)
def test_client_naive_deadlocks_beyond_the_buffers(lab):
    total = 64 * MIB
    # The Python server reads only while its echo can go out, like the C server.
    peer, client = start_client(lab, total, "--mode", "naive", max_pending=1024)
    client.expect(line("Sending {n} bytes of data, in chunks of 16 bytes", n=str(total)))
    lab.step("the test watched the Python server's byte counters until they stood still "
             "for 1 s")
    stalled, took = wait_for_stall(peer.progress, lambda: client.poll() is None,
                                   quiet=1.0, timeout=scaled(30))
    queues = socket_queues(client.pid, peer.port)
    received, sent = peer.progress()
    held = "; ".join(f"the {'server' if local == peer.port else 'client'}'s socket holds "
                     f"{tx} bytes not yet sent and {rx} bytes not yet read"
                     for (local, _), (tx, rx) in sorted(queues.items()))
    lab.step(f"after {took:.1f} s the counters stood still: the server had received "
             f"{received} bytes and echoed {sent}; {held or 'no socket queues found'}")
    lab.check(stalled and client.poll() is None,
              "the naive client did not deadlock with 64 MiB", expected="both sides stuck: "
              "the client blocked in send(), the server blocked sending its echo",
              got="the client " + (describe_exit(client.poll()) if client.poll() is not None
                                   else "still making progress"),
              hint="--mode naive sends everything, then shuts down, and only then reads")
    lab.check(0 < received < total, "the deadlock came at an odd place",
              expected=f"between 0 and {total} bytes received by the server",
              got=f"{received} bytes")
    client.kill()
    peer.stop()


def poll_exchange(lab, total, seconds):
    peer, client = start_client(lab, total, "--mode", "poll")
    expect_complete(lab, client, peer, total, timeout=seconds)
    peer.stop()


@pytest.mark.points(10)
@pytest.mark.bulk
def test_client_poll_completes_64_mib(lab):
    poll_exchange(lab, 64 * MIB, 15)


@pytest.mark.points(5)
@pytest.mark.bulk
@pytest.mark.time_limit(90)
def test_client_poll_completes_1_gib(lab):
    poll_exchange(lab, 1024 * MIB, 60)


@pytest.mark.points(5)
def test_client_reports_a_corrupted_echo(lab):
    peer, client = start_client(lab, MIB, "--mode", "poll", flip_at=100000)
    lab.step("the Python server flips the case of byte 100000 of its echo (a 'C' comes "
             "back as 'c')")
    client.expect(r".*\b100000\b.*", stream="stderr",
                  hint="compare every byte that comes back with the chunk upper-cased, and "
                       "report the first wrong one with its offset from the start of the stream")
    code = client.expect_exit(3)
    lab.check(code == 1, "the client did not exit 1 on a corrupted echo", got=f"exit {code}")
    peer.stop()


# The poll client may not spin while it waits. A blocked program is neither running
# nor waiting for a CPU during a quiet interval; a spinning one is always one of the
# two, however busy the machine (programs/activity.py). The client runs with its
# default bound there, so that test also shows the default is more than QUIET.
QUIET = 1.5
BUSY_SHARE = 0.3
# The shorter bound the give-up test sets with `-t WAIT`, so it need not sit out the
# default: the client must keep waiting that long (measured, never scaled; a tenth
# off for clock granularity) and give up within it plus a scaled MARGIN.
WAIT = 1
MARGIN = 1.0


@pytest.mark.points(10)
def test_client_poll_blocks_while_the_echo_is_late(lab):
    hold = threading.Event()
    hold.set()
    total = MIB
    peer, client = start_client(lab, total, "--mode", "poll", hold_echo=hold,
                                max_pending=total + 1)
    lab.step("the Python server read everything but held its echo back")
    deadline = time.monotonic() + scaled(5)
    while peer.received < total and client.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # sampling the peer's byte counter, with a deadline
    lab.check(peer.received == total, "the client did not send all its data to a server "
              "that reads it all", expected=f"{total} bytes", got=f"{peer.received} bytes",
              hint="ask poll() for POLLOUT while data is left, and send() when it says so")
    before, cpu_before = client.runnable_seconds(), client.cpu_seconds()
    started = time.monotonic()
    time.sleep(QUIET)  # the interval measured, not synchronisation
    busy, cpu = client.runnable_seconds() - before, client.cpu_seconds() - cpu_before
    took = time.monotonic() - started
    lab.step(f"over {took:.1f} s with nothing to send and no echo yet, the client was "
             f"running or ready to run for {busy:.2f} s (CPU time {cpu:.2f} s)")
    hold.clear()
    lab.check(busy < BUSY_SHARE * took, "the client kept the CPU busy while it waited for "
              "the echo", expected=f"blocked in poll(): running or runnable for under "
              f"{BUSY_SHARE:.0%} of the {took:.1f} s", got=f"{busy:.2f} s of {took:.1f} s",
              hint="poll() with a timeout of 0 returns at once, and so does asking for "
                   "POLLOUT after everything is sent: ask only for what you are waiting "
                   "for (POLLIN once all is sent), with the -t timeout (10 s by default)")
    expect_complete(lab, client, peer, total)


@pytest.mark.points(5)
def test_client_poll_gives_up_on_a_silent_server(lab):
    # Measured from before the start: never shorter than the client's real patience.
    started = time.monotonic()
    peer, client = start_client(lab, MIB, "--mode", "poll", "-t", WAIT, max_pending=0)
    lab.step("the Python server accepted the connection and then neither read nor sent")
    code = client.wait(WAIT + MARGIN)
    took = time.monotonic() - started
    lab.check(code is not None, "the poll client waited forever for a server that makes no "
              "progress", expected=f"give up after {WAIT} s without progress (-t {WAIT}), "
              "exit 1", got=f"still waiting after {took:.1f} s",
              hint="give poll() a timeout (the -t seconds, 10 by default): when it returns 0, "
                   "nothing moved, so report it and exit 1")
    lab.check(code == 1 and client.stderr, "the poll client did not report the stalled server",
              expected="an error on stderr and exit 1",
              got=f"it {describe_exit(code)}, stderr {client.stderr[-1:] or 'empty'}")
    lab.check(took >= WAIT * 0.9, "the poll client gave up too soon",
              expected=f"{WAIT} s without progress (-t {WAIT})", got=f"{took:.2f} s",
              hint="poll()'s timeout is in milliseconds: -t 1 is 1000 of them")


def scripted_server(lab, client_args, pieces, what):
    """A Python server that reads the client's whole stream, then sends pieces
    (pausing between them) and closes; returns the client program."""
    sock = listener(lab.host)
    port = sock.getsockname()[1]
    lab.step(f"a Python server listens at {LOOPBACK}:{port}; {what}")
    client = lab.run("client", LOOPBACK, *client_args, "-p", port)
    got = accept(sock, 3, watch=client)
    if got is None:
        client.expect(r"Sending .*")  # not implemented yet, or its own story
        lab.fail("the client did not connect", hint="connect() to HOST and the port given")
    conn = got[0]
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data, closed = receive_until_close(conn, 3, watch=client)
    with lab.wire("the Python server sent its echo"):
        try:
            for index, piece in enumerate(pieces):
                if index:
                    time.sleep(0.2)  # separate segments: the behaviour under test
                conn.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up early: what it printed tells the story
        finally:
            conn.close()
            sock.close()
    return client, data


@pytest.mark.points(5)
def test_client_prints_the_first_sixteen_bytes_that_come_back(lab):
    echo = upper(CHUNK * 2)
    client, _ = scripted_server(lab, ("32", "--mode", "naive"), (echo[:5], echo[5:]),
                                f"it sends the echo in two pieces, '{quote(echo[:5])}', then "
                                "200 ms later the rest")
    client.expect(line("  The first data received says '{text}'",
                       text=re.escape(quote(echo[:16]))),
                  hint="the first data is the first 16 bytes of the echo: keep them until 16 "
                       "have arrived, whatever the first recv() returned")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after a complete echo", got=f"exit {code}")


@pytest.mark.points(5)
def test_client_reports_an_echo_that_ends_short(lab):
    echo = upper(CHUNK * 4)
    client, _ = scripted_server(lab, ("64", "--mode", "naive"), (echo[:40],),
                                "it sends back only 40 of the 64 bytes, then closes")
    client.expect(line(RECEIVED, n="40"), hint="count every byte recv() returns until it "
                  "returns 0")
    code = client.expect_exit(3)
    lab.check(code == 1 and client.stderr, "the client did not report an echo that ended short",
              expected="an error on stderr, exit 1",
              got=f"it {describe_exit(code)}, stderr {client.stderr[-1:] or 'empty'}",
              hint="after the end of stream, compare the bytes received with the bytes sent: "
                   "fewer is an error (exit 1)")


# A long, jittery path that loses, duplicates and reorders a few segments.
SLOW_LOSSY = Impairment(delay=0.03, jitter=0.01, loss=0.01, duplicate=0.01, reorder=0.02,
                        seed=6)


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(60)
def test_client_poll_completes_across_a_slow_lossy_link(lab):
    server_host, client_host = lab.net.host("server"), lab.net.host("client")
    link = lab.net.link(server_host, client_host, "10.0.6.0/24", impairment=SLOW_LOSSY)
    lab.step(f"the client and a Python echo server are on a link with {SLOW_LOSSY.describe()}")
    total = MIB // 4
    peer = started(EchoServer(server_host, expect=Pattern(CHUNK), address=link.a_address))
    lab.step(f"a Python upper-casing echo server listens at {link.a_address}:{peer.port}")
    client = lab.run("client", link.a_address, total, "--mode", "poll", "-p", peer.port,
                     host=client_host)
    expect_complete(lab, client, peer, total, timeout=30)
