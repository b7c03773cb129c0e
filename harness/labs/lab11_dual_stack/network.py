"""Lab 11's world: a client host and a server host on one link with both IPv4 and
IPv6, names that resolve through the lab's own /etc/hosts, and IPv6 addresses
whose SYNs vanish.

    client 10.0.1.1 fd00:1::1 ---- server 10.0.1.2 fd00:1::2 (+ more IPv6 addresses)

The program under test sees the lab's resolver files through the sandbox's
binds: /etc/hosts, an nsswitch.conf with `hosts: files` (no lookup ever waits
for a DNS server), a host.conf with `multi on` (glibc returns every line of a
name, not only the first) and an empty gai.conf (glibc's built-in RFC 3484
table: IPv6 before IPv4 when both are usable).
"""
import os
import socket
import subprocess
from dataclasses import dataclass, field

import pytest

from harness.network.capture import Capture, tcp_segments
from harness.programs import sandbox
from harness.timeouts import scaled

SUBNET, SUBNET6 = "10.0.1.0/24", "fd00:1::/64"
CLIENT, SERVER = "10.0.1.1", "10.0.1.2"
CLIENT6, SERVER6 = "fd00:1::1", "fd00:1::2"
# The server host's interface towards the client, and the client's towards it.
SERVER_IF, CLIENT_IF = "to-client", "to-server"
# A MAC address no interface has: frames sent to it leave and are never answered.
NOBODY_MAC = "02:00:00:00:11:99"
UNKNOWN = "nosuch.lab"

# The lab's names. The IPv4 line of a name comes first on purpose: the resolver's
# order is not the file's. (Tests and demos add names of their own.)
NAMES = [
    ("127.0.0.1", "localhost"), ("::1", "localhost"),
    (SERVER, "dual.lab"), (SERVER6, "dual.lab"),
    (SERVER6, "v6only.lab"),
    (SERVER, "v4only.lab"),
]

RESOLVER_FILES = {
    "/etc/nsswitch.conf": "hosts: files\n",
    "/etc/host.conf": "multi on\n",
    "/etc/gai.conf": "",
}


def ipv6_unavailable_reason(host):
    """Why this machine cannot give the lab host IPv6, or None if it can."""
    if not os.path.isdir("/proc/sys/net/ipv6"):
        return "this kernel has no IPv6 (booted with ipv6.disable=1?)"
    try:
        with host.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as error:
        return f"no IPv6 loopback here ({error.strerror or error})"
    return None


def require_ipv6(host):
    """Skip the test, with the reason, where IPv6 is missing (README: graded on the rest)."""
    reason = ipv6_unavailable_reason(host)
    if reason:
        pytest.skip(f"needs IPv6, which is unavailable here: {reason}")


@dataclass
class World:
    client: object
    server: object
    binds: list                        # what lab.run(binds=...) needs
    names: list = field(default_factory=list)

    def hosts_text(self):
        return "".join(f"{ip:<12} {name}\n" for ip, name in self.names)


def resolver_binds(lab, names):
    """Write the lab's resolver files into the test's own directory; the sandbox
    binds (source, target) for the ones this machine has. /etc/hosts and host.conf
    are essential: without them the lab's names cannot resolve (skip, never fail)."""
    folder = os.path.join(lab.workdir, "etc")
    os.mkdir(folder)
    os.chmod(folder, 0o755)  # readable by the program (maybe `nobody`), not writable
    files = dict(RESOLVER_FILES)
    files["/etc/hosts"] = "".join(f"{ip:<12} {name}\n" for ip, name in names)
    binds = []
    for target, text in files.items():
        if not os.path.exists(target):
            if target in ("/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf"):
                pytest.skip(f"this machine has no {target} for the lab's own to cover")
            continue  # glibc without a gai.conf uses its built-in table anyway
        source = os.path.join(folder, os.path.basename(target))
        with open(source, "w") as out:
            out.write(text)
        os.chmod(source, 0o644)
        binds.append((source, target))
    return binds


def dual_world(lab, extra_names=(), server_addresses6=(), impairment=None):
    """The two hosts on a link with both families, and the resolver files for the
    lab's names plus extra_names. The server host gets server_addresses6 too
    (nothing listens on them unless a test says so: they refuse). With an
    impairment (network/wire.py) the link is a slow or lossy cable."""
    client, server = lab.net.host("client"), lab.net.host("server")
    require_ipv6(client)
    lab.net.link(client, server, SUBNET, subnet6=SUBNET6, impairment=impairment)
    if server_addresses6:
        server.ip(*[f"addr add {a}/64 dev {SERVER_IF} nodad" for a in server_addresses6])
    names = NAMES + list(extra_names)
    world = World(client, server, resolver_binds(lab, names), names)
    lab.step("the lab network: client 10.0.1.1 / fd00:1::1, server 10.0.1.2 / fd00:1::2 on "
             "one link; the program's /etc/hosts lists " +
             ", ".join(sorted({name for _, name in names} - {"localhost"})))
    return world


def blackhole(lab, world, *addresses6):
    """Make the client's SYNs to these IPv6 addresses vanish: its neighbour entry
    for each points at a MAC address nobody has, so the frames leave the client
    and the server's interface drops them (not for its MAC). No RST, no ICMP."""
    world.client.ip(*[f"neigh replace {a} lladdr {NOBODY_MAC} dev {CLIENT_IF} nud permanent"
                      for a in addresses6])
    lab.step(f"SYNs from the client to {', '.join(addresses6)} vanish (a neighbour entry "
             "points at a MAC address no one has)")


def resolver_order(world, name):
    """The addresses glibc gives for name on the client host with the lab's files,
    in order (getent ahosts, in the same sandbox as the program), or None if it
    cannot say."""
    command = ["nsenter", f"--net={world.client.netns_path}",
               *sandbox.command(binds=world.binds), "getent", "ahosts", name]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=scaled(5))
    except subprocess.TimeoutExpired:
        return None
    seen = []
    for text in result.stdout.splitlines():
        address = text.split()[0] if text.split() else ""
        if address and address not in seen:
            seen.append(address)
    return seen


def expect_resolver_order(lab, world, name, expected, why):
    """State the order a test expects for name, and why; skip (the grader's
    premise does not hold on this machine, not the student's fault) if glibc here
    orders it otherwise."""
    found = resolver_order(world, name)
    if found != list(expected):
        pytest.skip(f"the grader expects {name} to resolve as {', '.join(expected)} ({why}), "
                    f"but this machine's resolver says {', '.join(found or ['nothing'])}")
    lab.step(f"{name} resolves as {', '.join(expected)}: {why}")


def syns_from(segments, host_addresses):
    """The SYNs (no ACK) among segments sent from one of host_addresses, in time
    order, resent ones included."""
    return [s for s in segments if s.flags == {"SYN"} and s.src in host_addresses]


def attempts_from(segments, host_addresses):
    """The first SYN of each connection attempt (each source address and port)
    from one of host_addresses, in time order: the kernel's resent SYNs left out."""
    seen, first = set(), []
    for syn in syns_from(segments, host_addresses):
        if syn.source() not in seen:
            seen.add(syn.source())
            first.append(syn)
    return first


def capture_client(world):
    """A capture of everything the client host sends and receives."""
    return Capture([world.client])


def segments_of(capture, port):
    """Stop the capture: the TCP segments to or from port, in time order."""
    return tcp_segments(capture.stop(), port)
