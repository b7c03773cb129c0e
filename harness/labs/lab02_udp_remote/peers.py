"""Lab 02 peers: a UDP server that stays silent for the first k requests and
notes when each request arrived, and a listener that counts the datagrams sent to
a port where nothing listens.

Arrival times come from the kernel (SO_TIMESTAMPNS, stamped when the datagram
reached the host), so the intervals the grader measures are the client's own,
not the grader's scheduling delays.
"""
import select
import socket
import struct
import time
from dataclasses import dataclass

from harness.peers.udp import read_stamped, receive_until, stamp_arrivals
from harness.timeouts import scaled

REQUEST = b"This is another message"
REPLY = b"Your data was 23 bytes long"


@dataclass
class Arrival:
    """One datagram as the peer saw it: when (seconds, kernel clock), what, from where."""
    time: float
    data: bytes
    sender: tuple


def stamped_socket(host, address, port=0, kind=socket.SOCK_DGRAM, proto=0):
    """A socket on a lab host, asking the kernel to timestamp every arrival."""
    sock = host.socket(socket.AF_INET, kind, proto)
    try:
        stamp_arrivals(sock)
        if kind == socket.SOCK_DGRAM:
            sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


def receive_stamped(sock, deadline, watch=None, size=65535):
    """The next datagram as an Arrival, or None at the deadline (time.monotonic())
    or once `watch` (a Program) has exited with nothing more queued."""
    return receive_until(sock, deadline, watch, size, read=_read_stamped)


def _read_stamped(sock, size):
    data, sender, arrival = read_stamped(sock, size)
    return Arrival(arrival, data, sender)


def wait_until_reachable(sender, receiver, receiver_ip, timeout=3.0):
    """Send probe datagrams from host sender to receiver_ip (on host receiver)
    until one arrives, so that ARP has resolved the addresses both ways before a
    test starts timing. True once a probe came through."""
    with receiver.socket() as inbox, sender.socket() as outbox:
        inbox.bind((receiver_ip, 0))
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            outbox.sendto(b"probe", inbox.getsockname())
            ready, _, _ = select.select([inbox], [], [], 0.02)
            if ready:
                return True
    return False


def serve_slowly(sock, client, silent_for, timeout, reply=REPLY, on_request=None, until=None):
    """Be the lab 02 server for `client` (a Program): ignore the first silent_for
    requests, answer the next with reply (None: never answer). Returns every
    Arrival, once the client has exited, timeout (scaled) has passed, or `until`
    requests have come. on_request(arrival, index) runs for each request before
    any answer."""
    arrivals = []
    deadline = time.monotonic() + scaled(timeout)
    while until is None or len(arrivals) < until:
        arrival = receive_stamped(sock, deadline, watch=client)
        if arrival is None:
            return arrivals
        arrivals.append(arrival)
        if on_request is not None:
            on_request(arrival, len(arrivals) - 1)
        if reply is not None and len(arrivals) > silent_for:
            sock.sendto(reply, arrival.sender)
    return arrivals


def udp_to_port(packet, port):
    """Parse an IPv4 packet from a raw IPPROTO_UDP socket: the UDP payload if the
    datagram goes to `port`, else None."""
    if len(packet) < 20:
        return None
    header = (packet[0] & 0x0F) * 4
    if len(packet) < header + 8:
        return None
    _, destination, _, _ = struct.unpack_from("!HHHH", packet, header)
    return packet[header + 8:] if destination == port else None


def count_to_closed_port(raw, port, client, timeout, limit):
    """Watch a raw UDP socket for datagrams to `port` (where nothing listens, so
    the kernel answers each with ICMP port unreachable) until `client` exits,
    timeout (scaled) passes or `limit` have come. Returns their Arrivals."""
    arrivals = []
    deadline = time.monotonic() + scaled(timeout)
    while len(arrivals) < limit:
        packet = receive_stamped(raw, deadline, watch=client)
        if packet is None:
            return arrivals
        payload = udp_to_port(packet.data, port)
        if payload is not None:
            arrivals.append(Arrival(packet.time, payload, packet.sender))
    return arrivals


def gaps(arrivals):
    """Seconds between consecutive arrivals."""
    return [later.time - earlier.time for earlier, later in zip(arrivals, arrivals[1:])]

