"""Lab 04 building blocks: a LAN of hosts with a router to a far subnet, and
Python peers that broadcast, join multicast groups, and read each datagram's TTL.

    h1 h2 h3 ...  on one bridge, 10.0.2.0/24 (from .1; .2 on if the router is there)
    [router]      also on the bridge, 10.0.2.1, when a far subnet is wanted:
    router -- far 10.0.3.0/24 (router .1, far .2)
"""
import select
import socket
import struct
import time
from dataclasses import dataclass

from harness.timeouts import scaled

LAN_SUBNET, FAR_SUBNET = "10.0.2.0/24", "10.0.3.0/24"
# Linux's value; Python's socket module names it only from 3.12 on.
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)


@dataclass
class BroadcastLan:
    hosts: list      # h1, h2, ... on the LAN
    router: object
    far: object      # behind the router, on another subnet
    lan: object      # the labnet Lan (address_of, broadcast)

    def address(self, host):
        """A host's address: on the LAN, or the far host's on its own subnet."""
        return self.far.address if host is self.far else self.lan.address_of(host)

    @property
    def broadcast(self):
        return self.lan.broadcast


def broadcast_lan(net, count=3, far=False):
    """count hosts on one bridge; with far, also a router on the bridge and a far
    host behind it (the hosts then route everything else through the router)."""
    router = net.router("router") if far else None
    hosts = [net.host(f"h{n}") for n in range(1, count + 1)]
    # Without an IGMP querier a snooping bridge floods multicast anyway; switching
    # snooping off says so, and no join can race with the bridge's learning.
    lan = net.lan(([router] if far else []) + hosts, LAN_SUBNET, multicast_snooping=False)
    far_host = None
    if far:
        far_host = net.host("far")
        link = net.link(router, far_host, FAR_SUBNET)
        for host in hosts:
            host.ip(f"route add default via {lan.address_of(router)}")
        far_host.ip(f"route add default via {link.a_address}")
    return BroadcastLan(hosts, router, far_host, lan)


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
    deadline = time.monotonic() + scaled(timeout)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if select.select([sock], [], [], min(remaining, 0.05))[0]:
            return _read(sock)
        if watch is not None and watch.poll() is not None \
                and not select.select([sock], [], [], 0)[0]:
            return None


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
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
            return None
        datagram = _read(sock)
        if datagram.data == marker:
            return seen
        seen.append(datagram)
