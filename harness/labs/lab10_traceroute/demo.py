"""Lab 10 demos: traceroute through a chain of routers, with the packets on the prober."""
import os
import re
import shutil

from harness.labs.lab10_traceroute import network, peers


def chain_and_capture(demo, routers, **options):
    chain = network.chain(demo.net, routers, **options)
    demo.start_capture([chain.prober])
    demo.say(f"the lab network: {chain.describe()}")
    return chain


def run_trace(demo, chain, *args, limit=30):
    demo.say(f"run traceroute {' '.join([chain.dest_address, *args])} on the prober")
    tracer = demo.run(chain.dest_address, *args, host=chain.prober, net_raw="-I" in args)
    tracer.wait(limit)
    return tracer


def three_routers(demo):
    """a UDP trace through three routers: TTL 1, 2, 3, 4 and who answers each"""
    chain = chain_and_capture(demo, 3)
    run_trace(demo, chain, "-q", "2")
    demo.finish("""
        Each pair of probes leaves with a TTL one higher than the last (ttl 1, 2, 3, 4 in
        the IP details) and to a port of its own, 33434 and up. Each router that brings
        the TTL to 0 drops the probe and answers "time exceeded in-transit" from its own
        address, quoting the probe's destination and port: that port is how the program
        knew which probe each answer was about. The destination itself answered "port
        unreachable" (nobody listens on 33440), which ended the trace. The program read
        all of these without privileges, from the UDP socket's error queue (IP_RECVERR).
        """, ip_details=True)


def icmp(demo):
    """the same path with -I: echo requests on a raw socket, an echo reply at the end"""
    chain = chain_and_capture(demo, 3)
    run_trace(demo, chain, "-I", "-q", "2")
    demo.finish("""
        The probes are ICMP echo requests now, one identifier for the whole run and
        sequence numbers 1, 2, 3, …; the program built them itself, checksum included,
        and sent them on a raw socket (it needs CAP_NET_RAW, which the demo gave it).
        The routers answer "time exceeded" as before, quoting the request's header,
        identifier and sequence number included; the destination answers with an echo
        reply. The raw socket receives every ICMP message that reaches the host: the
        program keeps only those with its identifier and the probe's sequence number.
        """, ip_details=True)


def silent(demo):
    """a router that sends no ICMP: stars, and the trace goes on"""
    chain = chain_and_capture(demo, 3, silent=(2,))
    demo.say("r2 rate-limits every ICMP type to one message per 1000 s "
             "(net.ipv4.icmp_ratemask, net.ipv4.icmp_ratelimit)")
    run_trace(demo, chain, "-q", "2", "-w", "1")
    demo.finish("""
        The probes with TTL 2 died at r2 like the others, but r2 said nothing: each
        waited its whole WAIT (1 s) and printed '*'. The probes with TTL 3 and 4 passed
        r2 as any packet does, and r3 and the destination answered. A silent hop costs
        PROBES x WAIT seconds with one probe at a time; Debian's traceroute sends up to
        16 probes at once to hide that. On the Internet, stars mostly come from filters
        and from ICMP rate limits like this one.
        """, ip_details=True)


def unreachable(demo):
    """a router with no route to the destination answers network unreachable: !N"""
    chain = chain_and_capture(demo, 3)
    chain.routers[1].ip("route del default")
    demo.say("r2 lost its default route: it cannot reach the destination's network")
    run_trace(demo, chain)
    demo.finish("""
        r2 answered every probe with ICMP "destination unreachable", code 0 (network
        unreachable): '!N' after each time. An unreachable ends the trace as the
        destination's answer does: no later hop can be reached through r2. The hop
        before still answered "time exceeded" as usual.
        """, ip_details=True)


def delay(demo):
    """links that hold every frame 10, 20 and 30 ms: the times add up hop by hop"""
    chain = chain_and_capture(demo, 2, delay=(0.01, 0.02, 0.03))
    run_trace(demo, chain, "-q", "2")
    demo.finish("""
        Each link delays every frame each way (a user-space cable: this kernel has no
        netem). Hop 1 is one link away: about 20 ms there and back. Hop 2 adds 2 x 20 ms,
        about 60 ms; the destination another 2 x 30 ms, about 120 ms. The captured
        packets show the same gaps between a probe and its answer as the printed times;
        the printed ones are a little longer, by the time between the program's clock
        and the wire.
        """, ip_details=True)


def strays(demo):
    """stray, forged and late answers: the program keeps only the one about each probe"""
    chain = chain_and_capture(demo, 1, scripted=True)
    d = chain.dest_address
    demo.say(f"a Python peer plays the destination {d}, and answers the probes of hop 2:")
    demo.say("the first with a port unreachable quoting another port at once, and rightly "
             "1.2 s late;")
    demo.say("the second with a time exceeded from 10.0.99.1 quoting another destination at "
             "once, and rightly after 0.3 s;")
    demo.say("the third rightly at once")

    def script(number, probe):
        right = peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE)
        if number == 0:
            return [(0, peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE,
                                         peers.quote(probe, dport=probe.dport + 100))),
                    (1.2, right)]
        if number == 1:
            return [(0, peers.icmp_error("10.0.99.1", probe, peers.ICMP_TIME_EXCEEDED, 0,
                                         peers.quote(probe, destination="10.0.77.7"))),
                    (0.3, right)]
        return [(0, right)]
    with peers.ScriptedDestination(chain.dest, d, script):
        run_trace(demo, chain, "-w", "1", "-m", "2")
    demo.finish("""
        The first probe at hop 2 saw only an answer quoting port 33537: not its own, so
        it waited on and printed '*' after its WAIT of 1 s. Its right answer came 1.2 s
        after it left, while the second probe waited: it quotes port 33437, the first
        probe's, so it was read and ignored too. The second probe also ignored the "time
        exceeded" from 10.0.99.1, which quotes a datagram to 10.0.77.7, and took its own
        answer 0.3 s after it left. A program that matched answers loosely would have
        printed a wrong hop, or a time for a probe that never got an answer.
        """, ip_details=True)


def debian(demo):
    """Debian's traceroute beside this one on the same chain (if it is installed)"""
    chain = network.chain(demo.net, 3, silent=(2,))
    demo.say(f"the lab network: {chain.describe()}")
    run_trace(demo, chain, "-w", "1")
    if shutil.which("traceroute") is None:
        demo.say("Debian's traceroute is not installed here (apt-get install traceroute)")
    else:
        demo.say(f"run Debian's traceroute -n -w 1 {chain.dest_address}, from the same host")
        theirs = demo.command(["traceroute", "-n", "-w", "1", chain.dest_address],
                              host=chain.prober, label=f"traceroute -n -w 1 {chain.dest_address} "
                              "(Debian's)")
        theirs.wait(20)
    demo.finish("""
        The same lines, in the same shape: the hop number, the address once, a time per
        probe, '*' for the silent r2. Debian's sends up to 16 probes at once, so its
        silent hop costs one WAIT rather than three; it also takes its times from the
        kernel's receive timestamps, which makes them a little smaller.
        """)


def syscalls(demo):
    """the system calls of each probe: IP_TTL, sendto, recvmsg(MSG_ERRQUEUE)"""
    chain = network.chain(demo.net, 2)
    demo.say(f"the lab network: {chain.describe()}")
    if shutil.which("strace") is None:
        demo.fail("strace is not installed here (apt-get install strace)")
    # strace cannot follow a program into the sandbox: it runs here as a command of
    # your own would, outside it.
    binary, log = demo.lab.binaries[demo.lab.name], os.path.join(demo.lab.workdir, "strace")
    demo.say(f"strace -e trace=setsockopt,sendto,recvmsg traceroute -q 1 {chain.dest_address}; "
             "what each call said:")
    traced = demo.command(["strace", "-o", log, "-e", "trace=setsockopt,sendto,recvmsg", binary,
                           "-q", "1", chain.dest_address], host=chain.prober,
                          label=f"strace … traceroute -q 1 {chain.dest_address}")
    traced.wait(10)
    with open(log) as calls:
        for call in calls:
            demo.say("  " + summary(call))
    demo.finish("""
        IP_RECVERR once, then per probe: IP_TTL, a sendto() of the 32 bytes '@AB…_' to
        port 33434, 33435, 33436, and a recvmsg(…, MSG_DONTWAIT|MSG_ERRQUEUE) that
        returns the probe's own bytes, msg_name = where that probe went (address and
        port), and the IP_RECVERR control message: ee_errno 113 (EHOSTUNREACH) or 111
        (ECONNREFUSED), ee_origin=2 (SO_EE_ORIGIN_ICMP), ee_type 11 (time exceeded) or
        3 with ee_code 3 (port unreachable), and the offender: the hop that answered.
        """)


STRACED = [(r"setsockopt\(\d+, SOL_IP, (\w+), \[(\d+)\]", "setsockopt {0} = {1}"),
           (r"sendto\(\d+, .*, (\d+), 0, .*sin_port=htons\((\d+)\)", "sendto() {0} bytes to "
            "port {1}"),
           (r"recvmsg\(.*msg_name=.*sin_port=htons\((\d+)\).*ee_errno=(\d+), ee_origin=(\d+), "
            r"ee_type=(\d+), ee_code=(\d+).*offender=.*inet_addr\(\"([\d.]+)\"\)",
            "recvmsg(MSG_ERRQUEUE): msg_name port {0}, ee_errno={1}, ee_origin={2}, ee_type={3}, "
            "ee_code={4}, offender {5}")]


def summary(call):
    """One strace line, shortened to what the lesson is about."""
    for pattern, shape in STRACED:
        found = re.search(pattern, call)
        if found:
            return shape.format(*found.groups())
    return call.strip()[:100]


EXPERIMENTS = {"": three_routers, "icmp": icmp, "silent": silent, "unreachable": unreachable,
               "delay": delay, "strays": strays, "debian": debian, "syscalls": syscalls}

# What each experiment must print (tests/selftest/test_demo.py).
SHOWS = {
    "": [r"prober to-r1 +Out IP 10\.0\.1\.1\.\d+ > 10\.0\.4\.2\.33434: UDP, length 32: .* "
         r"\(IP length 60, DF, ttl 1\)",
         r"prober to-r1 +In +IP 10\.0\.2\.2 > 10\.0\.1\.1: ICMP time exceeded in-transit "
         r"\(10\.0\.4\.2 udp port 33436\).*",
         r"\s+4  10\.0\.4\.2  \d+\.\d{3} ms  \d+\.\d{3} ms"],
    "icmp": [r".*Out IP 10\.0\.1\.1 > 10\.0\.4\.2: ICMP echo request, id \d+, seq 1, length 40.*",
             r".*In +IP 10\.0\.4\.2 > 10\.0\.1\.1: ICMP echo reply, id \d+, seq 7, length 40.*",
             r"\s+4  10\.0\.4\.2  \d+\.\d{3} ms  \d+\.\d{3} ms"],
    "silent": [r"\s+2  \* \*", r"\s+3  10\.0\.3\.2  \d+\.\d{3} ms  \d+\.\d{3} ms"],
    "unreachable": [r"\s+2  10\.0\.2\.2  \d+\.\d{3} ms !N  \d+\.\d{3} ms !N  \d+\.\d{3} ms !N",
                    r".*ICMP 10\.0\.4\.2 udp port \d+ unreachable \(code 0\).*"],
    "delay": [r"\s+1  10\.0\.1\.2  [2-9]\d\.\d{3} ms  [2-9]\d\.\d{3} ms"],
    "strays": [r"\s+2  \* 10\.0\.100\.1  [1-9]\d\d\.\d{3} ms  \d+\.\d{3} ms",
               r".*IP 10\.0\.99\.1 > 10\.0\.1\.1: ICMP time exceeded in-transit "
               r"\(10\.0\.77\.7 udp port \d+\).*"],
    "debian": [r"\s+2  \* \* \*"],
    "syscalls": [r".*recvmsg\(MSG_ERRQUEUE\): msg_name port 33434, ee_errno=113, ee_origin=2, "
                 r"ee_type=11, ee_code=0, offender 10\.0\.1\.2",
                 r".*msg_name port 33436, ee_errno=111, ee_origin=2, ee_type=3, ee_code=3, "
                 r"offender 10\.0\.3\.2"],
}
# Experiments that capture nothing.
UNTRACED = {"debian", "syscalls"}
