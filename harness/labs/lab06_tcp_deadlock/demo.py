"""Lab 06 demos: tcp_deadlock across a link, with and without poll()."""
SUBNET = "10.0.1.0/24"
LISTENING = r"Listening at .*"
BIG = 64 * 1024 * 1024  # deadlocks on every machine we know of


def setup(demo):
    """A client and a server host on one link, the server started on the latter."""
    client, server = demo.net.host("client"), demo.net.host("server")
    link = demo.net.link(client, server, SUBNET)
    program = demo.run("server", link.b_address, host=server)
    demo.expect(program, LISTENING)
    return client, server, link.b_address


def with_poll(demo):
    """--mode poll: a megabyte goes out and comes back capitalized"""
    client, _, address = setup(demo)
    demo.start_capture([client])
    demo.say("the client sends 1 MB with --mode poll")
    program = demo.run("client", address, "1000000", "--mode", "poll", host=client)
    program.wait(20)
    demo.finish("""
        The client sent while the kernel had room and read whatever had come back, so
        neither direction's buffers ever stayed full: data and capitalized data flowed
        at the same time (segments both ways, interleaved, in the trace).
        """, packet_limit=40)


def deadlock(demo):
    """--mode naive with 64 MiB: both sides stuck in send(), buffers full"""
    client, server, address = setup(demo)
    demo.start_capture([client])
    demo.say(f"the client sends {BIG} bytes with --mode naive, reading nothing until "
             "it has sent everything")
    program = demo.run("client", address, str(BIG), "--mode", "naive", host=client)
    if program.wait(3) is not None:
        demo.fail("the naive client finished: no deadlock at this size")
    demo.say("three seconds later, both still running: the sockets, as `ss -tmn` sees them")
    for host in (client, server):
        shown = demo.command(["ss", "-tmn", "state", "established"], host=host,
                             label="ss -tmn state established")
        shown.wait(3)
    demo.finish("""
        Recv-Q and Send-Q are the bytes sitting in each socket's buffers: full on both
        hosts (skmem shows the limits). The server stopped reading because its send()
        blocked on a full buffer; the client never reads until it has sent everything,
        so nothing drains. The trace ends in zero windows ("win 0") and the window
        probes that keep asking whether there is room yet. When the demo stopped the
        client, its kernel reset the connection: the server reported the reset and
        would have gone on serving the next client.
        """, packet_limit=30)


def threshold(demo):
    """find the deadlock threshold: the largest BYTECOUNT naive mode survives"""
    # On the loopback, as in the handout's experiment, so the numbers compare.
    demo.say("the server and every client on one host's loopback, 127.0.0.1")
    client, address = demo.host, "127.0.0.1"
    demo.expect(demo.run("server", address, shown=False), LISTENING)
    low, high = 16, BIG  # low completes; high deadlocks (checked below)

    def completes(count):
        program = demo.run("client", address, str(count), "--mode", "naive", host=client,
                           lifetime=5, shown=False)
        finished = program.wait(1.5) == 0
        if not finished:
            program.kill()
        demo.say(f"{count:>9} bytes: {'completes' if finished else 'deadlocks'}")
        return finished

    if completes(high):
        demo.fail(f"even {high} bytes completed: no deadlock to find")
    while high - low > 64 * 1024:
        middle = (low + high) // 2 // 16 * 16
        low, high = (middle, high) if completes(middle) else (low, middle)
    demo.finish(f"""
        Naive mode survives up to about {low} bytes here: what the four socket buffers
        (client send, server receive, server send, client receive) plus the server's
        1024-byte chunk can hold. Past it, both sides block in send(). The point is not
        sharp, because autotuning grows the buffers while data flows (net.ipv4.tcp_wmem,
        tcp_rmem): run it again and it moves, and on another machine it moves more. A
        program must never rely on it.
        """)


EXPERIMENTS = {"": with_poll, "deadlock": deadlock, "threshold": threshold}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "deadlock": [r".*, win 0, length 0"],
    "threshold": [r"\s+Naive mode survives up to about \d+ bytes here: .*"],
}

# Experiments that run many programs one after another and capture nothing.
UNTRACED = {"threshold"}
