"""Lab 10 traceroute: traces through chains of one to five real routers (network
namespaces that forward and answer for themselves), every probe captured on the
prober and checked against the contract, and a scripted destination (a Python
peer) for the answers a network rarely gives on cue: late, stray, forged, broken."""
import pytest

from harness.labs.lab10_traceroute import peers
from harness.labs.lab10_traceroute.grading import (STAR, build, check_delays, check_hops,
                                                   check_probe_count, check_times, every_hop,
                                                   trace)
from harness.programs.process import describe_exit

WAIT_TOLERANCE = 0.05  # s: a probe's clock starts just before sendto(), the wire's after


# -- UDP traces ------------------------------------------------------------------------

@pytest.mark.points(8)
@pytest.mark.netns
def test_trace_through_one_router_reaches_the_destination(lab):
    chain = build(lab, 1)
    result = trace(lab, chain)
    header = result.lines[0]
    lab.check(header == f"traceroute to {chain.dest_address} ({chain.dest_address}), "
                       "30 hops max, 60 byte packets",
              "the header does not say where the trace goes",
              expected=f"'traceroute to {chain.dest_address} ({chain.dest_address}), 30 hops max, "
                       "60 byte packets'", got=repr(header),
              hint="HOST as given, the resolved address, MAX_HOPS (default 30)")
    check_hops(lab, result, every_hop(chain, 3))


@pytest.mark.points(6)
@pytest.mark.netns
def test_trace_lists_five_routers_in_order(lab):
    chain = build(lab, 5)
    check_hops(lab, trace(lab, chain, "-q", "2"), every_hop(chain, 2))


@pytest.mark.points(8)
@pytest.mark.netns
def test_probes_go_one_at_a_time_with_rising_ttl_and_a_port_each(lab):
    chain = build(lab, 2)
    wire = peers.Wire(chain.prober, chain.links[0].a_address)
    lab.step("the grader captured every packet on the prober")
    result = trace(lab, chain)
    wire.stop()
    probes, answers = wire.probes(), wire.answers()
    check_hops(lab, result, every_hop(chain, 3))
    check_probe_count(lab, probes, 9, "9 UDP probes: 3 with TTL 1, 3 with TTL 2, 3 with TTL 3")
    shown = "\n" + "\n".join(f"    {p.describe()}" for p in probes)
    lab.check(all(p.protocol == 17 and p.destination == chain.dest_address for p in probes),
              "not every probe is a UDP datagram to the destination",
              expected=f"UDP to {chain.dest_address}", got=shown)
    lab.check([p.ttl for p in probes] == [1, 1, 1, 2, 2, 2, 3, 3, 3],
              "the probes' TTLs do not rise one hop at a time",
              expected="TTL 1, 1, 1, 2, 2, 2, 3, 3, 3", got=shown,
              hint="setsockopt(IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) before each sendto()")
    ports = [peers.FIRST_PORT + n for n in range(9)]
    lab.check([p.dport for p in probes] == ports, "the probes' ports are not 33434, 33435, …",
              expected=f"destination ports {ports[0]} to {ports[-1]}, one per probe",
              got=shown, hint="probe number n (from 0, over the whole trace) goes to port "
                              "33434 + n: the port is how an answer names its probe")
    lab.check(len({p.sport for p in probes}) == 1, "the probes come from several source ports",
              expected="one socket, one source port, for the whole trace", got=shown,
              hint="open the UDP socket once; the kernel gives it one port at the first sendto()")
    lab.check(all(p.length == 60 and p.data == peers.PAYLOAD for p in probes),
              "a probe is not 60 bytes with the data 0x40..0x5f",
              expected="IP length 60: 20 IP + 8 UDP + 32 data bytes '@ABC…_'",
              got=f"IP length {probes[0].length}, data {probes[0].data[:40]!r}",
              hint="fill_payload() into a PAYLOAD_LEN (32) buffer and send all of it")
    check_times(lab, result, probes, answers)
    for before, probe in zip(probes, probes[1:]):
        answered = [a.time for a in answers if a.quoted is not None
                    and a.quoted.dport == before.dport]
        lab.check(bool(answered) and answered[0] < probe.time,
                  "a probe left before the answer to the one before it had come",
                  expected=f"{before.describe()} answered, then {probe.describe()}",
                  got="the next probe first",
                  hint="send one probe, wait for its answer (or WAIT), then send the next")


@pytest.mark.points(4)
@pytest.mark.netns
def test_trace_stops_at_max_hops(lab):
    chain = build(lab, 3)
    wire = peers.Wire(chain.prober, chain.links[0].a_address)
    result = trace(lab, chain, "-m", "2", "-q", "1")
    wire.stop()
    lab.check(result.lines[0].endswith(", 2 hops max, 60 byte packets"),
              "the header does not give -m's MAX_HOPS",
              expected="'…, 2 hops max, 60 byte packets'", got=repr(result.lines[0]))
    check_hops(lab, result, every_hop(chain, 1)[:2])
    ttls = [p.ttl for p in wire.probes()]
    lab.check(max(ttls, default=0) <= 2, "a probe went out with a TTL above -m 2",
              expected="TTLs 1 and 2 only", got=f"TTLs {ttls}")


@pytest.mark.points(8)
@pytest.mark.netns
def test_silent_router_gives_stars_and_the_trace_goes_on(lab):
    chain = build(lab, 3, silent=(2,))
    wire = peers.Wire(chain.prober, chain.links[0].a_address)
    result = trace(lab, chain, "-q", "2", "-w", "0.5", stars=2, wait=0.5)
    wire.stop()
    probes = wire.probes()
    for probe, following in zip(probes[2:4], probes[3:5]):
        gap = following.time - probe.time
        lab.check(gap >= 0.5 - WAIT_TOLERANCE,
                  "a probe with no answer was not given its WAIT of 0.5 s",
                  expected="the next probe at least 0.5 s later", got=f"{gap:.3f} s later",
                  hint="-w takes fractions of a second: read it as a double (sl_parse_double), "
                       "and wait until the probe's deadline (its send time + WAIT) with poll(), "
                       "whose timeout is in milliseconds")
    check_hops(lab, result, every_hop(chain, 2, silent=(2,)))
    check_probe_count(lab, probes, 8, "8 probes: 2 for each of 4 hops")


@pytest.mark.points(8)
@pytest.mark.netns
def test_times_grow_with_the_delay_of_each_link(lab):
    chain = build(lab, 3, delay=0.015)
    wire = peers.Wire(chain.prober, chain.links[0].a_address)
    result = trace(lab, chain, "-q", "2")
    wire.stop()
    check_hops(lab, result, every_hop(chain, 2))
    check_delays(lab, chain, result)
    check_times(lab, result, wire.probes(), wire.answers())


@pytest.mark.points(8)
@pytest.mark.netns
def test_unreachable_network_is_marked_N_and_ends_the_trace(lab):
    chain = build(lab, 3)
    chain.routers[1].ip("route del default")
    lab.step("r2 lost its route towards the destination: it answers 'network unreachable'")
    result = trace(lab, chain)
    r1, r2 = chain.hop_address(1), chain.hop_address(2)
    check_hops(lab, result, [[r1] * 3, [r2] * 3], marks=[[""] * 3, ["!N"] * 3])


@pytest.mark.points(8)
@pytest.mark.netns
def test_each_unreachable_gets_its_mark(lab):
    chain = build(lab, 1, scripted=True)
    codes, marks = (1, 2, 13, 5), ["!H", "!P", "!X", "!<5>"]
    lab.step(f"a Python peer answers the 4 probes that reach {chain.dest_address} with ICMP "
             f"destination unreachable, codes {', '.join(map(str, codes))}")

    def script(number, probe):
        return [(0, peers.icmp_error(chain.dest_address, probe, peers.ICMP_DEST_UNREACH,
                                     codes[number % len(codes)]))]
    with peers.ScriptedDestination(chain.dest, chain.dest_address, script):
        result = trace(lab, chain, "-q", "4", "-m", "2")
    check_hops(lab, result, every_hop(chain, 4), marks=[[""] * 4, marks])


@pytest.mark.points(10)
@pytest.mark.netns
def test_answers_for_other_probes_are_ignored(lab):
    chain = build(lab, 1, scripted=True)
    d = chain.dest_address
    lab.step(f"a Python peer answers the first of the 3 probes that reach {d} at once with a "
             "port unreachable quoting the next probe's port,")
    lab.step("and a time exceeded from 10.0.99.1 quoting its port but another destination "
             "(10.0.77.7); then 1.5 s late with its right answer")
    lab.step("the second probe not at all; the third with a port unreachable quoting another "
             "port at once, and its right answer 0.2 s later")

    def script(number, probe):
        if number == 0:
            return [(0, peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE,
                                         peers.quote(probe, dport=probe.dport + 1))),
                    (0, peers.icmp_error("10.0.99.1", probe, peers.ICMP_TIME_EXCEEDED, 0,
                                         peers.quote(probe, destination="10.0.77.7"))),
                    (1.5, peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH,
                                           peers.PORT_UNREACHABLE))]
        if number == 2:
            return [(0, peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE,
                                         peers.quote(probe, dport=probe.dport + 7))),
                    (0.2, peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH,
                                           peers.PORT_UNREACHABLE))]
        return []
    with peers.ScriptedDestination(chain.dest, d, script):
        result = trace(lab, chain, "-w", "1", "-m", "2", stars=2, wait=1)
    check_hops(lab, result, [[chain.hop_address(1)] * 3, [STAR, STAR, d]],
               hint="an answer counts only for the probe it quotes: the quoted destination "
                    "address and port (msg_name of recvmsg(MSG_ERRQUEUE)) must be this "
                    "probe's; read the others and go on waiting")


@pytest.mark.points(6)
@pytest.mark.netns
def test_duplicated_answers_do_not_stop_the_trace(lab):
    chain = build(lab, 1, scripted=True)
    d = chain.dest_address
    fakes = [f"10.0.50.{ttl}" for ttl in range(1, 5)]
    lab.step(f"behind r1, a Python peer plays four more routers ({', '.join(fakes)}) and the "
             f"destination {d},")
    lab.step("and sends every answer twice, as a network that duplicates packets would, "
             f"but none to the second probe of hop 3 ({fakes[1]}: '*' between two times)")

    def script(number, probe):
        if probe.dport == peers.FIRST_PORT + 7:  # probe 7: hop 3's second
            return []
        if probe.ttl <= len(fakes):
            answer = peers.icmp_error(fakes[probe.ttl - 1], probe, peers.ICMP_TIME_EXCEEDED, 0)
        else:
            answer = peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE)
        return [(0, answer), (0, answer)]
    with peers.ScriptedDestination(chain.dest, d, script):
        result = trace(lab, chain, "-m", "6", "-w", "0.5", stars=1, wait=0.5)
    expected = [[chain.hop_address(1)] * 3] + [[fake] * 3 for fake in fakes] + [[d] * 3]
    expected[2][1] = STAR
    check_hops(lab, result, expected)


# -- ICMP traces (-I, a raw socket) -------------------------------------------------------

@pytest.mark.points(8)
@pytest.mark.netns
def test_icmp_trace_lists_every_router(lab):
    chain = build(lab, 3, silent=(2,))
    result = trace(lab, chain, "-I", "-q", "2", "-w", "1", stars=2, wait=1)
    check_hops(lab, result, every_hop(chain, 2, silent=(2,)))


@pytest.mark.points(6)
@pytest.mark.netns
def test_icmp_echo_requests_are_well_formed(lab):
    chain = build(lab, 2)
    wire = peers.Wire(chain.prober, chain.links[0].a_address)
    result = trace(lab, chain, "-I")
    wire.stop()
    check_hops(lab, result, every_hop(chain, 3))
    probes = wire.probes()
    check_probe_count(lab, probes, 9, "9 echo requests: 3 with TTL 1, 3 with TTL 2, 3 with TTL 3")
    shown = "\n" + "\n".join(f"    {p.describe()}" for p in probes)
    lab.check(all(p.protocol == 1 and p.kind == 8 and p.code == 0 for p in probes),
              "not every probe is an ICMP echo request (type 8, code 0)", got=shown)
    lab.check(all(p.checksum_ok for p in probes), "an echo request's checksum does not verify",
              expected="the Internet checksum of the 40 ICMP bytes, stored big-endian", got=shown,
              hint="compute inet_checksum() with bytes 2-3 zero, then store it high byte first; "
                   "`make unit` tests inet_checksum()")
    lab.check(len({p.ident for p in probes}) == 1, "the identifier changes during the trace",
              expected="one identifier for the whole trace", got=shown)
    lab.check([p.seq for p in probes] == list(range(1, 10)), "the sequence numbers are not 1, 2, 3, …",
              expected="sequence numbers 1 to 9", got=shown,
              hint="probe number n (from 0) carries sequence number n + 1, big-endian")
    lab.check([p.ttl for p in probes] == [1, 1, 1, 2, 2, 2, 3, 3, 3],
              "the echo requests' TTLs do not rise one hop at a time",
              expected="TTL 1, 1, 1, 2, 2, 2, 3, 3, 3", got=shown,
              hint="setsockopt(IP_TTL) on the raw socket before each sendto()")
    lab.check(all(p.length == 60 and p.data == peers.PAYLOAD for p in probes),
              "an echo request is not 60 bytes with the data 0x40..0x5f",
              expected="IP length 60: 20 IP + 8 ICMP + 32 data bytes '@ABC…_'",
              got=f"IP length {probes[0].length}, data {probes[0].data[:40]!r}")


@pytest.mark.points(4)
@pytest.mark.netns
def test_icmp_trace_ignores_other_identifiers_and_broken_checksums(lab):
    chain = build(lab, 1, scripted=True)
    d, fake = chain.dest_address, "10.0.50.2"
    lab.step(f"behind r1, a Python peer plays a router ({fake}) and the destination {d}: it "
             "answers the first echo request with TTL 2 with a reply that carries another "
             "identifier, one whose checksum is wrong, and one from 10.0.99.1;")
    lab.step(f"the second with a time exceeded from {fake} that quotes 9 bytes after the IP "
             "header (an ICMP message of odd length, 37 bytes); later ones with the right reply")

    def script(number, probe):
        if probe.ttl == 1 and number == 0:  # TTL 2 at the prober, 1 past r1
            return [(0, peers.echo_reply(d, probe, ident=probe.ident ^ 0x5A5A)),
                    (0, peers.echo_reply(d, probe, bad_checksum=True)),
                    (0, peers.echo_reply("10.0.99.1", probe))]
        if probe.ttl == 1:
            return [(0, peers.icmp_error(fake, probe, peers.ICMP_TIME_EXCEEDED, 0,
                                         probe.packet[:29]))]
        return [(0, peers.echo_reply(d, probe))]
    with peers.ScriptedDestination(chain.dest, d, script):
        result = trace(lab, chain, "-I", "-q", "2", "-w", "1", "-m", "3", stars=1, wait=1)
    check_hops(lab, result, [[chain.hop_address(1)] * 2, [STAR, fake], [d, d]],
               hint="take an echo reply only from the destination, with your identifier, the "
                    "probe's sequence number, and an ICMP checksum that verifies "
                    "(inet_checksum() over the whole ICMP message gives 0; in a message of "
                    "odd length the last byte is the high byte of a word padded with a zero)")


@pytest.mark.points(4)
@pytest.mark.netns
def test_icmp_trace_beside_another_tracer_keeps_its_own_answers(lab):
    chain = build(lab, 3, silent=(2,))
    lab.step("a Python tracer on the prober sends echo requests to the same destination all "
             "along, with its own identifier, sequence numbers 1 to 8 and TTL 1, 3 and 4")
    with peers.OtherTracer(chain.prober, chain.dest_address, ttls=(1, 3, 4), count=8):
        result = trace(lab, chain, "-I", "-q", "2", "-w", "1", stars=2, wait=1)
    check_hops(lab, result, every_hop(chain, 2, silent=(2,)),
               hint="a raw socket receives every ICMP message that reaches the host, the other "
                    "tracer's answers too: take only those with your identifier")


# -- the command line ---------------------------------------------------------------------

BAD_INPUT = [
    ([], 2, "usage:", "bad usage prints the synopsis and exits 2"),
    (["10.0.1.2", "10.0.1.3"], 2, "usage:", "one HOST only"),
    (["-x", "10.0.1.2"], 2, "usage:", "an unknown option is bad usage"),
    (["10.0.1.2", "-m", "0"], 1, "hops", "-m takes 1 to 255: sl_parse_ulong(), errx(1, ...)"),
    (["10.0.1.2", "-m", "256"], 1, "hops", "-m takes 1 to 255"),
    (["10.0.1.2", "-q", "11"], 1, "probes", "-q takes 1 to 10"),
    (["10.0.1.2", "-w", "0"], 1, "wait", "-w takes 0.01 to 60 seconds: sl_parse_double()"),
    (["10.0.1.2", "-w", "soon"], 1, "wait", "-w takes seconds, such as 0.5"),
    (["no-such-host.invalid"], 1, "no-such-host.invalid", "the resolver's message, exit 1"),
    (["10.9.9.9", "-q", "1"], 1, "unreachable",
     "no route at all: sendto() fails with ENETUNREACH: err(1, \"sendto %s\", ...)"),
]


@pytest.mark.points(4)
@pytest.mark.netns
def test_bad_command_lines_are_refused_clearly(lab):
    # All at once: each is quick, but under valgrind ten in a row would take long.
    programs = [lab.run(*args) for args, _, _, _ in BAD_INPUT]
    for program, (args, want, word, hint) in zip(programs, BAD_INPUT):
        code = program.wait(10)
        if code == 3:
            program.expect(r"(?!)", timeout=0, stream="stderr")  # "not implemented yet"
        lab.check(code == want and any(word in line.lower() for line in program.stderr),
                  f"`traceroute {' '.join(args)}` was not refused clearly",
                  expected=f"exit {want} and a message with '{word}' on stderr",
                  got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}",
                  hint=hint)

