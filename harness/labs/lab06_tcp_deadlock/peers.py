"""TCP peer helpers for lab 06 (tcp_deadlock): an upper-casing echo server and a
streaming client in Python, fast enough for a gigabyte (large socket buffers,
bytearray.translate) and honest about flow control: the server stops
reading while its own replies are stuck, exactly like the blocking C server, so
a naive client can deadlock against it. Both count every byte, so a test can
watch progress, and both check every byte."""
import select
import socket
import threading
import time

CHUNK = b"capitalize this!"
UPPER = bytes(range(256)).translate(
    bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
BLOCK = 1 << 18  # bytes moved per recv()/send() call
BUFFER = 4 << 20  # SO_SNDBUF/SO_RCVBUF asked for (the kernel caps it at wmem_max/rmem_max)
SLICE = 0.05  # how often a loop looks at its stop flag


def upper(data):
    """Upper-case ASCII letters only; every other byte value stays as it is."""
    return bytes(data).translate(UPPER)


class Pattern:
    """A stream that repeats `unit` forever: the bytes at any offset, and a check."""

    def __init__(self, unit):
        self.unit = unit
        self.block = unit * (BLOCK // len(unit) + 2)

    def at(self, offset, length):
        """The length (at most BLOCK) bytes at offset."""
        start = offset % len(self.unit)
        return self.block[start:start + length]

    def first_difference(self, offset, data):
        """Offset of the first byte of data (bytes or bytearray, which starts at offset)
        that differs, or None. (Comparing memoryviews would go byte by byte in Python.)"""
        want = self.at(offset, len(data))
        if data == want:
            return None
        return offset + next(i for i in range(len(data)) if want[i] != data[i])


def _big_buffers(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)


class EchoServer:
    """Accepts one connection at a time on a lab host and echoes it upper-cased.

    It reads only while fewer than `max_pending` echoed bytes wait to be sent,
    as a server that blocks in send() would (0: it never reads at all). `expect`,
    a Pattern, makes it check what arrives (first_bad is the offset of the first
    wrong byte); `flip_at` corrupts the echo of one byte; while the Event
    `hold_echo` is set, it sends nothing (a slow server: the client must wait
    for its echo in poll(), not spin). received/sent count bytes of the current
    connection; `closed` is set once a connection ended.
    """

    def __init__(self, host, max_pending=BLOCK, expect=None, flip_at=None, hold_echo=None,
                 address="127.0.0.1"):
        self.max_pending = max_pending
        self.expect = expect
        self.flip_at = flip_at
        self.hold_echo = hold_echo or threading.Event()
        self.received = self.sent = 0
        self.first_bad = None
        self.client = None
        self.closed = threading.Event()
        self.error = None
        self._stop = threading.Event()
        self._sock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _big_buffers(self._sock)  # inherited by accepted sockets
        self._sock.bind((address, 0))
        self._sock.listen(4)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def progress(self):
        return self.received, self.sent

    def _run(self):
        try:
            while not self._stop.is_set():
                if select.select([self._sock], [], [], SLICE)[0]:
                    conn, peer = self._sock.accept()
                    self.client = peer[:2]
                    self.received = self.sent = 0
                    with conn:
                        self._echo(conn)
                    self.closed.set()
        except OSError as error:
            self.error = error
            self.closed.set()

    def _echo(self, conn):
        conn.setblocking(False)
        pending = bytearray()
        buf = bytearray(BLOCK)
        reading = True
        while not self._stop.is_set() and (reading or pending):
            want_read = reading and len(pending) < self.max_pending
            want_write = pending and not self.hold_echo.is_set()
            readable, writable, _ = select.select([conn] if want_read else [],
                                                  [conn] if want_write else [], [], SLICE)
            if writable:
                try:
                    sent = conn.send(pending)
                except BlockingIOError:
                    sent = 0
                del pending[:sent]
                self.sent += sent
            if readable:
                try:
                    n = conn.recv_into(buf, min(BLOCK, self.max_pending - len(pending)))
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    return
                if n == 0:
                    reading = False
                    continue
                data = buf[:n]
                self._check(data)
                echo = data.translate(UPPER)
                if self.flip_at is not None and self.received <= self.flip_at < self.received + n:
                    echo[self.flip_at - self.received] ^= 0x20
                pending += echo
                self.received += n
        if not pending and not reading:
            conn.shutdown(socket.SHUT_WR)

    def _check(self, data):
        if self.expect is not None and self.first_bad is None:
            self.first_bad = self.expect.first_difference(self.received, data)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


class StreamClient:
    """Sends `total` bytes of a Pattern to a server and reads the echo at the same
    time (poll-style, so it never deadlocks), checking it is the pattern
    upper-cased. Runs in a thread; sent/received count progress."""

    def __init__(self, host, port, pattern, total):
        self.pattern, self.total = pattern, total
        self.upper_pattern = Pattern(upper(pattern.unit))
        self.sent = self.received = 0
        self.first_bad = None
        self.eof = False
        self.error = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self.sock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        _big_buffers(self.sock)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        buf = bytearray(BLOCK)
        try:
            while not self._stop.is_set() and not self.eof:
                sending = self.sent < self.total
                readable, writable, _ = select.select([self.sock], [self.sock] if sending else [],
                                                      [], SLICE)
                if writable:
                    chunk = self.pattern.at(self.sent, min(BLOCK, self.total - self.sent))
                    try:
                        self.sent += self.sock.send(chunk)
                    except BlockingIOError:
                        pass
                    if self.sent == self.total:
                        self.sock.shutdown(socket.SHUT_WR)
                if readable:
                    try:
                        n = self.sock.recv_into(buf)
                    except BlockingIOError:
                        continue
                    if n == 0:
                        self.eof = True
                        break
                    if self.first_bad is None:
                        self.first_bad = self.upper_pattern.first_difference(self.received,
                                                                             buf[:n])
                    self.received += n
        except OSError as error:
            self.error = error
        self.done.set()

    def wait(self, timeout):
        """True if the whole exchange ended (end of stream or an error) within timeout."""
        return self.done.wait(timeout)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def socket_queues(pid, port):
    """{(local, remote): (send queue, receive queue)} for the TCP sockets of
    process pid's network namespace that use port, from /proc/PID/net/tcp."""
    queues = {}
    try:
        with open(f"/proc/{pid}/net/tcp") as table:
            next(table)
            for row in table:
                fields = row.split()
                local, remote = fields[1], fields[2]
                tx, rx = (int(x, 16) for x in fields[4].split(":"))
                lport, rport = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
                if port in (lport, rport) and rport != 0:
                    queues[(lport, rport)] = (tx, rx)
    except OSError:
        pass
    return queues


def wait_for_stall(progress, still_running, quiet, timeout):
    """Sample progress() until it has not changed for `quiet` seconds (True), or
    still_running() turns false or timeout passes (False). Returns (stalled,
    seconds it took)."""
    started = last_change = time.monotonic()
    last = progress()
    while True:
        time.sleep(SLICE)  # sampling counters, not waiting for an event
        now = time.monotonic()
        current = progress()
        if current != last:
            last, last_change = current, now
        elif now - last_change >= quiet:
            return True, now - started
        if not still_running() or now - started >= timeout:
            return False, now - started
