"""AF_UNIX peers for lab 08 (unix_echo): Python clients and servers on lab hosts,
a client that runs inside the program's own PID namespace, and what the kernel
reports to the program about a peer (SO_PEERCRED as the program's namespaces see
it), worked out from /proc the way the kernel does it.

Sockets are made inside the host's network namespace (host.socket), which is
where abstract names live; paths live in the test's shared directory."""
import fcntl
import os
import select
import socket
import stat
import struct
import sys
import time

from harness.peers.wait import wait_readable
from harness.timeouts import scaled

OVERFLOW_ID = "/proc/sys/kernel/overflow{kind}"


def sockaddr(path):
    """The address Python's AF_UNIX calls take: '@name' is an abstract name."""
    return "\0" + path[1:] if path.startswith("@") else path


def shared_directory(lab):
    """A directory in the test's workdir that any user may write, without the sticky
    bit, so the program (which may run as another user) can remove what the peers
    left there: the stale-file tests' ground."""
    folder = os.path.join(lab.workdir, "shared")
    if not os.path.isdir(folder):
        os.mkdir(folder)
        os.chmod(folder, 0o777)
    return folder


def connect(host, path, timeout=2, bind_to=None):
    """A stream socket of host connected to path (bound first to bind_to, if given)."""
    sock = host.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(scaled(timeout))
    if bind_to:
        sock.bind(sockaddr(bind_to))
    sock.connect(sockaddr(path))
    return sock


def listener(host, path):
    """A listening stream socket of host at path; a socket file anyone may connect to."""
    sock = host.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(sockaddr(path))
    if not path.startswith("@"):
        os.chmod(path, 0o777)  # connecting needs write permission on the file
    sock.listen(4)
    return sock


def stale_socket_file(host, path):
    """Leave a socket file at path with nothing behind it, as a killed server does."""
    with host.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)
        os.chmod(path, 0o777)


def is_socket_file(path):
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def accept(sock, timeout, watch=None):
    """The next connection, or None within timeout (scaled) or once watch has exited."""
    if not wait_readable(sock, time.monotonic() + scaled(timeout), watch):
        return None
    conn, _ = sock.accept()
    conn.settimeout(scaled(timeout))
    return conn


def exchange(sock, data, timeout, watch=None):
    """Send data and read the echo at the same time (an echo of more than the socket
    buffers hold would deadlock a peer that sends everything first), shut down
    writing after the last byte, and read until the other side closes.
    Returns (received, closed): closed is False if the timeout (scaled) ran out or
    watch exited first."""
    deadline = time.monotonic() + scaled(timeout)
    sock.setblocking(False)
    sent, received, shut = 0, bytearray(), False
    try:
        while True:
            if sent == len(data) and not shut:
                sock.shutdown(socket.SHUT_WR)
                shut = True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (watch is not None and watch.poll() is not None and
                                  not select.select([sock], [], [], 0)[0]):
                return bytes(received), False
            readable, writable, _ = select.select([sock], [sock] if not shut else [], [],
                                                  min(remaining, 0.05))
            if writable:
                try:
                    sent += sock.send(data[sent:sent + 65536])
                except BlockingIOError:
                    pass
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    return bytes(received), True
                if not chunk:
                    return bytes(received), True
                received += chunk
    finally:
        sock.setblocking(True)


def receive_until_close(sock, timeout, watch=None, limit=1 << 20):
    """Everything sock receives until the other side closes: (data, closed)."""
    deadline = time.monotonic() + scaled(timeout)
    data = bytearray()
    while len(data) < limit:
        if not wait_readable(sock, deadline, watch):
            return bytes(data), False
        try:
            chunk = sock.recv(limit - len(data))
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


SIOCOUTQ = 0x5411  # bytes a socket has sent that its peer has not read yet (AF_UNIX too)
OUTQ_POLL = 0.002


def unread(sock):
    """How much of what sock sent its peer has not read yet (skbs still queued)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQ, b"\0" * 4))[0]


def send_piece_by_piece(sock, data, pieces, timeout, watch=None):
    """Send data in pieces, each once the peer has read everything before it, so that
    a reader that stops after its first recv() sees the first piece alone. A peer
    that does not read on is given timeout (scaled) per piece, then sent the rest."""
    size = max(1, -(-len(data) // pieces))
    for start in range(0, len(data), size):
        sock.sendall(data[start:start + size])
        deadline = time.monotonic() + scaled(timeout)
        while unread(sock) > 0 and time.monotonic() < deadline and \
                (watch is None or watch.poll() is None):
            time.sleep(OUTQ_POLL)  # the peer's reading is what we wait for; bounded


def receive_with_descriptors(sock, size, timeout, watch=None):
    """(data, descriptors) of what arrives until size bytes or the end of the stream,
    or the timeout (scaled). Every descriptor received is the caller's to close."""
    deadline = time.monotonic() + scaled(timeout)
    data, descriptors = bytearray(), []
    while len(data) < size and wait_readable(sock, deadline, watch):
        chunk, fds, _, _ = socket.recv_fds(sock, size - len(data), 8)
        descriptors += fds
        if not chunk:
            break
        data += chunk
    return bytes(data), descriptors


# -- a client inside the program's PID namespace ----------------------------------

# Runs as a process of its own (python3 -c), so that it can be started inside the
# program's PID namespace: says who it is there, connects, sends, shuts down
# writing and prints what came back. Not dumpable, so that the program under test
# (which may run as the same user) cannot trace it.
INSIDE_CLIENT = r"""
import ctypes, os, socket, sys
path, gid, data = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
timeout = float(sys.argv[4])
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
if gid >= 0:
    try:
        os.setresgid(gid, gid, gid)
    except OSError:
        pass  # not allowed here: our own gid will do
print(f"pid {os.getpid()} uid {os.geteuid()} gid {os.getegid()}", flush=True)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.settimeout(timeout)
sock.connect("\0" + path[1:] if path.startswith("@") else path)
sock.sendall(data)
sock.shutdown(socket.SHUT_WR)
echo = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    echo += chunk
print("echo", echo.hex(), flush=True)
"""


def pid_namespace_for_children(sandbox_pid):
    """The PID namespace the sandbox gives the program, or None if it is ours."""
    theirs = f"/proc/{sandbox_pid}/ns/pid_for_children"
    return None if os.readlink(theirs) == os.readlink("/proc/self/ns/pid") else theirs


def inside_client_command(sandbox_pid, path, data, gid=-1, timeout=3):
    """argv of a Python client that joins the program's PID namespace (nsenter --pid)
    before it connects to path; with gid >= 0 it first takes that group id."""
    command = [sys.executable, "-c", INSIDE_CLIENT, path, str(gid), data.hex(),
               str(scaled(timeout))]
    namespace = pid_namespace_for_children(sandbox_pid)
    return ["nsenter", f"--pid={namespace}", "--", *command] if namespace else command


def another_mapped_gid():
    """A group id of this user namespace other than our own, or -1 if there is none
    (a grader run as an ordinary user maps one id only)."""
    mine = os.getegid()
    for candidate in (65534, 1):
        if candidate != mine and map_id(candidate, "/proc/self/gid_map", inverse=True) is not None:
            return candidate
    return -1


# -- what the kernel tells the program ------------------------------------------

def program_process(sandbox_pid):
    """The pid (ours) of the program under test: the sandbox's child, or, when that
    child is PID 1 of the program's PID namespace (the sandbox's init), its child.
    Without the sandbox, sandbox_pid is the program itself."""
    def children(pid):
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as listing:
                return [int(child) for child in listing.read().split()]
        except OSError:
            return []
    first = children(sandbox_pid)
    if not first:
        return sandbox_pid
    if namespace_pids(first[0])[-1] == 1:
        inner = children(first[0])
        return inner[0] if inner else first[0]
    return first[0]


def namespace_pids(pid):
    """The NSpid line of a process: its pid in our PID namespace, then in each nested one."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("NSpid:"):
                return [int(value) for value in line.split()[1:]]
    return [pid]


def map_id(value, table, inverse=False):
    """value through an id map (/proc/PID/uid_map or gid_map, read from here):
    outside to inside, or inside to outside with inverse. None if unmapped."""
    with open(table) as lines:
        for line in lines:
            inside, outside, count = (int(field) for field in line.split())
            start, target = (inside, outside) if inverse else (outside, inside)
            if start <= value < start + count:
                return target + value - start
    return None


def pid_seen_by(program_pid, peer_pid):
    """The pid of a peer (peer_pid in our PID namespace) as the kernel reports it to the
    program: its pid in the program's PID namespace, or 0 if it is not in it."""
    if os.readlink(f"/proc/{peer_pid}/ns/pid") != os.readlink(f"/proc/{program_pid}/ns/pid"):
        return 0
    return namespace_pids(peer_pid)[-1]


def ids_seen_by(program_pid, uid, gid):
    """(uid, gid), effective ids in our user namespace, as the kernel reports them to
    the program: through the program's user namespace maps, or the overflow id where
    they have no mapping there."""
    if os.readlink(f"/proc/{program_pid}/ns/user") == os.readlink("/proc/self/ns/user"):
        return uid, gid
    ids = []
    for value, kind in ((uid, "uid"), (gid, "gid")):
        mapped = map_id(value, f"/proc/{program_pid}/{kind}_map")
        if mapped is None:
            with open(OVERFLOW_ID.format(kind=kind)) as overflow:
                mapped = int(overflow.read())
        ids.append(mapped)
    return tuple(ids)


def own_view(program_pid):
    """(pid, uid, gid) of the program as it sees itself: what getpid(), geteuid() and
    getegid() return to it."""
    with open(f"/proc/{program_pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    uid, gid = int(fields["Uid"].split()[1]), int(fields["Gid"].split()[1])
    return (namespace_pids(program_pid)[-1], *ids_seen_by(program_pid, uid, gid))
