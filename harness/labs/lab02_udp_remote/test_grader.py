"""Lab 02 udp_remote: a client that resends with doubling timeouts, and a server
that pretends to lose datagrams. Every behaviour is checked on the wire against
the grader's own Python peers, with client and server on different hosts joined
by a veth link (on one loopback where private networks are unavailable). Resend
times are measured where they matter, at the peer, from kernel timestamps."""
import contextlib
import re
import select
import socket
import time
from dataclasses import dataclass

import pytest

from harness.grading.contract import address, line, quote
from harness.grading.diagnoses import check_blocks, check_printed_port
from harness.network.capture import ETH_P_IP, Capture
from harness.network.wire import Impairment
from harness.programs.process import ProgramFailure
from harness.network.labnet import NetworkSetupError
from harness.labs.lab02_udp_remote.peers import (REPLY, REQUEST, count_to_closed_port, gaps,
                                      serve_slowly, stamped_socket, wait_until_reachable)
from harness.timeouts import scaled

DELAYS = [0.1, 0.2, 0.4, 0.8, 1.6]
# The same schedule scaled down with --first-wait, for the tests that need all five
# tries: the default's 3.1 s would make each of them slow. Both bounds of every
# wait are still checked (delay_bounds), and the cheap tests check the default.
FIRST_WAIT = 0.025
FAST = [FIRST_WAIT * 2 ** number for number in range(len(DELAYS))]
FAST_OPTIONS = ("--first-wait", FIRST_WAIT)
SUBNET = "10.2.0.0/24"
# A link with a round trip of 0.36 s, a little shorter than the last fast wait
# (0.4 s): each try's ICMP error comes back during a later try or, for the last
# one, during that try itself, with nothing after it. A client that starts the
# wait again at a refusal then gives up 0.76 s after its last send, later by far
# more than delay_bounds allows. (The round trip must not equal the time from
# one send to a later try's deadline, or the refusal would come as the try ends.)
# The client's sends are timed on its own host, so jitter does not enter the gaps.
SLOW_LINK = Impairment(delay=0.18, jitter=0.002, seed=202)
WIRES = [("an ideal link", None), ("a slow link", SLOW_LINK)]
GIVE_UP = "I think the server is down"
# How long the blocking tests watch a waiting program: one that spins is runnable
# for nearly all of any window, one asleep in poll() or recvfrom() for none of it.
BLOCK_WINDOW = 0.5
WAITING = re.compile(r"Waiting up to (\S+) seconds for a reply")
# One server line per datagram: dropped, or printed (and answered).
EVENT = r"(?P<kind>Pretending to drop packet from|The client at) (?P<addr>\S+)(?: says '.*')?"


@dataclass
class Net:
    client: object      # the host the client runs on
    server: object      # the host the server runs on
    client_ip: str
    server_ip: str
    stranger: object = None  # a third host, for forged replies
    stranger_ip: str = None


def network(lab, stranger=False, impairment=None, suffix=""):
    """Client and server on a link (with a stranger: all three on a LAN), or all
    on one loopback where private networks are unavailable. impairment makes the
    link imperfect (its seed goes into the story); suffix names a second network
    of the same test."""
    if not lab.net.available:
        host = lab.host
        return Net(host, host, "127.0.0.1", "127.0.0.1", host, "127.0.0.1")
    hosts = [lab.net.host(name + suffix)
             for name in ["client", "server"] + ["stranger"] * stranger]
    if stranger:
        lan = lab.net.lan(hosts, SUBNET)
        addresses = [lan.address_of(host) for host in hosts]
        lab.step(f"built a LAN {SUBNET}: "
                 + ", ".join(f"{host.name} {ip}" for host, ip in zip(hosts, addresses)))
    else:
        link = lab.net.link(hosts[0], hosts[1], SUBNET, impairment=impairment)
        addresses = [link.a_address, link.b_address]
        lab.step(f"linked host client {addresses[0]} and host server {addresses[1]}")
    # Until ARP has resolved an address, the kernel holds datagrams back and then
    # sends them in one burst, which would hide the client's timing.
    for sender, receiver in [(0, 1)] + [(other, 0) for other in range(1, len(hosts))]:
        if not wait_until_reachable(hosts[sender], hosts[receiver], addresses[receiver]):
            raise NetworkSetupError(f"host {hosts[receiver].name} was not reachable from "
                                    f"{hosts[sender].name} within 3 s")
    return Net(hosts[0], hosts[1], addresses[0], addresses[1],
               hosts[2] if stranger else None, addresses[2] if stranger else None)


def spaced(values):
    return ", ".join(f"{value:.3f}" for value in values) + " s"


# -- the client ------------------------------------------------------------------

def run_client_against(lab, net, silent_for, on_request=None, lifetime=10, options=()):
    """Run the client (with these extra options) against a Python server that
    ignores the first silent_for requests and answers the next (None: never
    answers). Returns the client and the requests' arrivals at the Python server."""
    with stamped_socket(net.server, net.server_ip) as sock:
        port = sock.getsockname()[1]
        lab.step(f"a Python server at {address(net.server_ip, port)} "
                 + ("never answers" if silent_for is None else
                    f"ignores the first {silent_for} request(s) and answers the next"
                    if silent_for else "answers at once"))
        client = lab.run("client", net.server_ip, "-p", port, *options, host=net.client,
                         lifetime=lifetime)
        arrivals = serve_slowly(sock, client, silent_for or 0, timeout=lifetime,
                                reply=None if silent_for is None else REPLY,
                                on_request=on_request)
    lab.step(f"the Python server received {len(arrivals)} datagram(s)"
             + (", apart by " + spaced(gaps(arrivals)) if len(arrivals) > 1 else ""))
    check_sent_the_request(lab, client, arrivals)
    return client, arrivals


def check_sent_the_request(lab, client, arrivals):
    if not arrivals:
        client.expect("Client socket name is .*", timeout=0.2)  # surfaces exit 3
        lab.fail("the Python server received nothing from the client",
                 expected=f"the datagram '{REQUEST.decode()}'",
                 hint="connect() the socket to HOST and the port given with -p, then send()")
    lab.check(arrivals[0].data == REQUEST, "the client sent the wrong message",
              expected=f"'{REQUEST.decode()}'", got=f"'{quote(arrivals[0].data)}'")


def delay_bounds(delay):
    """How far apart two sends may be for a wait of `delay` seconds: never much
    sooner (that would be another delay), later only by scheduling slack (and
    the peers' polling for the program's exit, at most 0.05 s)."""
    return 0.85 * delay, 1.25 * delay + scaled(0.1)


def lateness(measured, delays):
    """If some of these gaps (for waits of delays[0], delays[1], ... s) are too
    long and none is too short, what came late; else None."""
    bounds = [delay_bounds(delay) for delay in delays[:len(measured)]]
    if any(gap < low for gap, (low, _) in zip(measured, bounds)):
        return None
    for number, (gap, (_, high)) in enumerate(zip(measured, bounds), start=1):
        if gap > high:
            return f"wait {number} of the client ended {gap:.3f} s after its send"
    return None


class SendTimes:
    """When the client host put each UDP datagram for the server on its link, by the
    kernel's clock at transmit. Over an impaired link the server's arrival times
    carry the user-space cable's own scheduling delays; these do not."""

    def __init__(self, net):
        self.net = net
        self.capture = Capture([net.client]) if net.client is not net.server else None

    def times(self, count):
        """The first count send times, or None without a capture (one loopback)."""
        if self.capture is None:
            return None
        found = [packet.time for packet in self.capture.stop()
                 if packet.outgoing and udp_destination(packet) == self.net.server_ip]
        return found[:count] if len(found) >= count else None


@contextlib.contextmanager
def sends_seen(net):
    sends = SendTimes(net)
    try:
        yield sends
    finally:
        if sends.capture is not None:
            sends.capture.stop()


def udp_destination(packet):
    """The destination IPv4 address of a captured UDP datagram, else None."""
    data = packet.data
    if packet.protocol != ETH_P_IP or len(data) < 20 or data[9] != socket.IPPROTO_UDP:
        return None
    return socket.inet_ntoa(data[16:20])


def gaps_between(times):
    return [later - earlier for earlier, later in zip(times, times[1:])]


def attempt_twice(lab, attempt, delays=DELAYS):
    """attempt() -> (client, arrivals, measured gaps), for waits of delays. A
    correct client can be late on a loaded machine, but never early: when a wait
    was only too long, run the client once more and judge the second run."""
    result = attempt()
    late = lateness(result[2], delays)
    if late:
        lab.step(f"{late}, later than expected: the machine may be busy, so the grader "
                 "runs the client once more")
        result = attempt()
    return result


DOUBLE_HINT = ("start with the first wait (0.1 s, or what --first-wait says) and double it "
               "after every silent try; "
               "measure it on the monotonic clock (sl_monotonic_seconds)")


def check_doubling(lab, measured, delays=DELAYS, early_hint=DOUBLE_HINT, late_hint=DOUBLE_HINT):
    """The gaps between sends are delays[0], delays[1], ... seconds (by default
    0.1, 0.2, 0.4, ...). The hints say what a gap too short and a gap too long
    most likely mean in this test."""
    for number, (gap, delay) in enumerate(zip(measured, delays), start=2):
        low, high = delay_bounds(delay)
        lab.check(low <= gap <= high, f"send {number} came {gap:.3f} s after send {number - 1}, "
                  + ("too soon" if gap < low else "too late"),
                  expected=f"about {delay:g} s later (between {low:.3f} and {high:.3f} s)",
                  got="gaps of " + spaced(measured),
                  hint=early_hint if gap < low else late_hint)


def with_gaps(run):
    """(client, arrivals) -> (client, arrivals, gaps between the arrivals)."""
    client, arrivals = run
    return client, arrivals, gaps(arrivals)


def check_exit(lab, program, status, what):
    code = program.expect_exit(3)
    lab.check(code == status, f"the client exited with status {code} {what}",
              expected=f"exit status {status}", got=f"exit status {code}")


def check_gave_up(lab, client):
    check_exit(lab, client, 1, "after giving up")
    lab.check(GIVE_UP in client.stderr, "the client did not say that it gave up",
              expected=f"'{GIVE_UP}' on stderr", got=" | ".join(client.stderr) or "nothing",
              hint="print it with fprintf(stderr, ...), then exit 1")


def check_printed_reply(lab, client):
    client.expect(line("The server says '{text}'", text=re.escape(REPLY.decode())), timeout=1,
                  hint="print the reply quoted with sl_quote()")
    check_exit(lab, client, 0, "after the reply")


@pytest.mark.points(8)
@pytest.mark.time_limit(10)
def test_client_sends_the_message_and_prints_the_reply(lab):
    net = network(lab)
    client, arrivals = run_client_against(lab, net, silent_for=0)
    sender = address(*arrivals[0].sender)
    client.expect(line("Client socket name is {addr}", addr=re.escape(sender)), timeout=1,
                  hint=f"the datagram came from {sender}: print getsockname() after connect(), "
                       "which chose the address and port")
    check_printed_reply(lab, client)
    lab.check(len(arrivals) == 1, "the client sent again although it had its answer",
              expected="1 datagram", got=f"{len(arrivals)} datagrams")


@pytest.mark.points(8)
@pytest.mark.time_limit(10)
def test_client_resends_the_identical_datagram(lab):
    net = network(lab)
    client, arrivals = run_client_against(lab, net, silent_for=2)
    lab.check(len(arrivals) >= 3, "the client did not resend after a silent try",
              expected="3 datagrams (the server ignored the first two)",
              got=f"{len(arrivals)} datagram(s)",
              hint="when a wait ends without a reply, send the same datagram again")
    for number, arrival in enumerate(arrivals[1:3], start=2):
        lab.check(arrival.data == REQUEST, f"send {number} was not the same datagram",
                  expected=f"'{REQUEST.decode()}'", got=f"'{quote(arrival.data)}'")
        lab.check(arrival.sender == arrivals[0].sender,
                  f"send {number} came from another address",
                  expected=address(*arrivals[0].sender), got=address(*arrival.sender),
                  hint="use one socket for every try, so that a late reply to any try reaches you")
    check_printed_reply(lab, client)


@pytest.mark.points(3)
@pytest.mark.time_limit(10)
@pytest.mark.parametrize("silent_for,fast", [(1, False), (2, False), (3, False), (4, True)],
                         ids=["1", "2", "3", "4_fast"])
def test_client_doubles_the_wait_after_each_silence(lab, silent_for, fast):
    net = network(lab)
    delays, options = (FAST, FAST_OPTIONS) if fast else (DELAYS, ())
    client, arrivals, _ = attempt_twice(lab, lambda: with_gaps(
        run_client_against(lab, net, silent_for=silent_for, options=options)), delays)
    lab.check(len(arrivals) == silent_for + 1,
              f"the server ignored {silent_for} request(s), and the client sent "
              f"{len(arrivals)} datagram(s) in all",
              expected=f"{silent_for + 1} datagrams: one per try until the answer",
              got=f"{len(arrivals)} datagrams")
    check_doubling(lab, gaps(arrivals), delays)
    check_printed_reply(lab, client)


@pytest.mark.points(4)
@pytest.mark.time_limit(10)
def test_client_announces_each_wait(lab):
    net = network(lab)
    client, _ = run_client_against(lab, net, silent_for=4, options=FAST_OPTIONS)
    check_exit(lab, client, 0, "after the reply")
    printed = [m[1] for m in map(WAITING.fullmatch, client.stdout) if m]
    wanted = ["%g" % delay for delay in FAST]
    lab.check(printed == wanted,
              "the client's 'Waiting up to D seconds for a reply' lines do not match its tries",
              expected=f"D = {', '.join(wanted)} (with --first-wait {FIRST_WAIT})",
              got="D = " + ", ".join(printed) if printed else "no such line",
              hint="print the line once before each wait, with printf(\"%g\") for D")


@pytest.mark.points(4)
@pytest.mark.time_limit(40)
@pytest.mark.parametrize("wire", [0, 1], ids=[name.replace(" ", "_") for name, _ in WIRES])
def test_client_gives_up_after_the_longest_wait(lab, wire):
    name, impairment = WIRES[wire]
    if impairment and not lab.net.available:
        pytest.skip("a slow link needs a private lab network, which is unavailable here: "
                    + lab.net.unavailable_reason)
    net = network(lab, impairment=impairment)

    def attempt():
        with sends_seen(net) as sends:
            client, arrivals = run_client_against(lab, net, silent_for=None,
                                                  options=FAST_OPTIONS)
        times = sends.times(len(arrivals)) or [arrival.time for arrival in arrivals]
        # The last gap: from the last send to the client's exit.
        return client, arrivals, gaps_between(times) + [time.time() - times[-1]]
    client, arrivals, measured = attempt_twice(lab, attempt, FAST)
    lab.check(len(arrivals) == len(FAST),
              f"against a server that never answers, the client (--first-wait {FIRST_WAIT}) "
              f"sent {len(arrivals)} datagram(s) in all",
              expected=f"{len(FAST)} tries, with waits of "
                       + ", ".join(f"{delay:g}" for delay in FAST) + " s",
              got=f"{len(arrivals)} datagrams",
              hint="give up when the next delay would be more than 20 times the first "
                   "(2.0 seconds by default)")
    check_doubling(lab, measured[:-1], FAST)
    check_gave_up(lab, client)
    check_last_wait(lab, measured[-1], "wait out the last delay before giving up")


def check_last_wait(lab, last, hint):
    """The client gave up `last` seconds after its last send: the last fast wait."""
    low, high = delay_bounds(FAST[-1])
    lab.check(low <= last <= high, f"the client gave up {last:.3f} s after its last try",
              expected=f"after waiting about {FAST[-1]:g} s for the last reply "
                       f"(between {low:.3f} and {high:.3f} s)",
              got=f"{last:.3f} s", hint=hint)


REFUSED_EARLY = ("the try ended when ECONNREFUSED arrived: that is the server host's ICMP port "
                 "unreachable for your datagram, a lost reply; keep waiting until the try's "
                 "deadline, then resend")
REFUSED_LATE = ("the wait started again when ECONNREFUSED arrived (an ICMP port unreachable, "
                "a round trip after the send): keep the try's deadline and poll() only for "
                "the time left")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.time_limit(40)
@pytest.mark.parametrize("wire", [0, 1], ids=[name.replace(" ", "_") for name, _ in WIRES])
def test_client_waits_out_a_refused_try(lab, wire):
    net = network(lab, impairment=WIRES[wire][1])
    # Nothing listens, so the server host's kernel answers each datagram with ICMP
    # port unreachable (every one: no rate limit), which the client sees as ECONNREFUSED.
    net.server.sysctl("net.ipv4.icmp_ratelimit", 0)
    port = 1060

    def attempt():
        with stamped_socket(net.server, net.server_ip, kind=socket.SOCK_RAW,
                            proto=socket.IPPROTO_UDP) as raw, sends_seen(net) as sends:
            lab.step(f"nothing listens on {address(net.server_ip, port)}; the grader counts "
                     "the datagrams that arrive there")
            client = lab.run("client", net.server_ip, *FAST_OPTIONS, host=net.client,
                             lifetime=10)
            arrivals = count_to_closed_port(raw, port, client, timeout=8,
                                            limit=len(FAST) + 1)
            ended = time.time()
        lab.step(f"{len(arrivals)} datagram(s) arrived"
                 + (", apart by " + spaced(gaps(arrivals)) if len(arrivals) > 1 else ""))
        check_sent_the_request(lab, client, arrivals)
        times = sends.times(len(arrivals)) or [arrival.time for arrival in arrivals]
        # The last gap: from the last send to the client's exit (the last try's
        # refusals come back during it over the slow link).
        lab.step(f"the client exited {ended - times[-1]:.3f} s after its last send")
        return client, arrivals, gaps_between(times) + [ended - times[-1]]
    client, arrivals, measured = attempt_twice(lab, attempt, FAST)
    lab.check(len(arrivals) <= len(FAST), "the client flooded a host where no server runs",
              expected=f"at most {len(FAST)} datagrams in all",
              got=f"{len(arrivals)} or more within "
                  f"{arrivals[-1].time - arrivals[0].time:.3f} s",
              hint="ECONNREFUSED means this try's reply is lost: wait until the try's "
                   "deadline anyway, then resend")
    check_doubling(lab, measured[:-1], FAST, early_hint=REFUSED_EARLY, late_hint=REFUSED_LATE)
    lab.check(len(arrivals) == len(FAST), f"the client made {len(arrivals)} tries",
              expected=f"{len(FAST)} tries, refused or not",
              hint="a refused try counts as one lost reply, no more and no less")
    check_gave_up(lab, client)
    check_last_wait(lab, measured[-1], REFUSED_EARLY if measured[-1] < FAST[-1] else REFUSED_LATE)


@pytest.mark.points(7)
@pytest.mark.time_limit(10)
def test_client_ignores_a_datagram_from_a_third_party(lab):
    net = network(lab, stranger=True)
    forgers = [(net.stranger.socket(), net.stranger_ip, b"Your data was 99 bytes long (a stranger)"),
               (net.server.socket(), net.server_ip, b"Your data was 98 bytes long (wrong port)")]

    def forge(arrival, index):
        if index > 0:
            return
        for sock, ip, text in forgers:
            sock.bind((ip, 0))
            sock.sendto(text, arrival.sender)
            lab.step(f"{address(*sock.getsockname())} sent '{text.decode()}' to the client")

    try:
        client, _ = run_client_against(lab, net, silent_for=1, on_request=forge)
    finally:
        for sock, _, _ in forgers:
            sock.close()
    said = [text for text in client.stdout if text.startswith("The server says")]
    lab.check(said == [f"The server says '{REPLY.decode()}'"],
              "the client took a datagram from someone else for the server's reply",
              expected=f"The server says '{REPLY.decode()}' (the real reply, to the second try)",
              got=" | ".join(said) or "no 'The server says' line",
              hint="connect() the UDP socket: the kernel then drops datagrams from anyone "
                   "but the connected address and port")
    check_exit(lab, client, 0, "after the reply")


def line_within(program, pattern, timeout):
    """Did the program print a line matching pattern within timeout (scaled)?"""
    try:
        program.expect(pattern, timeout=timeout)
        return True
    except ProgramFailure:
        return False


@pytest.mark.points(4)
@pytest.mark.time_limit(25)
def test_client_announces_the_wait_before_it_and_takes_the_reply_at_once(lab):
    net = network(lab)
    last, half = FAST[-1], FAST[-1] / 2
    waiting = line("Waiting up to {d} seconds for a reply", d=re.escape("%g" % last))
    says = line("The server says '{text}'", text=re.escape(REPLY.decode()))
    for run in (1, 2):
        with stamped_socket(net.server, net.server_ip) as sock:
            port = sock.getsockname()[1]
            lab.step(f"a Python server at {address(net.server_ip, port)} ignores the first "
                     f"{len(FAST) - 1} requests")
            client = lab.run("client", net.server_ip, "-p", port, *FAST_OPTIONS,
                             host=net.client, lifetime=10)
            arrivals = serve_slowly(sock, client, 0, timeout=6, reply=None, until=len(FAST))
            check_sent_the_request(lab, client, arrivals)
            lab.check(len(arrivals) == len(FAST), "the client stopped resending too soon",
                      expected=f"{len(FAST)} tries", got=f"{len(arrivals)} datagrams")
            announced = line_within(client, waiting, half)
            lab.step(f"request {len(FAST)} arrived; the Python server answered it at once")
            sock.sendto(REPLY, arrivals[-1].sender)
            replied = line_within(client, says, half)
        if (announced and replied) or run == 2 or client.poll() is not None:
            break
        lab.step("the client was slow to print: the machine may be busy, so the grader runs "
                 "it once more")
    lab.check(announced, f"the client did not print 'Waiting up to {last:g} seconds for a "
              f"reply' within {half:g} s of its last send",
              expected="the line right after the send, before the wait",
              hint="print 'Waiting up to D seconds for a reply' before you wait, not after")
    lab.check(replied, f"the reply came at the start of a {last:g} s wait, and the client "
              f"did not print it within {half:g} s", expected=f"The server says "
              f"'{REPLY.decode()}' at once", got=" | ".join(client.stdout[-2:]),
              hint="block in poll() (or recv() with a timeout) for the time left, and read the "
                   "reply as soon as it wakes you: sleeping out the whole delay first makes every "
                   "answer late")
    check_exit(lab, client, 0, "after the reply")


@pytest.mark.points(4)
@pytest.mark.time_limit(15)
def test_client_blocks_while_it_waits(lab):
    net = network(lab)
    with stamped_socket(net.server, net.server_ip) as sock:
        port = sock.getsockname()[1]
        lab.step(f"a Python server at {address(net.server_ip, port)} is silent for a while")
        client = lab.run("client", net.server_ip, "-p", port, host=net.client, lifetime=10)
        first = serve_slowly(sock, client, 0, timeout=2, reply=None, until=1)
        check_sent_the_request(lab, client, first)
        check_blocks(lab, client, "a reply (between its sends)", interval=BLOCK_WINDOW)
        lab.step("then the Python server answered the next request")
        serve_slowly(sock, client, 0, timeout=5)
    check_printed_reply(lab, client)


# -- the server ------------------------------------------------------------------

def start_server(lab, net, *options, bind=None):
    """Run the server on its host; returns it and the (ip, port) to send to."""
    bind = net.server_ip if bind is None else bind
    server = lab.run("server", bind, "-p", 0, *options, host=net.server)
    shown = "0.0.0.0" if bind == "" else bind
    found = server.expect(line("Listening at {ip}:{port}", ip=re.escape(shown),
                               port=r"(?P<port>\d{1,5})"),
                          hint="bind to the HOST argument ('' means 0.0.0.0) and print "
                               "getsockname() as 'Listening at IP:PORT'")
    check_printed_port(lab, int(found["port"]), server, "the server")
    return server, (net.server_ip, int(found["port"]))


@contextlib.contextmanager
def grader_client(net):
    """The grader's client socket, bound to the client host's address, and that
    address as the server should print it."""
    with net.client.socket() as sock:
        sock.bind((net.client_ip, 0))
        yield sock, address(*sock.getsockname())


def next_event(lab, server, me):
    """'drop' or 'answer': what the server printed for the next datagram from me."""
    found = server.expect(line("{event}", event=EVENT), timeout=2,
                          hint="print one line per datagram: 'Pretending to drop packet "
                               "from IP:PORT', or 'The client at IP:PORT says ...'")
    lab.check(found["addr"] == me, "the server printed the wrong sender address",
              expected=me, got=found[0], hint="print the address recvfrom() filled in")
    return "drop" if found["kind"].startswith("Pretending") else "answer"


def reply_within(sock, timeout):
    ready, _, _ = select.select([sock], [], [], scaled(timeout))
    return sock.recv(65535) if ready else None


def check_answered(lab, server, sock, me, server_address, payload):
    """Send payload; the server must print it, quoted, and answer with its length."""
    lab.step(f"the Python client at {me} sent '{quote(payload[:40])}"
             f"{'…' if len(payload) > 40 else ''}' ({len(payload)} bytes)")
    sock.sendto(payload, server_address)
    server.expect(line("The client at {addr} says '{text}'", addr=re.escape(me),
                       text=re.escape(quote(payload))), timeout=2,
                  hint="with --drop 0 answer every datagram; print the sender with "
                       "sl_addr_text() and the whole payload with sl_quote()")
    wanted = f"Your data was {len(payload)} bytes long"
    got = reply_within(sock, 1)
    lab.check(got == wanted.encode(), f"wrong reply to a {len(payload)}-byte datagram",
              expected=f"'{wanted}'", got="no reply within 1 s" if got is None else f"'{quote(got)}'",
              hint="count the bytes recvfrom() returned (an empty datagram is 0 bytes), and "
                   "sendto() the address it gave you")


@pytest.mark.points(3)
@pytest.mark.time_limit(10)
def test_server_blocks_while_no_datagram_comes(lab):
    net = network(lab)
    server, server_address = start_server(lab, net, "--drop", 0)
    with grader_client(net) as (sock, me):
        check_answered(lab, server, sock, me, server_address, b"Wake up")
        check_blocks(lab, server, "the next datagram", interval=BLOCK_WINDOW)
        check_answered(lab, server, sock, me, server_address, b"Still there?")


@pytest.mark.points(8)
@pytest.mark.time_limit(10)
def test_server_answers_every_datagram_with_drop_0(lab):
    net = network(lab)
    server, server_address = start_server(lab, net, "--drop", 0)
    with grader_client(net) as (sock, me):
        for number in range(20):
            check_answered(lab, server, sock, me, server_address, b"Message number %d" % number)


@pytest.mark.points(6)
@pytest.mark.time_limit(10)
def test_server_drops_every_datagram_with_drop_1(lab):
    net = network(lab)
    server, server_address = start_server(lab, net, "--drop", 1)
    with grader_client(net) as (sock, me):
        lab.step(f"the Python client at {me} sent 20 datagrams, one after another")
        for number in range(20):
            sock.sendto(b"Message number %d" % number, server_address)
            kind = next_event(lab, server, me)
            lab.check(kind == "drop", f"datagram {number + 1} was not dropped with --drop 1",
                      expected=f"Pretending to drop packet from {me}", got=server.stdout[-1],
                      hint="drop when random_fraction(&seed) < drop_rate: with 1 that is always")
        got = reply_within(sock, 0.1)
        lab.check(got is None, "the server answered although it pretended to drop everything",
                  expected="no reply", got=f"'{quote(got or b'')}'")


@pytest.mark.points(6)
@pytest.mark.time_limit(15)
def test_server_drops_the_given_fraction(lab):
    net = network(lab)
    rate, total, batch = 0.3, 1000, 100
    # 1000 draws at 0.3: a standard deviation of 14.5 drops; allow 5 of them.
    low, high = 228, 372
    server, server_address = start_server(lab, net, "--drop", rate, "--seed", 2024)
    counts = {"drop": 0, "answer": 0}
    replies = 0
    with grader_client(net) as (sock, me):
        lab.step(f"the Python client at {me} sent {total} datagrams of 13 bytes, "
                 f"{batch} at a time")
        for start in range(0, total, batch):
            for number in range(start, start + batch):
                sock.sendto(b"datagram %04d" % number, server_address)
            for _ in range(batch):
                counts[next_event(lab, server, me)] += 1
            while replies < counts["answer"]:
                got = reply_within(sock, 1)
                lab.check(got == b"Your data was 13 bytes long",
                          f"the server printed {counts['answer']} datagrams as answered but "
                          f"sent only {replies} correct replies",
                          expected="'Your data was 13 bytes long'",
                          got="no reply within 1 s" if got is None else f"'{quote(got)}'")
                replies += 1
        extra = reply_within(sock, 0.05)
        lab.check(extra is None, "the server answered a datagram it said it dropped",
                  got=f"'{quote(extra or b'')}'")
    lab.step(f"the server dropped {counts['drop']} and answered {counts['answer']}")
    lab.check(low <= counts["drop"] <= high,
              f"the server dropped {counts['drop']} of {total} datagrams with --drop {rate}",
              expected=f"about {rate * total:.0f} (between {low} and {high})",
              got=str(counts["drop"]),
              hint="draw one random fraction per datagram and drop when it is < RATE")


@pytest.mark.points(4)
@pytest.mark.time_limit(10)
def test_server_repeats_its_drops_with_the_same_seed(lab):
    net = network(lab)
    patterns = {}
    runs = [("--seed 7, first run", ["--seed", 7]), ("--seed 7, second run", ["--seed", 7]),
            ("no seed, first run", []), ("no seed, second run", [])]
    for label, options in runs:
        server, server_address = start_server(lab, net, "--drop", 0.5, *options)
        with grader_client(net) as (sock, me):
            pattern = ""
            for number in range(40):
                sock.sendto(b"datagram %d" % number, server_address)
                pattern += "D" if next_event(lab, server, me) == "drop" else "a"
        server.kill()
        patterns[label] = pattern
        lab.step(f"{label}: 40 datagrams gave {pattern} (D dropped, a answered)")
    first, second, unseeded, unseeded_again = (patterns[label] for label, _ in runs)
    lab.check(first == second, "two runs with --seed 7 dropped different datagrams",
              expected=first, got=second,
              hint="seed the generator with N when --seed N is given, and draw once per datagram")
    lab.check(unseeded != unseeded_again, "two runs without --seed dropped the same datagrams",
              expected="different patterns", got=f"{unseeded} twice",
              hint="without --seed, seed the generator from the clock")


@pytest.mark.points(8)
@pytest.mark.time_limit(10)
def test_server_keeps_serving_after_empty_and_binary_datagrams(lab):
    net = network(lab)
    server, server_address = start_server(lab, net, "--drop", 0, bind="")
    with grader_client(net) as (sock, me):
        for payload in (b"", bytes(range(256)), b"Still there? It's me \\o/"):
            check_answered(lab, server, sock, me, server_address, payload)

