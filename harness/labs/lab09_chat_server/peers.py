"""Lab 09 peers: Python chat clients that talk to chat_server the way people and
programs do (whole lines, dribbled bytes, resets, half-closes, not reading at
all), a crowd of a thousand of them, a Python chat server for chat_client, and
a look at how much CPU a program under test has used."""
import selectors
import socket
import struct
import threading
import time

from harness.grading.contract import address
from harness.peers.wait import wait_readable
from harness.timeouts import scaled

LINE_MAX = 1024           # the server forwards a line of at most this many bytes whole
QUEUE_MAX = 65536         # what the server may hold for one client that does not read
SLICE = 0.05              # how often a loop looks at its stop flag


class ChatPeer:
    """One Python client of the chat server, on a lab host: it sends bytes and
    reads whole lines, every wait with a deadline that also ends when the watched
    program (the server) exits."""

    def __init__(self, host, ip, port, watch=None, rcvbuf=None):
        self.watch = watch
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.sock = host.socket(family, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect(), so the window the kernel offers is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(scaled(3))
        self.sock.connect((ip, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.name = address(*self.sock.getsockname()[:2])
        self.buffer = bytearray()
        self.ended = None  # None, "closed" or "reset": how the server ended the stream
        self.received = 0  # bytes received, in total

    def send(self, data):
        """Send all of data (blocking, with a deadline)."""
        self.sock.settimeout(scaled(5))
        self.sock.sendall(data)

    def line(self, timeout=3):
        """The next line without its newline, or None if none came within timeout
        (scaled), the stream ended, or the server exited first."""
        deadline = time.monotonic() + scaled(timeout)
        while b"\n" not in self.buffer:
            if self.ended or not self._receive(deadline):
                return None
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer[:] = rest
        return line

    def _receive(self, deadline, size=65536):
        if not wait_readable(self.sock, deadline, self.watch):
            return False
        try:
            data = self.sock.recv(size)
        except ConnectionResetError:
            self.ended = "reset"
            return False
        except BlockingIOError:
            return True
        if not data:
            self.ended = "closed"
            return False
        self.buffer += data
        self.received += len(data)
        return True

    def until_end(self, timeout=5):
        """Read and throw away everything until the server ends the stream: how it
        ended ("closed", "reset"), or None if it did not within timeout (scaled)."""
        deadline = time.monotonic() + scaled(timeout)
        while not self.ended and self._receive(deadline):
            self.buffer.clear()
        return self.ended

    def shutdown_sending(self):
        """Half-close: a FIN, and the socket still reads."""
        self.sock.shutdown(socket.SHUT_WR)

    def reset(self):
        """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


class Crowd:
    """Many Python clients connecting at once (non-blocking connects, one
    selector), each collecting what the server sends it."""

    def __init__(self, host, ip, port, count):
        self.selector = selectors.DefaultSelector()
        self.socks = host.inside(lambda: [socket.socket() for _ in range(count)])
        self.data = {}
        for sock in self.socks:
            sock.setblocking(False)
            sock.connect_ex((ip, port))  # EINPROGRESS: the handshake finishes by itself
            self.data[sock] = bytearray()
            self.selector.register(sock, selectors.EVENT_READ)
        self.names = {}

    def receive_until(self, done, timeout, watch=None, socks=None, quiet=None):
        """Read from the clients (socks, default all) until done(data) holds for
        each one's bytes, or timeout (scaled) passes, or nothing arrives for quiet
        seconds (scaled), or watch exits, or they are closed. Returns how many of
        them satisfy done()."""
        socks = self.socks if socks is None else socks
        deadline = time.monotonic() + scaled(timeout)
        last = time.monotonic()
        waiting = {sock for sock in socks if not done(self.data[sock])}
        while waiting and time.monotonic() < deadline:
            if watch is not None and watch.poll() is not None:
                break
            if quiet is not None and time.monotonic() - last > scaled(quiet):
                break
            for key, _ in self.selector.select(SLICE):
                last = time.monotonic()
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    chunk = b""
                if not chunk:
                    self.selector.unregister(sock)
                    waiting.discard(sock)
                    continue
                self.data[sock] += chunk
                if done(self.data[sock]):
                    waiting.discard(sock)
        return sum(1 for sock in socks if done(self.data[sock]))

    def name(self, sock):
        return address(*sock.getsockname()[:2])

    def close(self):
        self.selector.close()
        for sock in self.socks:
            sock.close()


class ChatServer:
    """A Python chat server for one chat_client: it listens on a lab host and hands
    the test the accepted connection. recvbuf/sndbuf fix the accepted socket's
    buffers (a small one keeps the buffers from hiding a client that blocks)."""

    def __init__(self, host, ip="127.0.0.1", rcvbuf=None, sndbuf=None):
        self.sock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for option, size in ((socket.SO_RCVBUF, rcvbuf), (socket.SO_SNDBUF, sndbuf)):
            if size:
                self.sock.setsockopt(socket.SOL_SOCKET, option, size)  # inherited by accept()
        self.sock.bind((ip, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.conn = None

    def accept(self, timeout, watch=None):
        """The client's connection, or None within timeout (scaled) or once watch exits."""
        if not wait_readable(self.sock, time.monotonic() + scaled(timeout), watch):
            return None
        self.conn, _ = self.sock.accept()
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.conn

    def receive(self, count, timeout, watch=None):
        """Up to count bytes from the client: fewer if it ended its stream (or
        timeout, scaled, passed, or watch exited). (data, ended)."""
        deadline = time.monotonic() + scaled(timeout)
        data = bytearray()
        while len(data) < count:
            if not wait_readable(self.conn, deadline, watch):
                return bytes(data), False
            chunk = self.conn.recv(min(count - len(data), 1 << 20))
            if not chunk:
                return bytes(data), True
            data += chunk
        return bytes(data), False

    def close(self):
        for sock in (self.conn, self.sock):
            if sock is not None:
                sock.close()


class Sender(threading.Thread):
    """Sends data on a socket from a thread (blocking, within timeout), so the test
    can do something else meanwhile: error is the OSError that stopped it, if any."""

    def __init__(self, sock, data, timeout):
        super().__init__(daemon=True)
        self.sock, self.data, self.timeout = sock, data, scaled(timeout)
        self.sent = 0
        self.error = None
        self.start()

    def run(self):
        self.sock.settimeout(self.timeout)
        view = memoryview(self.data)
        try:
            while self.sent < len(self.data):
                self.sent += self.sock.send(view[self.sent:self.sent + 65536])
        except OSError as error:
            self.error = error


def tcp_wmem_max(host):
    """The largest send buffer Linux autotuning gives a TCP socket on host."""
    def read():
        with open("/proc/sys/net/ipv4/tcp_wmem") as knob:
            return int(knob.read().split()[2])
    return host.inside(read)
