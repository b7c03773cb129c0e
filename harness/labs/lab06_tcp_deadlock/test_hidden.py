"""Lab 06 tcp_deadlock: instructors' hidden tests. They vary what the visible tests
hold fixed (the address the server binds, the size of the pieces the echo
comes back in), so a program written to the visible tests alone loses these
points."""
import re
import socket
import time

import pytest

from harness.grading.contract import address, line, quote
from harness.labs.lab06_tcp_deadlock.peers import CHUNK, upper
from harness.labs.lab06_tcp_deadlock.test_grader import LISTENING, RECEIVED
from harness.peers.tcp import accept, connect, listener, receive_until_close

pytestmark = pytest.mark.hidden

OTHER_LOOPBACK = "127.0.0.2"


@pytest.mark.points(5)
def test_server_listens_on_the_address_it_is_given(lab):
    server = lab.run("server", OTHER_LOOPBACK, "-p", "0")
    found = server.expect(LISTENING, hint="bind to the address HOST names")
    lab.check(found["ip"] == OTHER_LOOPBACK, "the server did not listen on the address given",
              expected=f"Listening at {OTHER_LOOPBACK}:PORT", got=found[0],
              hint="resolve HOST with getaddrinfo() and bind() to what it returns, not to "
                   "a loopback address you chose")
    port = int(found["port"])
    payload = b"Mixed Case, digits 0123 and \xe9\xff bytes; " * 50
    with lab.wire(f"a Python client sent {len(payload)} bytes to {OTHER_LOOPBACK}:{port}"):
        peer = connect(lab.host, OTHER_LOOPBACK, port, timeout=3)
        me = peer.getsockname()
        lab.step(f"a Python client at {address(*me)} sent {len(payload)} bytes of mixed text "
                 f"to {OTHER_LOOPBACK}:{port} and shut down its sending side")
        peer.sendall(payload)
        peer.shutdown(socket.SHUT_WR)
    echo, closed = receive_until_close(peer, 5, watch=server, limit=len(payload) + 1)
    peer.close()
    lab.check(echo == upper(payload) and closed, "the echo is not the data upper-cased",
              expected=f"{len(payload)} bytes, letters upper-cased, then end of stream",
              got=f"{len(echo)} bytes: '{quote(echo[:40])}…'")


@pytest.mark.points(5)
@pytest.mark.time_limit(20)
def test_client_gathers_the_first_sixteen_bytes_of_a_dribbled_echo(lab):
    sock = listener(lab.host)
    port = sock.getsockname()[1]
    lab.step(f"a Python server listens at 127.0.0.1:{port}; it reads until the client "
             "shuts down, then echoes upper-cased in pieces of 5 bytes, 20 ms apart")
    client = lab.run("client", "127.0.0.1", "40", "--mode", "naive", "-p", port)
    got = accept(sock, 3, watch=client)
    if got is None:
        client.expect(r"Sending .*", timeout=0.2)  # says "not implemented yet" plainly
        lab.fail("the Python server saw no connection from the client within 3 s")
    conn, _ = got
    data, closed = receive_until_close(conn, 3, watch=client)
    lab.check(data == CHUNK * 3 and closed, "the client did not send 48 bytes and shut down",
              expected="'capitalize this!' three times (40 rounded up), then end of stream",
              got=f"{len(data)} bytes")
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    echo = upper(data)
    with lab.wire("the Python server sent the echo in pieces"):
        for start in range(0, len(echo), 5):
            conn.sendall(echo[start:start + 5])
            time.sleep(0.02)  # the pieces under test, not synchronisation
        conn.close()
    client.expect(line("  The first data received says '{text}'",
                       text=re.escape(quote(upper(CHUNK)))),
                  hint="the first data is the first 16 bytes that came back, however many "
                       "recv() calls they took")
    client.expect(line(RECEIVED, n="48"), hint="count every byte recv() returns")
    lab.check(client.expect_exit(3) == 0, "the client did not exit 0 after a complete echo")
