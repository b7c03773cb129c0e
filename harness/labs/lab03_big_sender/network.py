"""Lab 03 building blocks: routed paths of links with chosen MTUs, an interface's
MTU as the kernel has it, and a watch on the ICMP that routers send back.

    sender --mtus[0]-- router1 --mtus[1]-- ... --mtus[-1]-- far

Each router is a namespace with forwarding on, so a packet too big for its next
link really makes it send ICMP "fragmentation needed" across the lab network.
"""
import fcntl
import select
import socket
import struct
import time
from dataclasses import dataclass, field

SIOCGIFMTU = 0x8921
ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED = 3, 4


@dataclass
class Path:
    sender: object
    far: object
    far_address: str
    routers: list = field(default_factory=list)
    mtus: tuple = ()

    @property
    def bottleneck(self):
        return min(self.mtus)

    def describe(self):
        hops = ["sender"] + [f"router {n}" for n in range(1, len(self.routers) + 1)] + ["far host"]
        text = hops[0]
        for mtu, hop in zip(self.mtus, hops[1:]):
            text += f" --MTU {mtu}-- {hop}"
        return text


def routed_path(net, mtus, impairments=(), prefix=""):
    """sender, len(mtus) - 1 routers and a far host joined by links of these MTUs,
    with routes both ways; link n is the subnet 10.0.n.0/24 (n from 1). The
    Impairment impairments[n - 1], where given and not None, makes link n an
    imperfect cable (network/wire.py). prefix names the hosts of a second path."""
    hops = [net.host(f"{prefix}sender")]
    hops += [net.router(f"{prefix}router{n}") for n in range(1, len(mtus))]
    hops.append(net.host(f"{prefix}far"))
    impairments = tuple(impairments) + (None,) * len(mtus)
    links = [net.link(left, right, f"10.0.{n}.0/24", mtu=mtu, impairment=impairments[n - 1])
             for n, (left, right, mtu) in enumerate(zip(hops, hops[1:], mtus), 1)]
    # Every hop but the far host sends by default to its right neighbour; a
    # router also needs the subnets left of its left link, via its left neighbour;
    # the far host sends everything back to its left neighbour.
    for index, link in enumerate(links):
        link.a.ip(f"route add default via {link.b_address}")
        for left in range(1, index):
            link.a.ip(f"route add 10.0.{left}.0/24 via {links[index - 1].a_address}")
    links[-1].b.ip(f"route add default via {links[-1].a_address}")
    return Path(hops[0], hops[-1], links[-1].b_address, hops[1:-1], tuple(mtus))


def interface_mtu(host, name="lo"):
    """The MTU the kernel has for interface name on host (SIOCGIFMTU)."""
    with host.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16si", name.encode(), 0)
        return struct.unpack("16si", fcntl.ioctl(sock, SIOCGIFMTU, request))[1]


class IcmpWatch:
    """Every ICMP "fragmentation needed" that reaches a host, seen by a raw socket
    (a copy: the kernel still handles each message as usual)."""

    def __init__(self, host):
        self.sock = host.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.seen = []  # (router address, next-hop MTU)

    def collect(self):
        """Read whatever has arrived; the list of (router, mtu) seen so far."""
        while select.select([self.sock], [], [], 0)[0]:
            packet, (source, _) = self.sock.recvfrom(65535)
            header = (packet[0] & 0x0F) * 4
            if len(packet) >= header + 8 and packet[header] == ICMP_DEST_UNREACH \
                    and packet[header + 1] == ICMP_FRAG_NEEDED:
                mtu = struct.unpack("!H", packet[header + 6:header + 8])[0]
                self.seen.append((source, mtu))
        return self.seen

    def close(self):
        self.sock.close()


def elapsed_since(program):
    """Seconds since program was started."""
    return time.monotonic() - program.started

