"""Lab 08 demos: unix_echo on one machine. Unix domain sockets send no packets
(there is nothing on any interface to capture), so the demos show the other
side of the story: the system calls of the program, traced with strace inside
its sandbox, next to what each program printed."""
import glob
import os
import re
import shutil
import signal
import socket

from harness.labs.lab08_unix_echo.peers import (connect, exchange, inside_client_command,
                                                receive_until_close, shared_directory)

CALLS = ("socket,socketpair,bind,listen,accept,accept4,connect,getsockopt,recvmsg,sendmsg,"
         "recvfrom,sendto,read,write,shutdown,close,unlink,newfstatat,fstat,wait4")
LISTENING = r"Listening at .*"


def traced(demo, *args, follow=False, **options):
    """demo.run(*args) under strace, inside the sandbox like the program itself:
    (program, trace file), or (program, None) where strace is not installed."""
    if shutil.which("strace") is None:
        demo.say("strace is not installed (harness/deps installs it): no system calls shown")
        return demo.run(*args, **options), None
    trace = os.path.join(demo.lab.workdir, f"trace-{len(demo.lab.programs)}")
    # strace sets its real uid to its own before the exec: an id unmapped in the
    # sandbox's user namespace would make that fail, so map them.
    options.setdefault("map_ids", True)
    saved = demo.lab.wrapper
    # -ff: a file per process, so a parent's and a child's calls never interleave.
    demo.lab.wrapper = ("strace", "-qq", "-s", "32", "-e", "signal=none", "-e", f"trace={CALLS}",
                        *(["-ff"] if follow else []), "-o", trace, *saved)
    try:
        return demo.run(*args, **options), trace
    finally:
        demo.lab.wrapper = saved


def compact(call):
    """One traced call, shorter: recvmsg()'s fields that say nothing here left out."""
    for noise in (r"msg_name=NULL, msg_namelen=0, ", r"msg_iovlen=1, ", r"msg_controllen=\d+, ",
                  r", iov_len=\d+", r"cmsg_len=\d+, cmsg_level=SOL_SOCKET, ",
                  r"(, )?msg_flags=MSG_CMSG_CLOEXEC"):
        call = re.sub(noise, "", call)
    return call


def show_trace(demo, trace, title):
    """Show a finished trace like a program's output: from the program's first socket
    call on, without its writes to stdout and stderr. A trace of several processes
    (-ff) shows the one that made the sockets first, then the others, each line
    saying whose."""
    if trace is None:
        return
    files = [trace] if os.path.exists(trace) else sorted(glob.glob(trace + ".*"))
    traces = []
    for name in files:
        with open(name, errors="replace") as raw:
            traces.append(raw.read().splitlines())
    traces.sort(key=lambda lines: not any(re.search(r"\bsocket(pair)?\(", l) for l in lines))
    kept = []
    for number, lines in enumerate(traces):
        first = next((i for i, l in enumerate(lines) if re.search(r"\bsocket(pair)?\(", l)), 0)
        who = "" if len(traces) == 1 else "parent " if number == 0 else "child  "
        kept += [who + compact(call) for call in lines[first if number == 0 else 0:]
                 if not re.match(r"(write|newfstatat|fstat)\([12], ", call)]
    shown = trace + ".shown"
    with open(shown, "w") as out:
        out.write("\n".join(kept) + "\n")
    demo.command(["cat", shown], label=title).wait(3)


def innermost(pid):
    """The last of a chain of only children: the server under the sandbox and strace."""
    while True:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as listing:
                children = listing.read().split()
        except OSError:
            return pid
        if len(children) != 1:
            return pid
        pid = int(children[0])


def stop(demo, server):
    """SIGINT to the server itself (strace, in between, would ignore it): it removes its
    socket file and ends; wait for it."""
    os.kill(innermost(server.pid), signal.SIGINT)
    if server.wait(5) is None:
        demo.fail("the server did not stop on SIGINT")


def echo(demo):
    """an echo, a passed descriptor and a clean stop, with the server's system calls"""
    path = os.path.join(demo.lab.workdir, "echo.sock")
    demo.say(f"start the server at {path}, under strace")
    server, trace = traced(demo, "server", path)
    demo.expect(server, LISTENING)
    demo.say("run the client once, then send-fd with a small file")
    demo.run("client", path, "Hello over AF_UNIX").wait(5)
    notes = os.path.join(demo.lab.workdir, "notes.txt")
    with open(notes, "w") as out:
        out.write("Remember the milk\n")
    os.chmod(notes, 0o644)
    demo.run("send-fd", path, notes).wait(5)
    demo.expect(server, r"  Echoed 0 bytes, connection closed")
    demo.say("stop the server with SIGINT")
    stop(demo, server)
    show_trace(demo, trace, f"strace -e trace=… unix_echo server {path}   "
               "(the server's system calls)")
    demo.finish("""
        bind() made the socket file, and the length it was given (sa_family plus the path
        and its NUL) says where the name ends. accept() returned a new socket (4) whose
        peer has no name ({sa_family=AF_UNIX}, length 2). getsockopt(SO_PEERCRED) asked
        the kernel who connected: pid 0, because the client runs in a PID namespace of
        its own that the server cannot see (each program here has its sandbox), and the
        uid the client runs as there (nobody, 65534, when the grader runs as root).
        The echo is recvmsg() and write() until recvmsg() returns 0: the client's
        shutdown(SHUT_WR). The send-fd message brought control data: SCM_RIGHTS with
        cmsg_data=[5], a descriptor the kernel made in the server for the client's open
        file (the client's own number was 3). The server read() the file through it and
        closed it. On SIGINT the handler unlink()ed the socket file.
        """)


def credentials(demo):
    """who is on the other end: SO_PEERCRED as the server's namespaces see it"""
    path = os.path.join(demo.lab.workdir, "echo.sock")
    demo.say("start the server, its users and groups mapped like the grader's (map_ids)")
    server = demo.run("server", path, map_ids=True)
    demo.expect(server, LISTENING)
    demo.say("1. the program's own client, in a sandbox (and a PID namespace) of its own")
    demo.run("client", path, "from unix_echo client").wait(5)
    demo.expect(server, r"  Peer pid .*")
    demo.say(f"2. a Python client in the demo's own process (pid {os.getpid()}, uid "
             f"{os.geteuid()}, gid {os.getegid()} here)")
    sock = connect(demo.host, path)
    exchange(sock, b"from the demo", 5, watch=server)
    sock.close()
    demo.expect(server, r"  Peer pid .*")
    demo.say("3. a Python client started inside the server's PID namespace")
    inside = demo.command(inside_client_command(server.pid, path, b"from inside"),
                          label="python3 client, inside the server's PID namespace")
    inside.wait(5)
    demo.expect(server, r"  Peer pid .*")
    demo.finish("""
        The kernel recorded each client's pid, uid and gid when it called connect(), and
        told the server what they are in the server's own namespaces. Clients 1 and 2 run
        in PID namespaces the server cannot see: pid 0. Client 3 joined the server's PID
        namespace (nsenter --pid) and shows up with the pid it has there, the same number
        it printed itself. The ids come through the server's user namespace map: without
        map_ids every one of them would read 65534, the overflow id, "someone I have no
        name for". The client prints nothing of this: nothing it sends could fake it.
        """)


def stale(demo):
    """a killed server leaves its socket file; the next one removes it, a live one keeps it"""
    path = os.path.join(shared_directory(demo.lab), "echo.sock")
    demo.say(f"start a server at {path} and kill it with SIGKILL: no handler runs")
    first = demo.run("server", path)
    demo.expect(first, LISTENING)
    os.kill(innermost(first.pid), signal.SIGKILL)
    first.wait(5)
    demo.say(f"what is left: {'a socket file' if os.path.exists(path) else 'nothing'} at "
             f"{path}; connecting to it is refused")
    demo.say("start a new server on the same path")
    second = demo.run("server", path)
    demo.expect(second, LISTENING)
    demo.say("and a third one while the second is running")
    third = demo.run("server", path)
    third.wait(5)
    demo.finish("""
        The killed server's socket file stayed behind: bind() on it fails with EADDRINUSE
        though nobody uses it. The second server checked before removing it: a socket
        (lstat), and connect() refused (ECONNREFUSED), so nobody accepts there: stale.
        The third server's connect() succeeded: a live server, so it refused and left the
        file alone (its probe shows in the second server's log as a connection that sent
        nothing). Removing the path blindly before bind() would have stolen the second
        server's name, leaving it running and unreachable.
        """)


def pair(demo):
    """socketpair() and fork(): the same messages as a stream and as datagrams"""
    for options in ((), ("--dgram",)):
        demo.say(f"unix_echo pair 3 {' '.join(options)}".strip() + ", under strace -ff")
        program, trace = traced(demo, "pair", "3", *options, follow=True)
        program.wait(5)
        show_trace(demo, trace, f"strace -ff … unix_echo pair 3 {' '.join(options)}".strip())
    demo.finish("""
        Both runs queue three sends of 9 bytes before fork() (the parent's calls first,
        then the child's). On the stream, the child's one recvfrom() returned all 27
        bytes: a stream keeps no boundaries. On datagrams, each recvfrom() returned one
        message of 9, then 0 for the empty datagram: a datagram socket has no end of
        stream, so 0 means exactly that empty datagram. The child closed the parent's end
        (close(3)) right after fork(): on the stream, that is what lets its last
        recvfrom() return 0 once the parent closes its own. The parent's wait4() collects
        the child's exit status.
        """)


def descriptor(demo):
    """pass a file the server cannot open: the permission was checked at open()"""
    path = os.path.join(demo.lab.workdir, "echo.sock")
    server, trace = traced(demo, "server", path)
    demo.expect(server, LISTENING)
    secret = os.path.join(shared_directory(demo.lab), "secret.txt")
    with open(secret, "w") as out:
        out.write("0123456789 only the descriptor knows this\n")
    os.chmod(secret, 0o600)
    fd = os.open(secret, os.O_RDONLY)
    os.read(fd, 10)
    os.unlink(secret)
    demo.say(f"a Python client opens {secret} (mode 0600), reads 10 bytes, deletes the file "
             "and passes the descriptor")
    sock = connect(demo.host, path)
    socket.send_fds(sock, [b"secret.txt"], [fd])
    sock.shutdown(socket.SHUT_WR)
    reply, _ = receive_until_close(sock, 5, watch=server)
    sock.close()
    os.close(fd)
    demo.say(f"the Python client got back: {reply!r}")
    demo.expect(server, r"  Read .*")
    stop(demo, server)
    show_trace(demo, trace, f"strace -e trace=… unix_echo server {path}")
    demo.finish("""
        The server received descriptor 5 (cmsg_data=[5]) for a file that no open() could
        reach any more: it was deleted, and it is mode 0600 of the grader's user (the
        server runs as nobody when the grader is root). fstat() shows a regular file, and
        read() goes on from byte 10, where the client's own read left the shared offset.
        Passing the descriptor passed the open file, permission included: privilege
        separation in one system call.
        """)


EXPERIMENTS = {"": echo, "credentials": credentials, "stale": stale, "pair": pair,
               "descriptor": descriptor}
# No packets: Unix domain sockets never reach an interface (tests/selftest/test_demo.py).
UNTRACED = set(EXPERIMENTS)
# What each experiment must show: regexes, each matching some line of its output.
SHOWS = {
    "": [r".*getsockopt\(4, SOL_SOCKET, SO_PEERCRED, \{pid=\d+, uid=\d+, gid=\d+\}.*",
         r".*cmsg_type=SCM_RIGHTS, cmsg_data=\[\d+\].*", r".*unlink\(.*echo\.sock\"\) = 0",
         r"\s+The server echoed 'Hello over AF_UNIX'"],
    "credentials": [r"\s+Peer pid 0 uid \d+ gid \d+", r"\s+Peer pid [1-9]\d* uid \d+ gid \d+"],
    "stale": [r"\s+Removed the stale socket file .*", r".*another server is listening there"],
    "pair": [r".*child +recvfrom\(4, \"Message 1Message 2Message 3\", 4096.*= 27",
             r".*child +recvfrom\(4, \"Message 2\", 4096.*= 9",
             r".*child +recvfrom\(4, \"\", 4096.*= 0"],
    "descriptor": [r".*Read 32 bytes through it and sent them back"],
}
