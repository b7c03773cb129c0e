"""An imperfect cable: a link whose frames are delayed, jittered, lost, duplicated
or reordered, reproducibly from a seed.

Linux's netem would do this in the kernel, but it is often not built (this project's
CI kernels lack it) and cannot be loaded from a user namespace. So the cable is
made in user space: the two hosts' veth ends lead into a hidden namespace, where a
thread reads every frame from one side (an AF_PACKET socket) and writes it to the
other when the impairment says, drawing every decision from random.Random(seed).
The same seed and the same traffic give the same drops, so a failure can be
replayed. Offloads are switched off on every end, so frames are real, checksummed
and no larger than the MTU.
"""
import ctypes
import fcntl
import heapq
import random
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SIOCETHTOOL = 0x8946
# ethtool's legacy "set" commands (struct ethtool_value): checksum offload on
# transmit, segmentation offloads, receive coalescing.
ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO = 0x17, 0x1F, 0x24, 0x2C
FRAME_LIMIT = 65600


@dataclass(frozen=True)
class Impairment:
    """What a cable does to each frame, in each direction (netem's terms)."""
    delay: float = 0.0      # seconds added to every frame
    jitter: float = 0.0     # up to this much more or less, uniformly
    loss: float = 0.0       # probability a frame is dropped
    duplicate: float = 0.0  # probability a frame is sent twice
    reorder: float = 0.0    # probability a frame skips its delay (overtakes earlier ones)
    seed: int = 0           # every decision comes from random.Random(seed)

    def describe(self):
        """'delay 50 ms ± 10 ms, loss 5%, seed 7': for a failure's story."""
        parts = []
        if self.delay or self.jitter:
            parts.append(f"delay {self.delay * 1000:g} ms"
                         + (f" ± {self.jitter * 1000:g} ms" if self.jitter else ""))
        for name in ("loss", "duplicate", "reorder"):
            if getattr(self, name):
                parts.append(f"{name} {getattr(self, name) * 100:g}%")
        return ", ".join(parts + [f"seed {self.seed}"])


def disable_offloads(sock, interface):
    """Switch off checksum and segmentation offloads and GRO on interface (in the
    namespace sock was made in), so frames read from it can be written elsewhere."""
    for command in (ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO):
        value = ctypes.create_string_buffer(struct.pack("II", command, 0))
        request = struct.pack("16sP", interface.encode(), ctypes.addressof(value))
        try:
            fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
        except OSError:
            pass  # a feature the device does not have cannot be on


class Wire:
    """Frames between two interfaces of one namespace, impaired; close() ends it."""

    def __init__(self, make_socket, side_a, side_b, impairment):
        self.impairment = impairment
        self._random = random.Random(impairment.seed)
        self._sockets = {}
        for side in (side_a, side_b):
            sock = make_socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            sock.bind((side, 0))
            self._sockets[side] = sock
        self._other = {side_a: side_b, side_b: side_a}
        self._queue = []   # (due, sequence, side to send on, frame)
        self._sequence = 0
        self._changed = threading.Condition()
        self._closed = False
        self.frames = {"passed": 0, "lost": 0, "duplicated": 0, "reordered": 0}
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._send, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read(self):
        sides = {sock: side for side, sock in self._sockets.items()}
        while not self._closed:
            ready, _, _ = select.select(list(sides), [], [], 0.1)
            for sock in ready:
                try:
                    frame = sock.recv(FRAME_LIMIT)
                except OSError:
                    return
                self._schedule(self._other[sides[sock]], frame)

    def _schedule(self, side, frame):
        """Decide the frame's fate, in arrival order, from the seeded generator.
        Only unicast frames (the test's traffic) draw from it: a host's own
        multicast chatter (IPv6 router and listener reports) comes at times of its
        own and must not shift the draws; it only takes the fixed delay."""
        draw, impairment = self._random, self.impairment
        if frame[0] & 1:  # a group address: broadcast or multicast
            self._enqueue(time.monotonic() + impairment.delay, side, frame)
            return
        if draw.random() < impairment.loss:
            self.frames["lost"] += 1
            return
        copies = 2 if draw.random() < impairment.duplicate else 1
        self.frames["duplicated"] += copies - 1
        now = time.monotonic()
        for _ in range(copies):
            if draw.random() < impairment.reorder:
                self.frames["reordered"] += 1
                delay = 0.0
            else:
                delay = max(0.0, impairment.delay + draw.uniform(-1, 1) * impairment.jitter)
            self._enqueue(now + delay, side, frame)

    def _enqueue(self, due, side, frame):
        with self._changed:
            self._sequence += 1
            heapq.heappush(self._queue, (due, self._sequence, side, frame))
            self._changed.notify()

    def _send(self):
        while True:
            with self._changed:
                while not self._closed and (not self._queue or
                                            self._queue[0][0] > time.monotonic()):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._changed.wait(wait)
                if self._closed:
                    return
                _, _, side, frame = heapq.heappop(self._queue)
            try:
                self._sockets[side].send(frame)
                self.frames["passed"] += 1
            except OSError:
                pass  # a frame the far side cannot take is a lost frame, as on a cable

    def close(self):
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets.values():
            sock.close()
