"""UDP peer helpers: sockets on lab hosts and receiving with a deadline that also
notices when the program under test has already exited."""
import socket
import time

from harness.peers.wait import wait_readable
from harness.timeouts import scaled


def udp_socket(host, address="127.0.0.1", port=0, family=socket.AF_INET):
    """A UDP socket on a lab host, bound to (address, port)."""
    sock = host.socket(family, socket.SOCK_DGRAM)
    sock.bind((address, port))
    return sock


def receive(sock, timeout, watch=None, size=65535):
    """The next datagram as (data, (ip, port)), or None if none arrives within
    timeout (scaled) — or, when watch (a Program) is given, once it has exited
    and nothing more is queued."""
    return receive_until(sock, time.monotonic() + scaled(timeout), watch, size)


def receive_until(sock, deadline, watch=None, size=65535, read=None):
    """receive() with an absolute time.monotonic() deadline. read(sock, size), if
    given, takes the datagram off the socket instead (its result is returned)."""
    if not wait_readable(sock, deadline, watch):
        return None
    if read is not None:
        return read(sock, size)
    data, sender = sock.recvfrom(size)
    return data, sender[:2]


def ask(sock, destination, payload, timeout, watch=None):
    """Send payload to destination; the first reply from there, or None.
    Datagrams from anywhere else are passed over."""
    sock.sendto(payload, destination)
    deadline = time.monotonic() + scaled(timeout)
    while True:
        got = receive_until(sock, deadline, watch)
        if got is None or got[1] == tuple(destination):
            return None if got is None else got[0]
