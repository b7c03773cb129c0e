"""Lab 04 udp_broadcast: broadcast and multicast on a LAN of namespaces joined by a
bridge, with a router to a second subnet. The servers are graded against a Python
client, the client against Python servers on several hosts: a broadcast reaches
every host of the LAN and no further; a multicast reaches the members of its
group only, with TTL 1."""
import re

import pytest

from harness.grading.contract import ADDRESS, address, line, quote
from harness.labs.lab04_udp_broadcast.network import broadcast_lan
from harness.labs.lab04_udp_broadcast.peers import (listener, multicast_sender, receive,
                                                    received_before, sender)
from harness.grading.diagnoses import byte_order_hint, byte_swapped_port, swapped
from harness.programs.process import ProgramFailure, describe_exit

PORT = 1060
GROUP, OTHER_GROUP = "239.1.2.3", "239.1.2.4"
MESSAGE = b"Broadcast datagram!"
LISTENING = line("Listening for datagrams at {addr}", addr=ADDRESS)
WAIT = 2.0  # for a datagram or a line that should come


def start_server(lab, host, *args):
    """`udp_broadcast server ARGS` on host, once it says where it listens."""
    server = lab.run("server", *args, host=host)
    grouped = "--group" in args
    try:
        match = server.expect(
            LISTENING + r"(?: in group .*)?",
            hint="print 'Listening for datagrams at IP:PORT' (with the address getsockname() "
                 "returns) once the socket is bound")
    except ProgramFailure:
        if grouped and server.poll() is not None and any("join" in text.lower()
                                                         for text in server.stderr):
            lab.fail("the server could not join the group and exited",
                     got=server.stderr[-1],
                     hint="join on the interface whose address is HOST: imr_interface = "
                          "HOST's address (INADDR_ANY asks the routing table, and this LAN "
                          "has no route to the group)")
        raise
    printed = int(match["port"])
    real = byte_swapped_port(server.pid, printed, "udp")
    if real is not None:
        lab.fail(f"the server printed port {printed}, but it listens on port {real}",
                 got=match[0], hint=byte_order_hint(real, printed))
    return server, match


def client_line(sock, payload):
    """The line a server prints for payload sent from sock."""
    return line("The client at {addr} says: '{text}'",
                addr=re.escape(address(*sock.getsockname())), text=re.escape(quote(payload)))


def expect_report(server, sock, payload, hint):
    """Wait for server to report payload as sent from sock."""
    server.expect(client_line(sock, payload), timeout=WAIT, hint=hint)


def check_silent(lab, server, sock, payload, destination, problem, hint):
    """Send a unicast marker from sock to destination and wait for the server to
    report it; fail if it reported payload first."""
    marker = b"Marker: anything sent before this has arrived"
    lab.step(f"the Python client sent '{quote(marker)}' to {address(*destination)}")
    sock.sendto(marker, destination)
    expect_report(server, sock, marker, hint="a server must report every datagram "
                  "sent to its own address and port")
    wrong = [l for l in server.stdout if quote(payload) in l]
    lab.check(not wrong, problem, expected="no report of it", got=wrong[0] if wrong else None,
              hint=hint)


# -- the server ------------------------------------------------------------------

@pytest.mark.points(10)
@pytest.mark.netns
def test_server_on_three_hosts_reports_one_broadcast(lab):
    net = broadcast_lan(lab.net, count=4)
    servers = [start_server(lab, host, "")[0] for host in net.hosts[1:]]
    peer = sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"Hello, everybody on the LAN!"
    lab.step(f"a Python client at {address(*peer.getsockname())} sent '{quote(payload)}' "
             f"to {net.broadcast}:{PORT}")
    peer.sendto(payload, (net.broadcast, PORT))
    for host, server in zip(net.hosts[1:], servers):
        lab.check(any(l == f"Listening for datagrams at 0.0.0.0:{PORT}" for l in server.stdout),
                  f"the server on {host.name} did not listen at 0.0.0.0:{PORT}",
                  expected=f"Listening for datagrams at 0.0.0.0:{PORT}",
                  got=server.stdout[0] if server.stdout else "nothing",
                  hint="'' means any address (INADDR_ANY), and the port is 1060 without -p")
        expect_report(server, peer, payload,
                      hint=f"the server on {host.name} must report the broadcast with the "
                           "sender's address from recvfrom()")


@pytest.mark.points(10)
@pytest.mark.netns
def test_server_reports_the_client_address_and_text_quoted(lab):
    net = broadcast_lan(lab.net, count=2)
    server, _ = start_server(lab, net.hosts[1], "0.0.0.0", "-p", "4040")
    peer = sender(net.hosts[0], net.address(net.hosts[0]))
    for payload in (b"It's a \\ test\x00\twith \xff odd bytes", b"", bytes(range(256))):
        lab.step(f"a Python client at {address(*peer.getsockname())} sent {len(payload)} "
                 f"bytes to {net.broadcast}:4040")
        peer.sendto(payload, (net.broadcast, 4040))
        expect_report(server, peer, payload,
                      hint="print the payload quoted with sl_quote(), all the bytes that "
                           "arrived (a NUL does not end them), and the sender's IP:PORT")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_on_port_0_prints_the_port_it_got(lab):
    net = broadcast_lan(lab.net, count=2)
    host = net.hosts[1]
    server, match = start_server(lab, host, "", "-p", "0")
    port = int(match["port"])
    lab.check(port != 0, "the server printed port 0, not the port it got",
              expected="Listening for datagrams at 0.0.0.0:P with the port the OS chose",
              got=match[0], hint="port 0 asks the OS to choose: print the address "
              "getsockname() returns after bind(), not the one you asked for")
    peer = sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"Hello on the port you printed"
    lab.step(f"a Python client sent '{quote(payload)}' to {net.address(host)}:{port}, the "
             "port the server printed")
    peer.sendto(payload, (net.address(host), port))
    expect_report(server, peer, payload, hint="the port printed must be the port bound")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_behind_a_router_hears_no_broadcast(lab):
    net = broadcast_lan(lab.net, count=2, far=True)
    near, _ = start_server(lab, net.hosts[1], "")
    far, _ = start_server(lab, net.far, "")
    peer = sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"Is anyone beyond the router listening?"
    lab.step(f"a Python client on the LAN sent '{quote(payload)}' to {net.broadcast}:{PORT}")
    peer.sendto(payload, (net.broadcast, PORT))
    expect_report(near, peer, payload, hint="a server on the LAN must report the broadcast")
    check_silent(lab, far, peer, payload, (net.address(net.far), PORT),
                 "a server on another subnet reported a LAN broadcast",
                 hint="routers do not forward broadcasts: did the server on the far host "
                      "really get it?")


@pytest.mark.points(10)
@pytest.mark.netns
def test_server_bound_to_its_own_address_ignores_broadcasts(lab):
    net = broadcast_lan(lab.net, count=2)
    host = net.hosts[1]
    own = net.address(host)
    server, match = start_server(lab, host, own)
    lab.check(match["ip"] == own and match["port"] == str(PORT),
              "the server did not bind the address it was given",
              expected=f"Listening for datagrams at {own}:{PORT}", got=match[0],
              hint="bind() to the address HOST names; only '' or 0.0.0.0 mean any address")
    peer = sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"Broadcast to everyone (but not to a socket bound to one address)"
    lab.step(f"a Python client sent '{quote(payload)}' to {net.broadcast}:{PORT}")
    peer.sendto(payload, (net.broadcast, PORT))
    check_silent(lab, server, peer, payload, (own, PORT),
                 f"a server bound to {own} reported a broadcast",
                 hint=f"a socket bound to {own} only receives datagrams addressed to {own}")


@pytest.mark.points(10)
@pytest.mark.netns
def test_server_in_a_group_receives_its_multicast(lab):
    net = broadcast_lan(lab.net, count=2)
    host = net.hosts[1]
    server, match = start_server(lab, host, net.address(host), "--group", GROUP)
    expected = f"Listening for datagrams at 0.0.0.0:{PORT} in group {GROUP}"
    lab.check(match[0] == expected, "wrong first line for a server in a group",
              expected=expected, got=match[0],
              hint="with --group, bind to any address on the port, join the group, and "
                   "say which group")
    peer = multicast_sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"To the members of the group"
    lab.step(f"a Python client at {address(*peer.getsockname())} sent '{quote(payload)}' "
             f"to {GROUP}:{PORT} (TTL 1)")
    peer.sendto(payload, (GROUP, PORT))
    expect_report(server, peer, payload,
                  hint="join with setsockopt(IP_ADD_MEMBERSHIP) on the interface of HOST "
                       "before printing the Listening line")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_outside_the_group_hears_nothing(lab):
    net = broadcast_lan(lab.net, count=3)
    plain, _ = start_server(lab, net.hosts[1], "")
    other, _ = start_server(lab, net.hosts[2], net.address(net.hosts[2]), "--group",
                            OTHER_GROUP)
    peer = multicast_sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"Only for members of 239.1.2.3"
    lab.step(f"a Python client sent '{quote(payload)}' to {GROUP}:{PORT}; the server on "
             f"{net.hosts[1].name} joined no group, the one on {net.hosts[2].name} joined "
             f"{OTHER_GROUP}")
    peer.sendto(payload, (GROUP, PORT))
    for host, server in ((net.hosts[1], plain), (net.hosts[2], other)):
        check_silent(lab, server, peer, payload, (net.address(host), PORT),
                     f"the server on {host.name} reported a multicast to a group it is not in",
                     hint="join only the group given with --group")


# -- the client ------------------------------------------------------------------

def run_client(lab, net, *args, port=PORT, to=None):
    """`udp_broadcast client ARGS` on h1; fail unless it exits 0 soon and says where
    it sent (to: the destination address, by default the first argument)."""
    client = lab.run("client", *args, host=net.hosts[0])
    code = client.wait(5)
    if code == 3:
        client.expect(r"Sent .*", timeout=1)  # reports "not implemented yet" plainly
    if code != 0:
        said = " ".join(client.stderr).lower()
        hint = None
        if "permission denied" in said:
            hint = ("sendto() a broadcast address fails with EACCES (Permission denied) "
                    "unless the socket has SO_BROADCAST set")
        elif "unreachable" in said and "--group" in args:
            hint = ("with --group, pick the interface with IP_MULTICAST_IF (HOST's address): "
                    "without it the kernel looks for a route to the group, and this LAN has none")
        lab.fail("the client did not send its datagram and exit 0",
                 expected="exit 0", got=f"it {describe_exit(code)}, stderr "
                 f"{client.stderr[-1:] or 'empty'}", hint=hint)
    target = f"{to or args[0]}:{port}"
    sent = [text for text in client.stdout if text.startswith("Sent ")]
    want = f"Sent '{quote(MESSAGE)}' to {target}"
    if sent != [want]:
        said = re.fullmatch(r"Sent '.*' to " + ADDRESS, sent[-1]) if sent else None
        if said and int(said["port"]) == swapped(port):
            hint = byte_order_hint(port, swapped(port))
        elif said and said["port"] != str(port):
            hint = (f"the datagram went to port {said['port']}, not {port}: send to the "
                    "port given with -p (1060 without it)")
        else:
            hint = "after sendto(), print the Sent line with the destination's IP:PORT"
        lab.fail("the client did not send to (or name) the right destination", expected=want,
                 got=sent[-1] if sent else "no 'Sent' line", hint=hint)
    return client


def expect_message(lab, net, sock, host, hint):
    """The client's datagram, as the peer sock on host received it."""
    got = receive(sock, WAIT)
    source = net.address(net.hosts[0])
    lab.check(got is not None, f"the Python server on {host.name} received nothing",
              expected=f"'{quote(MESSAGE)}' from {source}", got="nothing within 2 s",
              hint=hint)
    lab.step(f"the Python server on {host.name} received '{quote(got.data)}' from "
             f"{address(*got.sender)} with TTL {got.ttl}")
    lab.check(got.data == MESSAGE and got.sender[0] == source,
              f"the Python server on {host.name} received the wrong datagram",
              expected=f"'{quote(MESSAGE)}' from {source}",
              got=f"'{quote(got.data)}' from {got.sender[0]}",
              hint="send exactly the text, without a NUL at the end")
    return got


def check_nothing_came(lab, net, sock, host, problem, hint):
    """Fail if sock on host received anything before a marker sent after the client ran."""
    marker = b"Marker: anything sent before this has arrived"
    prober = sender(net.hosts[0], net.address(net.hosts[0]))
    destination = (net.address(host), sock.getsockname()[1])
    lab.step(f"the grader sent a marker from {net.hosts[0].name} to {address(*destination)}")
    prober.sendto(marker, destination)
    before = received_before(sock, marker, WAIT)
    prober.close()
    if before is None:
        raise RuntimeError(f"the grader's marker did not reach {host.name}")
    lab.check(not before, problem, expected="nothing",
              got=f"'{quote(before[0].data)}' from {address(*before[0].sender)}"
              if before else None, hint=hint)


@pytest.mark.points(10)
@pytest.mark.netns
def test_client_broadcast_reaches_every_host_on_the_lan(lab):
    net = broadcast_lan(lab.net, count=4)
    peers = [(host, listener(host, PORT)) for host in net.hosts[1:]]
    lab.step(f"Python servers listen at 0.0.0.0:{PORT} on "
             + ", ".join(host.name for host, _ in peers))
    run_client(lab, net, net.broadcast)
    for host, sock in peers:
        expect_message(lab, net, sock, host, hint="sendto() the broadcast address HOST, "
                       "port 1060 unless -p says otherwise")


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_broadcast_stays_on_its_lan(lab):
    net = broadcast_lan(lab.net, count=2, far=True)
    near, far = listener(net.hosts[1], PORT), listener(net.far, PORT)
    lab.step(f"Python servers listen at 0.0.0.0:{PORT} on {net.hosts[1].name} and on the "
             "far host behind the router")
    run_client(lab, net, "255.255.255.255")
    expect_message(lab, net, near, net.hosts[1], hint="sendto() the address HOST")
    check_nothing_came(lab, net, far, net.far, "a broadcast crossed the router",
                       hint="send to the broadcast address you were given, nothing else")


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_sends_to_the_port_given(lab):
    net = broadcast_lan(lab.net, count=2)
    host = net.hosts[1]
    wanted, default = listener(host, 4040), listener(host, PORT)
    lab.step(f"Python servers listen at 0.0.0.0:4040 and 0.0.0.0:{PORT} on {host.name}")
    run_client(lab, net, net.broadcast, "-p", "4040", port=4040)
    expect_message(lab, net, wanted, host, hint="send to the port given with -p (4040), "
                   "in network byte order: htons()")
    check_nothing_came(lab, net, default, host, f"the datagram went to port {PORT}, "
                       "not to the port given with -p", hint="use the port given with -p")


@pytest.mark.points(10)
@pytest.mark.netns
def test_client_multicast_reaches_members_only(lab):
    net = broadcast_lan(lab.net, count=4)
    members = [(host, listener(host, PORT, GROUP, net.address(host))) for host in net.hosts[1:3]]
    outsider = net.hosts[3]
    other = listener(outsider, PORT)
    lab.step(f"Python servers on {members[0][0].name} and {members[1][0].name} joined "
             f"{GROUP}; the one on {outsider.name} listens at 0.0.0.0:{PORT} without joining")
    run_client(lab, net, net.address(net.hosts[0]), "--group", GROUP, to=GROUP)
    for host, sock in members:
        expect_message(lab, net, sock, host, hint="with --group, sendto() the group address "
                       "(IP_MULTICAST_IF picks the interface of HOST)")
    check_nothing_came(lab, net, other, outsider, "a host outside the group got the datagram",
                       hint="with --group, send to the group, not to a broadcast address")


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_multicast_leaves_with_ttl_1(lab):
    net = broadcast_lan(lab.net, count=2, far=True)
    member = listener(net.hosts[1], PORT, GROUP, net.address(net.hosts[1]))
    far = listener(net.far, PORT, GROUP, net.address(net.far))
    lab.step(f"Python servers that joined {GROUP} listen on {net.hosts[1].name} (with "
             "IP_RECVTTL) and on the far host behind the router")
    run_client(lab, net, net.address(net.hosts[0]), "--group", GROUP, "-p", PORT, to=GROUP)
    got = expect_message(lab, net, member, net.hosts[1], hint="send to the group")
    lab.check(got.ttl == 1, "the multicast datagram did not leave with TTL 1",
              expected="TTL 1", got=f"TTL {got.ttl}",
              hint="setsockopt(IPPROTO_IP, IP_MULTICAST_TTL) with an unsigned char 1")
    check_nothing_came(lab, net, far, net.far, "a TTL-1 multicast reached another subnet",
                       hint="TTL 1 must keep it on the LAN")


# -- the command line ----------------------------------------------------------------

BAD_INPUT = [
    (["client", "no-such-host.invalid"], 1, "no-such-host.invalid",
     "an unresolvable host: errx(1, \"%s\", err) with the message sl_resolve() wrote"),
    (["client", "127.255.255.255", "-p", "0"], 1, "port",
     "port 0 is no destination: a client needs 1..65535"),
    (["client", "127.255.255.255", "-p", "70000"], 1, "port", "ports end at 65535"),
    (["server", "", "--group", "10.1.2.3"], 1, "group",
     "--group must be an IPv4 multicast address (224.0.0.0/4): check with IN_MULTICAST()"),
    (["client", "127.0.0.1", "--group", "127.0.0.2"], 1, "group",
     "--group must be an IPv4 multicast address (224.0.0.0/4): check with IN_MULTICAST()"),
    (["client", "", "--group", "239.1.2"], 1, "group",
     "--group must be a dotted IPv4 multicast address"),
    (["client"], 2, "usage:", "bad usage prints the synopsis and exits 2"),
    (["talk", "127.0.0.1"], 2, "usage:", "bad usage prints the synopsis and exits 2"),
]


@pytest.mark.points(10)
def test_bad_input_is_a_clear_error(lab):
    for args, want, word, hint in BAD_INPUT:
        program = lab.run(*args)
        code = program.wait(5)
        if code == 3:
            program.expect(r"(?!)", timeout=0, stream="stderr")  # "not implemented yet"
        lab.check(code == want and any(word in l.lower() for l in program.stderr),
                  f"`udp_broadcast {' '.join(args)}` was not refused clearly",
                  expected=f"exit {want} and a message with '{word}' on stderr",
                  got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}",
                  hint=hint)
