"""Lab 09 chat_server and chat_client: a chat room served by one poll() loop, and
a client that types and reads at once. The server is graded with many Python
clients at the same time (whole lines, dribbled bytes, lines too long, a reader
that stops, resets, a thousand at once, and its CPU time while idle); the
client against a Python chat server that talks while nothing is typed, is
silent while lines are typed, and sends while the client's typing backs up."""
import os
import re
import resource
import threading
import time

import pytest

from harness.grading.contract import ADDRESS, line, quote
from harness.labs.lab09_chat_server.peers import (LINE_MAX, QUEUE_MAX, ChatPeer, ChatServer,
                                                  Crowd, Sender,
                                                  tcp_wmem_max)
from harness.peers.tcp import dribble
from harness.programs import activity
from harness.programs.process import NOT_IMPLEMENTED_EXIT, ProgramFailure, describe_exit
from harness.timeouts import scaled

LOOPBACK = "127.0.0.1"
LISTENING = line("Listening at {addr}", addr=ADDRESS)
SERVER, CLIENT = "chat_server", "chat_client"
# Idle, a server that sleeps in poll() uses no CPU at all; one that polls without
# sleeping (a timeout of 0, or POLLOUT on a socket with room, so that poll() wakes
# again and again) uses some in any window, however loaded the machine: even
# demoted to the lowest priority it gets a few percent of a core, 15 ms or more in
# half a second, three times the limit (and spinning, about all of it).
IDLE_WINDOW = 0.5
IDLE_CPU_LIMIT = 0.005
# The sandbox's descriptor limits for 1000 clients: the server must raise the soft
# one itself (1000 clients, the listener, stdio, and room for a wrapper's own).
CROWD = 1000
CROWD_FILES = (256, 1100)
_cleanups = []  # Python peers to close when the test ends, however it ends


def close_kept():
    """Close every Python peer kept for closing (at the end of each test)."""
    while _cleanups:
        _cleanups.pop().close()


@pytest.fixture(autouse=True)
def close_peers():
    yield
    close_kept()


def kept(peer):
    """Close peer at the end of the test; returns it."""
    _cleanups.append(peer)
    return peer


def shown(data, limit=48):
    """Bytes quoted for feedback, shortened past limit bytes."""
    if len(data) <= limit:
        return f"'{quote(data)}'"
    return f"'{quote(data[:limit])}'... ({len(data)} bytes)"


def stop_if_exited(lab, program, doing):
    """Fail with what became of program if it has ended (it should still be running).
    Called once something went wrong: a program on its way out gets a moment to end."""
    code = program.wait(1)
    if code is None:
        return
    if code == NOT_IMPLEMENTED_EXIT:
        todo = [text for text in program.stderr if "TODO(" in text]
        lab.fail(f"not implemented yet: {program.label} exited 3"
                 + (f" ({todo[-1]})" if todo else ""))
    lab.fail(f"{program.label} {describe_exit(code)} while {doing}",
             got=program.stderr[-1] if program.stderr else None,
             hint="it must keep running: a failure of one client only ends that client")


def start_server(lab, ip=LOOPBACK, host=None, **options):
    """`chat_server IP -p 0`, once it says where it listens: (program, port)."""
    server = lab.run(ip, "-p", "0", program=SERVER, host=host, **options)
    match = server.expect(LISTENING, timeout=5,
                          hint="the server's first line must be 'Listening at IP:PORT', with "
                               "the port getsockname() returns after bind()")
    return server, int(match["port"])


class Room:
    """The test's side of the chat: the server under test and the Python clients
    in it, in the order they joined. Every check fails with the story."""

    def __init__(self, lab, server, port, ip=LOOPBACK, host=None):
        self.lab, self.server, self.port, self.ip = lab, server, port, ip
        self.host = host or lab.host
        self.peers = []

    def connect(self, label, host=None, rcvbuf=None):
        """A Python client, connected but not yet welcomed."""
        self.lab.step(f"Python client {label} connected")
        try:
            peer = kept(ChatPeer(host or self.host, self.ip, self.port, watch=self.server,
                                 rcvbuf=rcvbuf))
        except OSError as error:
            stop_if_exited(self.lab, self.server, "Python clients connected")
            self.lab.fail(f"Python client {label} could not connect: {error.strerror or error}",
                          hint="keep the listening socket in the poll() set while you can accept")
        peer.label = label
        return peer

    def join(self, label, host=None, rcvbuf=None):
        """connect(), then its welcome, the server's log line and everyone's join line."""
        peer = self.connect(label, host, rcvbuf)
        online = len(self.peers) + 1
        self.expect(peer, f"*** welcome {peer.name}, {online} online",
                    hint="right after accept(), queue '*** welcome IP:PORT, N online' for the "
                         "new client (N counts it too), and watch its socket with poll()")
        self.server.expect(line("{name} joined, {n} online", name=re.escape(peer.name),
                                n=str(online)),
                           hint="print 'IP:PORT joined, N online' for every client you accept")
        for other in self.peers:
            self.expect(other, f"*** {peer.name} joined",
                        hint="tell every other client '*** IP:PORT joined'")
        self.peers.append(peer)
        return peer

    def leave(self, peer):
        self.peers.remove(peer)

    def expect_all(self, want, hint=None):
        """Every Python client in the room receives the line want next."""
        for peer in self.peers:
            self.expect(peer, want, hint)

    def say(self, peer, data):
        """peer sends data (bytes) to the server."""
        self.lab.step(f"{peer.label} sent {shown(data)}")
        with self.lab.wire(f"{peer.label} sent {shown(data)}"):
            peer.send(data)

    def expect(self, peer, want, hint=None, timeout=3):
        """The next line peer receives must be want (str or bytes, no newline)."""
        want = want.encode() if isinstance(want, str) else want
        got = peer.line(timeout)
        if got == want:
            return
        self.mismatch(peer, want, got, hint, timeout)

    def expect_after_joins(self, peer, want, hint=None, timeout=3):
        """Like expect(), passing over '*** IP:PORT joined' lines first."""
        want = want.encode() if isinstance(want, str) else want
        got = peer.line(timeout)
        while got is not None and re.fullmatch(rb"\*\*\* \S+ joined", got):
            got = peer.line(timeout)
        if got != want:
            self.mismatch(peer, want, got, hint, timeout)

    def mismatch(self, peer, want, got, hint=None, timeout=3):
        """Fail: peer should have received the line want, and got got (None: nothing)."""
        if got is None:
            stop_if_exited(self.lab, self.server, f"Python client {peer.label} waited for a line")
            got_text = {"closed": "the server closed the connection",
                        "reset": "the server reset the connection"}.get(
                peer.ended, f"nothing within {scaled(timeout):.1f} s")
        else:
            got_text = shown(got)
            if got.startswith(peer.name.encode() + b": "):
                hint = (f"the server sent Python client {peer.label} its own line back: "
                        "forward a line to every client but the one that wrote it")
            elif got == f"*** {peer.name} joined".encode():
                hint = (f"the server told Python client {peer.label} that it joined itself: "
                        "announce a join to every client but the new one")
        self.lab.fail(f"Python client {peer.label} did not receive the line it should have",
                      expected=shown(want), got=got_text, hint=hint)


def forwarded(sender, data):
    """What the others receive for a line sender sent: 'IP:PORT: LINE'."""
    return sender.name.encode() + b": " + data


# -- the server -----------------------------------------------------------------

@pytest.mark.points(8)
def test_server_welcomes_and_announces_joins_and_leaves(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    ann = room.join("A")
    bob = room.join("B")
    lab.step("B closed its connection")
    bob.close()
    room.leave(bob)
    room.expect(ann, f"*** {bob.name} left",
                hint="recv() returns 0 when a client closes: close its socket, forget it, "
                     "and tell everyone else '*** IP:PORT left'")
    server.expect(line("{name} left, {n} online", name=re.escape(bob.name), n="1"),
                  hint="print 'IP:PORT left, N online' when a client leaves")
    room.join("C")  # its welcome must count 2 again


@pytest.mark.points(10)
def test_server_forwards_each_line_to_every_other_client(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b, c = (room.join(label) for label in "ABC")
    hint = "send 'IP:PORT: LINE' (the writer's address) to every client but the writer"
    room.say(a, b"hello, everyone\n")
    for peer in (b, c):
        room.expect(peer, forwarded(a, b"hello, everyone"), hint=hint)
    odd = b"caf\xc3\xa9 \x1b[1mbold\x1b[0m\ttab\r"
    room.say(b, odd + b"\n")
    for peer in (a, c):
        room.expect(peer, forwarded(b, odd), hint="forward the bytes of a line exactly as "
                    "they came, every one but the newline")
    room.say(c, b"\n")
    for peer in (a, b):
        room.expect(peer, forwarded(c, b""), hint="an empty line is a line too")


@pytest.mark.points(8)
def test_server_keeps_one_order_for_everyone(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b, c, d = (room.join(label) for label in "ABCD")
    said = {peer: [f"{peer.label} says {i:03d}".encode() for i in range(100)] for peer in (a, b)}
    lab.step("A and B each sent 100 lines in one go, at the same time")
    senders = [Sender(peer.sock, b"".join(text + b"\n" for text in said[peer]), 5)
               for peer in (a, b)]
    for sender in senders:
        sender.join(scaled(10))
    heard = {}
    for reader, count in ((c, 200), (d, 200), (a, 100), (b, 100)):
        heard[reader] = [reader.line() for _ in range(count)]
        if None in heard[reader]:
            stop_if_exited(lab, server, "A and B sent")
            lab.fail(f"Python client {reader.label} received only "
                     f"{heard[reader].index(None)} of the {count} lines it should have",
                     hint="forward every complete line of every client, even when several "
                          "arrive in one recv()")
    for reader in (c, d):
        for writer in (a, b):
            mine = [text for text in heard[reader] if text.startswith(writer.name.encode())]
            want = [forwarded(writer, text) for text in said[writer]]
            if mine != want:
                first = next((i for i, pair in enumerate(zip(mine, want)) if pair[0] != pair[1]),
                             min(len(mine), len(want)))
                lab.fail(f"Python client {reader.label} did not receive {writer.label}'s lines "
                         "whole and in order",
                         expected=f"line {first}: {shown(want[first])}",
                         got=shown(mine[first]) if first < len(mine)
                         else f"only {len(mine)} of {writer.label}'s lines",
                         hint="split what a client sends into lines, and queue each whole line "
                              "for the others in the order it came")
    if heard[c] != heard[d]:
        lab.fail("C and D received the same lines in different orders",
                 expected="one order for everyone: the order the server read the lines in",
                 got=f"line {next(i for i in range(200) if heard[c][i] != heard[d][i])} differs",
                 hint="append each line to every other client's queue when you read it")
    for reader, writer in ((a, b), (b, a)):
        lab.check(heard[reader] == [forwarded(writer, text) for text in said[writer]],
                  f"Python client {reader.label} did not receive exactly "
                  f"{writer.label}'s 100 lines",
                  hint="a client gets every line but its own")


@pytest.mark.points(8)
def test_server_assembles_lines_dribbled_a_byte_at_a_time(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b, c = (room.join(label) for label in "ABC")
    lab.step("A sent 'hello, ' one byte per segment, 20 ms apart (no newline yet)")
    with lab.wire("A sent 'hello, ' one byte at a time"):
        dribble(a.sock, b"hello, ", 0.02)
    room.say(c, b"interrupting\n")
    room.expect(b, forwarded(c, b"interrupting"),
                hint="never forward part of a line, and never wait for the rest of one "
                     "client's line: keep what came and go back to poll()")
    lab.step("A sent 'world' and a newline, one byte per segment, 20 ms apart")
    with lab.wire("A sent 'world\\n' one byte at a time"):
        dribble(a.sock, b"world\n", 0.02)
    for peer in (b, c):
        room.expect(peer, forwarded(a, b"hello, world"),
                    hint="keep the start of a line until its newline comes, then forward the "
                         "whole line once")
    room.say(a, b"one\ntwo\nthr")
    room.say(a, b"ee\n")
    for text in (b"one", b"two", b"three"):
        room.expect(b, forwarded(a, text), hint="one recv() may bring several lines and the "
                    "start of the next: forward each complete line, keep the rest")


@pytest.mark.points(8)
def test_server_cuts_lines_longer_than_1024_bytes(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b = room.join("A"), room.join("B")
    hint = (f"a line of up to {LINE_MAX} bytes goes out whole; once {LINE_MAX + 1} bytes have "
            f"come without a newline, forward the first {LINE_MAX} as a line of their own")
    for letter, length in ((b"x", LINE_MAX), (b"y", LINE_MAX + 1), (b"z", 2600)):
        text = letter * length
        lab.step(f"A sent a line of {length} bytes, in pieces of 700")
        with lab.wire(f"A sent a line of {length} bytes"):
            for start in range(0, length + 1, 700):
                a.send((text + b"\n")[start:start + 700])
        for start in range(0, length, LINE_MAX):
            room.expect(b, forwarded(a, text[start:start + LINE_MAX]), hint=hint)
    room.say(a, b"end\n")
    room.expect(b, forwarded(a, b"end"), hint="a line of exactly 1024 bytes and its newline "
                "is one line, not a line and an empty one")


@pytest.mark.points(10)
@pytest.mark.time_limit(60)
def test_server_drops_a_client_that_stops_reading(lab):
    # Small kernel send buffers (in this test's own network), so the server's own
    # 64 KiB queue, not the kernel, decides when the reader is too slow.
    small = lab.host.netns_path is not None
    if small:
        lab.host.sysctl("net.ipv4.tcp_wmem", "4096 16384 16384")
        lab.step("the test set net.ipv4.tcp_wmem to '4096 16384 16384' in its network")
    server, port = start_server(lab)
    room = Room(lab, server, port)
    slow = room.join("S", rcvbuf=4096)
    reader, talker = room.join("R"), room.join("T")
    lab.step("S stopped reading (its receive buffer is 4 KiB)")
    allowance = QUEUE_MAX + 4 * tcp_wmem_max(lab.host) + 256 * 1024
    dropped = f"*** {slow.name} dropped: too slow".encode()
    meant_for_slow = sent = 0
    lab.step("T sent numbered 1000-byte lines one after another; R had to receive each "
             "before T sent the next")
    while True:
        text = f"{sent:05d} ".encode() + b"w" * 994
        with lab.wire(f"T sent line {sent}"):
            talker.send(text + b"\n")
        meant_for_slow += len(forwarded(talker, text)) + 1
        sent += 1
        got = reader.line()
        if got == dropped:
            # S was gone before this line: R still gets it, S never would have.
            meant_for_slow -= len(forwarded(talker, text)) + 1
            room.expect(reader, forwarded(talker, text),
                        hint="after a client is dropped, everyone else goes on chatting")
            break
        if got != forwarded(talker, text):
            room.mismatch(reader, forwarded(talker, text), got,
                          hint="never wait for one client: queue for it, and send only when "
                               "poll() says its socket is writable")
        if meant_for_slow > allowance:
            printed = f"{slow.name} dropped: too slow"
            if any(text.startswith(printed) for text in server.stdout):
                lab.fail("the server dropped S but did not tell the other clients",
                         expected=f"'{quote(dropped)}' at R", got=f"T's lines only; the server "
                         f"printed '{printed}, …'",
                         hint="announce the drop to every remaining client, as a leave is: "
                              "'*** IP:PORT dropped: too slow'")
            lab.fail(f"the server never dropped S, a client that stopped reading: T sent "
                     f"{meant_for_slow} bytes of lines for it",
                     expected=f"'{quote(dropped)}' once more than 64 KiB waited for S",
                     hint="a client's queue holds at most 64 KiB: when a message would not "
                          "fit, drop the client instead of letting the queue grow")
    lab.step(f"R received '{quote(dropped)}' before T's line {sent - 1}: the server had "
             f"had {meant_for_slow} bytes of lines for S")
    if small:
        lab.check(meant_for_slow > QUEUE_MAX, "the server dropped S too early",
                  expected="more than 65536 bytes waiting for S (its 64 KiB queue full)",
                  got=f"{meant_for_slow} bytes of lines for S",
                  hint="queue up to 64 KiB for a client whose socket is full; only a message "
                       "that would not fit in 64 KiB makes it too slow")
    room.expect(talker, dropped, hint="tell every other client '*** IP:PORT dropped: too slow'")
    server.expect(line("{name} dropped: too slow, 2 online", name=re.escape(slow.name)),
                  hint="print 'IP:PORT dropped: too slow, N online' when you drop a client")
    ended = slow.until_end(5)
    lab.check(ended == "reset", "the server did not reset S's connection after dropping it",
              expected="a reset (RST)", got={"closed": "a normal close (FIN)"}.get(
                  ended, "the connection still open"),
              hint="set SO_LINGER to {1, 0} before close(): a reset frees what the kernel "
                   "still holds for a client that does not read")
    room.say(talker, b"still here?\n")
    room.expect(reader, forwarded(talker, b"still here?"),
                hint="after a client is dropped, everyone else goes on chatting")


@pytest.mark.points(6)
def test_server_survives_resets_and_half_closes(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    watcher, x, y, z = (room.join(label) for label in "WXYZ")
    room.say(x, b"half a li")
    lab.step("X reset its connection (SO_LINGER 0)")
    x.reset()
    room.leave(x)
    room.expect_all(f"*** {x.name} left",
                    hint="a reset makes recv() fail with ECONNRESET: warn, close that client "
                         "and go on; a line without its newline is never forwarded")
    room.say(y, b"bye\n")
    lab.step("Y shut down its sending side (a half-close) and went on reading")
    y.shutdown_sending()
    room.leave(y)
    room.expect_all(forwarded(y, b"bye"))
    room.expect_all(f"*** {y.name} left",
                    hint="end of stream (recv() returns 0) means the client has left, also "
                         "after a half-close")
    lab.check(y.until_end(3) is not None, "the server did not close Y's connection after "
              "Y shut down its sending side", hint="close the socket of a client that left")
    room.say(z, b"no newline")
    lab.step("Z closed its connection (it had read everything: a FIN, no reset)")
    z.close()
    room.leave(z)
    room.expect(watcher, f"*** {z.name} left",
                hint="a line without its newline is never forwarded, even when the stream ends")
    v = room.join("V")
    room.say(v, b"still chatting\n")
    room.expect(watcher, forwarded(v, b"still chatting"))


def enough_files(count):
    """Raise this grader's own soft descriptor limit for count sockets; False if it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= count:
        return True
    if hard != resource.RLIM_INFINITY and hard < count:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))
    return True


WELCOME = re.compile(rb"\*\*\* welcome (\S+), (\d+) online")


@pytest.mark.points(7)
@pytest.mark.time_limit(90)
def test_server_holds_1000_clients_at_once(lab):
    if not enough_files(CROWD + 200):
        pytest.skip(f"the grader itself may not open {CROWD + 200} files here")
    soft, hard = CROWD_FILES
    if lab.wrapper:
        # valgrind shows a program its soft limit as the hard one: nothing to raise.
        soft = hard
    server, port = start_server(lab, open_files=(soft, hard), lifetime=120)
    lab.step(f"the server runs with a soft limit of {soft} open files and a hard one of {hard}")
    lab.step(f"{CROWD} Python clients connected at once")
    crowd = kept(Crowd(lab.host, LOOPBACK, port, CROWD))
    welcomed = crowd.receive_until(lambda data: b"\n" in data, 60, watch=server, quiet=5)
    if welcomed < CROWD:
        stop_if_exited(lab, server, f"{CROWD} clients connected")
        files = any("Too many open files" in text for text in server.stderr)
        lab.fail(f"only {welcomed} of {CROWD} clients got their welcome",
                 hint="raise RLIMIT_NOFILE's soft limit to the hard one at start-up "
                      "(getrlimit/setrlimit): every client is a descriptor" if files else
                      "accept every connection the listener has, and keep serving the "
                      "others while more arrive")
    counts = []
    for sock in crowd.socks:
        first = bytes(crowd.data[sock]).split(b"\n", 1)[0]
        match = WELCOME.fullmatch(first)
        if match is None or match[1].decode() != crowd.name(sock):
            lab.fail("a client's first line was not its welcome", got=shown(first),
                     expected=f"'*** welcome {crowd.name(sock)}, N online'")
        counts.append(int(match[2]))
    lab.check(sorted(counts) == list(range(1, CROWD + 1)), "the welcomes do not count the "
              "clients one by one", expected=f"the numbers 1 to {CROWD}, once each",
              got=f"from {min(counts)} to {max(counts)}, {len(set(counts))} different",
              hint="N online is how many clients are in the room with the new one")
    first = crowd.socks[0]
    hello = f"{crowd.name(first)}: hello, crowd\n".encode()
    lab.step(f"the client at {crowd.name(first)} sent 'hello, crowd'")
    first.setblocking(True)
    first.sendall(b"hello, crowd\n")
    first.setblocking(False)
    heard = crowd.receive_until(lambda data: hello in data, 60, watch=server,
                                socks=crowd.socks[1:], quiet=5)
    if heard < CROWD - 1:
        stop_if_exited(lab, server, f"{CROWD} clients chatted")
    lab.check(heard == CROWD - 1, f"only {heard} of the other {CROWD - 1} clients received "
              "the line", expected=f"'{quote(hello[:-1])}' at all {CROWD - 1}",
              hint="forward each line to every client in the room")


def cpu_while_idle(program):
    """The CPU time program uses while nothing happens: sampled for IDLE_WINDOW seconds,
    or until it passes IDLE_CPU_LIMIT. (used, seconds watched). A program asleep in
    poll() uses none, however loaded the machine; one that spins uses some in any window."""
    before = program.cpu_seconds()
    started = time.monotonic()
    used = 0.0
    while time.monotonic() - started < IDLE_WINDOW and used <= IDLE_CPU_LIMIT:
        time.sleep(0.1)  # sampling the CPU time, not waiting for an event
        used = program.cpu_seconds() - before
    return used, time.monotonic() - started


@pytest.mark.points(5)
@pytest.mark.time_limit(60)
def test_server_sleeps_while_idle(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b = room.join("A"), room.join("B")
    lab.step("50 more Python clients connected")
    crowd = kept(Crowd(lab.host, LOOPBACK, port, 50))
    room.say(a, b"anyone there?\n")
    hello = forwarded(a, b"anyone there?") + b"\n"
    room.expect_after_joins(b, forwarded(a, b"anyone there?"))
    heard = crowd.receive_until(lambda data: hello in data, 10, watch=server)
    if heard < 50:
        stop_if_exited(lab, server, "52 clients were connected")
    lab.check(heard == 50, f"only {heard} of 50 clients received A's line",
              hint="forward each line to every client in the room")
    lab.step(f"nobody sent anything for {IDLE_WINDOW:g} s; the test measured the server's "
             "CPU time meanwhile")
    used, took = cpu_while_idle(server)
    if server.poll() is not None:  # a program that has ended uses no CPU either
        stop_if_exited(lab, server, "the room was idle")
    lab.check(used <= IDLE_CPU_LIMIT, "the server kept the CPU busy with nothing to do",
              expected=f"no CPU time at all while idle (at most {IDLE_CPU_LIMIT * 1000:.0f} ms)",
              got=f"{used * 1000:.0f} ms of CPU in {took:.1f} s",
              hint="poll() with no timeout (-1), and ask for POLLOUT only for a client with "
                   "something queued: a socket with room is always writable, so poll() "
                   "would return at once, again and again")
    room.say(b, b"wake up\n")
    room.expect_after_joins(a, forwarded(b, b"wake up"))


# -- the client -------------------------------------------------------------------

def start_client(lab, **server_options):
    """A Python chat server, and `chat_client 127.0.0.1 -p PORT` connected to it:
    (Python server, client program)."""
    peer = kept(ChatServer(lab.host, **server_options))
    lab.step(f"a Python chat server listens at {LOOPBACK}:{peer.port}")
    client = lab.run(LOOPBACK, "-p", peer.port, program=CLIENT, stdin=True)
    if peer.accept(3, watch=client) is None:
        stop_if_exited(lab, client, "it should have connected")
        lab.fail("chat_client did not connect to the Python server",
                 hint="connect() to HOST at the port of -p before anything else")
    return peer, client


def type_in(lab, client, data, timeout=3):
    """Type data into the client's standard input."""
    lab.step(f"the test typed {shown(data)} into chat_client's standard input")
    try:
        client.send_input(data, timeout)
    except ProgramFailure:
        stop_if_exited(lab, client, "the test typed")
        raise


def send_to_client(lab, peer, client, data):
    lab.step(f"the Python server sent {shown(data)}")
    with lab.wire(f"the Python server sent {shown(data)}"):
        peer.conn.sendall(data)


def expect_printed(client, data, hint=None, timeout=3):
    """The client's next line of output is the line data, quoted (sl_quote)."""
    return client.expect(line("{text}", text=re.escape(quote(data))), timeout=timeout, hint=hint)


@pytest.mark.points(6)
def test_client_prints_what_arrives_while_nothing_is_typed(lab):
    peer, client = start_client(lab)
    hint = ("poll() standard input and the socket together: a read() of standard input "
            "waits for as long as nobody types")
    send_to_client(lab, peer, client, b"*** welcome 127.0.0.1:41000, 1 online\n")
    expect_printed(client, b"*** welcome 127.0.0.1:41000, 1 online", hint=hint)
    send_to_client(lab, peer, client, b"127.0.0.1:41002: one\n127.0.0.1:41002: two\n")
    for text in (b"one", b"two"):
        expect_printed(client, b"127.0.0.1:41002: " + text, hint="one recv() may bring several "
                       "lines: print each")
    send_to_client(lab, peer, client, b"127.0.0.1:41002: split")
    time.sleep(0.2)  # the two pieces arrive apart: the behaviour under test
    send_to_client(lab, peer, client, b" in two\n")
    expect_printed(client, b"127.0.0.1:41002: split in two",
                   hint="keep the start of a line until its newline comes, then print it once")


def stdin_flags(program, name):
    """The file status flags of standard input of the process called name under
    program (from /proc/PID/fdinfo/0), or None if they cannot be read."""
    for pid in activity.descendants(program.pid):
        if activity.command_name(pid) != name:
            continue
        try:
            with open(f"/proc/{pid}/fdinfo/0") as info:
                for text in info:
                    if text.startswith("flags:"):
                        return int(text.split()[1], 8)
        except (OSError, ValueError):
            continue
    return None


@pytest.mark.points(6)
def test_client_sends_what_is_typed_while_the_server_is_silent(lab):
    peer, client = start_client(lab)
    for typed in (b"first line\n", b"caf\xc3\xa9 \ttab\n"):
        type_in(lab, client, typed)
        got, ended = peer.receive(len(typed), 3, watch=client)
        if got != typed:
            stop_if_exited(lab, client, "the Python server waited for what was typed")
        lab.check(got == typed, "the Python server did not receive what was typed",
                  expected=shown(typed), got=shown(got) + (" and the end of the stream"
                                                             if ended else ""),
                  hint="recv() on the socket waits for as long as the server is silent: "
                       "poll() both, and read standard input whenever it is readable")
    flags = stdin_flags(client, CLIENT)
    lab.step("the test read the flags of chat_client's standard input in /proc/PID/fdinfo/0"
             if flags is not None else "the flags of chat_client's standard input were "
             "not readable here")
    lab.check(flags is None or not flags & os.O_NONBLOCK, "the client made its standard "
              "input non-blocking", expected="standard input left as it was",
              got="O_NONBLOCK set", hint="O_NONBLOCK belongs to the open file, which the "
              "shell and the terminal share: after POLLIN, one read() does not wait anyway")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(90)
def test_client_keeps_receiving_while_its_typing_backs_up(lab):
    # Small send buffers in this test's network, so buffers cannot hide a client
    # that stops reading while it waits to send.
    lab.host.sysctl("net.ipv4.tcp_wmem", "4096 16384 16384")
    lab.step("the test set net.ipv4.tcp_wmem to '4096 16384 16384' in its network")
    peer, client = start_client(lab, rcvbuf=16384, sndbuf=16384)
    lines = 10000
    incoming = b"".join(b"127.0.0.1:41002: incoming %05d " % i + b"." * 60 + b"\n"
                        for i in range(lines))
    typed = b"".join(b"typed %05d " % i + b"-" * 80 + b"\n" for i in range(lines))
    lab.step(f"the Python server sent {len(incoming)} bytes of lines, reading nothing until "
             "it had sent them all")
    sender = Sender(peer.conn, incoming, 20)
    received = {}

    def read_after_sending():
        sender.join()
        received["data"], received["ended"] = peer.receive(len(typed) + 1, 20, watch=client)
    reader = threading.Thread(target=read_after_sending, daemon=True)
    reader.start()
    type_in(lab, client, typed, timeout=30)
    lab.step("the test closed chat_client's standard input")
    client.close_input()
    sender.join(scaled(30))
    reader.join(scaled(30))
    lab.check(sender.sent == len(incoming) and sender.error is None,
              "the client stopped reading while what was typed waited to be sent",
              expected=f"the Python server's {len(incoming)} bytes taken",
              got=f"{sender.sent} bytes taken" + (f" ({sender.error})" if sender.error else ""),
              hint="never block in send(): queue what was typed, send when POLLOUT says "
                   "there is room, and read the socket all the while")
    lab.check(received.get("data") == typed, "the Python server did not receive exactly what "
              "was typed", expected=f"{len(typed)} bytes",
              got=f"{len(received.get('data') or b'')} bytes",
              hint="keep what standard input gave you until send() has taken all of it")
    expect_printed(client, incoming[incoming.rindex(b"\n", 0, -1) + 1:-1], timeout=5,
                   hint="print every line that arrives")
    printed = sum(1 for text in client.stdout if text.startswith("127.0.0.1:41002: incoming"))
    lab.check(printed == lines, "the client did not print every line that arrived",
              expected=f"{lines} lines", got=f"{printed} lines")


@pytest.mark.points(3)
@pytest.mark.time_limit(60)
def test_client_sleeps_while_nothing_happens(lab):
    peer, client = start_client(lab)
    send_to_client(lab, peer, client, b"*** welcome 127.0.0.1:41000, 1 online\n")
    expect_printed(client, b"*** welcome 127.0.0.1:41000, 1 online")
    phases = (
        ("nothing was typed and the Python server was silent",
         "poll() returned at once, again and again: give it no timeout (-1), and ask for "
         "POLLOUT only while something typed waits to be sent (a socket with room is always "
         "writable)"),
        ("standard input had ended and the Python server was silent, its connection open",
         "poll() returned at once, again and again, after the end of standard input: stop "
         "watching it then (fd -1 in its pollfd), for at its end it is always readable"))
    for ended_input, (quiet, hint) in enumerate(phases):
        if ended_input:
            lab.step("the test closed chat_client's standard input")
            client.close_input()
            peer.receive(1, 3, watch=client)  # its end of stream (graded elsewhere)
        lab.step(f"for {IDLE_WINDOW:g} s {quiet}; the test measured the client's CPU time "
                 "meanwhile")
        used, took = cpu_while_idle(client)
        if client.poll() is not None:  # a program that has ended uses no CPU either
            stop_if_exited(lab, client, quiet)
        lab.check(used <= IDLE_CPU_LIMIT, "the client kept the CPU busy with nothing to do",
                  expected=f"no CPU time at all while idle (at most "
                           f"{IDLE_CPU_LIMIT * 1000:.0f} ms)",
                  got=f"{used * 1000:.0f} ms of CPU in {took:.1f} s", hint=hint)


@pytest.mark.points(4)
def test_client_ends_cleanly_when_the_server_closes(lab):
    peer, client = start_client(lab)
    send_to_client(lab, peer, client, b"*** bye\nlast words without a newline")
    lab.step("the Python server closed the connection; standard input stays open")
    peer.conn.close()
    peer.conn = None
    expect_printed(client, b"*** bye")
    expect_printed(client, b"last words without a newline",
                   hint="at the end of the stream, print what is left of the last line")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 when the server closed", got=f"exit {code}",
              hint="recv() returning 0 is the end of the chat, not an error")


@pytest.mark.points(3)
def test_client_half_closes_at_end_of_input(lab):
    peer, client = start_client(lab)
    type_in(lab, client, b"goodbye\n")
    lab.step("the test closed chat_client's standard input")
    client.close_input()
    got, ended = peer.receive(100, 3, watch=client)
    if got != b"goodbye\n" or not ended:
        stop_if_exited(lab, client, "the Python server waited for its end")
    lab.check(got == b"goodbye\n" and ended, "the Python server did not see the client's "
              "end after the end of its input", expected="'goodbye\\n', then the end of the "
              "stream", got=shown(got) + (", then the end" if ended else ", and no end"),
              hint="at the end of standard input, send what is queued, then "
                   "shutdown(SHUT_WR): the server sees the end")
    send_to_client(lab, peer, client, b"*** see you later\n")
    peer.conn.close()
    peer.conn = None
    expect_printed(client, b"*** see you later",
                   hint="after shutdown(SHUT_WR), keep reading until the server closes: lines "
                        "still on their way must be printed")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 at the end", got=f"exit {code}")
    closed = [text for text in client.stderr if "server closed the connection" in text]
    lab.check(not closed, "the client said the server closed first, but the client ended first",
              expected="nothing on stderr: its input ended, then the server closed",
              got=f"'{closed[0]}'" if closed else None,
              hint="say 'the server closed the connection' only when the server closed before "
                   "standard input ended (the client had not shut down its side yet)")


@pytest.mark.points(3)
def test_client_escapes_bytes_that_could_steer_a_terminal(lab):
    peer, client = start_client(lab)
    raw = b"127.0.0.1:41002: \x1b[2J\x1b[31mred\x07 back\\slash 'quoted' \x00\xff\r"
    send_to_client(lab, peer, client, raw + b"\n")
    expect_printed(client, raw, hint="print each line as sl_quote() writes it: bytes outside "
                   "printable ASCII as \\xNN, backslash and single quote escaped")
