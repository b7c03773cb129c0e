"""Lab 09 demos: a chat room on a LAN, a reader that stops, the server's system
calls while the room is idle, and a thousand clients at once."""
import contextlib
import os
import re
import shutil
import time

from harness.labs.lab09_chat_server.peers import ChatPeer, Crowd
from harness.programs import activity
from harness.programs.process import NOT_IMPLEMENTED_EXIT, describe_exit

SUBNET = "10.0.1.0/24"
LISTENING = r"Listening at (?P<addr>\S+)"


@contextlib.contextmanager
def serving(demo, server):
    """If what the block does fails because the server has ended (a skeleton stops
    right after 'Listening at'), stop the scenario with the server's own story."""
    try:
        yield
    except Exception as failure:
        # The demo runs as __main__: its DemoFailure is known here by name only.
        if not isinstance(failure, OSError) and type(failure).__name__ != "DemoFailure":
            raise
        code = server.wait(1)
        if code == NOT_IMPLEMENTED_EXIT:
            todo = [text for text in server.stderr if "TODO(" in text]
            demo.fail(f"not implemented yet: {server.label} exited 3"
                      + (f" ({todo[-1]})" if todo else ""))
        if code is not None:
            demo.fail(f"{server.label} {describe_exit(code)}")
        if not isinstance(failure, OSError):
            raise
        demo.fail(f"a Python client could not talk to the server: {failure}")


def lan(demo):
    """A server and two people on one LAN: (server host, alice, bob, server's address)."""
    server, alice, bob = demo.net.host("server"), demo.net.host("alice"), demo.net.host("bob")
    room = demo.net.lan([server, alice, bob], SUBNET)
    return server, alice, bob, room.address_of(server)


def type_line(demo, client, who, text):
    demo.say(f"{who} types '{text}'")
    client.send_input(text.encode() + b"\n")


def chat(demo):
    """alice and bob chat through the server on a LAN; alice leaves with Ctrl-D"""
    server_host, alice_host, bob_host, address = lan(demo)
    demo.start_capture([server_host])
    server = demo.run(address, program="chat_server", host=server_host)
    demo.expect(server, LISTENING)
    with serving(demo, server):
        alice = demo.run(address, program="chat_client", host=alice_host, stdin=True)
        demo.expect(alice, r"\*\*\* welcome .*")
        bob = demo.run(address, program="chat_client", host=bob_host, stdin=True)
        demo.expect(bob, r"\*\*\* welcome .*")
        demo.expect(alice, r"\*\*\* .* joined")
        type_line(demo, alice, "alice", "hi bob, can you read me?")
        demo.expect(bob, r".*: hi bob, can you read me\?")
        type_line(demo, bob, "bob", "loud and clear")
        demo.expect(alice, r".*: loud and clear")
        demo.say("alice ends her input (Ctrl-D): her client shuts down its sending side")
        alice.close_input()
        if alice.wait(5) is None:
            demo.fail("alice's client did not end after the end of its input")
        demo.expect(bob, r"\*\*\* .* left")
    demo.finish("""
        Each line crossed the LAN twice: once from the typist to the server (In on the
        server's interface, 'hi bob, can you read me?\\x0a' with its newline), and once
        from the server to everyone else, now starting with the typist's IP:PORT. The
        server sent each person's lines in one segment each: one poll() round read the
        line and queued it, the next found bob's socket writable and sent it.
        Ctrl-D made alice's client send its FIN first (Flags [F.] from 10.0.1.2) and keep
        reading; the server saw the end of her stream, closed her socket (its own FIN)
        and told bob '*** … left'. Only then did alice's client end.
        """, packet_limit=40)


def slow_reader(demo):
    """a client that stops reading: its window closes, then the server resets it"""
    server_host, slow_host = demo.net.host("server"), demo.net.host("slow")
    link = demo.net.link(server_host, slow_host, SUBNET)
    address = link.a_address
    server_host.sysctl("net.ipv4.tcp_wmem", "4096 16384 16384")
    demo.say("small kernel send buffers on the server's host (net.ipv4.tcp_wmem 4096 16384 "
             "16384), so the server's own 64 KiB queue fills soon")
    server = demo.run(address, program="chat_server", host=server_host)
    demo.expect(server, LISTENING)
    demo.start_capture([slow_host])
    with serving(demo, server):
        slow = ChatPeer(slow_host, address, 1060, watch=server, rcvbuf=4096)
    slow.line()
    demo.say(f"a Python client on host slow ({slow.name}) joined, read its welcome, and "
             "stopped reading")
    reader = demo.run(address, program="chat_client", host=server_host, stdin=True,
                      shown=False)
    demo.expect(reader, r"\*\*\* welcome .*")
    talker = ChatPeer(server_host, address, 1060, watch=server)
    demo.say(f"a chat_client reads at {address}; a Python client at {talker.name} sends "
             "120 lines of 1000 bytes, one every 5 ms")
    for number in range(120):
        if number:
            time.sleep(0.005)  # a steady talker, so the trace shows the window closing
        talker.send(f"{number:03d} ".encode() + b"." * 996 + b"\n")
    with serving(demo, server):
        dropped = demo.expect(reader, re.escape(f"*** {slow.name} dropped: too slow"),
                              timeout=10)
        demo.expect(reader, re.escape(f"{talker.name}: 119 ") + r"\.+", timeout=10)
    lines = [text for text in reader.stdout if text.startswith(talker.name)]
    demo.say(f"the reading chat_client printed all {len(lines)} lines, and "
             f"'{dropped.group(0)}' among them")
    talker.line()  # the news of the drop: read, so the talker's close is a FIN
    talker.close()
    reader.close_input()
    reader.wait(5)
    slow.close()
    demo.finish(f"""
        The trace is the slow client's host. The server sent it lines until its 4 KiB
        receive buffer was full; then its ACKs said "win 0", and TCP stopped sending: the
        empty segments from the server after that are window probes, asking whether
        there is room yet. The server's send() to it took nothing more (EAGAIN), so the
        server kept what followed in that client's queue; when a line would have made
        the queue more than 64 KiB, it dropped the client: Flags [R.] from
        {address}.1060, a reset (SO_LINGER 0), which also throws away what the kernel
        still held for it. The reading client got each of the 120 lines meanwhile.
        """, packet_limit=30)


def syscalls(demo):
    """strace of the server: poll() sleeps while the room is idle"""
    if shutil.which("strace") is None:
        demo.fail("strace is not installed here (apt-get install strace)")
    host = demo.host
    # strace cannot follow a program into the sandbox: it runs here as a command of
    # your own would, outside it.
    binary = demo.lab.binaries["chat_server"]
    log = os.path.join(demo.lab.workdir, "strace")
    demo.say("strace -T -e trace=poll,accept,recvfrom,sendto chat_server 127.0.0.1 -p 5050")
    traced = demo.command(["strace", "-T", "-o", log, "-e", "trace=poll,accept,recvfrom,sendto",
                           binary, "127.0.0.1", "-p", "5050"], host=host,
                          label="strace -T … chat_server 127.0.0.1 -p 5050")
    demo.expect(traced, r"Listening at .*")
    with serving(demo, traced):
        ann = ChatPeer(host, "127.0.0.1", 5050, watch=traced)
        bob = ChatPeer(host, "127.0.0.1", 5050, watch=traced)
        if None in (ann.line(), bob.line(), ann.line()):
            demo.fail("the Python clients were not welcomed")
    demo.say(f"two Python clients joined ({ann.name}, {bob.name}); the room is idle for 2 s")
    time.sleep(2)  # the idle time is what the trace shows
    ann.send(b"anyone?\n")
    bob.line()
    demo.say(f"{ann.name} sent 'anyone?'; {bob.name} received it")
    # Each leaves after reading everything, so its close is a FIN, never a reset.
    ann.shutdown_sending()
    ann.until_end(3)
    bob.line()
    bob.close()
    ann.close()
    demo.expect(traced, r".* left, 0 online")
    traced.kill()
    with open(log) as calls:
        for call in calls:
            demo.say("  " + summary(call))
    demo.finish("""
        Every round starts with one poll() over all the sockets (-1: no timeout) and says
        how long it slept (the <seconds> at the end). While the room was idle, poll()
        slept for about 2 s: the process used no CPU at all until 'anyone?' arrived. The
        welcome and join lines went out in the round after the accept(), when poll() had
        been asked for POLLOUT on the sockets with something queued; with nothing queued,
        the server asks for POLLIN alone. A recvfrom() that returns 0 is a client leaving.
        """, packet_limit=0)


STRACED = [
    (r"poll\(\[(.*)\], (\d+), (-?\d+)\) += (\d+) \((.*)\) <([\d.]+)>",
     lambda fds, n, timeout, ready, revents, took: f"poll({n} fds, timeout {timeout}) slept "
     f"{float(took):.3f} s; ready: {re.sub(r'[{}]', '', revents)[:70]}"),
    (r"accept\(\d+, .*sin_port=htons\((\d+)\).*\) += (\d+) <", lambda port, fd:
     f"accept() = {fd}: a client from port {port}"),
    (r"accept\(\d+, .*\) += -1 (\w+)", lambda error: f"accept() = -1 {error}: backlog empty"),
    (r"recvfrom\((\d+), \"(.*?)\"\.*, \d+, 0, NULL, NULL\) += (\d+)", lambda fd, text, n:
     f"recvfrom(fd {fd}) = {n}: \"{text[:50]}\""),
    (r"sendto\((\d+), \"(.*?)\"\.*, (\d+), 0, NULL, 0\) += (\d+)", lambda fd, text, size, n:
     f"sendto(fd {fd}) = {n}: \"{text[:50]}\""),
]


def summary(call):
    """One strace line, shortened to what the lesson is about."""
    for pattern, shape in STRACED:
        found = re.search(pattern, call)
        if found:
            return shape(*found.groups())
    return call.strip()[:100]


def crowd(demo):
    """a thousand clients at once: descriptors, memory and CPU of the server"""
    host = demo.host
    demo.say("the server may open 256 files (soft limit) and 1100 (hard limit)")
    server = demo.run("127.0.0.1", "-p", "0", program="chat_server", open_files=(256, 1100),
                      lifetime=60, shown=False)
    port = int(demo.expect(server, r"Listening at 127\.0\.0\.1:(?P<port>\d+)")["port"])
    started = time.monotonic()
    people = Crowd(host, "127.0.0.1", port, 1000)
    welcomed = people.receive_until(lambda data: b"\n" in data, 30, watch=server, quiet=5)
    with serving(demo, server):
        if welcomed == 0:
            demo.fail("no client was welcomed")
    demo.say(f"1000 Python clients connected at once: {welcomed} welcomed in "
             f"{time.monotonic() - started:.2f} s")
    process = [pid for pid in activity.descendants(server.pid) if activity.command_name(pid) == "chat_server"]
    if process:
        pid = process[0]
        with open(f"/proc/{pid}/status") as status:
            memory = [text.split(":")[1].strip() for text in status
                      if text.startswith(("VmRSS", "VmHWM"))]
        with open(f"/proc/{pid}/limits") as limits:
            files = [text.split()[3:5] for text in limits if text.startswith("Max open files")]
        demo.say(f"the server now holds {len(os.listdir(f'/proc/{pid}/fd'))} descriptors, "
                 f"limits {' and '.join(files[0]) if files else '?'} (soft, hard)")
        demo.say(f"its memory: {memory[0]} resident now, {memory[1]} at most")
    before = server.cpu_seconds()
    time.sleep(2)  # an idle interval is what is measured
    demo.say(f"CPU time over 2 s of silence: {(server.cpu_seconds() - before) * 1000:.1f} ms")
    joined = [text for text in server.stdout if text.endswith(" online")]
    demo.say(f"the server printed {len(server.stdout)} lines, the last: '{joined[-1]}'"
             if joined else "the server printed no 'joined' lines")
    people.close()
    demo.finish("""
        The server raised its soft limit on open files to the hard one (1100) at start-up:
        with 256 it would have stopped at about 250 clients ("Too many open files"). Each
        client costs one descriptor, a 1 KiB line buffer and a queue that is freed when it
        drains: a few megabytes for a thousand. Joining took one line of output each and
        about 500,000 join announcements in all (every client hears of every later one).
        Silent, the server sleeps in poll() and uses no CPU, however many clients it holds.
        """)


EXPERIMENTS = {"": chat, "slow-reader": slow_reader, "syscalls": syscalls, "crowd": crowd}

# What each experiment must print (tests/selftest/test_demo.py).
SHOWS = {
    "": [r"server \S+ +In +IP 10\.0\.1\.2\.\d+ > 10\.0\.1\.1\.1060: Flags \[P\.\], .*"
         r"'hi bob, can you read me\?\\x0a'",
         r"server \S+ +Out IP 10\.0\.1\.1\.1060 > 10\.0\.1\.3\.\d+: Flags \[P\.\], .*"
         r"'10\.0\.1\.2:\d+: hi bob, can you read me\?.*"],
    "slow-reader": [r"slow \S+ +In +IP 10\.0\.1\.1\.1060 > 10\.0\.1\.2\.\d+: Flags \[R\.?\].*",
                    r"slow \S+ +Out IP 10\.0\.1\.2\.\d+ > 10\.0\.1\.1\.1060: .*win 0.*"],
    "syscalls": [r".*poll\(\d+ fds, timeout -1\) slept [12]\.\d{3} s.*"],
    "crowd": [r".*1000 welcomed.*", r".*CPU time over 2 s of silence: 0\.0 ms"],
}

# Experiments that capture no packets.
UNTRACED = {"syscalls", "crowd"}
