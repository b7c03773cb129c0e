"""Lab 04's network: a LAN of hosts with a router to a far subnet.

    h1 h2 h3 ...  on one bridge, 10.0.2.0/24 (from .1; .2 on if the router is there)
    [router]      also on the bridge, 10.0.2.1, when a far subnet is wanted:
    router -- far 10.0.3.0/24 (router .1, far .2)
"""
from dataclasses import dataclass

LAN_SUBNET, FAR_SUBNET = "10.0.2.0/24", "10.0.3.0/24"


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
