"""Packet capture: what went over the wire inside a lab network, for the demos
(tcpdump-like lines) and for graders that check packets (TCP segments).

One AF_PACKET socket per host, opened inside the host's network namespace (root
of the lab root's user namespace has CAP_NET_RAW there), sees every packet the
host sends or receives on any interface; the kernel stamps each one. Decoding
covers what the labs put on the wire: ARP, IPv4 and IPv6, UDP, TCP, ICMP and
ICMPv6, and NTP inside UDP.
"""
import ipaddress
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

ETH_P_ALL, ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0003, 0x0800, 0x0806, 0x86DD
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SNAPLEN = 2048  # enough for every header and an NTP packet; lengths come from the headers
PREVIEW = 40    # payload bytes shown, quoted, after a UDP or TCP line
# IPv6 housekeeping (router/neighbour discovery, multicast listener reports) that
# every new interface sends: counted, not shown.
ICMP6_HOUSEKEEPING = set(range(130, 144))
NTP_MODES = {1: "symmetric active", 2: "symmetric passive", 3: "client", 4: "server",
             5: "broadcast"}


@dataclass
class Packet:
    time: float       # seconds, kernel timestamp
    host: str
    interface: str
    outgoing: bool
    data: bytes       # from the network header on (at most SNAPLEN bytes)
    protocol: int     # ETH_P_*


class Capture:
    """Capture on hosts until stop(); then packets (in time order) and lines()."""

    def __init__(self, hosts):
        self._sockets = {}
        for host in hosts:
            sock = host.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._sockets[sock] = host.name
        self.packets = []
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            stopping = self._stop.is_set()
            ready, _, _ = select.select(list(self._sockets), [], [], 0 if stopping else 0.05)
            if stopping and not ready:
                return
            for sock in ready:
                self._take(sock)

    def _take(self, sock):
        data, ancillary, _, address = sock.recvmsg(SNAPLEN, socket.CMSG_SPACE(16))
        interface, protocol, kind = address[0], address[1], address[2]
        if interface == "lo" and kind == PACKET_OUTGOING:
            return  # the loopback shows each packet twice: keep the arrival
        stamp = None
        for level, what, value in ancillary:
            if level == socket.SOL_SOCKET and what == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("ll", value[:16])
                stamp = seconds + nanoseconds / 1e9
        self.packets.append(Packet(stamp or 0.0, self._sockets[sock], interface,
                                   kind == PACKET_OUTGOING, data, protocol))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self._stop.is_set():
            self.stop()

    def wait_for(self, wanted, timeout):
        """Wait up to timeout seconds (not scaled: the caller's deadline) until a
        captured packet satisfies wanted(packet); that packet, or None."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((packet for packet in list(self.packets) if wanted(packet)), None)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)  # polling our own capture list, with a deadline

    def wait_for_segment(self, wanted, timeout, port=None):
        """wait_for, for a TCP segment (of port, if given) satisfying wanted(segment)."""
        def matches(packet):
            segment = tcp_segment(packet)
            return segment is not None and (port is None or port in (segment.sport, segment.dport)) \
                and wanted(segment)
        packet = self.wait_for(matches, timeout)
        return None if packet is None else tcp_segment(packet)

    def stop(self):
        """Stop capturing (reading what is already queued); the packets in time order."""
        self._stop.set()
        self._reader.join(timeout=5)
        for sock in self._sockets:
            sock.close()
        self.packets.sort(key=lambda packet: packet.time)
        return self.packets

    def lines(self, show_host=True, ip_details=False):
        """tcpdump-like text for every packet, with times relative to the first;
        and how many IPv6 housekeeping packets were left out."""
        decoder = Decoder(ip_details)
        shown = [(packet, decoder.describe(packet)) for packet in self.packets]
        hidden = sum(1 for _, described in shown if described is None)
        shown = [(packet, described) for packet, described in shown if described is not None]
        start = shown[0][0].time if shown else 0.0
        rows = []
        for packet, described in shown:
            where = f"{packet.host} {packet.interface}" if show_host else packet.interface
            direction = "Out" if packet.outgoing else "In "
            rows.append((f"{packet.time - start:9.6f}", where, direction, described))
        width = max((len(where) for _, where, _, _ in rows), default=0)
        return [f"{time} {where:<{width}} {direction} {text}"
                for time, where, direction, text in rows], hidden


TCP_FLAGS = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10))


@dataclass
class Segment:
    """One captured TCP segment, over IPv4 or IPv6."""
    src: str
    sport: int
    dst: str
    dport: int
    flags: set        # "SYN", "ACK", …
    length: int       # payload bytes
    time: float = 0.0  # the kernel's timestamp of the packet

    def source(self):
        return (self.src, self.sport)

    def __str__(self):
        return (f"{self.src}:{self.sport} > {self.dst}:{self.dport} "
                f"[{','.join(sorted(self.flags))}] {self.length} bytes")


def tcp_segment(packet):
    """The Segment a captured IPv4/TCP or IPv6/TCP packet carries, else None (also
    for IPv6 with extension headers, which no lab sends)."""
    ip = packet.data
    if packet.protocol == ETH_P_IP and len(ip) >= 20 and ip[0] >> 4 == 4 and ip[9] == 6:
        header = (ip[0] & 0x0F) * 4
        tcp = ip[header:struct.unpack("!H", ip[2:4])[0]]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    elif packet.protocol == ETH_P_IPV6 and len(ip) >= 40 and ip[0] >> 4 == 6 and ip[6] == 6:
        tcp = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
        src, dst = (socket.inet_ntop(socket.AF_INET6, ip[8:24]),
                    socket.inet_ntop(socket.AF_INET6, ip[24:40]))
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack("!HH", tcp[:4])
    offset = (tcp[12] >> 4) * 4
    flags = {name for name, bit in TCP_FLAGS if tcp[13] & bit}
    return Segment(src, sport, dst, dport, flags, max(0, len(tcp) - offset), packet.time)


def tcp_segments(packets, port):
    """The TCP segments among packets from or to port, in order."""
    found = (tcp_segment(packet) for packet in packets)
    return [s for s in found if s is not None and port in (s.sport, s.dport)]


class Decoder:
    """Turns packets into one-line descriptions; keeps TCP's initial sequence
    numbers so that sequence numbers print relative, as tcpdump's do."""

    def __init__(self, ip_details=False):
        self.ip_details = ip_details
        self._isn = {}

    def describe(self, packet):
        data = packet.data
        try:
            if packet.protocol == ETH_P_IP:
                return self.ipv4(data)
            if packet.protocol == ETH_P_IPV6:
                return self.ipv6(data)
            if packet.protocol == ETH_P_ARP:
                return arp(data)
        except (struct.error, IndexError, ValueError):
            return f"(truncated packet, {len(data)} bytes)"
        return f"ethertype 0x{packet.protocol:04x}, length {len(data)}"

    def ipv4(self, data):
        header = (data[0] & 0x0F) * 4
        total, ident, fragment, ttl, proto = struct.unpack("!2xHHHBB", data[:10])
        source, destination = (str(ipaddress.IPv4Address(data[12:16])),
                               str(ipaddress.IPv4Address(data[16:20])))
        details = ""
        if self.ip_details:
            flags = "DF" if fragment & 0x4000 else "no DF"
            details = f" (IP length {total}, {flags}, ttl {ttl})"
        offset, more = (fragment & 0x1FFF) * 8, bool(fragment & 0x2000)
        if offset:
            return (f"IP {source} > {destination}: fragment id {ident}, offset {offset}, "
                    f"length {total - header}{' (more follow)' if more else ''}{details}")
        body = data[header:total]
        return "IP " + self.transport(proto, source, destination, body, total - header) + \
            (" (first fragment)" if more else "") + details

    def ipv6(self, data):
        length, next_header = struct.unpack("!HB", data[4:7])
        source, destination = (str(ipaddress.IPv6Address(data[8:24])),
                               str(ipaddress.IPv6Address(data[24:40])))
        offset = 40
        while next_header in (0, 43, 60):  # hop-by-hop, routing, destination options
            next_header, extension = data[offset], (data[offset + 1] + 1) * 8
            offset += extension
            length -= extension
        if next_header == 58 and data[offset] in ICMP6_HOUSEKEEPING:
            return None
        return "IP6 " + self.transport(next_header, source, destination,
                                       data[offset:offset + length], length)

    def transport(self, proto, source, destination, body, length):
        if proto == socket.IPPROTO_UDP:
            sport, dport, udp_length = struct.unpack("!HHH", body[:6])
            payload = body[8:udp_length]
            text = f"{source}.{sport} > {destination}.{dport}: UDP, length {udp_length - 8}"
            if looks_like_ntp(sport, dport, payload):
                return text + ": " + ntp(payload)
            return text + preview(payload)
        if proto == socket.IPPROTO_TCP:
            return f"{source}.{{}} > {destination}.{{}}: ".format(*struct.unpack("!HH", body[:4])) \
                + self.tcp(source, destination, body, length)
        if proto == socket.IPPROTO_ICMP:
            return f"{source} > {destination}: " + icmp(body, length)
        if proto == 58:
            return f"{source} > {destination}: " + icmp6(body, length)
        if proto == 2:
            return f"{source} > {destination}: " + igmp(body, length)
        return f"{source} > {destination}: protocol {proto}, length {length}"

    def tcp(self, source, destination, body, length):
        sport, dport, seq, ack, offset_flags, window = struct.unpack("!HHIIHH", body[:16])
        header = (offset_flags >> 12) * 4
        flags = offset_flags & 0x3F
        payload = length - header
        names = "".join(letter for bit, letter in ((0x02, "S"), (0x01, "F"), (0x04, "R"),
                                                    (0x08, "P")) if flags & bit)
        names += "." if flags & 0x10 else ""
        me, peer = (source, sport, destination, dport), (destination, dport, source, sport)
        if flags & 0x02 or me not in self._isn:
            self._isn[me] = seq
        text = f"Flags [{names}]"
        relative = (seq - self._isn[me]) % 2**32
        if payload or flags & 0x03:
            text += f", seq {relative}" + (f":{relative + payload}" if payload else "")
        if flags & 0x10 and peer in self._isn:
            text += f", ack {(ack - self._isn[peer]) % 2**32}"
        text += f", win {window}, length {payload}"
        return text + preview(body[header:header + payload])


def preview(payload):
    """': 'first bytes…'' for a non-empty payload, quoted as the labs quote."""
    if not payload:
        return ""
    shown = quote(payload[:PREVIEW])
    return f": '{shown}'" + ("…" if len(payload) > PREVIEW else "")


def quote(data):
    """Printable ASCII as is, backslash and quote escaped, other bytes as \\xNN."""
    out = []
    for byte in data:
        char = chr(byte)
        if char in "\\'":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def icmp(body, length):
    kind, code = body[0], body[1]
    inner = ""
    if kind in (3, 11) and len(body) >= 8 + 20:
        quoted = body[8:]
        header = (quoted[0] & 0x0F) * 4
        proto = quoted[9]
        destination = ipaddress.IPv4Address(quoted[16:20])
        if proto == socket.IPPROTO_UDP and len(quoted) >= header + 4:
            dport = struct.unpack("!H", quoted[header + 2:header + 4])[0]
            inner = f"{destination} udp port {dport}"
        else:
            inner = str(destination)
    if kind == 3 and code == 3:
        return f"ICMP {inner} unreachable, length {length}"
    if kind == 3 and code == 4:
        mtu = struct.unpack("!H", body[6:8])[0]
        return (f"ICMP {inner} unreachable - need to frag (mtu {mtu}), "
                f"length {length}")
    if kind == 3:
        return f"ICMP {inner} unreachable (code {code}), length {length}"
    if kind == 11:
        return f"ICMP time exceeded in-transit ({inner}), length {length}"
    if kind in (0, 8):
        ident, seq = struct.unpack("!HH", body[4:8])
        name = "echo request" if kind == 8 else "echo reply"
        return f"ICMP {name}, id {ident}, seq {seq}, length {length}"
    return f"ICMP type {kind} code {code}, length {length}"


def icmp6(body, length):
    kind, code = body[0], body[1]
    names = {(1, 4): "destination unreachable (port unreachable)",
             (128, 0): "echo request", (129, 0): "echo reply"}
    if kind == 2:
        return f"ICMP6 packet too big (mtu {struct.unpack('!I', body[4:8])[0]}), length {length}"
    return f"ICMP6 {names.get((kind, code), f'type {kind} code {code}')}, length {length}"


def igmp(body, length):
    kind = body[0]
    if kind in (0x12, 0x16, 0x17):
        group = ipaddress.IPv4Address(body[4:8])
        name = {0x12: "v1 report", 0x16: "v2 report", 0x17: "leave"}[kind]
        return f"IGMP {name} {group}, length {length}"
    if kind == 0x22:
        records, offset, groups = struct.unpack("!H", body[6:8])[0], 8, []
        for _ in range(records):
            record, sources = body[offset], struct.unpack("!H", body[offset + 2:offset + 4])[0]
            action = {3: "leave", 4: "join"}.get(record, f"record {record}")
            groups.append(f"{action} {ipaddress.IPv4Address(body[offset + 4:offset + 8])}")
            offset += 8 + 4 * sources + body[offset + 1] * 4
        return f"IGMP v3 report, {', '.join(groups)}, length {length}"
    if kind == 0x11:
        return f"IGMP query, length {length}"
    return f"IGMP type 0x{kind:02x}, length {length}"


def arp(data):
    operation = struct.unpack("!H", data[6:8])[0]
    sender, target = ipaddress.IPv4Address(data[14:18]), ipaddress.IPv4Address(data[24:28])
    if operation == 1:
        return f"ARP, Request who-has {target} tell {sender}"
    mac = ":".join(f"{byte:02x}" for byte in data[8:14])
    return f"ARP, Reply {sender} is-at {mac}"


def looks_like_ntp(sport, dport, payload):
    """NTP's port, or (for the demos' test servers on any port) exactly 48 bytes
    that start like an NTPv3/v4 client or server packet."""
    if len(payload) < 48:
        return False
    version, mode = (payload[0] >> 3) & 7, payload[0] & 7
    return 123 in (sport, dport) or (len(payload) == 48 and version in (3, 4)
                                      and mode in (3, 4))


def ntp(payload):
    """'NTPv4, client, stratum S, transmit T' and so on, for an NTP packet."""
    first, stratum = payload[0], payload[1]
    version, mode = (first >> 3) & 7, first & 7
    stamps = struct.unpack("!4Q", payload[16:48])
    names = ("reference", "originate", "receive", "transmit")
    shown = ", ".join(f"{name} {ntp_time(stamp)}" for name, stamp in zip(names, stamps)
                      if stamp)
    leap = first >> 6
    extra = f", leap {leap}" if leap else ""
    if stratum == 0 and mode == 4:
        extra += f", kiss code {quote(payload[12:16])}"
    return (f"NTPv{version}, {NTP_MODES.get(mode, f'mode {mode}')}, stratum {stratum}{extra}"
            + (f", {shown}" if shown else ""))


def ntp_time(stamp):
    """An NTP timestamp (seconds since 1900 in 32.32 fixed point) as seconds.fraction."""
    return f"{stamp >> 32}.{((stamp & 0xFFFFFFFF) * 1000000) >> 32:06d}"
