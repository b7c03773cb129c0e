"""Lab 02 demos: udp_remote across a link between two hosts, with a server that
pretends to drop datagrams."""

SUBNET = "10.0.1.0/24"
LISTENING = r"Listening at .*"


def two_hosts(demo):
    """client 10.0.1.1 and server 10.0.1.2 on one link."""
    client, server = demo.net.host("client"), demo.net.host("server")
    link = demo.net.link(client, server, SUBNET)
    return client, server, link.b_address


def exchange(demo, drop, seed, notice):
    client_host, server_host, address = two_hosts(demo)
    demo.start_capture([client_host])
    demo.say(f"start the server on {address}, dropping each datagram with "
             f"probability {drop} (seed {seed})")
    server = demo.run("server", address, "--drop", drop, "--seed", seed, host=server_host)
    demo.expect(server, LISTENING)
    demo.say("run the client once, from 10.0.1.1")
    client = demo.run("client", address, host=client_host)
    client.wait(6)
    demo.finish(notice)


def backoff(demo):
    """a server that drops half the datagrams: the resends and their times"""
    exchange(demo, "0.5", "7", """
        Each "Pretending to drop" line is a request the server threw away; the client
        never learnt why, it only heard nothing. So it resent after 0.1 s, then 0.2 s,
        then 0.4 s… (compare the times of the client's datagrams in the trace) until a
        reply came. Another --seed gives another pattern of losses.
        """)


def server_down(demo):
    """a server that drops everything: five tries, then "I think the server is down" """
    exchange(demo, "1.0", "1", """
        Five requests, at 0, 0.1, 0.3, 0.7 and 1.5 s: each wait twice the one before.
        The next would be 3.2 s, above the 2.0 s limit, so after waiting out the fifth
        (3.1 s in all) the client gave up: stderr and exit 1.
        """)


def no_server(demo):
    """nobody listens: ICMP port unreachable, read as ECONNREFUSED, each try"""
    client_host, _, address = two_hosts(demo)
    demo.start_capture([client_host])
    demo.say(f"nothing listens on {address}:1060; run the client")
    client = demo.run("client", address, host=client_host)
    client.wait(6)
    demo.finish("""
        Every request was answered at once by ICMP "port unreachable". The socket is
        connect()ed, so the kernel reported it (ECONNREFUSED on the next recv), unlike
        lab 01's unconnected socket. The client still waited out each try's delay
        before it resent: the same 0, 0.1, 0.3, 0.7, 1.5 s pattern as a silent loss,
        never a flood.
        """)


EXPERIMENTS = {"": backoff, "server-down": server_down, "no-server": no_server}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r".*client to-server Out IP 10\.0\.1\.1\.\d+ > 10\.0\.1\.2\.1060: UDP, length 23: "
        r"'This is another message'", r"\s+Waiting up to 0\.4 seconds for a reply"],
    "server-down": [r"\s+stderr: I think the server is down"],
    "no-server": [r".*ICMP 10\.0\.1\.2 udp port 1060 unreachable.*"],
}
