"""Lab 05 tcp_sixteen: instructors' hidden tests. They vary what the visible tests
hold fixed (the sixteen octets each side sends, and how they are split), so a
program written to the visible tests alone loses these points."""
import re
import socket
import time

import pytest

from harness.grading.contract import address, line, quote
from harness.labs.lab05_tcp_sixteen.test_grader import (FAREWELL, LOOPBACK, accept_greeting,
                                                        start_client, start_server)
from harness.peers.tcp import connect, receive_until_close

pytestmark = pytest.mark.hidden

ODD_GREETING = b"\x00Bye 'server'\\\xff\n"
ODD_FAREWELL = b"So long, \x07pal!!\t"


def send_in_pieces(sock, data, cuts):
    """data in one segment per piece, cut at the offsets in cuts (TCP_NODELAY)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for start, end in zip((0, *cuts), (*cuts, len(data))):
        sock.sendall(data[start:end])
        time.sleep(0.03)  # the split under test, not synchronisation


@pytest.mark.points(5)
def test_server_prints_any_sixteen_octets_it_receives(lab):
    server, port = start_server(lab)
    with lab.wire("a Python client connected and sent sixteen odd octets in two segments"):
        peer = connect(lab.host, LOOPBACK, port)
        me = peer.getsockname()
        lab.step(f"a Python client at {address(*me)} sent '{quote(ODD_GREETING)}' (16 bytes: "
                 "a NUL, quotes, a backslash, 0xff, a newline) in segments of 11 and 5 bytes")
        send_in_pieces(peer, ODD_GREETING, (11,))
    reply, closed = receive_until_close(peer, 3, watch=server)
    peer.close()
    server.expect(line("  Incoming sixteen-octet message: '{text}'",
                       text=re.escape(quote(ODD_GREETING))),
                  hint="print the 16 bytes that arrived, whatever they are, with sl_quote(): "
                       "they are not a C string (a NUL does not end them)")
    lab.check(reply == FAREWELL and closed, "the server's answer was not 'Farewell, client' "
              "followed by its close", expected=f"'{quote(FAREWELL)}', then end of stream",
              got=f"'{quote(reply)}'")


@pytest.mark.points(5)
def test_client_prints_any_sixteen_octet_reply(lab):
    sock, client = start_client(lab)
    conn, _ = accept_greeting(lab, sock, client)
    lab.step(f"the Python server replied '{quote(ODD_FAREWELL)}' in segments of 3, 9 and "
             "4 bytes, then closed")
    with lab.wire("the Python server sent its reply"):
        try:
            send_in_pieces(conn, ODD_FAREWELL, (3, 12))
        finally:
            conn.close()
    client.expect(line("The server said '{text}'", text=re.escape(quote(ODD_FAREWELL))),
                  hint="print the 16 bytes that came back, quoted: the reply is whatever the "
                       "server sent, not a text you expect")
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after the reply", got=f"exit {code}")
