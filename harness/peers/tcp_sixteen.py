"""TCP peer helpers for lab 05 (tcp_sixteen): Python clients and servers that
talk to the program under test with deadlines, that can dribble bytes or hang
up early, and a packet capture that sees a host's TCP segments on the wire."""
import contextlib
import select
import socket
import struct
import threading
import time

from harness.timeouts import scaled

POLL_SLICE = 0.05  # how often a wait looks at whether the watched program ended


def _wait_readable(sock, deadline, watch):
    """True once sock is readable; False at the deadline, or once watch (a Program)
    has exited and sock still has nothing to read."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([sock], [], [], min(remaining, POLL_SLICE))
        if ready:
            return True
        if watch is not None and watch.poll() is not None:
            return bool(select.select([sock], [], [], 0)[0])


@contextlib.contextmanager
def wire(lab, doing, hint=None):
    """Turn a socket error on the Python peer's side (refused, reset, broken pipe)
    into a failure that says what the peer was doing, instead of a grader crash."""
    try:
        yield
    except OSError as error:
        lab.fail(f"the connection failed while {doing}: {error.strerror or error}", hint=hint)


def listener(host, address="127.0.0.1", port=0):
    """A listening TCP socket on a lab host."""
    sock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(8)
    return sock


def accept(sock, timeout, watch=None):
    """The next connection as (conn, (ip, port)), or None within timeout (scaled)
    or once watch has exited."""
    if not _wait_readable(sock, time.monotonic() + scaled(timeout), watch):
        return None
    conn, peer = sock.accept()
    return conn, peer[:2]


def connect(host, address, port, timeout=2, nodelay=False):
    """A TCP connection from a lab host to (address, port)."""
    sock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(scaled(timeout))
    if nodelay:
        # Every send() becomes its own segment, so the receiver sees short reads.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect((address, port))
    return sock


def receive_until_close(sock, timeout, watch=None, limit=1 << 20):
    """Everything sock receives until the peer closes: (data, closed). closed is
    False when the timeout (scaled) ran out or watch exited first. A reset
    counts as a close."""
    deadline = time.monotonic() + scaled(timeout)
    data = bytearray()
    while len(data) < limit:
        if not _wait_readable(sock, deadline, watch):
            return bytes(data), False
        try:
            chunk = sock.recv(limit - len(data))
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


def receive_exactly(sock, count, timeout, watch=None):
    """Up to count bytes: fewer only if the peer closed, the timeout ran out or watch exited."""
    deadline = time.monotonic() + scaled(timeout)
    data = bytearray()
    while len(data) < count and _wait_readable(sock, deadline, watch):
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def dribble(sock, data, pause):
    """Send data one byte per segment (TCP_NODELAY), pausing between bytes."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for index in range(len(data)):
        if index:
            time.sleep(pause)  # the behaviour under test, not synchronisation
        sock.sendall(data[index:index + 1])


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- packet capture -------------------------------------------------------------

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TCP_FLAGS = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10))


class Segment:
    """One captured TCP segment."""

    def __init__(self, src, sport, dst, dport, flags, length):
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.flags = flags  # set of names: "SYN", "ACK", …
        self.length = length  # payload bytes

    def source(self):
        return (self.src, self.sport)

    def __str__(self):
        return (f"{self.src}:{self.sport} > {self.dst}:{self.dport} "
                f"[{','.join(sorted(self.flags))}] {self.length} bytes")


def parse_tcp(frame):
    """A Segment for an Ethernet frame carrying IPv4/TCP, else None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    header = (ip[0] & 0x0F) * 4
    if ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP or len(ip) < header + 20:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[header:total]
    sport, dport = struct.unpack("!HH", tcp[:4])
    offset = (tcp[12] >> 4) * 4
    flags = {name for name, bit in TCP_FLAGS if tcp[13] & bit}
    return Segment(socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport,
                   flags, len(tcp) - offset)


class Capture:
    """Every TCP segment on a host's interfaces involving port, captured with an
    AF_PACKET socket opened inside the host (root in the lab's user namespace has
    CAP_NET_RAW there); no tcpdump needed. Use as a context manager."""

    def __init__(self, host, port):
        self.port = port
        self.segments = []
        self._sock = host.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.settimeout(POLL_SLICE)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        while not self._stop.is_set():
            try:
                frame, where = self._sock.recvfrom(65600)
            except socket.timeout:
                continue
            # On the loopback each packet passes twice: leaving, then arriving.
            if where[2] == PACKET_OUTGOING:
                continue
            segment = parse_tcp(frame)
            if segment is not None and self.port in (segment.sport, segment.dport):
                with self._lock:
                    self.segments.append(segment)

    def wait_for(self, predicate, timeout):
        """The first segment for which predicate holds, waiting up to timeout (scaled)."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            with self._lock:
                found = next((s for s in self.segments if predicate(s)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(POLL_SLICE)  # polling our own capture list, not the program

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        with self._lock:
            return list(self.segments)
