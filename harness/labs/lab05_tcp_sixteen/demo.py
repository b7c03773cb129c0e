"""Lab 05 demos: tcp_sixteen across a link between two hosts."""
import socket
import time

SUBNET = "10.0.1.0/24"
PORT = 1060
LISTENING = r"Listening at .*"
WAITING = r"Waiting to accept a new connection"


def two_hosts(demo):
    client, server = demo.net.host("client"), demo.net.host("server")
    link = demo.net.link(client, server, SUBNET)
    return client, server, link.b_address


def start_server(demo, host, address):
    demo.say(f"start the server on {address}:{PORT}")
    server = demo.run("server", address, host=host)
    demo.expect(server, LISTENING)
    demo.expect(server, WAITING)
    return server


def conversation(demo):
    """one connection: handshake, sixteen bytes each way, a FIN each way"""
    client_host, server_host, address = two_hosts(demo)
    demo.start_capture([client_host])
    server = start_server(demo, server_host, address)
    demo.say("run the client once, from 10.0.1.1")
    client = demo.run("client", address, host=client_host)
    client.wait(5)
    demo.expect(server, r"  Reply sent, socket closed")
    demo.finish("""
        [S], [S.], [.]: the three-way handshake, before connect() returned and accept()
        handed the server a new socket. Then 16 bytes each way, each acknowledged
        ([.] with the ack number one past the last byte received; relative numbers,
        as tcpdump prints them). The server closed first ([F.]) and the client after it:
        a FIN each way, each acknowledged. The server's first socket went on listening.
        """)


def no_server(demo):
    """nobody listens: the SYN is answered with a reset"""
    client_host, _, address = two_hosts(demo)
    demo.start_capture([client_host])
    demo.say(f"nothing listens on {address}:{PORT}; run the client")
    client = demo.run("client", address, host=client_host)
    client.wait(5)
    demo.finish("""
        The SYN was answered with a reset ([R.]): no socket listens on that port. connect()
        failed with ECONNREFUSED, "Connection refused", at once: unlike UDP, TCP knows.
        """)


def early_close(demo):
    """a client that sends 8 bytes and closes: the server reports it and goes on"""
    client_host, server_host, address = two_hosts(demo)
    demo.start_capture([client_host])
    server = start_server(demo, server_host, address)
    demo.say("a Python client connects, sends 'Hi there' (8 bytes) and closes")
    with client_host.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((address, PORT))
        sock.sendall(b"Hi there")
    demo.expect(server, r".*was expecting 16 bytes but only received 8 bytes.*", timeout=5,
                stream="stderr")
    demo.say("then the real client, which the server still serves")
    client = demo.run("client", address, host=client_host)
    client.wait(5)
    demo.finish("""
        recv() returned 8 bytes, then 0: the peer's FIN, end of stream. A recvall() that
        loops until 16 bytes must notice that 0, or it spins for ever; the server reports
        the short message, closes that connection, and accepts the next one.
        """)


def short_reads(demo):
    """a server that answers in three pieces: the client's loop puts them together"""
    client_host, server_host, address = two_hosts(demo)
    listener = server_host.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((address, PORT))
    listener.listen(1)
    listener.settimeout(5)
    demo.start_capture([client_host])
    demo.say(f"a Python server on {address}:{PORT} that sends 'Farewell, client' as "
             "'Fare', 'well, ', 'client', 0.1 s apart")
    client = demo.run("client", address, host=client_host)
    connection, _ = listener.accept()
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        received = b""
        while len(received) < 16:
            piece = connection.recv(16 - len(received))
            if not piece:
                break
            received += piece
        for piece in (b"Fare", b"well, ", b"client"):
            connection.sendall(piece)
            time.sleep(0.1)
    listener.close()
    client.wait(5)
    demo.finish("""
        Three segments of 4, 6 and 6 bytes (see the trace), and one line from the
        client with all 16: one recv() returns what has arrived so far, and the
        client's recvall() called it until it had the 16 bytes it expected. A stream
        has no message boundaries: the sender's send() calls are not the receiver's
        recv() calls.
        """)


EXPERIMENTS = {"": conversation, "no-server": no_server, "early-close": early_close,
               "short-reads": short_reads}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r".*Flags \[S\], seq 0, .*", r".*Flags \[S\.\], seq 0, ack 1, .*",
        r".*Flags \[P\.\], seq 1:17, ack 1, .*'Hi there, server'",
        r".*Flags \[P\.\], seq 1:17, ack 17, .*'Farewell, client'", r".*Flags \[F\.\].*"],
    "no-server": [r".*Flags \[R\.\], ack 1, .*"],
    "short-reads": [r".*length 4: 'Fare'", r"\s+The server said 'Farewell, client'"],
}
