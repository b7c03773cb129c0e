"""Lab 10's lab network: a chain of routers between the prober and a destination.

    prober 10.0.1.1 --link 1-- r1 --link 2-- r2 ... rN --link N+1-- dest

Link k is 10.0.k.0/24, its left end .1 and its right end .2, so router k answers
from 10.0.k.2 and the destination is 10.0.(N+1).2. Every router and the
destination send ICMP without Linux's default rate limit (a trace asks a hop for
several answers in a row, and tests may run two traces at once); a *silent*
router sends none at all. A *scripted* destination is a host that owns no
address on the way: the last router routes the destination address to it, its
kernel drops what arrives (it does not forward), and a Python peer sees every
probe there and answers as a test wants (peers.ScriptedDestination).
"""
from dataclasses import dataclass, field

from harness.network.wire import Impairment

# ICMP types 0 (echo reply) to 18 (address mask reply): every type Linux may send.
ALL_ICMP_TYPES = (1 << 19) - 1
# Milliseconds between two rate-limited ICMP messages on a silent router: its first
# token comes after the burst the kernel grants a new peer (60 s) runs out... in
# 16 minutes, long after any test.
SILENT_RATELIMIT_MS = 1_000_000
# The address a scripted destination stands for: outside every link, so the last
# router routes it to the scripted host instead of looking for it with ARP.
SCRIPTED_ADDRESS = "10.0.100.1"


@dataclass
class Chain:
    prober: object
    routers: list
    dest: object
    links: list = field(default_factory=list)
    dest_address: str = ""
    silent: tuple = ()
    delays: tuple = ()  # seconds each link holds a frame, each way

    def round_trip(self, hop):
        """The least round trip to hop, in seconds, that the links' delays allow."""
        return 2 * sum(self.delays[:hop])

    def hop_address(self, hop):
        """The address that answers for hop (1 = the first router; the destination last)."""
        if hop == len(self.routers) + 1:
            return self.dest_address
        return self.links[hop - 1].b_address

    @property
    def hops(self):
        """The hops a complete trace shows: every router, then the destination."""
        return len(self.routers) + 1

    def describe(self):
        parts = [f"prober {self.links[0].a_address}"]
        for number, router in enumerate(self.routers, 1):
            quiet = " (sends no ICMP)" if number in self.silent else ""
            parts.append(f"r{number} {self.hop_address(number)}{quiet}")
        parts.append(f"destination {self.dest_address}")
        if any(self.delays):
            parts.append("links delayed " + ", ".join(f"{d * 1000:g}" for d in self.delays)
                         + " ms each way")
        return " -- ".join(parts)


def chain(net, routers, silent=(), scripted=False, delay=0.0):
    """Build prober, `routers` routers and a destination in a line (see the module
    docstring); the routers numbered in `silent` send no ICMP at all; with a delay
    (seconds, or one per link) every link holds every frame that long, each way."""
    prober = net.host("prober")
    hops = [net.router(f"r{number}") for number in range(1, routers + 1)]
    dest = net.host("dest")
    nodes = [prober, *hops, dest]
    delays = tuple(delay) if isinstance(delay, (tuple, list)) else (delay,) * (routers + 1)
    links = [net.link(left, right, f"10.0.{k}.0/24",
                      impairment=Impairment(delay=delays[k - 1], seed=k) if delays[k - 1] else None)
             for k, (left, right) in enumerate(zip(nodes, nodes[1:]), 1)]
    # Everyone sends by default to the right; a router also needs the way back to
    # the prober, through its left neighbour (router 1 is on the prober's link).
    for index, link in enumerate(links):
        link.a.ip(f"route add default via {link.b_address}")
        if index >= 2:
            link.a.ip(f"route add 10.0.1.0/24 via {links[index - 1].a_address}")
    last = links[-1]
    dest.ip(f"route add default via {last.a_address}")
    dest_address = last.b_address
    if scripted:
        last.a.ip(f"route add {SCRIPTED_ADDRESS}/32 via {last.b_address}")
        dest_address = SCRIPTED_ADDRESS
    for host in [*hops, dest]:
        host.sysctl("net.ipv4.icmp_ratelimit", 0)
    for number in silent:
        silence(hops[number - 1])
    return Chain(prober, hops, dest, links, dest_address, tuple(silent), delays)


def silence(router):
    """Make router send no ICMP of any type (it still forwards): every type is
    rate-limited, and the limit is one message per 16 minutes after no burst."""
    router.sysctl("net.ipv4.icmp_ratemask", ALL_ICMP_TYPES)
    router.sysctl("net.ipv4.icmp_ratelimit", SILENT_RATELIMIT_MS)
