"""Lab 10's hidden tests: what the visible tests hold fixed, varied within the
contract (other chains, other silent hops, one probe per hop, -I against an
unreachable host, an answer late by two probes, links of unequal delay)."""
import pytest

from harness.labs.lab10_traceroute import peers
from harness.labs.lab10_traceroute.grading import (STAR, build, check_delays, check_hops,
                                                   every_hop, trace)

pytestmark = pytest.mark.hidden


@pytest.mark.points(3)
@pytest.mark.netns
def test_trace_through_four_routers_two_of_them_silent(lab):
    chain = build(lab, 4, silent=(1, 3))
    result = trace(lab, chain, "-q", "1", "-w", "0.5", "-m", "5", stars=2, wait=0.5)
    check_hops(lab, result, every_hop(chain, 1, silent=(1, 3)))


@pytest.mark.points(3)
@pytest.mark.netns
def test_icmp_trace_marks_an_unreachable_host(lab):
    chain = build(lab, 3)
    chain.routers[1].ip(f"route add unreachable {chain.dest_address}/32")
    lab.step(f"r2 has the route 'unreachable {chain.dest_address}/32': it answers 'host "
             "unreachable' and quotes the echo request")
    result = trace(lab, chain, "-I", "-q", "2")
    r1, r2 = chain.hop_address(1), chain.hop_address(2)
    check_hops(lab, result, [[r1] * 2, [r2] * 2], marks=[[""] * 2, ["!H"] * 2])


@pytest.mark.points(3)
@pytest.mark.netns
def test_an_answer_two_probes_late_is_ignored(lab):
    chain = build(lab, 2, scripted=True)
    d = chain.dest_address
    lab.step(f"a Python peer answers the first of the 4 probes that reach {d} 1.5 s late "
             "(while the third waits, with -w 0.6), the next two never, the fourth at once")

    def script(number, probe):
        answer = peers.icmp_error(d, probe, peers.ICMP_DEST_UNREACH, peers.PORT_UNREACHABLE)
        return {0: [(1.5, answer)], 3: [(0, answer)]}.get(number, [])
    with peers.ScriptedDestination(chain.dest, d, script):
        result = trace(lab, chain, "-q", "4", "-w", "0.6", "-m", "3", stars=3, wait=0.6)
    expected = [[chain.hop_address(1)] * 4, [chain.hop_address(2)] * 4, [STAR, STAR, STAR, d]]
    check_hops(lab, result, expected)


@pytest.mark.points(3)
@pytest.mark.netns
def test_times_follow_links_of_unequal_delay(lab):
    chain = build(lab, 2, delay=(0.002, 0.03, 0.01))
    result = trace(lab, chain, "-q", "2")
    check_hops(lab, result, every_hop(chain, 2))
    check_delays(lab, chain, result)


@pytest.mark.points(3)
@pytest.mark.netns
def test_icmp_reply_with_ip_options_is_read(lab):
    chain = build(lab, 1, scripted=True)
    d = chain.dest_address
    lab.step(f"a Python peer answers every echo request that reaches {d} with a reply whose "
             "IP header carries 8 bytes of options (28 bytes long, not 20)")

    def script(number, probe):
        return [(0, peers.echo_reply(d, probe, options=peers.FULL_RECORD_ROUTE))]
    with peers.ScriptedDestination(chain.dest, d, script):
        result = trace(lab, chain, "-I", "-q", "2", "-w", "1", "-m", "2", stars=2, wait=1)
    check_hops(lab, result, every_hop(chain, 2),
               hint="the IP header is (first byte & 0x0f) * 4 bytes long: 20 only without "
                    "options; the ICMP message starts after it")
