"""NTP for the lab 07 grader, written independently of the C codec: timestamps,
packets, and a scripted fake server that answers a request however a test wants."""
import socket
import struct
import time
from dataclasses import dataclass

from harness.peers.udp import read_stamped, receive_until, stamp_arrivals, udp_socket
from harness.timeouts import scaled

NTP_UNIX_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
ERA = 1 << 32                 # seconds in one NTP era (136 years)
HEADER = struct.Struct("!BBbbII4sQQQQ")  # 48 bytes, RFC 5905 figure 8
MODE_CLIENT, MODE_SERVER = 3, 4


def to_ntp(unix_seconds):
    """Unix time (float seconds) -> 64-bit NTP timestamp (era dropped)."""
    return round((unix_seconds + NTP_UNIX_OFFSET) * 2**32) % 2**64


def from_ntp(timestamp, near):
    """64-bit NTP timestamp -> Unix time in the era closest to `near` (Unix seconds)."""
    seconds = timestamp / 2**32 - NTP_UNIX_OFFSET
    eras = round((near - seconds) / ERA)
    return seconds + eras * ERA


@dataclass
class Packet:
    """One NTP header; every field in host form, timestamps as 64-bit integers."""
    leap: int = 0
    version: int = 4
    mode: int = MODE_SERVER
    stratum: int = 7
    poll: int = 6
    precision: int = -20
    root_delay: int = 0
    root_dispersion: int = 0x100
    reference_id: bytes = b"XFAK"
    reference: int = 0
    originate: int = 0
    receive: int = 0
    transmit: int = 0

    def encode(self):
        return HEADER.pack(self.leap << 6 | self.version << 3 | self.mode, self.stratum,
                           self.poll, self.precision, self.root_delay, self.root_dispersion,
                           self.reference_id, self.reference, self.originate, self.receive,
                           self.transmit)

    @classmethod
    def decode(cls, data):
        (first, stratum, poll, precision, root_delay, root_dispersion, reference_id,
         reference, originate, receive_ts, transmit) = HEADER.unpack(data[:HEADER.size])
        return cls(first >> 6, first >> 3 & 7, first & 7, stratum, poll, precision, root_delay,
                   root_dispersion, reference_id, reference, originate, receive_ts, transmit)


@dataclass
class Request:
    """A datagram the fake server received: raw bytes, sender, arrival (Unix time)."""
    data: bytes
    sender: tuple
    arrival: float

    @property
    def packet(self):
        return Packet.decode(self.data) if len(self.data) >= HEADER.size else None


class FakeServer:
    """A UDP socket on a lab host that plays an NTP server under the test's control.

    Its clock runs `ahead` seconds in front of the grader's, so a client that
    accepts its answer prints that offset."""

    def __init__(self, host, address="127.0.0.1", ahead=12.5, stratum=7):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = udp_socket(host, address, 0, family)
        # Arrival times from the kernel, not from when the grader got round to reading.
        stamp_arrivals(self.sock)
        self.address, self.port = self.sock.getsockname()[:2]
        self.ahead = ahead
        self.stratum = stratum

    def next_request(self, timeout, watch=None):
        """The next datagram sent to the server, or None within timeout."""
        got = receive_until(self.sock, time.monotonic() + scaled(timeout), watch,
                            read=read_stamped)
        if got is None:
            return None
        return Request(*got)

    def answer(self, request, ahead=None, **changes):
        """A correct reply packet to request, from a clock `ahead` seconds in front
        of the grader's (default: the server's), with fields replaced by changes."""
        asked = request.packet
        ahead = self.ahead if ahead is None else ahead
        now = time.time() + ahead
        reply = Packet(stratum=self.stratum, reference=to_ntp(now - 16),
                       originate=asked.transmit if asked else 0,
                       receive=to_ntp(request.arrival + ahead), transmit=to_ntp(now))
        for name, value in changes.items():
            setattr(reply, name, value)
        return reply

    def send(self, request, data, source=None):
        """Send bytes (or a Packet) to whoever sent request, from this server's
        socket or from another socket (source)."""
        if isinstance(data, Packet):
            data = data.encode()
        (source or self.sock).sendto(data, request.sender)

    def close(self):
        self.sock.close()
