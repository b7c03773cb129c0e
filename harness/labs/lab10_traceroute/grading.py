"""Lab 10's shared grading steps: run traceroute to the end, read its output as the
contract has it, and compare a trace with the hops the lab network really has."""
import re
from dataclasses import dataclass, field

from harness.process import describe_exit

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
    program = lab.run(destination, *args, host=chain.prober, lifetime=limit + 5)
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
                       "it is not the last one printed) and \"  %.3f ms\" and \" !N\" if unreachable")
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


def check_hops(lab, trace, expected, marks=None, hint=None):
    """The trace has exactly these hops: expected[k] lists who answers each probe
    of hop k + 1 (STAR for none); marks[k] (if given) the marks of its probes."""
    want = [expected_line(k, addresses, marks[k - 1] if marks else None)
            for k, addresses in enumerate(expected, 1)]
    story = "\n" + "\n".join(f"    {line}" for line in want)
    got = "\n" + "\n".join(f"    {hop.text}" for hop in trace.hops) if trace.hops else "no hop lines"
    for k, addresses in enumerate(expected, 1):
        lab.check(k <= len(trace.hops), f"the trace stopped after hop {len(trace.hops)}",
                  expected=story, got=got,
                  hint="go on with the next TTL until the destination answers (port "
                       "unreachable, or with -I an echo reply) or MAX_HOPS is reached")
        hop = trace.hops[k - 1]
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
    lab.check(len(trace.hops) == len(expected),
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
