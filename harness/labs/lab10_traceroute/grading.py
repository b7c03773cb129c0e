"""Lab 10's shared grading steps: run traceroute to the end, read its output as the
contract has it, and compare a trace with the hops the lab network really has."""
import re
from dataclasses import dataclass, field

from harness.labs.lab10_traceroute import network
from harness.programs.process import describe_exit

HEADER = re.compile(r"traceroute to (?P<host>\S+) \((?P<ip>\d{1,3}(?:\.\d{1,3}){3})\), "
                    r"(?P<max>\d+) hops max, 60 byte packets")
HOP = re.compile(r"(?P<ttl> \d|\d{2,3}) (?P<rest>.*)")
ITEM = re.compile(r" \*|(?: (?P<address>\d{1,3}(?:\.\d{1,3}){3}))?  (?P<ms>\d+\.\d{3}) ms"
                  r"(?: (?P<mark>!(?:[A-Z]|<\d+>)))?")
SHAPE = " 1  10.0.1.2  0.075 ms  0.011 ms  0.009 ms"
STAR = None  # an expected probe that gets no answer


@dataclass
class Answered:
    """One probe's part of a hop line: who answered, in how long, with what mark."""
    address: str
    ms: float
    mark: str = ""


@dataclass
class Hop:
    ttl: int
    probes: list = field(default_factory=list)  # Answered, or STAR for '*'
    text: str = ""

    def addresses(self):
        return [p.address if p is not STAR else STAR for p in self.probes]


@dataclass
class Trace:
    lines: list
    hops: list


def run(lab, chain, *args, stars=0, wait=5.0, destination=None):
    """Run traceroute DESTINATION ARGS on the prober until it exits by itself; fail
    unless it exits 0. stars and wait bound how long it may take (each star costs
    up to WAIT seconds). The Program."""
    destination = destination or chain.dest_address
    limit = 10.0 + stars * wait
    # -I needs a raw socket: CAP_NET_RAW in the test's network namespace, nothing more.
    program = lab.run(destination, *args, host=chain.prober, lifetime=limit + 5,
                      net_raw="-I" in args)
    code = program.wait(limit)
    if code is None:
        program.kill()
        lab.fail(f"traceroute was still running after {limit:.0f} s",
                 expected=f"a trace of {chain.hops} hops that ends by itself",
                 got=f"{len(program.stdout)} lines, the last {program.stdout[-1:] or 'none'}",
                 hint=hang_hint(program, destination, "-I" in args))
    if code == 3:
        program.expect(r"(?!)", timeout=0, stream="stderr")  # says "not implemented yet"
    if code != 0:
        lab.fail("traceroute did not finish successfully", expected="exit 0",
                 got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}",
                 hint="a late or stray ICMP error also fails the next sendto() once: when the "
                      "error queue is not empty, empty it and send again"
                 if any("sendto" in line for line in program.stderr) else None)
    return program


def hang_hint(program, destination, icmp):
    """What a trace that did not end suggests, from what it printed so far."""
    hops = [parse_hop(line) for line in program.stdout[1:]]
    if not hops:
        return ("not even hop 1 was printed: every probe waited its whole WAIT. Is "
                + ("the raw socket read (POLLIN, recv())?" if icmp else
                   "IP_RECVERR set, and the error queue read (POLLERR, recvmsg(MSG_ERRQUEUE))?"))
    answered = [hop for hop in hops if hop is not None and set(hop.addresses()) != {STAR}]
    if not answered:
        return ("no probe got an answer: " + ("read the raw socket and match echo answers"
                if icmp else "without IP_RECVERR no ICMP error reaches an unconnected UDP socket"))
    if sum(destination in hop.addresses() for hop in answered) > 1:
        return ("the destination answered, yet the trace went on: its "
                + ("echo reply" if icmp else "port unreachable") + " ends the trace")
    if any(p is not STAR and p.mark for hop in answered for p in hop.probes):
        return "an unreachable (!N, !H, !P, !X, …) ends the trace as well"
    if icmp:
        return ("routers answered but the destination never did: it answers only echo "
                "requests whose checksum verifies (`make unit` tests inet_checksum())")
    return ("stop after the hop where the destination answered (or an unreachable came "
            "back), and give each probe WAIT seconds, not more")


def parse(lab, program, destination):
    """The program's output as a Trace; fail with the contract's shape if it is not."""
    lines = program.stdout
    lab.check(bool(lines) and HEADER.fullmatch(lines[0]) is not None,
              "the first line is not the header the contract asks for",
              expected=f"'traceroute to {destination} ({destination}), N hops max, 60 byte packets'",
              got=repr(lines[0]) if lines else "no output",
              hint="printf(\"traceroute to %s (%s), %d hops max, %d byte packets\\n\", ...)")
    hops = []
    for text in lines[1:]:
        hop = parse_hop(text)
        lab.check(hop is not None, "a hop line does not have the contract's shape",
                  expected=f"e.g. {SHAPE!r} or ' 2  * * *'", got=repr(text),
                  hint="printf(\"%2d \", ttl), then per probe \" *\", or \" ADDRESS\" (only when "
                       "it is not the last one printed on the line: stars do not count) and \"  %.3f ms\" and \" !N\" if unreachable")
        lab.check(hop.ttl == len(hops) + 1, "the hop numbers do not count 1, 2, 3, …",
                  expected=f"hop {len(hops) + 1}", got=repr(text))
        hops.append(hop)
    return Trace(lines, hops)


def parse_hop(text):
    """A Hop from one line, or None if the line is not in the contract's shape."""
    match = HOP.fullmatch(text)
    if match is None:
        return None
    hop = Hop(int(match["ttl"]), text=text)
    rest, position, last = match["rest"], 0, None
    while position < len(rest):
        item = ITEM.match(rest, position)
        if item is None or item.end() == position:
            return None
        position = item.end()
        if item["ms"] is None:
            hop.probes.append(STAR)
            continue
        if item["address"] is not None and item["address"] == last:
            return None  # the contract prints an address only when it changes
        last = item["address"] or last
        if last is None:
            return None  # a time with no address before it
        hop.probes.append(Answered(last, float(item["ms"]), item["mark"] or ""))
    return hop if hop.probes else None


def expected_line(ttl, addresses, marks=None):
    """How a hop line with these answers looks (times as T)."""
    text, last = f"{ttl:2d} ", None
    for n, address in enumerate(addresses):
        if address is STAR:
            text += " *"
            continue
        if address != last:
            text += f" {address}"
        last = address
        text += "  T ms"
        mark = (marks or [""] * len(addresses))[n]
        text += f" {mark}" if mark else ""
    return text


def check_hops(lab, result, expected, marks=None, hint=None):
    """The trace has exactly these hops: expected[k] lists who answers each probe
    of hop k + 1 (STAR for none); marks[k] (if given) the marks of its probes."""
    want = [expected_line(k, addresses, marks[k - 1] if marks else None)
            for k, addresses in enumerate(expected, 1)]
    story = "\n" + "\n".join(f"    {line}" for line in want)
    got = "\n" + "\n".join(f"    {hop.text}" for hop in result.hops) if result.hops else "no hop lines"
    for k, addresses in enumerate(expected, 1):
        lab.check(k <= len(result.hops), f"the trace stopped after hop {len(result.hops)}",
                  expected=story, got=got,
                  hint="go on with the next TTL until the destination answers (port "
                       "unreachable, or with -I an echo reply) or MAX_HOPS is reached")
        hop = result.hops[k - 1]
        lab.check(len(hop.probes) == len(addresses),
                  f"hop {k} shows {len(hop.probes)} probes, not {len(addresses)}",
                  expected=story, got=got, hint="send -q PROBES probes per hop (default 3), "
                  "each printed as a time or a '*'")
        lab.check(hop.addresses() == list(addresses), f"hop {k} is not what the network answered",
                  expected=story, got=got, hint=hint or mismatch_hint(hop, addresses))
        if marks:
            got_marks = [p.mark if p is not STAR else "" for p in hop.probes]
            lab.check(got_marks == list(marks[k - 1]), f"hop {k} has the wrong marks",
                      expected=story, got=got,
                      hint="mark each unreachable by its ICMP code: 0, 6, 11 !N; 1, 7, 12 !H; "
                           "2 !P; 9, 10, 13 !X; 3 (port) none; others !<code>")
    lab.check(len(result.hops) == len(expected),
              f"the trace went on after hop {len(expected)}", expected=story, got=got,
              hint="stop after the hop in which the destination answered or an unreachable "
                   "came back (or at -m MAX_HOPS)")


def mismatch_hint(hop, addresses):
    got = hop.addresses()
    if all(a is STAR for a in got) and any(a is not STAR for a in addresses):
        return ("no answer was taken for this hop: read the error queue (POLLERR, "
                "recvmsg MSG_ERRQUEUE) and match answers by the quoted destination and port")
    if any(a is STAR for a in addresses) and all(a is not STAR for a in got):
        return ("the network sent no answer to these probes, yet an answer was printed: "
                "take only an answer about this very probe (its port, or with -I its "
                "identifier and sequence number), and wait no longer than WAIT")
    return ("an answer was put on the wrong probe: the port (or -I: the sequence number "
            "and identifier) quoted in the ICMP message says which probe it answers")


def every_hop(chain, probes, silent=()):
    """Who answers each probe of each hop of a complete trace through chain."""
    return [[STAR if hop in silent else chain.hop_address(hop)] * probes
            for hop in range(1, chain.hops + 1)]


def build(lab, routers, **options):
    """network.chain(), told in the story."""
    chain = network.chain(lab.net, routers, **options)
    lab.step(f"the lab network: {chain.describe()}")
    return chain


def trace(lab, chain, *args, stars=0, wait=5.0):
    """Run a trace to chain's destination and parse it."""
    program = run(lab, chain, *args, stars=stars, wait=wait)
    return parse(lab, program, chain.dest_address)


def check_probe_count(lab, probes, expected, what):
    lab.check(len(probes) == expected, f"{len(probes)} probes left the prober, not {expected}",
              expected=what, got="\n" + "\n".join(f"    {p.describe()}" for p in probes[:12]),
              hint="one probe at a time, PROBES per hop, TTL 1 up to the destination's hop")


def check_times(lab, result, probes, answers):
    """Each printed time lies between the round trip seen on the wire (the probe
    out, its answer in) and the time until the next probe left, plus a second
    for a busy machine."""
    printed = [p for hop in result.hops for p in hop.probes]
    for n, (probe, shown) in enumerate(zip(probes, printed)):
        if shown is STAR:
            continue
        came = [a.time for a in answers if a.quoted is not None and a.quoted.dport == probe.dport
                and a.quoted.destination == probe.destination]
        if not came:
            continue
        wire_ms = (came[0] - probe.time) * 1000
        lab.check(shown.ms + 0.001 >= wire_ms, f"probe {n + 1}'s time is shorter than its round "
                  "trip on the wire", expected=f"at least {wire_ms:.3f} ms (captured)",
                  got=f"{shown.ms:.3f} ms", hint="take the time just before sendto() and again "
                  "when the answer has been read, and print the difference in milliseconds")
        if n + 1 < len(probes):
            gap_ms = (probes[n + 1].time - probe.time) * 1000
            lab.check(shown.ms <= gap_ms + 1000, f"probe {n + 1}'s time is longer than it "
                      "waited", expected=f"at most {gap_ms:.3f} ms, when the next probe left",
                      got=f"{shown.ms:.3f} ms", hint="print milliseconds with three decimals: "
                      "seconds * 1000, from a monotonic clock (sl_monotonic_seconds())")


def check_delays(lab, chain, result):
    """No hop's time is below the round trip its links' delays make."""
    for hop in result.hops:
        least = chain.round_trip(hop.ttl) * 1000
        for shown in hop.probes:
            lab.check(shown is STAR or shown.ms >= least - 0.5,
                      f"hop {hop.ttl}'s time is shorter than its links allow",
                      expected=f"at least {least:g} ms: the delays of the links on the way, "
                               "out and back", got=f"{shown.ms:.3f} ms",
                      hint="time each probe from just before its sendto() to the moment its "
                           "own answer has been read, and print milliseconds")
