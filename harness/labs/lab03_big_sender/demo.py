"""Lab 03 demos: big_sender finds the path MTU through routers."""
import select
import socket
import time

from harness.labs.lab03_big_sender.network import routed_path

IP_MTU_DISCOVER, IP_PMTUDISC_DONT = 10, 0  # Linux <netinet/in.h>; Python does not name them


def find_mtu(demo, mtus, notice):
    path = routed_path(demo.net, mtus)
    demo.start_capture()
    demo.say(f"the path: {path.describe()}")
    demo.say(f"run big_sender on sender, towards far ({path.far_address})")
    sender = demo.run(path.far_address, host=path.sender)
    sender.wait(5)
    demo.finish(notice, ip_details=True)


def behind_a_router(demo):
    """big_sender learns a 1400-byte bottleneck from a router's ICMP"""
    find_mtu(demo, (9000, 1400), """
        The first probe, 65507 bytes, never reached the wire: the sender's own kernel
        refused it (send() failed with EMSGSIZE, the first "Alas"), because its link
        carries 9000. The next probe, 8972 bytes + 28 of headers = 9000, left with DF
        set and reached router1, whose next link carries only 1400: it dropped the
        packet and sent ICMP "need to frag (mtu 1400)" back. The kernel cached 1400
        for this destination (IP_MTU now says so), and a probe of 1372 bytes went
        through; far answered "port unreachable", which only proves it arrived whole.
        """)


def two_routers(demo):
    """two routers, two complaints: 9000, then 4000, then 1400"""
    find_mtu(demo, (9000, 4000, 1400), """
        Each router only knows its own next link: router1 complained about 4000,
        router2 (further on, so its ICMP arrives a little later) about 1400. Path-MTU
        discovery takes one round trip per bottleneck, and the program must wait for
        each verdict, a bounded time, before it believes a probe got through.
        """)


def loopback(demo):
    """on the loopback, the largest IPv4 packet is the limit"""
    demo.start_capture()
    demo.say("run big_sender towards 127.0.0.1 (the loopback's MTU is 65536)")
    sender = demo.run("127.0.0.1")
    sender.wait(5)
    demo.finish("""
        No router, no ICMP "need to frag": the loopback carries 65536-byte packets, but
        an IPv4 packet cannot be longer than 65535 bytes (a 16-bit length field), so the
        65507-byte probe, the largest UDP datagram there is, went through in one piece.
        """, ip_details=True)


def fragments(demo):
    """without DF, a 4000-byte datagram is cut into fragments instead"""
    path = routed_path(demo.net, (9000, 1400))
    demo.start_capture()
    demo.say(f"the path: {path.describe()}")
    demo.say("a Python socket with IP_PMTUDISC_DONT (no DF) sends 4000 bytes to far")
    with path.sender.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        sock.sendto(b"#" * 4000, (path.far_address, 1060))
    demo.finish("""
        The datagram left the sender whole (9000 is enough), without DF. router1 cut it
        into three fragments that fit 1400 bytes; only the first carries the UDP header
        with the ports, the others are just offsets into the datagram. far reassembled
        them (and answered "port unreachable", since nobody listens). Lose any one
        fragment and the whole datagram is lost: why this lab sets DF and finds the
        path MTU instead.
        """, ip_details=True)


def traceroute(demo):
    """traceroute's trick: TTL 1, 2, 3 and the ICMP that comes back from each hop"""
    path = routed_path(demo.net, (1500, 1500, 1500))
    demo.start_capture([path.sender])
    demo.say(f"the path: {path.describe()}")
    demo.say("a Python socket sends a UDP datagram to far with TTL 1, then 2, then 3; "
             "a raw ICMP socket on sender reads the answers")
    with path.sender.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as icmp, \
            path.sender.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for ttl in range(1, len(path.routers) + 2):
            probe.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            probe.sendto(b"traceroute", (path.far_address, 33434 + ttl))
            demo.say(f"  TTL {ttl}: {hop_answer(icmp, timeout=1.0)}")
    demo.finish("""
        Each router decrements the TTL and, when it reaches 0, drops the packet and says
        so with ICMP "time exceeded", from its own address: that names hop 1, then hop 2.
        With TTL 3 the datagram reached far, where no one listens on the port, so far
        answered "port unreachable": the trace is complete. The same ICMP machinery
        carries the "need to frag" messages that big_sender learns the MTU from.
        """)


def hop_answer(icmp, timeout):
    """Who answered the last probe, read from a raw ICMP socket; or a note of silence."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([icmp], [], [], left)[0]:
            break
        packet, (source, _) = icmp.recvfrom(2048)
        kind, code = packet[(packet[0] & 0x0F) * 4:][:2]
        if kind == 11:
            return f"ICMP time exceeded from {source}"
        if (kind, code) == (3, 3):
            return f"ICMP port unreachable from {source}: the destination"
    return "no answer"


EXPERIMENTS = {"": behind_a_router, "two-routers": two_routers, "loopback": loopback,
               "fragments": fragments, "traceroute": traceroute}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r"router1 to-sender Out IP 10\.0\.1\.2 > 10\.0\.1\.1: ICMP 10\.0\.2\.2 udp port "
        r"1060 unreachable - need to frag \(mtu 1400\)", r"\s+Actual MTU: 1400"],
    "traceroute": [r"\s+\* +TTL 1: ICMP time exceeded from 10\.0\.1\.2",
        r"\s+\* +TTL 2: ICMP time exceeded from 10\.0\.2\.2",
        r"\s+\* +TTL 3: ICMP port unreachable from 10\.0\.3\.2: the destination"],
    "fragments": [r"router1 to-far +Out IP 10\.0\.1\.1 > 10\.0\.2\.2: fragment id \d+, "
        r"offset 2752, length 1256"],
}
