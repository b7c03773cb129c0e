"""Lab 11's Python peers: a server that listens on several addresses of both
families at once (one socket per address, so the test knows which family a
client chose), and a client that reads dual_server's one-line answer."""
import select
import socket
import time

from harness.grading.contract import address
from harness.peers.tcp import connect, listener, receive_until_close
from harness.timeouts import scaled


class Servers:
    """Listening sockets on host, one per address, all on the same port."""

    def __init__(self, host, addresses, port=0):
        self.sockets = {}
        for ip in addresses:
            sock = listener(host, ip, port)
            port = sock.getsockname()[1]
            self.sockets[sock] = ip
        self.port = port

    def describe(self):
        return " and ".join(address(ip, self.port) for ip in self.sockets.values())

    def accept(self, timeout, watch=None):
        """The first connection to any of the addresses: (conn, the address it
        reached, the client's (ip, port)), or None within timeout (scaled) or once
        watch has exited."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select(list(self.sockets), [], [], min(left, 0.05))
            if ready:
                conn, peer = ready[0].accept()
                return conn, self.sockets[ready[0]], peer[:2]
            if watch is not None and watch.poll() is not None:
                ready, _, _ = select.select(list(self.sockets), [], [], 0)
                if not ready:
                    return None

    def pending(self):
        """The addresses that have a connection waiting to be accepted."""
        ready, _, _ = select.select(list(self.sockets), [], [], 0)
        return [self.sockets[sock] for sock in ready]

    def close(self):
        for sock in self.sockets:
            sock.close()


def answer(conn, text, split=None, gap=0.3):
    """Send one line (text and a newline) and close; with split, in two pieces: the
    first split bytes, then after gap seconds the rest (a line a client must gather)."""
    data = text.encode() + b"\n"
    try:
        if split is not None:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(data[:split])
            time.sleep(gap)  # the behaviour under test: the pieces arrive apart
            data = data[split:]
        conn.sendall(data)
    except OSError:
        pass  # the client has gone: what it printed tells the story
    conn.close()


def ask(host, ip, port, timeout=5, watch=None):
    """Connect from host to ip:port and read until the server closes:
    (the client's own (ip, port), the bytes received, whether the server closed)."""
    sock = connect(host, ip, port)
    me = sock.getsockname()[:2]
    data, closed = receive_until_close(sock, timeout, watch=watch)
    sock.close()
    return me, data, closed


def listening_sockets(host, port):
    """The TCP sockets listening on port in host's network namespace, from
    /proc/net/tcp and tcp6: a list of (family, local address as the kernel writes it)."""
    def read():
        found = []
        for family, path in (("IPv4", "/proc/thread-self/net/tcp"),
                             ("IPv6", "/proc/thread-self/net/tcp6")):
            with open(path) as table:
                for row in table.read().splitlines()[1:]:
                    fields = row.split()
                    local, state = fields[1], fields[3]
                    ip, hex_port = local.split(":")
                    if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                        found.append((family, ip))
        return found
    return host.inside(read)


WILDCARD6 = "0" * 32  # "::" as /proc/net/tcp6 writes it
