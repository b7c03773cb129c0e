"""The demos' self-tests: `harness/demo` runs each lab's scenarios with the
reference solution and shows the packets, and the packet decoder reads headers
the way tcpdump prints them."""
import ipaddress
import re
import socket
import struct
import subprocess

import pytest

from gradeapi import ROOT
from harness.network import capture, namespaces
from harness import catalog
from harness.commands.demo import scenarios

DEMO = f"{ROOT}/harness/demo"
NETNS = namespaces.probe_user_namespaces()
DEMOS = [(lab.number, name) for lab in catalog.all_labs() if scenarios(lab)
         for name in scenarios(lab).EXPERIMENTS]


def expected(lab, experiment):
    """(the patterns the experiment's output must match, whether it shows packets),
    as the lab's demo module says (SHOWS, UNTRACED)."""
    module = scenarios(catalog.by_number(lab))
    return (getattr(module, "SHOWS", {}).get(experiment, []),
            experiment not in getattr(module, "UNTRACED", ()))
def run_demo(*args, timeout=60):
    return subprocess.run([DEMO, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


@pytest.mark.needs_solutions  # demos run the reference solutions (tests/selftest/conftest.py)
@pytest.mark.skipif(NETNS is not None, reason=f"no lab networks here: {NETNS}")
@pytest.mark.parametrize("lab,experiment", DEMOS, ids=lambda v: v or "default")
def test_demo_runs_and_shows_the_packets(lab, experiment):
    result = run_demo(lab, experiment)
    story = f"\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"harness/demo {lab} {experiment} failed:{story}"
    lines = result.stdout.splitlines()
    patterns, traced = expected(lab, experiment)
    if traced:
        assert any(l.startswith("Packets, captured") for l in lines), story
    assert "What to notice:" in lines, story
    for pattern in patterns:
        assert any(re.fullmatch(pattern, l.strip()) or re.search(pattern, l) for l in lines), \
            f"no line matches {pattern!r}:{story}"


def test_demo_lists_every_lab():
    result = run_demo("--list")
    assert result.returncode == 0, result.stderr
    for lab in catalog.all_labs():
        assert re.search(rf"(make demo LAB={lab.number}|lab {lab.number} )", result.stdout)


def test_demo_refuses_an_unknown_experiment():
    result = run_demo("01", "no-such-thing")
    assert result.returncode != 0
    assert "no experiment 'no-such-thing'" in result.stderr


# -- the decoder ----------------------------------------------------------------

def ipv4(proto, source, destination, body, df=True, ttl=64):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0x4000 if df else 0,
                         ttl, proto, 0, ipaddress.IPv4Address(source).packed,
                         ipaddress.IPv4Address(destination).packed)
    return header + body


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIHHHH", sport, dport, seq, ack, (5 << 12) | flags, 512, 0, 0) + payload


def describe(decoder, data, protocol=capture.ETH_P_IP):
    return decoder.describe(capture.Packet(0.0, "h", "lo", False, data, protocol))


def test_decoder_prints_tcp_sequence_numbers_relative_to_the_handshake():
    decoder = capture.Decoder()
    a, b = ("10.0.0.1", 40000), ("10.0.0.2", 1060)
    packets = [ipv4(6, a[0], b[0], tcp(a[1], b[1], 1000, 0, 0x02)),
               ipv4(6, b[0], a[0], tcp(b[1], a[1], 5000, 1001, 0x12)),
               ipv4(6, a[0], b[0], tcp(a[1], b[1], 1001, 5001, 0x18, b"Hi there, server")),
               ipv4(6, a[0], b[0], tcp(a[1], b[1], 1017, 5001, 0x11))]
    lines = [describe(decoder, p) for p in packets]
    assert lines[0] == "IP 10.0.0.1.40000 > 10.0.0.2.1060: Flags [S], seq 0, win 512, length 0"
    assert lines[1] == ("IP 10.0.0.2.1060 > 10.0.0.1.40000: Flags [S.], seq 0, ack 1, "
                        "win 512, length 0")
    assert lines[2] == ("IP 10.0.0.1.40000 > 10.0.0.2.1060: Flags [P.], seq 1:17, ack 1, "
                        "win 512, length 16: 'Hi there, server'")
    assert lines[3].endswith("Flags [F.], seq 17, ack 1, win 512, length 0")


def test_decoder_reads_the_mtu_of_fragmentation_needed():
    quoted = ipv4(17, "10.0.1.1", "10.0.2.2", struct.pack("!HHHH", 5000, 1060, 1480, 0))
    body = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + quoted
    line = describe(capture.Decoder(ip_details=True), ipv4(1, "10.0.1.2", "10.0.1.1", body,
                                                           df=False))
    assert line == ("IP 10.0.1.2 > 10.0.1.1: ICMP 10.0.2.2 udp port 1060 unreachable - need "
                    "to frag (mtu 1400), length 36 (IP length 56, no DF, ttl 64)")


def test_decoder_shows_ntp_timestamps():
    payload = bytes([0x23, 0, 6, 0xEC]) + bytes(36) + struct.pack("!Q", (3973000000 << 32) | (1 << 31))
    line = describe(capture.Decoder(), ipv4(17, "127.0.0.1", "127.0.0.1",
                                            struct.pack("!HHHH", 40000, 123, 56, 0) + payload))
    assert line.endswith("UDP, length 48: NTPv4, client, stratum 0, transmit 3973000000.500000")


def test_decoder_leaves_out_ipv6_housekeeping():
    header = struct.pack("!IHBB16s16s", 6 << 28, 8, 58, 255, socket.inet_pton(socket.AF_INET6, "fe80::1"),
                         socket.inet_pton(socket.AF_INET6, "ff02::2"))
    assert describe(capture.Decoder(), header + bytes([133, 0, 0, 0, 0, 0, 0, 0]),
                    capture.ETH_P_IPV6) is None
