"""UDP peer helpers: sockets on lab hosts and receiving with a deadline that also
notices when the program under test has already exited."""
import socket
import struct
import time

from harness.peers.wait import wait_readable
from harness.timeouts import scaled


# Arrival times from the kernel (SO_TIMESTAMPNS: stamped when the datagram came
# in, not when the grader got round to reading it). Not exported by Python's socket
# module; 35 on every Linux architecture the labs run on.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")

# The kernel switches timestamping on system-wide lazily (from a work queue) when
# a socket first asks, and until then stamps a datagram when it is read rather
# than when it arrived. A socket that asks at import keeps it on from the start.
_TIMESTAMPS_ON = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
_TIMESTAMPS_ON.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def stamp_arrivals(sock):
    """Ask the kernel to timestamp every datagram sock receives (read_stamped)."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)


def read_stamped(sock, size):
    """(data, sender, arrival) of the next datagram of a stamp_arrivals() socket:
    arrival by the kernel's stamp (Unix seconds; the time of reading only if the
    kernel gave none)."""
    data, ancillary, _, sender = sock.recvmsg(size, socket.CMSG_SPACE(TIMESPEC.size))
    arrival = time.time()
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack_from(value)
            arrival = seconds + nanoseconds / 1e9
    return data, sender[:2], arrival


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
