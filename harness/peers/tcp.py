"""TCP peer helpers: Python clients and servers on lab hosts that talk to the
program under test with deadlines, that can dribble bytes or hang up early."""
import socket
import struct
import time

from harness.peers.wait import wait_readable
from harness.timeouts import scaled


def family_of(address):
    """AF_INET6 for an IPv6 address (it has colons), else AF_INET."""
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def listener(host, address="127.0.0.1", port=0):
    """A listening TCP socket on a lab host (IPv6 for an IPv6 address)."""
    sock = host.socket(family_of(address), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(8)
    return sock


def accept(sock, timeout, watch=None):
    """The next connection as (conn, (ip, port)), or None within timeout (scaled)
    or once watch has exited."""
    if not wait_readable(sock, time.monotonic() + scaled(timeout), watch):
        return None
    conn, peer = sock.accept()
    return conn, peer[:2]


def connect(host, address, port, timeout=2, nodelay=False):
    """A TCP connection from a lab host to (address, port), over IPv4 or IPv6."""
    sock = host.socket(family_of(address), socket.SOCK_STREAM)
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
        if not wait_readable(sock, deadline, watch):
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
    while len(data) < count and wait_readable(sock, deadline, watch):
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
