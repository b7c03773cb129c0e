"""Lab 04 demos: udp_broadcast on a LAN of hosts on one bridge."""
from harness.network.capture import ETH_P_IP
from harness.labs.lab04_udp_broadcast.network import broadcast_lan

PORT = 1060
GROUP = "239.1.2.3"
LISTENING = r"Listening for datagrams at .*"
HEARD = r"The client at .* says: .*"


def serve(demo, host, *args):
    """Start a server on host and wait until it listens."""
    server = demo.run("server", *args, host=host)
    demo.expect(server, LISTENING)
    return server


def is_igmp(packet):
    return packet.protocol == ETH_P_IP and len(packet.data) > 9 and packet.data[9] == 2


def send(demo, host, *args):
    client = demo.run("client", *args, host=host)
    if client.wait(5) != 0:
        said = client.stderr[-1] if client.stderr else "nothing on stderr"
        demo.fail(f"`{client.label}` on {host.name} did not send: {said}")
    return client


def everyone(demo):
    """one broadcast from h1 reaches the servers on h2, h3 and h4"""
    lan = broadcast_lan(demo.net, count=4)
    h1, others = lan.hosts[0], lan.hosts[1:]
    demo.start_capture()
    for host in others:
        demo.say(f"start a server bound to '' (any address) on {host.name} "
                 f"({lan.address(host)})")
        serve(demo, host, "")
    demo.say(f"the client on h1 sends one datagram to {lan.broadcast}:{PORT}")
    send(demo, h1, lan.broadcast)
    for server in demo.lab.programs[:len(others)]:
        demo.expect(server, HEARD)
    demo.finish("""
        h1 sent one packet (one "Out" line), and every other host received a copy ("In"
        on each): the bridge floods a frame for ff:ff:ff:ff:ff:ff out of every port, and
        each host's kernel hands the datagram to every socket bound to the port on the
        wildcard address. No ARP was needed: a broadcast has no one to look up.
        """)


def bind_one(demo):
    """a server bound to its own unicast address hears no broadcast"""
    lan = broadcast_lan(demo.net, count=3)
    h1, h2, h3 = lan.hosts
    demo.start_capture()
    demo.say(f"on h2 a server bound to its unicast address {lan.address(h2)}")
    unicast = serve(demo, h2, lan.address(h2))
    demo.say(f"on h3 a server bound to the broadcast address {lan.broadcast}")
    serve(demo, h3, lan.broadcast)
    demo.say(f"h1 broadcasts to {lan.broadcast}:{PORT}")
    send(demo, h1, lan.broadcast)
    demo.expect(demo.lab.programs[1], HEARD)
    demo.say(f"h1 sends the same text to h2 directly, {lan.address(h2)}:{PORT}")
    send(demo, h1, lan.address(h2))
    demo.expect(unicast, HEARD)
    demo.finish("""
        The broadcast reached both hosts (see the "In" lines), yet only h3's server
        printed it: binding to an address filters on the destination address, and a
        datagram to 10.0.2.255 is not addressed to 10.0.2.2. The unicast datagram to
        10.0.2.2 went to h2 alone (after an ARP exchange to find h2's MAC address) and
        its server printed that one.
        """)


def multicast(demo):
    """broadcast against multicast: everyone hears the one, only members the other"""
    lan = broadcast_lan(demo.net, count=3)
    h1, h2, h3 = lan.hosts
    demo.start_capture()
    demo.say(f"on h2 a server that joins {GROUP} on its interface ({lan.address(h2)})")
    member = serve(demo, h2, lan.address(h2), "--group", GROUP)
    # The kernel may send its IGMP report a moment after the join: show it first.
    demo.capture.wait_for(lambda packet: packet.host == "h2" and is_igmp(packet), timeout=2)
    demo.say("on h3 a server on the wildcard address that joins nothing")
    bystander = serve(demo, h3, "")
    demo.say(f"h1 sends to the group {GROUP}, TTL 1, out of {lan.address(h1)}")
    send(demo, h1, lan.address(h1), "--group", GROUP)
    demo.expect(member, HEARD)
    demo.say(f"h1 broadcasts to {lan.broadcast}")
    send(demo, h1, lan.broadcast)
    demo.expect(bystander, HEARD)
    demo.expect(member, HEARD)
    demo.finish("""
        Joining sent IGMP reports from h2: that is how switches and routers learn who
        wants the group. The multicast datagram (ttl 1: no router would pass it on)
        reached every port of this bridge, which does no IGMP snooping, but only h2's
        kernel, a member, delivered it; h3's server never saw it. The broadcast went to
        both servers. Multicast reaches the hosts that asked; broadcast interrupts
        everyone on the LAN.
        """, ip_details=True)


def router(demo):
    """a broadcast stays on its LAN: the router does not pass it to far"""
    lan = broadcast_lan(demo.net, count=2, far=True)
    h1, h2 = lan.hosts
    demo.start_capture()
    for host in (h2, lan.far):
        demo.say(f"start a server on {host.name} ({lan.address(host)})")
        serve(demo, host, "")
    demo.say(f"h1 broadcasts to {lan.broadcast}:{PORT}")
    send(demo, h1, lan.broadcast)
    demo.expect(demo.lab.programs[0], HEARD)
    demo.finish("""
        The router is on the LAN too, so it received the broadcast ("router lan0 In"),
        but it did not forward it: no line shows the datagram on the router's link to
        far, and far's server heard nothing. Routers do not forward broadcasts, so a
        broadcast is a LAN-only tool (DHCP, Wake-on-LAN, service discovery).
        """)


EXPERIMENTS = {"": everyone, "bind-one": bind_one, "multicast": multicast, "router": router}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [rf"{host} lan0 In  IP 10\.0\.2\.1\.\d+ > 10\.0\.2\.255\.1060: UDP, length 19"
        for host in ("h2", "h3", "h4")],
    "multicast": [r"h1 lan0 Out IP 10\.0\.2\.1\.\d+ > 239\.1\.2\.3\.1060: UDP, length 19: "
        r"'Broadcast datagram!' \(IP length 47, DF, ttl 1\)"],
}
