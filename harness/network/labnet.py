"""The lab network: hosts, links, LANs and routers built from network namespaces.

Every test gets a fresh LabNet. A host is a network namespace with its loopback
up; links are veth pairs (IPv4, and IPv6 when asked); an impaired link runs
through a user-space cable (wire.py) in a hidden namespace; a LAN is a bridge in
a hidden "switch" namespace with a veth to each host; a router is a host that
forwards. Where namespaces are not available, a LabNet offers exactly one host,
the grader's own loopback, and tests that need more are skipped before they start
(see grading/plugin.py).
"""
import fcntl
import ipaddress
import json
import os
import shutil
import socket
import struct
import time

from harness.network import namespaces
from harness.network.wire import Wire, disable_offloads
from harness.timeouts import scaled


# iproute2, found once: a bare "ip" would be looked for along PATH at every start.
IP = shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])) or "ip"
SIOCGIFHWADDR = 0x8927


SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def _bring_up_loopback():
    """In a new host's namespace (the calling thread's): loopback up, and IPv6
    addresses usable at once. An ioctl and two writes, not an `ip` process: every
    test makes a host or more, and two processes each cost more than the rest."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(probe.fileno(), SIOCGIFFLAGS,
                                                  request)[:18])[1]
        fcntl.ioctl(probe.fileno(), SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))
    # Duplicate address detection would hold every new address back for a second
    # or more, and no lab tests DAD. (A kernel booted with ipv6.disable=1 has no
    # such knob, nor IPv6 to give.)
    if os.path.isdir("/proc/sys/net/ipv6"):
        for scope in ("all", "default"):
            with open(f"/proc/sys/net/ipv6/conf/{scope}/accept_dad", "w") as knob:
                knob.write("0")
    # The kernel's ICMP token bucket is one for the whole machine (1000 a second,
    # bursts of 50): tests running at once, or another grader's, could drain it and
    # make a router's answer vanish. A host's own rate (its sysctls) lifts that; the
    # per-destination limit (icmp_ratelimit) stays, for the tests that set it.
    for knob, value in (("icmp_msgs_per_sec", "1000000"), ("icmp_msgs_burst", "100000")):
        try:
            with open(f"/proc/sys/net/ipv4/{knob}", "w") as setting:
                setting.write(value)
        except OSError:
            pass  # a kernel where they are not the namespace's: its defaults stand


class NetworkSetupError(RuntimeError):
    """The grader could not build the network a test asked for (not the student's fault)."""


class Host:
    """One machine of the lab network."""

    def __init__(self, net, name, netns_fd):
        self.net = net
        self.name = name
        self.netns_fd = netns_fd
        self.addresses = []  # IPv4 addresses given to this host, in order
        self.addresses6 = []  # IPv6 addresses given to this host, in order

    @property
    def netns_path(self):
        """Path for nsenter, or None when the host is the grader's own namespace."""
        return None if self.netns_fd is None else namespaces.namespace_path(self.netns_fd)

    @property
    def address(self):
        """The host's first address on a link or LAN, or 127.0.0.1 if it has none."""
        return self.addresses[0] if self.addresses else "127.0.0.1"

    @property
    def address6(self):
        """The host's first IPv6 address on a link or LAN, or ::1 if it has none."""
        return self.addresses6[0] if self.addresses6 else "::1"

    def mac(self, interface):
        """The link-layer address of one of the host's interfaces, as aa:bb:…"""
        with self.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            answer = fcntl.ioctl(probe.fileno(), SIOCGIFHWADDR,
                                 struct.pack("256s", interface.encode()))
        return ":".join(f"{byte:02x}" for byte in answer[18:24])

    def ip(self, *commands):
        """Run `ip` commands (one string each, as for `ip -batch`) inside this host."""
        if self.netns_path is None:
            raise NetworkSetupError("cannot configure the grader's own network")
        script = "".join(command + "\n" for command in commands)
        result = namespaces.run_in(self.netns_path, [IP, "-batch", "-"], input=script,
                                   timeout=scaled(10))
        if result.returncode != 0:
            raise NetworkSetupError(f"ip on host {self.name} failed: {result.stderr.strip()}\n"
                                    f"commands:\n{script}")

    def sysctl(self, key, value):
        """Set a net.* sysctl (dotted key) in this host's namespace."""
        path = "/proc/sys/" + key.replace(".", "/")

        def write():
            with open(path, "w") as knob:
                knob.write(str(value))
        self.inside(write)

    def socket(self, family=socket.AF_INET, kind=socket.SOCK_DGRAM, proto=0):
        """A Python socket living in this host's network namespace."""
        return self.inside(lambda: socket.socket(family, kind, proto))

    def run(self, argv, **options):
        """Start a program on this host; see Lab.run for the options."""
        return self.net.launch(self, argv, **options)

    def inside(self, action):
        """Call action() with the calling thread inside this host's network namespace."""
        if self.netns_fd is None:
            return action()
        return namespaces.run_in_namespace(self.netns_fd, action)

    def __repr__(self):
        return f"<host {self.name} {self.addresses}>"


class Link:
    """A point-to-point link; a and b are the two hosts, with their addresses (IPv6
    ones are None unless the link has an IPv6 subnet); impairment, if any."""

    def __init__(self, a, a_address, b, b_address, mtu, a_address6=None, b_address6=None,
                 impairment=None, wire=None):
        self.a, self.a_address, self.b, self.b_address, self.mtu = a, a_address, b, b_address, mtu
        self.a_address6, self.b_address6 = a_address6, b_address6
        self.impairment = impairment
        self.wire = wire  # the user-space cable of an impaired link (its frame counts)

    def describe(self):
        """'10.0.1.1 -- 10.0.1.2 (delay 50 ms, seed 7)' for a failure's story."""
        text = f"host {self.a.name} {self.a_address} -- host {self.b.name} {self.b_address}"
        return text + (f" (an imperfect link: {self.impairment.describe()})"
                       if self.impairment else "")


class Lan:
    """Hosts on one bridge; address_of(host) and broadcast tell who is where."""

    def __init__(self, name, subnet, switch):
        self.name = name
        self.subnet = subnet
        self.switch = switch
        self.members = {}

    @property
    def broadcast(self):
        return str(self.subnet.broadcast_address)

    def address_of(self, host):
        return self.members[host.name]


class LabNet:
    """The hosts of one test. launch(host, argv, **options) starts programs."""

    def __init__(self, launch, unavailable_reason=None, note=None):
        self.launch = launch
        self.unavailable_reason = unavailable_reason
        self.note = note or (lambda text: None)  # tells the test's story what was built
        self.hosts = {}
        self._fds = []
        self._wires = []
        self._wire_count = 0

    @property
    def available(self):
        return self.unavailable_reason is None

    def host(self, name="host"):
        """A new host with only its loopback; without namespaces, the grader's own."""
        if name in self.hosts:
            raise NetworkSetupError(f"there is already a host named {name}")
        if not self.available:
            if self.hosts:
                raise NetworkSetupError("only one host exists without namespaces: "
                                        + self.unavailable_reason)
            host = self.hosts[name] = Host(self, name, None)
            return host
        fd = namespaces.new_network_namespace()
        self._fds.append(fd)
        host = self.hosts[name] = Host(self, name, fd)
        host.inside(_bring_up_loopback)
        return host

    def router(self, name="router"):
        """A host that forwards IPv4 between its links."""
        router = self.host(name)
        router.sysctl("net.ipv4.ip_forward", 1)
        return router

    def link(self, a, b, subnet, mtu=1500, a_index=1, b_index=2, subnet6=None,
             impairment=None):
        """Join hosts a and b on subnet (a gets .a_index, b .b_index); with subnet6
        (e.g. "fd00:1::/64") they get IPv6 addresses the same way. With an
        Impairment the link is an imperfect cable (wire.py): every frame each way
        is delayed, lost, duplicated or reordered as it says, from its seed."""
        network = ipaddress.ip_network(subnet)
        a_address, b_address = str(network[a_index]), str(network[b_index])
        a_if, b_if = _ifname("to-" + b.name), _ifname("to-" + a.name)
        wire = None
        # Each host's commands in one `ip -batch` (a process costs more than its work).
        at_a, at_b = [], []
        if impairment is None:
            at_a.append(f"link add {a_if} mtu {mtu} type veth peer name {b_if} mtu {mtu} "
                        f"netns {b.netns_path}")
        else:
            wire = self._impaired_cable(a, a_if, b, b_if, mtu, impairment)
        at_a += [f"addr add {a_address}/{network.prefixlen} dev {a_if}", f"link set {a_if} up"]
        at_b += [f"addr add {b_address}/{network.prefixlen} dev {b_if}", f"link set {b_if} up"]
        a.addresses.append(a_address)
        b.addresses.append(b_address)
        a6 = b6 = None
        if subnet6 is not None:
            network6 = ipaddress.ip_network(subnet6)
            a6, b6 = str(network6[a_index]), str(network6[b_index])
            at_a.append(f"addr add {a6}/{network6.prefixlen} dev {a_if} nodad")
            at_b.append(f"addr add {b6}/{network6.prefixlen} dev {b_if} nodad")
            a.addresses6.append(a6)
            b.addresses6.append(b6)
        a.ip(*at_a)
        b.ip(*at_b)
        if wire is not None:
            # The neighbours are known: no address resolution crosses the cable, so
            # a lost ARP or neighbour solicitation never stalls a test for a second.
            for here, here_if, there, there_if, addresses in (
                    (a, a_if, b, b_if, [b_address, b6]), (b, b_if, a, a_if, [a_address, a6])):
                mac = there.mac(there_if)
                here.ip(*[f"neigh replace {address} lladdr {mac} dev {here_if} nud permanent"
                          for address in addresses if address])
        link = Link(a, a_address, b, b_address, mtu, a6, b6, impairment, wire)
        if impairment is not None:
            self.note(f"the link {link.describe()} (replay it with the same seed)")
        return link

    def _impaired_cable(self, a, a_if, b, b_if, mtu, impairment):
        """veths from a and from b into a hidden namespace, joined there by a Wire."""
        self._wire_count += 1
        cable = self.host(f"cable-{self._wire_count}")
        cable.sysctl("net.ipv6.conf.all.disable_ipv6", 1)  # no chatter of its own
        cable.sysctl("net.ipv6.conf.default.disable_ipv6", 1)
        cable.ip(f"link add side-a mtu {mtu} type veth peer name {a_if} mtu {mtu} "
                 f"netns {a.netns_path}",
                 f"link add side-b mtu {mtu} type veth peer name {b_if} mtu {mtu} "
                 f"netns {b.netns_path}",
                 "link set side-a up", "link set side-b up")
        for host, names in ((cable, ("side-a", "side-b")), (a, (a_if,)), (b, (b_if,))):
            probe = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for name in names:
                disable_offloads(probe, name)
            probe.close()
        wire = Wire(cable.socket, "side-a", "side-b", impairment)
        self._wires.append(wire)
        return wire

    def lan(self, hosts, subnet, name="lan0", first_index=1, multicast_snooping=True):
        """Put hosts on one bridged LAN; they get consecutive addresses from .first_index.
        Returns once every port of the bridge forwards, so no test loses its first frames.
        Without multicast_snooping the bridge floods multicast to every port."""
        network = ipaddress.ip_network(subnet)
        lan = Lan(name, network, self.host(f"switch-{name}"))
        snooping = 1 if multicast_snooping else 0
        switch = [f"link add {name} type bridge mcast_snooping {snooping}", f"link set {name} up"]
        for index, host in enumerate(hosts, start=first_index):
            port = _ifname(f"p-{host.name}")
            switch += [f"link add {port} type veth peer name {name} netns {host.netns_path}",
                       f"link set {port} master {name}", f"link set {port} up"]
        lan.switch.ip(*switch)
        for index, host in enumerate(hosts, start=first_index):
            address = str(network[index])
            host.ip(f"addr add {address}/{network.prefixlen} brd + dev {name}",
                    f"link set {name} up")
            host.addresses.append(address)
            lan.members[host.name] = address
        _wait_until_forwarding(lan)
        return lan

    def close(self):
        """Let go of every namespace (the kernel frees each once no process is in it)."""
        for wire in self._wires:
            wire.close()
        self._wires.clear()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def _wait_until_forwarding(lan, timeout=5.0):
    """Wait until every port of the LAN's bridge forwards. A port starts to once the
    kernel's link watcher has seen its veth's carrier come up: at once on an idle
    machine, but on a loaded one late enough to lose a test's first frames."""
    deadline = time.monotonic() + scaled(timeout)
    command = [IP, "-j", "-d", "link", "show", "master", lan.name]
    while True:
        shown = namespaces.run_in(lan.switch.netns_path, command, timeout=scaled(10))
        states = [port.get("linkinfo", {}).get("info_slave_data", {}).get("state")
                  for port in json.loads(shown.stdout or "[]")]
        if len(states) == len(lan.members) and all(s == "forwarding" for s in states):
            return
        if time.monotonic() > deadline:
            raise NetworkSetupError(f"the ports of bridge {lan.name} did not all start "
                                    f"forwarding within {scaled(timeout):.0f} s: {states}")
        time.sleep(0.01)  # polling a kernel state (with a deadline), not synchronising


def _ifname(name):
    """Interface names are at most 15 bytes."""
    return name[:15]
