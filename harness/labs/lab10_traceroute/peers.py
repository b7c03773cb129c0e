"""Lab 10's peers, independent of any C code: the probes a trace puts on the wire,
a destination that answers them by a script (forged, late, broken or not at all),
and a second tracer with a raw socket of its own.

Packets are built and checked here with this module's own Internet checksum.
"""
import heapq
import ipaddress
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from harness.network.capture import Capture

ICMP_ECHOREPLY, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_TIME_EXCEEDED = 0, 3, 8, 11
PORT_UNREACHABLE = 3
ETH_P_IP = 0x0800
FIRST_PORT = 33434
PAYLOAD = bytes(range(0x40, 0x60))  # the 32 data bytes every probe carries
# IP options that routers pass on and hosts ignore: a "record route" with no room
# left (pointer past its end: nothing more is recorded), then end of options.
FULL_RECORD_ROUTE = bytes([7, 7, 8, 10, 0, 0, 1, 0])


def checksum(data):
    """RFC 1071, written from the RFC: one's complement sum of big-endian words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_header(source, destination, protocol, payload_length, ttl=64, options=b""):
    """An IPv4 header; options (a multiple of 4 bytes) make it longer than 20."""
    length = 20 + len(options)
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | length // 4, 0, length + payload_length, 0, 0,
                         ttl, protocol, 0, socket.inet_aton(source),
                         socket.inet_aton(destination)) + options
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def icmp_message(kind, code, rest, body, bad_checksum=False):
    """An ICMP message: type, code, checksum, 4 bytes of rest, body."""
    message = struct.pack("!BBH", kind, code, 0) + rest + body
    value = checksum(message) ^ (0x0101 if bad_checksum else 0)
    return message[:2] + struct.pack("!H", value) + message[4:]


@dataclass
class Probe:
    """One probe as it left the prober (or reached the destination)."""
    time: float
    source: str
    destination: str
    ttl: int
    length: int          # the IP total length
    protocol: int        # 17 UDP, 1 ICMP
    sport: int = 0       # UDP
    dport: int = 0
    kind: int = -1       # ICMP
    code: int = -1
    ident: int = -1
    seq: int = -1
    checksum_ok: bool = True
    data: bytes = b""    # what follows the 8-byte UDP or ICMP header
    packet: bytes = b""  # the whole IP packet

    def describe(self):
        if self.protocol == socket.IPPROTO_UDP:
            return (f"UDP {self.source}:{self.sport} > {self.destination}:{self.dport}, "
                    f"TTL {self.ttl}, IP length {self.length}")
        return (f"ICMP type {self.kind} code {self.code} id {self.ident} seq {self.seq} "
                f"to {self.destination}, TTL {self.ttl}, IP length {self.length}"
                + ("" if self.checksum_ok else ", bad checksum"))


def parse_probe(data, when=0.0):
    """A Probe from an IPv4 packet that is a UDP datagram or an ICMP echo request; else None."""
    if len(data) < 28 or data[0] >> 4 != 4:
        return None
    header = (data[0] & 0x0F) * 4
    length, ttl, protocol = struct.unpack("!H", data[2:4])[0], data[8], data[9]
    source, destination = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
    body = data[header:length]
    if len(body) < 8:
        return None
    probe = Probe(when, source, destination, ttl, length, protocol, data=body[8:], packet=data[:length])
    if protocol == socket.IPPROTO_UDP:
        probe.sport, probe.dport = struct.unpack("!HH", body[:4])
        return probe
    if protocol == socket.IPPROTO_ICMP and body[0] == ICMP_ECHO:
        probe.kind, probe.code = body[0], body[1]
        probe.ident, probe.seq = struct.unpack("!HH", body[4:8])
        probe.checksum_ok = checksum(body) == 0
        return probe
    return None


@dataclass
class Answer:
    """An ICMP message that reached the prober, with the probe it quotes (if any)."""
    time: float
    source: str
    kind: int
    code: int
    quoted: Probe = None   # the probe an error is about
    ident: int = -1        # an echo reply's
    seq: int = -1


class Wire:
    """Everything the prober sends and receives, captured in its namespace."""

    def __init__(self, host, address):
        self.address = address
        self.capture = Capture([host])

    def probes(self):
        """The probes the prober sent, in order."""
        found = []
        for packet in list(self.capture.packets):
            if packet.outgoing and packet.protocol == ETH_P_IP:
                probe = parse_probe(packet.data, packet.time)
                if probe is not None and probe.source == self.address:
                    found.append(probe)
        return sorted(found, key=lambda probe: probe.time)

    def answers(self):
        """The ICMP messages that reached the prober, in order."""
        found = []
        for packet in list(self.capture.packets):
            data = packet.data
            if packet.outgoing or packet.protocol != ETH_P_IP or len(data) < 28 or data[9] != 1:
                continue
            header = (data[0] & 0x0F) * 4
            icmp = data[header:]
            answer = Answer(packet.time, socket.inet_ntoa(data[12:16]), icmp[0], icmp[1])
            if icmp[0] == ICMP_ECHOREPLY:
                answer.ident, answer.seq = struct.unpack("!HH", icmp[4:8])
            elif icmp[0] in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED):
                answer.quoted = parse_probe(icmp[8:])
            found.append(answer)
        return sorted(found, key=lambda answer: answer.time)

    def stop(self):
        self.capture.stop()


class ScriptedDestination:
    """On the scripted host (network.chain(scripted=True)): sees every probe that
    reaches the destination address and answers it the way script(number, probe)
    says: a list of (delay in seconds, IP packet) to send to the prober, where
    number counts the probes that arrived, from 0. A context manager."""

    def __init__(self, host, address, script):
        self.address = address
        self.script = script
        self.arrived = []
        self.sent = []
        self._listen = host.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self._send = host.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self._stop = threading.Event()
        self._queue = []  # (when, n, packet)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._listen.close()
        self._send.close()

    def _run(self):
        counter = 0
        while not self._stop.is_set():
            timeout = 0.05
            if self._queue:
                timeout = max(0.0, min(timeout, self._queue[0][0] - time.monotonic()))
            if select.select([self._listen], [], [], timeout)[0]:
                data = self._listen.recv(65535)
                probe = parse_probe(data, time.monotonic())
                if probe is not None and probe.destination == self.address:
                    number = len(self.arrived)
                    self.arrived.append(probe)
                    for delay, packet in self.script(number, probe):
                        heapq.heappush(self._queue, (time.monotonic() + delay, counter, packet))
                        counter += 1
            while self._queue and self._queue[0][0] <= time.monotonic():
                _, _, packet = heapq.heappop(self._queue)
                self._send.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
                self.sent.append(packet)


# -- answers a script can give ------------------------------------------------------

def quote(probe, destination=None, dport=None, ident=None, seq=None):
    """The first 28 bytes of probe (IP header and 8 bytes), optionally altered:
    another destination address, another UDP port, another echo identifier or
    sequence number (the headers' checksums are left as they were)."""
    packet = bytearray(probe.packet[:28])
    if destination is not None:
        packet[16:20] = socket.inet_aton(destination)
    if dport is not None:
        packet[22:24] = struct.pack("!H", dport)
    if ident is not None:
        packet[24:26] = struct.pack("!H", ident)
    if seq is not None:
        packet[26:28] = struct.pack("!H", seq)
    return bytes(packet)


def icmp_error(source, probe, kind, code, quoted=None):
    """An ICMP error (time exceeded, unreachable) from source to the prober about probe."""
    body = quoted if quoted is not None else quote(probe)
    message = icmp_message(kind, code, b"\0\0\0\0", body)
    return ip_header(source, probe.source, socket.IPPROTO_ICMP, len(message)) + message


def echo_reply(source, probe, ident=None, seq=None, bad_checksum=False, options=b""):
    """An echo reply to probe, from source, optionally with another identifier or
    sequence number, a checksum that does not verify, or IP options."""
    rest = struct.pack("!HH", probe.ident if ident is None else ident,
                       probe.seq if seq is None else seq)
    message = icmp_message(ICMP_ECHOREPLY, 0, rest, probe.data, bad_checksum)
    return ip_header(source, probe.source, socket.IPPROTO_ICMP, len(message),
                     options=options) + message


class OtherTracer:
    """Another program tracing the same path with ICMP echo beside the one under
    test: its own raw socket and identifier, sequence numbers 1..count over and
    over, each with a TTL from the cycle ttls, one probe every `every` seconds
    (a pace, not a synchronisation). It reads and keeps nothing. A context manager."""

    def __init__(self, host, destination, ttls, count, every=0.01):
        self.ident = struct.unpack("!H", os.urandom(2))[0]
        self.sock = host.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.destination, self.ttls, self.count, self.every = destination, ttls, count, every
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every):
            seq = self.sent % self.count + 1
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL,
                                 self.ttls[self.sent % len(self.ttls)])
            message = icmp_message(ICMP_ECHO, 0, struct.pack("!HH", self.ident, seq), PAYLOAD)
            self.sock.sendto(message, (self.destination, 0))
            self.sent += 1
            while select.select([self.sock], [], [], 0)[0]:
                self.sock.recv(65535)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def is_address(text):
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False
