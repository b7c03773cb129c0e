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
from harness import capture, catalog, namespaces
from harness.demo import scenarios

DEMO = f"{ROOT}/harness/demo"
NETNS = namespaces.probe_user_namespaces()
DEMOS = [(lab.number, name) for lab in catalog.all_labs() if scenarios(lab)
         for name in scenarios(lab).EXPERIMENTS]
# What each demo must show: patterns, each matching some line of its output.
SHOWS = {
    ("01", ""): [r"In  IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.1060: UDP, length 38: 'The time is ",
                 r"In  IP 127\.0\.0\.1\.1060 > 127\.0\.0\.1\.\d+: UDP, length 27: "
                 r"'Your data was 38 bytes long'"],
    ("01", "spoof"): [r"\s+Ignored a datagram from 127\.0\.0\.1:\d+, which is not the server: "
                      r"'I am the server, honest'"],
    ("01", "no-server"): [r".*ICMP 127\.0\.0\.1 udp port 1060 unreachable, length 74"],
    ("01", "size"): [r".*UDP, length 65507: .*", r".*\[Errno 90\] Message too long"],
    ("02", ""): [r".*client to-server Out IP 10\.0\.1\.1\.\d+ > 10\.0\.1\.2\.1060: UDP, length 23: "
                 r"'This is another message'", r"\s+Waiting up to 0\.4 seconds for a reply"],
    ("02", "server-down"): [r"\s+stderr: I think the server is down"],
    ("02", "no-server"): [r".*ICMP 10\.0\.1\.2 udp port 1060 unreachable.*"],
    ("05", ""): [r".*Flags \[S\], seq 0, .*", r".*Flags \[S\.\], seq 0, ack 1, .*",
                 r".*Flags \[P\.\], seq 1:17, ack 1, .*'Hi there, server'",
                 r".*Flags \[P\.\], seq 1:17, ack 17, .*'Farewell, client'", r".*Flags \[F\.\].*"],
    ("05", "no-server"): [r".*Flags \[R\.\], ack 1, .*"],
    ("05", "short-reads"): [r".*length 4: 'Fare'", r"\s+The server said 'Farewell, client'"],
    ("06", "deadlock"): [r".*, win 0, length 0"],
    ("06", "threshold"): [r"\s+Naive mode survives up to about \d+ bytes here: .*"],
    ("03", ""): [r"router1 to-sender Out IP 10\.0\.1\.2 > 10\.0\.1\.1: ICMP 10\.0\.2\.2 udp port "
                 r"1060 unreachable - need to frag \(mtu 1400\)", r"\s+Actual MTU: 1400"],
    ("03", "traceroute"): [r"\s+\* +TTL 1: ICMP time exceeded from 10\.0\.1\.2",
                           r"\s+\* +TTL 2: ICMP time exceeded from 10\.0\.2\.2",
                           r"\s+\* +TTL 3: ICMP port unreachable from 10\.0\.3\.2: the destination"],
    ("03", "fragments"): [r"router1 to-far +Out IP 10\.0\.1\.1 > 10\.0\.2\.2: fragment id \d+, "
                          r"offset 2752, length 1256"],
    ("04", ""): [rf"{host} lan0 In  IP 10\.0\.2\.1\.\d+ > 10\.0\.2\.255\.1060: UDP, length 19"
                 for host in ("h2", "h3", "h4")],
    ("07", ""): [r".*127\.0\.0\.1\.123 > 127\.0\.0\.1\.\d+: UDP, length 48: NTPv4, server, "
                 r"stratum 5, reference [\d.]+, originate [\d.]+, receive [\d.]+, transmit",
                 r"\s+T4 = .*"],
    ("07", "kiss"): [r".*NTPv4, server, stratum 0, leap 3, kiss code RATE, .*"],
    ("04", "multicast"): [r"h1 lan0 Out IP 10\.0\.2\.1\.\d+ > 239\.1\.2\.3\.1060: UDP, length 19: "
                          r"'Broadcast datagram!' \(IP length 47, DF, ttl 1\)"],
}


# Experiments that run many programs one after another and capture nothing.
WITHOUT_TRACE = {("06", "threshold")}


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
    if (lab, experiment) not in WITHOUT_TRACE:
        assert any(l.startswith("Packets, captured") for l in lines), story
    assert "What to notice:" in lines, story
    for pattern in SHOWS.get((lab, experiment), []):
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
