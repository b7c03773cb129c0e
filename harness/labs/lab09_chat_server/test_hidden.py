"""Lab 09's hidden tests: the same contract with what the visible tests hold fixed
changed (IPv6 instead of IPv4, other line lengths and pieces, short lines for
the reader that stops, a client that vanishes from another host instead of one
that stops reading, a descriptor limit the room outgrows, long lines to the
client), so a program tuned to the visible tests loses points here."""
import re
import socket
import time

import pytest

from harness.grading.contract import line, quote
from harness.labs.lab09_chat_server.peers import (LINE_MAX, QUEUE_MAX, Crowd,
                                                  tcp_wmem_max)
from harness.labs.lab09_chat_server.test_grader import (
    IDLE_CPU_LIMIT, LOOPBACK, Room, close_kept, cpu_while_idle, expect_printed, forwarded, kept,
    send_to_client, start_client, start_server, stop_if_exited)

pytestmark = pytest.mark.hidden


@pytest.fixture(autouse=True)
def close_peers():
    yield
    close_kept()

SMALL_WMEM = "4096 16384 16384"
CLIENT_LINE_MAX = 4096  # chat_client prints a longer line in pieces of this size


def ipv6_loopback_works(host):
    def probe():
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    try:
        host.inside(probe)
        return True
    except OSError:
        return False


@pytest.mark.points(5)
def test_server_names_ipv6_clients_in_brackets(lab):
    if not ipv6_loopback_works(lab.host):
        pytest.skip("this host has no IPv6 loopback (::1)")
    server = lab.run("::1", "-p", "0", program="chat_server")
    port = int(server.expect(r"Listening at \[::1\]:(?P<port>\d+)", timeout=5,
                             hint="print an IPv6 address as [ADDR]:PORT (sl_addr_text does)")
               ["port"])
    room = Room(lab, server, port, ip="::1")
    a, b = room.join("A"), room.join("B")
    lab.check(a.name.startswith("[::1]:"), "the Python clients' names are not IPv6 ones",
              got=a.name)
    room.say(a, b"over IPv6\n")
    room.expect(b, forwarded(a, b"over IPv6"), hint="name the writer as [ADDR]:PORT, the way "
                "sl_addr_text() prints an IPv6 address")


@pytest.mark.points(5)
def test_server_cuts_long_lines_sent_in_odd_pieces(lab):
    server, port = start_server(lab)
    room = Room(lab, server, port)
    a, b = room.join("A"), room.join("B")
    hint = (f"forward a line of up to {LINE_MAX} bytes whole, and cut a longer one after every "
            f"{LINE_MAX} bytes, however the bytes arrive")
    for letter, length, piece in ((b"p", 4100, 333), (b"q", 2 * LINE_MAX, 1000),
                                  (b"r", LINE_MAX - 1, 7)):
        text = bytes(letter[0] + (i % 3) for i in range(length))
        lab.step(f"A sent a line of {length} bytes in pieces of {piece}, 10 ms apart")
        with lab.wire(f"A sent a line of {length} bytes"):
            whole = text + b"\n"
            for start in range(0, len(whole), piece):
                if start:
                    time.sleep(0.01)  # the pieces arrive apart: the behaviour under test
                a.send(whole[start:start + piece])
        for start in range(0, length, LINE_MAX):
            room.expect(b, forwarded(a, text[start:start + LINE_MAX]), hint=hint)
    room.say(a, b"done\n")
    room.expect(b, forwarded(a, b"done"), hint="a line of exactly 2048 bytes is two pieces, "
                "and its newline adds no empty line")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(90)
def test_server_drops_a_reader_of_short_lines_after_64_kib(lab):
    lab.host.sysctl("net.ipv4.tcp_wmem", SMALL_WMEM)
    lab.step(f"the test set net.ipv4.tcp_wmem to '{SMALL_WMEM}' in its network")
    server, port = start_server(lab)
    room = Room(lab, server, port)
    slow = room.join("S", rcvbuf=4096)
    reader, talker = room.join("R"), room.join("T")
    lab.step("S stopped reading; T sent 20-byte lines in batches of 200, and R read each "
             "batch before the next, until S was dropped")
    dropped = f"*** {slow.name} dropped: too slow".encode()
    allowance = QUEUE_MAX + 4 * tcp_wmem_max(lab.host) + 256 * 1024
    meant = count = 0
    seen = False
    while not seen:
        batch = [b"short line %09d" % (count + i) for i in range(200)]
        with lab.wire("T sent a batch of short lines"):
            talker.send(b"".join(text + b"\n" for text in batch))
        for text in batch:
            got = reader.line()
            if got == dropped:
                seen = True
                got = reader.line()
            if got != forwarded(talker, text):
                room.mismatch(reader, forwarded(talker, text), got,
                              hint="never wait for one client: queue for it, and send only "
                                   "when poll() says its socket is writable")
            if not seen:
                meant += len(forwarded(talker, text)) + 1
                count += 1
        if meant > allowance:
            lab.fail(f"the server never dropped S: {meant} bytes of short lines were meant for it",
                     hint="count the bytes waiting for a client, not its messages: 64 KiB")
    lab.step(f"R received '{quote(dropped)}' after {count} lines ({meant} bytes for S)")
    lab.check(meant > QUEUE_MAX, "the server dropped S before 64 KiB waited for it",
              expected="more than 65536 bytes", got=f"{meant} bytes in {count} short lines",
              hint="the limit is 64 KiB of bytes, not a number of messages")
    lab.check(slow.until_end(5) is not None, "the server did not close S's connection")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(90)
def test_server_drops_a_client_that_vanished(lab):
    hub, far = lab.net.host("hub"), lab.net.host("far")
    link = lab.net.link(hub, far, "10.0.9.0/24")
    hub.sysctl("net.ipv4.tcp_wmem", SMALL_WMEM)
    lab.step(f"hosts hub ({link.a_address}) and far ({link.b_address}) on one link; "
             f"net.ipv4.tcp_wmem '{SMALL_WMEM}' on hub")
    server, port = start_server(lab, ip=link.a_address, host=hub)
    room = Room(lab, server, port, ip=link.a_address, host=hub)
    gone = room.join("V", host=far)
    reader, talker = room.join("R"), room.join("T")
    lab.step("far's end of the link went down: V vanished without a FIN or a reset")
    far.ip("link set dev to-hub down")
    dropped = f"*** {gone.name} dropped: too slow".encode()
    for sent in range(2000):
        text = f"{sent:05d} ".encode() + b"v" * 500
        with lab.wire(f"T sent line {sent}"):
            talker.send(text + b"\n")
        got = reader.line()
        if got == dropped:
            room.expect(reader, forwarded(talker, text))
            break
        if got != forwarded(talker, text):
            room.mismatch(reader, forwarded(talker, text), got,
                          hint="a client that vanished is a client that does not read: never "
                               "wait for it")
    else:
        lab.fail("the server never dropped V, whose host vanished, though 1 MB of lines was "
                 "meant for it", hint="a client that vanished never reads: its queue fills, "
                 "and at 64 KiB it is too slow")
    server.expect(line("{name} dropped: too slow, 2 online", name=re.escape(gone.name)))
    room.say(talker, b"and on we go\n")
    room.expect(reader, forwarded(talker, b"and on we go"))


@pytest.mark.points(5)
@pytest.mark.time_limit(60)
def test_server_waits_for_a_free_descriptor_without_spinning(lab):
    limit = 48
    server, port = start_server(lab, open_files=limit)
    lab.step(f"the server may open {limit} files; 60 Python clients connected at once")
    crowd = kept(Crowd(lab.host, LOOPBACK, port, 60))
    crowd.receive_until(lambda data: b"\n" in data, 10, watch=server, quiet=2)
    if server.poll() is not None:
        stop_if_exited(lab, server, "more clients came than it had descriptors for")
    welcomed = [sock for sock in crowd.socks if b"\n" in crowd.data[sock]]
    waiting = [sock for sock in crowd.socks if sock not in welcomed]
    lab.check(10 <= len(welcomed) < 60, "the server did not fill up its descriptors",
              expected=f"some clients welcomed, the rest waiting (the limit is {limit})",
              got=f"{len(welcomed)} welcomed")
    lab.step(f"{len(welcomed)} clients were welcomed and {len(waiting)} waited; then nobody "
             "sent anything and the test measured the server's CPU time")
    used, took = cpu_while_idle(server)
    lab.check(used <= IDLE_CPU_LIMIT, "the server spun while it had no descriptor to accept with",
              got=f"{used * 1000:.0f} ms of CPU in {took:.1f} s",
              hint="on EMFILE the listener stays readable: stop watching it (fd -1) until a "
                   "client leaves, or poll() returns at once, again and again")
    lab.step("5 welcomed clients left")
    for sock in welcomed[:5]:
        crowd.selector.unregister(sock)
        sock.close()
    crowd.socks = [sock for sock in crowd.socks if sock not in welcomed[:5]]
    got = crowd.receive_until(lambda data: b"*** welcome" in data, 10, watch=server,
                              socks=waiting, quiet=3)
    lab.check(got >= 5, "the server did not accept the waiting clients when descriptors "
              "were free again", expected="5 more welcomes", got=f"{got}",
              hint="watch the listener again once a client has left")


@pytest.mark.points(3)
def test_client_prints_a_very_long_line_in_pieces(lab):
    peer, client = start_client(lab)
    text = bytes(ord("a") + i % 26 for i in range(9000))
    send_to_client(lab, peer, client, text + b"\n")
    for start in range(0, len(text), CLIENT_LINE_MAX):
        piece = text[start:start + CLIENT_LINE_MAX]
        # A group, so that a failure shows '<piece>' rather than 4096 letters.
        client.expect(line("{piece}", piece=f"(?:{re.escape(quote(piece))})"), timeout=3,
                      hint=f"print bytes {start} to {start + len(piece) - 1} of the "
                           f"{len(text)}-byte line as one line: keep at most "
                           f"{CLIENT_LINE_MAX} bytes of a line, print a longer one in pieces")
    send_to_client(lab, peer, client, b"short again\n")
    expect_printed(client, b"short again")
