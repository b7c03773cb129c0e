"""Lab 01 udp_local: a UDP server and client on the loopback, each graded against
an independent Python peer. The server must answer every datagram with its exact
length and print who sent what; the client must report its OS-assigned address
and accept a reply only from the server it wrote to."""
import datetime
import re
import socket

import pytest

from harness.grading.contract import ADDRESS, address, line, quote
from harness.grading.diagnoses import check_blocks, check_printed_port, swapped
from harness.peers.udp import ask, receive, udp_socket

LISTENING = line("Listening at {addr}", addr=ADDRESS)
LOOPBACK = "127.0.0.1"


def start_server(lab, *args, host=None):
    """`udp_local server -p 0 ARGS`, once it says where it listens: (program, port)."""
    server = lab.run("server", "-p", "0", *args, host=host)
    match = server.expect(LISTENING, hint="the server's first line must be "
                          "'Listening at IP:PORT' with the address getsockname() returns")
    port = int(match["port"])
    lab.check(port <= 65535, f"the server printed port {port}, which is no port",
              expected="a port from 1 to 65535", got=match[0],
              hint="print the address with sl_addr_text()")
    check_printed_port(lab, port, server, "the server")
    return server, port


def expect_reply(lab, server, peer, port, payload):
    """Send payload from peer to the server; fail unless the length reply comes back."""
    lab.step(f"a Python client at {address(*peer.getsockname())} sent {len(payload)} bytes "
             f"to {LOOPBACK}:{port}")
    reply = ask(peer, (LOOPBACK, port), payload, timeout=2, watch=server)
    expected = f"Your data was {len(payload)} bytes long"
    lab.check(reply == expected.encode(), f"wrong reply to a {len(payload)}-byte datagram",
              expected=f"'{expected}' from {LOOPBACK}:{port}",
              got="no reply within 2 s" if reply is None else f"'{quote(reply)}'",
              hint="reply with sendto() to the address recvfrom() gave you, and count "
                   "the bytes recvfrom() returned")


def expect_client_line(lab, server, peer, payload, hint):
    text = line("The client at {addr} says '{text}'",
                addr=re.escape(address(*peer.getsockname())), text=re.escape(quote(payload)))
    server.expect(text, hint=hint)


# -- the server -------------------------------------------------------------

@pytest.mark.points(8)
def test_server_prints_the_address_it_really_bound(lab):
    server, port = start_server(lab)  # fails on port 0 or a byte-swapped port
    peer = udp_socket(lab.host)
    expect_reply(lab, server, peer, port, b"Are you there?")


def round_trip(lab, payload, hint):
    """A fresh server and one Python client: payload there, its length back, and
    the server's line about it."""
    server, port = start_server(lab)
    peer = udp_socket(lab.host)
    expect_reply(lab, server, peer, port, payload)
    expect_client_line(lab, server, peer, payload, hint=hint)


@pytest.mark.points(3)
@pytest.mark.parametrize("size", [0, 1, 38, 1472, 65507])
def test_server_replies_with_the_exact_length(lab, size):
    round_trip(lab, bytes(97 + (i * 7) % 26 for i in range(size)),
               hint="print the whole payload, quoted, exactly as many bytes as arrived "
                    "(a 65507-byte datagram needs a 65507-byte buffer)")


@pytest.mark.points(8)
def test_server_quotes_every_byte_value(lab):
    round_trip(lab, bytes(range(256)),
               hint="quote the payload with sl_quote(): bytes are not a C string "
                    "(a NUL does not end them), and non-printable bytes print as \\xNN")


@pytest.mark.points(5)
def test_server_reports_each_client_real_address(lab):
    server, port = start_server(lab)
    peers = [udp_socket(lab.host) for _ in range(3)]
    for number, peer in enumerate(peers, 1):
        lab.step(f"Python client {number} at {address(*peer.getsockname())} sent its greeting")
        peer.sendto(f"Greetings from client {number}".encode(), (LOOPBACK, port))
    for number, peer in enumerate(peers, 1):
        greeting = f"Greetings from client {number}".encode()
        expected = f"Your data was {len(greeting)} bytes long"
        got = receive(peer, 2, watch=server)
        lab.check(got is not None and got[0] == expected.encode(),
                  f"client {number} got no correct reply", expected=f"'{expected}'",
                  got="nothing within 2 s" if got is None else f"'{quote(got[0])}'",
                  hint="send each reply to the address recvfrom() returned for that datagram")
        expect_client_line(lab, server, peer, greeting,
                           hint="print the sender's address as recvfrom() filled it in")


@pytest.mark.points(5)
def test_server_serves_clients_one_after_another(lab):
    server, port = start_server(lab)
    gone = udp_socket(lab.host)
    lab.step("a Python client sent a datagram and closed its socket without reading the reply")
    gone.sendto(b"I will not wait for the answer", (LOOPBACK, port))
    gone.close()
    for number in range(1, 5):
        with udp_socket(lab.host) as peer:
            expect_reply(lab, server, peer, port, f"Client {number} here".encode())


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_listens_on_the_loopback_only(lab):
    host, other = lab.net.host("server"), lab.net.host("neighbour")
    link = lab.net.link(host, other, "10.0.1.0/24")
    server, port = start_server(lab, host=host)
    # Silence from the network only counts for a server that does answer on its
    # loopback: a program that binds nothing must not pass.
    expect_reply(lab, server, udp_socket(host), port, b"Hello from the loopback")
    outsider = other.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outsider.connect((link.a_address, port))
    lab.step(f"a Python client on another host sent a datagram to {link.a_address}:{port}, "
             "the server host's network address (not its loopback)")
    outsider.send(b"Hello from the network")
    try:
        got = receive(outsider, 1)
    except ConnectionRefusedError:
        got = None  # ICMP port unreachable: nobody listens there, as it should be
    lab.check(got is None, "the server answered a datagram that arrived from the network",
              expected="no answer: the lab-01 server listens on 127.0.0.1 only",
              got=f"'{quote(got[0])}'" if got else None,
              hint="bind to 127.0.0.1 (INADDR_LOOPBACK), not to INADDR_ANY")


@pytest.mark.points(4)
def test_server_blocks_while_no_datagram_comes(lab):
    server, port = start_server(lab)
    expect_reply(lab, server, udp_socket(lab.host), port, b"Wake up")
    check_blocks(lab, server, "the next datagram")
    expect_reply(lab, server, udp_socket(lab.host), port, b"Still there?")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_uses_port_1060_by_default(lab):
    server = lab.run("server")
    server.expect(line("Listening at 127.0.0.1:1060"),
                  hint="without -p the port is 1060")
    peer = udp_socket(lab.host)
    expect_reply(lab, server, peer, 1060, b"Default port?")


# -- the client ---------------------------------------------------------------

def start_client(lab):
    """A Python server socket, and `udp_local client -p PORT` pointed at it."""
    peer = udp_socket(lab.host)
    port = peer.getsockname()[1]
    lab.step(f"a Python server listens at {LOOPBACK}:{port}")
    return peer, lab.run("client", "-p", port)


def first_request(lab, peer, client):
    got = receive(peer, 2, watch=client)
    if got is None:
        client.expect("The OS assigned me the address .*", timeout=0.2)  # surfaces exit 3
        lab.fail("the Python server received no datagram from the client within 2 s",
                 hint="sendto() the message to 127.0.0.1 and the port given with -p")
    lab.step(f"the Python server received '{quote(got[0])}' from {address(*got[1])}")
    return got


@pytest.mark.points(8)
def test_client_sends_the_current_time(lab, other_time_zone):
    local_zone = other_time_zone
    lab.step(f"the client runs with TZ={local_zone} (local time is UTC+5:45)")
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    match = re.fullmatch(rb"The time is (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})", data)
    lab.check(match is not None, "the client's message is not in the expected form",
              expected="'The time is YYYY-MM-DD HH:MM:SS.ffffff'", got=f"'{quote(data)}'",
              hint="format the time with strftime(\"%Y-%m-%d %H:%M:%S\") plus .%06ld "
                   "microseconds, and send exactly the text (no NUL at the end)")
    sent = datetime.datetime.strptime(match[1].decode(), "%Y-%m-%d %H:%M:%S.%f")
    drift = abs((datetime.datetime.now() - sent).total_seconds())
    lab.check(drift < 5, "the time the client sent is not the current local time",
              expected=f"about {datetime.datetime.now():%Y-%m-%d %H:%M:%S}",
              got=match[1].decode(),
              hint="use clock_gettime(CLOCK_REALTIME) and localtime_r() (local time, not "
                   f"gmtime_r(): the time zone was {local_zone})")
    peer.sendto(f"Your data was {len(data)} bytes long".encode(), sender)
    lab.check(client.expect_exit(2) == 0, "the client did not exit 0 after the reply")


@pytest.mark.points(8)
def test_client_reports_the_address_the_os_assigned(lab):
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    # An unconnected socket's name keeps the wildcard IP (0.0.0.0) after sendto():
    # the port is what the OS assigned, and the IP may print either way.
    said = client.expect(line("The OS assigned me the address {addr}", addr=ADDRESS),
                         hint="print getsockname() after the first sendto() with sl_addr_text()")
    printed = int(said["port"])
    why = {0: "port 0 means getsockname() ran before the first sendto(), which is when the "
              "OS picks the port",
           swapped(sender[1]): f"{printed} is {sender[1]} with its two bytes swapped: print "
                               "ntohs(sin_port), not sin_port"}.get(printed,
                               "call getsockname() on the socket you sent with")
    lab.check(printed == sender[1] and said["ip"] in ("0.0.0.0", LOOPBACK),
              "the client printed the wrong address",
              expected=f"The OS assigned me the address 0.0.0.0:{sender[1]} (the datagram came "
                       f"from port {sender[1]}; 127.0.0.1 is fine too)", got=said[0], hint=why)
    peer.sendto(f"Your data was {len(data)} bytes long".encode(), sender)
    client.expect_exit(2)


@pytest.mark.points(5)
def test_client_prints_the_server_reply_quoted(lab):
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    reply = b"It's a \\ reply\x00\twith \xff odd bytes"
    lab.step(f"the Python server replied '{quote(reply)}'")
    peer.sendto(reply, sender)
    client.expect(line("The server {addr} replied '{text}'",
                       addr=re.escape(address(*peer.getsockname())), text=re.escape(quote(reply))),
                  hint="print the reply with sl_quote() and the sender's address from recvfrom()")
    lab.check(client.expect_exit(2) == 0, "the client did not exit 0 after the reply")


@pytest.mark.points(10)
def test_client_ignores_a_spoofed_reply(lab):
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    port = peer.getsockname()[1]
    # A stranger that differs from the server only in its port (the hidden tests
    # vary the IP instead).
    spoofers = [(udp_socket(lab.host), "the server's IP, another port",
                 "compare the ports too (sin_port), not only the IP")]
    for number, (spoofer, what, _) in enumerate(spoofers, 1):
        lab.step(f"a socket at {address(*spoofer.getsockname())} ({what}) sent "
                 f"'I am the server, honest {number}' to the client")
        spoofer.sendto(b"I am the server, honest %d" % number, sender)
    lab.step("then the real server replied")
    peer.sendto(f"Your data was {len(data)} bytes long".encode(), sender)
    code = client.expect_exit(2)
    for number, (spoofer, what, hint) in enumerate(spoofers, 1):
        taken = [l for l in client.stdout if f"honest {number}" in l and "replied" in l]
        lab.check(not taken, f"the client took a datagram from {what} for the server's reply",
                  expected=f"only a reply from {address(LOOPBACK, port)}", got=taken[0] if taken
                  else None, hint=hint)
    client.expect(line("The server {addr} replied 'Your data was {n} bytes long'",
                       addr=re.escape(address(LOOPBACK, port)), n=str(len(data))),
                  hint="ignore the strangers and keep waiting for the server's own reply")
    lab.check(code == 0, "the client did not exit 0 after the real reply",
              expected="exit 0", got=f"exit {code}")
    for number, (spoofer, what, _) in enumerate(spoofers, 1):
        stranger = address(*spoofer.getsockname())
        wanted = (f"Ignored a datagram from {stranger}, which is not the server: "
                  f"'I am the server, honest {number}'")
        on_stderr = any(wanted in text for text in client.stderr)
        lab.check(wanted in client.stdout, f"the client did not report the datagram from {what}"
                  + (" on stdout" if on_stderr else ""),
                  expected=f"{wanted} (on stdout)", got=" | ".join(client.stdout[-3:]),
                  hint="the line went to stderr: print it with printf(), on stdout" if on_stderr
                  else "print a line for every datagram you ignore, with its sender and text")


@pytest.mark.points(4)
def test_client_blocks_while_waiting_for_the_reply(lab):
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    check_blocks(lab, client, "the server's reply")
    peer.sendto(f"Your data was {len(data)} bytes long".encode(), sender)
    client.expect(line("The server {addr} replied '{text}'", addr=re.escape(address(
        *peer.getsockname())), text=f"Your data was {len(data)} bytes long"), timeout=2)


# -- the command line -----------------------------------------------------------

BAD_USAGE = [[], ["bogus"], ["server", "extra"], ["client", "-x"]]
BAD_PORTS = ["65536", "-1", "12ab", "", " 80"]


@pytest.mark.points(5)
def test_bad_usage_exits_2_with_the_synopsis(lab):
    for args in BAD_USAGE:
        program = lab.run(*args)
        code = program.expect_exit(2)
        lab.check(code == 2 and any("usage:" in l for l in program.stderr),
                  f"`udp_local {' '.join(args)}` is bad usage", expected="exit 2 and the synopsis "
                  "'usage: udp_local server|client [-p PORT]' on stderr",
                  got=f"exit {code}, stderr {program.stderr[-1:] or 'empty'}",
                  hint="check the arguments before doing anything; call usage() on any problem")


@pytest.mark.points(5)
def test_bad_port_is_a_clear_error(lab):
    for port in BAD_PORTS:
        program = lab.run("server", "-p", port)
        code = program.expect_exit(2)
        lab.check(code == 1 and program.stderr and "port" in program.stderr[-1].lower(),
                  f"a bad port {port!r} was not refused clearly",
                  expected="exit 1 with a message naming the port on stderr",
                  got=f"exit {code}, stderr {program.stderr[-1:] or 'empty'}",
                  hint="parse the port with sl_parse_port() and errx(1, ...) when it fails")
