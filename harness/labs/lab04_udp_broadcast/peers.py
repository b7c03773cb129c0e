"""Lab 04's peers: Python sockets that broadcast, join multicast groups, and read
each datagram's TTL."""
import socket
import struct
import time
from dataclasses import dataclass

from harness.peers.wait import wait_readable
from harness.timeouts import scaled

# Linux's value; Python's socket module names it only from 3.12 on.
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)


def sender(host, address="0.0.0.0"):
    """A UDP socket on host allowed to broadcast, bound to (address, any port)."""
    sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind((address, 0))
    return sock


def multicast_sender(host, address, ttl=1):
    """A UDP socket on host that sends multicast out of the interface of address."""
    sock = sender(host, address)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    return sock


def listener(host, port, group=None, interface=None):
    """A UDP socket on host bound to (any, port) that reports each datagram's TTL;
    with group, a member of it on the interface whose address is interface."""
    sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    sock.bind(("0.0.0.0", port))
    if group is not None:
        membership = socket.inet_aton(group) + socket.inet_aton(interface)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    return sock


@dataclass
class Datagram:
    data: bytes
    sender: tuple    # (ip, port)
    ttl: int         # as it arrived, or None if the kernel did not say


def receive(sock, timeout, watch=None):
    """The next Datagram on sock, or None after timeout (scaled) — or as soon as
    watch (a Program) has exited with nothing more queued."""
    if not wait_readable(sock, time.monotonic() + scaled(timeout), watch):
        return None
    return _read(sock)


def _read(sock):
    data, ancillary, _, sender = sock.recvmsg(65535, socket.CMSG_SPACE(4))
    ttl = None
    for level, kind, value in ancillary:
        if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
            ttl = struct.unpack("i", value[:4])[0]
    return Datagram(data, sender[:2], ttl)


def received_before(sock, marker, timeout):
    """Every datagram on sock up to the one whose data is marker (sent last, along
    the same path, so whatever came before it has arrived). None if the marker
    does not come within timeout (scaled)."""
    seen = []
    deadline = time.monotonic() + scaled(timeout)
    while True:
        if not wait_readable(sock, deadline):
            return None
        datagram = _read(sock)
        if datagram.data == marker:
            return seen
        seen.append(datagram)
