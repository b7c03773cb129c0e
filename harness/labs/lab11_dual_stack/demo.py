"""Lab 11 demos: showip, dual_server and dual_client in the grader's two-family
lab network (network.py), with the lab's own /etc/hosts."""
import os

from harness.labs.lab11_dual_stack.network import SERVER6, blackhole, dual_world
from harness.network.wire import Impairment

LISTENING = r"Listening at \[::\]:1060"


def start_server(demo, world):
    demo.say("start dual_server on the server host: one socket, [::]:1060")
    server = demo.run(program="dual_server", host=world.server)
    demo.expect(server, LISTENING)
    return server


def run_client(demo, world, name):
    client = demo.run(name, program="dual_client", host=world.client, binds=world.binds)
    client.wait(8)
    return client


def both_families(demo):
    """one dual-stack server; a client over IPv6, then one over IPv4"""
    world = dual_world(demo.lab)
    demo.start_capture([world.client])
    server = start_server(demo, world)
    demo.say("dual_client dual.lab: the resolver lists IPv6 first (RFC 6724 rule 6)")
    run_client(demo, world, "dual.lab")
    demo.say("dual_client v4only.lab: IPv4 only, to the same socket")
    run_client(demo, world, "v4only.lab")
    demo.expect(server, r"Client 10\.0\.1\.1:\d+ over IPv4 \(seen as .*\)")
    demo.finish("""
        One listening socket on [::] took both connections. The first handshake is IPv6
        (IP6 fd00:1::1 > fd00:1::2), the second plain IPv4 (IP 10.0.1.1 > 10.0.1.2): on
        the wire nothing is mapped. Only the socket API shows the IPv4 client as
        [::ffff:10.0.1.1], and the server turned that back into 10.0.1.1 for its log and
        its answer. IPv6 connected at once, so the client never sent a SYN to IPv4.
        """)


def blackholed(demo):
    """IPv6 silently dropped: IPv4 starts 250 ms later and wins"""
    world = dual_world(demo.lab, [("10.0.1.2", "black.lab"), (SERVER6, "black.lab")])
    blackhole(demo.lab, world, SERVER6)
    demo.say("the client's neighbour entry for fd00:1::2 points at a MAC address no one "
             "has: SYNs to it leave and vanish")
    demo.start_capture([world.client])
    start_server(demo, world)
    demo.say("dual_client black.lab")
    run_client(demo, world, "black.lab")
    demo.finish("""
        A SYN to [fd00:1::2] and no answer: no RST, no ICMP, nothing. 250 ms later (the
        Connection Attempt Delay) a SYN to 10.0.1.2, answered within a millisecond: that
        connection wins, and the IPv6 attempt is closed while still in SYN_SENT, which
        sends nothing. Without the race, the client would have waited for IPv6 to time
        out: 5 s with lab 05's bound, two minutes with a plain connect().
        """)


def refused(demo):
    """nobody listens: each address is refused and the next starts at once"""
    world = dual_world(demo.lab)
    demo.start_capture([world.client])
    demo.say("no server runs; dual_client dual.lab")
    run_client(demo, world, "dual.lab")
    demo.finish("""
        Each SYN is answered with a reset ([R.]) within a round trip, and the client
        starts the next address at once instead of waiting out the 250 ms: a refusal
        is an answer. Both refused, it gives up at once with the last reason.
        """)


def slow(demo):
    """a slow link: IPv4 starts after 250 ms, but the IPv6 handshake goes on and wins"""
    world = dual_world(demo.lab, impairment=Impairment(delay=0.2, seed=11))
    demo.say("the link delays every frame by 200 ms each way: a handshake takes 0.4 s")
    demo.start_capture([world.client])
    start_server(demo, world)
    demo.say("dual_client dual.lab")
    run_client(demo, world, "dual.lab")
    demo.finish("""
        The IPv6 SYN at 0; no SYN+ACK within 250 ms, so a SYN to IPv4 as well, while
        IPv6 goes on. IPv6's SYN+ACK comes first (at 0.4 s) and wins; the IPv4 attempt
        is cancelled, and when its SYN+ACK arrives at 0.65 s, the client's kernel
        answers it with a reset: no socket waits for it any more. A client that gave up
        on IPv6 at 250 ms would have connected over IPv4, later.
        """)


def order(demo):
    """the resolver's order: showip on several names, and with another gai.conf"""
    world = dual_world(demo.lab, [("fd00:9::2", "far.lab"), ("10.0.1.2", "far.lab")])
    for name, why in (("dual.lab", "both usable: IPv6 first (rule 6), although /etc/hosts "
                       "lists IPv4 first"),
                      ("far.lab", "no route to fd00:9::2: it goes last (rule 1)")):
        demo.say(f"showip {name}: {why}")
        demo.run(name, program="showip", host=world.client, binds=world.binds).wait(5)
    gai = os.path.join(demo.lab.workdir, "etc", "gai-ipv4-first.conf")
    with open(gai, "w") as out:
        out.write("precedence ::ffff:0:0/96 100\n")
    os.chmod(gai, 0o644)
    binds = [(gai, target) if target == "/etc/gai.conf" else (source, target)
             for source, target in world.binds]
    demo.say("showip dual.lab with a gai.conf that says `precedence ::ffff:0:0/96 100`")
    demo.run("dual.lab", program="showip", host=world.client, binds=binds).wait(5)
    demo.finish("""
        The same /etc/hosts, three orders: getaddrinfo() sorts with RFC 6724's rules,
        which look at the machine's routes and source addresses and at a policy table
        that /etc/gai.conf may change. A program uses the order it is given.
        """)


EXPERIMENTS = {"": both_families, "blackhole": blackholed, "refused": refused, "slow": slow,
               "order": order}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r".*IP6 fd00:1::1\.\d+ > fd00:1::2\.1060: Flags \[S\].*",
         r".*IP 10\.0\.1\.1\.\d+ > 10\.0\.1\.2\.1060: Flags \[S\].*",
         r"\s*Client 10\.0\.1\.1:\d+ over IPv4 \(seen as \[::ffff:10\.0\.1\.1\]:\d+\)",
         r"\s*The server says 'You are \[fd00:1::1\]:\d+ over IPv6'"],
    "blackhole": [r".*IP6 fd00:1::1\.\d+ > fd00:1::2\.1060: Flags \[S\].*",
                  r".*IP 10\.0\.1\.1\.\d+ > 10\.0\.1\.2\.1060: Flags \[S\].*",
                  r"\s*Cancelled \[fd00:1::2\]:1060 \(still connecting\)"],
    "refused": [r".*Flags \[R\.\].*", r".*could not connect to dual\.lab port 1060: "
                r"Connection refused"],
    "slow": [r"\s*Connected to \[fd00:1::2\]:1060 from .*",
             r"\s*Cancelled 10\.0\.1\.2:1060 \(still connecting\)"],
    "order": [r"\s*IPv4: 10\.0\.1\.2", r"\s*IPv6: fd00:9::2"],
}
UNTRACED = ("order",)
