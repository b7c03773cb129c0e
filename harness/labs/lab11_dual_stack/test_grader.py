"""Lab 11 dual_stack: showip, dual_server and dual_client, each graded against
independent Python peers in a lab network with both IPv4 and IPv6, where names
resolve through the lab's own /etc/hosts (network.py). Every test that depends
on the resolver's order says which order it expects and why, and first checks
that glibc on this machine agrees (otherwise it is skipped, not failed). The
client's Happy Eyeballs timing is measured on the wire: the kernel's timestamps
of its SYNs, captured on the client host."""
import re
import time

import pytest

from harness.grading.contract import address, line, quote
from harness.grading.diagnoses import check_blocks
from harness.labs.lab11_dual_stack.network import (
    CLIENT, CLIENT6, SERVER, SERVER6, UNKNOWN, attempts_from, blackhole, capture_client,
    dual_world, expect_resolver_order, require_ipv6, segments_of, syns_from)
from harness.labs.lab11_dual_stack.peers import (
    WILDCARD6, Servers, answer, ask, listening_sockets)
from harness.network.wire import Impairment
from harness.results.model import CPU_HOG
from harness.timeouts import scaled

STAGGER = 0.25        # RFC 8305's Connection Attempt Delay, as the handout says
EARLY = 0.01          # how much earlier than STAGGER a SYN may be (clock granularity)
# The client's bound for each address that the grader sets with -t where every
# address must time out (the default is 5 s): longer than three staggers, so that
# all four blackholed attempts are under way at once.
SHORT_LIMIT = 1.0
# How long a program may take to start and do its first thing (under valgrind on a
# busy machine that is seconds): waits for it are generous; timing is judged on the wire.
STARTUP = 6.0
LISTENING = line("Listening at [::]:{port}", port=r"(?P<port>\d{1,5})")
# Hints that name the usual cause, in the handout's words.
WILDCARD_HINT = ("getaddrinfo(NULL, port, ...) with AF_INET6 and AI_PASSIVE gives '::'; "
                 "print what getsockname() says after bind()")
V6ONLY_HINT = ("an IPv4 client was refused: the '::' socket is IPv6-only; "
               "setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 0) before bind()")
UNMAP_HINT = ("an IPv4 client arrives as [::ffff:a.b.c.d]:PORT; unmap() must turn it into the "
              "sockaddr_in it stands for (IN6_IS_ADDR_V4MAPPED, the last 4 address bytes)")
ORDER_HINT = ("print the addresses in the order getaddrinfo() returns them, one line each "
              "(hints AF_UNSPEC and SOCK_STREAM: without a socket type each comes 3 times)")
TRY_HINT = ("try the addresses in the order getaddrinfo() returns them (AF_UNSPEC, "
            "SOCK_STREAM); do not prefer a family yourself")


def family(ip):
    return "IPv6" if ":" in ip else "IPv4"


# -- showip -------------------------------------------------------------------

def expect_listing(lab, world, name, expected, why, hint=ORDER_HINT):
    """showip NAME on the client host prints exactly expected, in that order."""
    expect_resolver_order(lab, world, name, expected, why)
    showip = lab.run(name, program="showip", host=world.client, binds=world.binds)
    showip.expect(line("IP addresses for {name}:", name=re.escape(name)), timeout=STARTUP,
                  hint="the first line is 'IP addresses for HOST:'")
    code = showip.expect_exit(STARTUP)
    got = showip.stdout[showip.stdout.index(f"IP addresses for {name}:") + 1:]
    want = [f"  {family(ip)}: {ip}" for ip in expected]
    lab.check(got == want and code == 0, f"showip {name} did not list its addresses as the "
              "resolver gave them", expected=" | ".join(want) + ", exit 0",
              got=" | ".join(got) + f", exit {code}", hint=hint)


@pytest.mark.points(6)
@pytest.mark.netns
def test_showip_lists_a_dual_name_ipv6_first(lab):
    world = dual_world(lab)
    expect_listing(lab, world, "dual.lab", [SERVER6, SERVER],
                   "RFC 6724 rule 6: IPv6 (precedence 40) before IPv4 (10) when both have "
                   "a route, although /etc/hosts lists IPv4 first")


@pytest.mark.points(5)
@pytest.mark.netns
def test_showip_prints_each_address_once_with_its_family(lab):
    extra = [("10.0.1.3", "multi.lab"), ("fd00:1::3", "multi.lab"),
             ("10.0.1.4", "multi.lab"), ("fd00:1::4", "multi.lab")]
    world = dual_world(lab, extra)
    expect_listing(lab, world, "v6only.lab", [SERVER6], "its only address")
    expect_listing(lab, world, "v4only.lab", [SERVER], "its only address")
    expect_listing(lab, world, "multi.lab", ["fd00:1::3", "fd00:1::4", "10.0.1.3", "10.0.1.4"],
                   "rule 6 puts both IPv6 addresses first; within a family the file's order "
                   "stays (rule 10)")


@pytest.mark.points(5)
@pytest.mark.netns
def test_showip_keeps_the_resolvers_order_when_ipv6_has_no_route(lab):
    world = dual_world(lab, [("fd00:9::2", "far.lab"), (SERVER, "far.lab")])
    lab.step("the client host has no route to fd00:9::/64")
    expect_listing(lab, world, "far.lab", [SERVER, "fd00:9::2"],
                   "RFC 6724 rule 1: an address with no route goes last, so here IPv4 comes "
                   "first although /etc/hosts lists IPv6 first",
                   hint="do not sort the list by family: " + ORDER_HINT)


@pytest.mark.points(4)
@pytest.mark.netns
def test_showip_reports_an_unknown_name_with_the_resolvers_message(lab):
    world = dual_world(lab)
    lab.step(f"{UNKNOWN} is in no hosts file, and no DNS is asked (nsswitch.conf: hosts: files)")
    showip = lab.run(UNKNOWN, program="showip", host=world.client, binds=world.binds)
    message = f"showip: {UNKNOWN}: Name or service not known"
    showip.expect(re.escape(message), stream="stderr", timeout=STARTUP,
                  hint="on failure getaddrinfo() returns an EAI_ code: errx(1, \"%s: %s\", host, "
                       "gai_strerror(code))")
    code = showip.expect_exit(STARTUP)
    lab.check(code == 1, "showip did not exit 1 for an unknown name", expected="exit 1",
              got=f"exit {code}")


# -- dual_server --------------------------------------------------------------

def start_server(lab, host=None):
    """`dual_server -p 0` on host, once it says where it listens: (program, port)."""
    server = lab.run("-p", 0, program="dual_server", host=host)
    match = server.expect(LISTENING, timeout=STARTUP, hint=WILDCARD_HINT)
    return server, int(match["port"])


def expect_answered(lab, server, host, to_ip, port):
    """A Python client on host connects to to_ip:port: the server must print it
    and answer with what it saw, then close."""
    fam = family(to_ip)
    with lab.wire(f"a Python client connected over {fam} to {address(to_ip, port)}",
                  hint=V6ONLY_HINT if fam == "IPv4" else None):
        me, data, closed = ask(host, to_ip, port, watch=server)
    client = address(*me)
    lab.step(f"a Python client at {client} connected to {address(to_ip, port)}")
    if fam == "IPv4":
        printed = line("Client {addr} over IPv4 (seen as {mapped})", addr=re.escape(client),
                       mapped=re.escape(f"[::ffff:{me[0]}]:{me[1]}"))
    else:
        printed = line("Client {addr} over IPv6", addr=re.escape(client))
    want = f"You are {client} over {fam}\n".encode()
    lab.check(data == want and closed, f"the server's answer to a client over {fam} was wrong",
              expected=f"'{quote(want)}', then the server's close",
              got=f"'{quote(data)}'" + ("" if closed else ", and the connection stayed open"),
              hint=(UNMAP_HINT if fam == "IPv4" and b"::ffff:" in data else
                    "the family is the unmapped address's: an IPv4 client is 'over IPv4', so "
                    "decide it after unmap()" if fam == "IPv4" and b"over IPv6" in data else
                    "send 'You are ADDR over FAMILY' and a newline, then close()"))
    server.expect(printed, hint=UNMAP_HINT if fam == "IPv4" else
                  "print an IPv6 client as 'Client [ADDR]:PORT over IPv6' (sl_addr_text)")


@pytest.mark.points(5)
def test_server_listens_once_on_the_ipv6_wildcard(lab):
    require_ipv6(lab.host)
    server, port = start_server(lab)
    found = listening_sockets(lab.host, port)
    shown = ", ".join(f"{fam} {ip}" for fam, ip in found) or "none"
    lab.step(f"/proc/net/tcp and tcp6 list the sockets listening on port {port}: {shown}")
    lab.check(found == [("IPv6", WILDCARD6)], "the server does not listen with exactly one "
              "socket, on '::'", expected=f"one IPv6 socket on [::]:{port}, no IPv4 socket",
              got=shown, hint="one AF_INET6 socket bound to '::' serves both families; "
              + WILDCARD_HINT)


@pytest.mark.points(10)
@pytest.mark.netns
def test_server_shows_an_ipv4_client_as_plain_ipv4(lab):
    world = dual_world(lab)
    # The default the program must not rely on: IPv6-only sockets, as on the BSDs.
    world.server.sysctl("net.ipv6.bindv6only", 1)
    lab.step("on the server host new IPv6 sockets are IPv6-only unless the program says "
             "otherwise (net.ipv6.bindv6only = 1, as FreeBSD's default)")
    server, port = start_server(lab, world.server)
    expect_answered(lab, server, world.client, SERVER, port)


@pytest.mark.points(10)
@pytest.mark.netns
def test_server_shows_an_ipv6_client_in_brackets(lab):
    world = dual_world(lab)
    server, port = start_server(lab, world.server)
    expect_answered(lab, server, world.client, SERVER6, port)


@pytest.mark.points(5)
def test_server_serves_both_families_on_the_loopback_in_turn(lab):
    require_ipv6(lab.host)
    server, port = start_server(lab)
    for to_ip in ("127.0.0.1", "::1", "127.0.0.1", "::1"):
        expect_answered(lab, server, lab.host, to_ip, port)


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_listens_on_port_1060_by_default_and_restarts_there(lab):
    require_ipv6(lab.host)
    server = lab.run(program="dual_server")
    server.expect(line("Listening at [::]:1060"), timeout=STARTUP, hint="the port is 1060 "
                  "unless -p says otherwise; " + WILDCARD_HINT)
    expect_answered(lab, server, lab.host, "::1", 1060)
    server.kill()
    lab.step("the server was stopped; it closed that connection first, so its side is in "
             "TIME_WAIT, and a new server started at once")
    again = lab.run(program="dual_server")
    again.expect(line("Listening at [::]:1060"), timeout=STARTUP, hint="set SO_REUSEADDR "
                 "before bind(), or bind() fails with 'Address already in use' while TIME_WAIT "
                 "lasts")
    expect_answered(lab, again, lab.host, "127.0.0.1", 1060)


# -- dual_client --------------------------------------------------------------

CONNECTED = line("Connected to {addr} from {me} after {secs} s", addr=r"(?P<addr>\S+)",
                 me=r"(?P<me>\S+)", secs=r"(?P<secs>\d+\.\d{3})")


def said(peer, fam):
    """What the Python server says to a client: a quote in it must come out escaped."""
    return f"You are {address(*peer)} over {fam}, said the 'Python' server"


def run_client(lab, world, name, port, *options):
    return lab.run(name, "-p", port, *options, program="dual_client", host=world.client,
                   binds=world.binds)


def serve_one(lab, servers, client, why, delay_until=None, split=None):
    """Accept the client's connection on one of the Python servers and answer it
    (after time.time() reaches delay_until, if given; in two pieces split after split
    bytes, if given). Returns the address it reached."""
    got = servers.accept(STARTUP, watch=client)
    if got is None:
        if client.poll() is not None:  # it ended: say how (e.g. not implemented yet)
            client.expect(CONNECTED, timeout=0.1, hint=why)
        lab.fail(f"the client connected to none of the Python servers ({servers.describe()}) "
                 f"within {scaled(STARTUP):.0f} s", hint=why)
    conn, reached, peer = got
    lab.step(f"the Python server at {address(reached, servers.port)} accepted {address(*peer)}")
    if delay_until is not None:
        time.sleep(max(0.0, delay_until - time.time()))  # the behaviour under test: a slow answer
    if split is not None:
        lab.step(f"it sent its answer in two pieces, {split} bytes and 0.3 s later the rest")
    answer(conn, said(peer, family(reached)), split=split)
    return reached, peer


def expect_success(lab, client, reached, peer, port):
    """The client's lines after connecting to reached, and exit 0."""
    client.expect(line("Connected to {addr} from {me} after {secs} s",
                       addr=re.escape(address(reached, port)), me=re.escape(address(*peer)),
                       secs=r"\d+\.\d{3}"), timeout=STARTUP,
                  hint="print 'Connected to ADDR from YOUR-ADDR after S.mmm s' for the winner "
                       "(getsockname() gives YOUR-ADDR)")
    text = quote(said(peer, family(reached)).encode())
    client.expect(line("The server says '{text}'", text=re.escape(text)), timeout=STARTUP,
                  hint="read the server's line until the newline or its close and print it "
                       "with sl_quote(), without the newline: one recv() returns what has "
                       "arrived so far, so loop until the newline comes")
    code = client.expect_exit(STARTUP)
    lab.check(code == 0, "the client did not exit 0 after the server's answer", got=f"exit {code}")


def dual_servers(world):
    return Servers(world.server, [SERVER6, SERVER])


@pytest.mark.points(6)
@pytest.mark.netns
def test_client_connects_over_ipv6_to_a_dual_name(lab):
    world = dual_world(lab)
    expect_resolver_order(lab, world, "dual.lab", [SERVER6, SERVER], "rule 6: IPv6 first")
    servers = dual_servers(world)
    for run in range(1, SLOW_ANSWER_RUNS + 1):
        with capture_client(world) as capture:
            client = run_client(lab, world, "dual.lab", servers.port)
            reached, peer = serve_one(lab, servers, client, "resolve HOST, then connect to "
                                      "its first address: " + TRY_HINT)
            expect_success(lab, client, reached, peer, servers.port)
            segments = segments_of(capture, servers.port)
        if reached == SERVER6 or not ipv6_answer_came_late(segments) or \
                run == SLOW_ANSWER_RUNS:
            break
        lab.step("on the wire, IPv6 went first but the server's SYN-ACK came only after the "
                 "client's IPv4 SYN (this machine was slow to answer): IPv4 fairly won, so "
                 "the test ran the client again")
    lab.check(reached == SERVER6, "the client did not connect over IPv6, the resolver's first "
              "choice", expected=address(SERVER6, servers.port),
              got=address(reached, servers.port), hint=TRY_HINT)
    to_ipv4 = [s for s in attempts_from(segments, {CLIENT}) if s.dst == SERVER]
    lab.check(not to_ipv4, "the client also tried IPv4 although IPv6 connected at once",
              expected="no SYN to 10.0.1.2 (IPv6 answered well within 250 ms)",
              got="; ".join(map(str, to_ipv4)), hint="once an attempt connects, start no more "
              "and close the others")


# How often the IPv6-first test runs the client when the machine itself answered
# IPv6 too late (ipv6_answer_came_late): a correct client then rightly takes IPv4.
SLOW_ANSWER_RUNS = 3


def ipv6_answer_came_late(segments):
    """Did the client try IPv6 first, and start IPv4 before the server's SYN-ACK
    over IPv6 reached it? Then IPv4 winning is the client's contract, not a bug."""
    to6 = [s for s in attempts_from(segments, {CLIENT6}) if s.dst == SERVER6]
    to4 = [s for s in attempts_from(segments, {CLIENT}) if s.dst == SERVER]
    if not to6 or not to4 or to4[0].time < to6[0].time:
        return False
    answers = [s for s in segments if s.src == SERVER6 and s.flags >= {"SYN", "ACK"}]
    return not answers or answers[0].time > to4[0].time


@pytest.mark.points(4)
@pytest.mark.netns
def test_client_connects_to_single_family_names(lab):
    world = dual_world(lab)
    servers = dual_servers(world)
    for name, only in (("v6only.lab", SERVER6), ("v4only.lab", SERVER)):
        lab.step(f"the client is asked for {name} ({only} only)")
        client = run_client(lab, world, name, servers.port)
        reached, peer = serve_one(lab, servers, client, "resolve HOST with AF_UNSPEC and "
                                  "connect to the address it gives", split=8)
        lab.check(reached == only, f"the client reached the wrong address for {name}",
                  expected=address(only, servers.port), got=address(reached, servers.port))
        expect_success(lab, client, reached, peer, servers.port)


def blackholed_world(lab, name="black.lab"):
    world = dual_world(lab, [(SERVER, name), (SERVER6, name)])
    blackhole(lab, world, SERVER6)
    expect_resolver_order(lab, world, name, [SERVER6, SERVER], "rule 6: IPv6 first; the "
                          "resolver cannot see that its SYNs vanish (it has a route)")
    return world


def stagger_bound():
    """The latest a next SYN may come after the previous one: 250 ms, plus what a
    loaded machine may add (lateness can be load), but well below a plain
    connect()'s bound or the kernel's SYN retries."""
    return STAGGER + min(scaled(0.5), 1.5)


def first_syn(capture, client, to_ip, port, timeout=STARTUP):
    """The client's first SYN to to_ip:port on the wire, or None within timeout
    (scaled) or once the client has exited without sending it."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        found = capture.wait_for_segment(lambda s: s.flags == {"SYN"} and s.dst == to_ip,
                                         0.05, port=port)
        if found is not None or client.poll() is not None:
            return found
    return None


def check_stagger(lab, first, then, what):
    gap = then.time - first.time
    lab.step(f"on the wire: SYN to {first.dst} at 0.000 s, SYN to {then.dst} at {gap:.3f} s")
    lab.check(gap >= STAGGER - EARLY, f"the client started {what} too early",
              expected=f"the next SYN {STAGGER * 1000:.0f} ms after the previous one "
              "(RFC 8305's Connection Attempt Delay)", got=f"{gap * 1000:.0f} ms after it",
              hint="start the next address only when next_start (STAGGER after the last "
                   "connect()) has come, unless nothing is under way")
    lab.check(gap <= stagger_bound(), f"the client waited too long before {what}",
              expected=f"about {STAGGER * 1000:.0f} ms (at most {stagger_bound():.2f} s here)",
              got=f"{gap:.3f} s", hint="poll() every attempt under way with a timeout until "
              "next_start, and start the next address then, while the first one goes on")


@pytest.mark.points(10)
@pytest.mark.netns
def test_client_falls_back_to_ipv4_when_ipv6_is_blackholed(lab):
    world = blackholed_world(lab)
    servers = dual_servers(world)
    with capture_client(world) as capture:
        client = run_client(lab, world, "black.lab", servers.port)
        reached, peer = serve_one(lab, servers, client, "IPv6 never answers: after 250 ms "
                                  "start IPv4 as well, without waiting for IPv6 to give up")
        expect_success(lab, client, reached, peer, servers.port)
        segments = segments_of(capture, servers.port)
    syns = attempts_from(segments, {CLIENT, CLIENT6})
    to6 = [s for s in syns if s.dst == SERVER6]
    to4 = [s for s in syns if s.dst == SERVER]
    lab.check(to6 and to4 and to6[0].time < to4[0].time, "the client did not try IPv6 first, "
              "then IPv4", expected=f"a SYN to {SERVER6}, then one to {SERVER}",
              got="; ".join(map(str, syns)) or "no SYN", hint=TRY_HINT)
    check_stagger(lab, to6[0], to4[0], "IPv4")
    secs = next(float(m["secs"]) for m in (re.fullmatch(CONNECTED, t) for t in client.stdout) if m)
    lab.check(secs >= STAGGER - EARLY, "the time to connect is not counted from the first "
              "attempt's start", expected=f"'after 0.25x s' or more (IPv4 started "
              f"{STAGGER * 1000:.0f} ms after IPv6)", got=f"'after {secs:.3f} s'",
              hint="take the start time once, before the first attempt, and print the time "
                   "from then to the winner's connection")


@pytest.mark.points(7)
@pytest.mark.netns
def test_client_keeps_a_slow_attempt_going_while_the_next_starts(lab):
    delay = 0.2  # each way: a handshake takes 0.4 s, longer than the stagger
    world = dual_world(lab, impairment=Impairment(delay=delay, seed=11))
    expect_resolver_order(lab, world, "dual.lab", [SERVER6, SERVER], "rule 6: IPv6 first")
    servers = dual_servers(world)
    with capture_client(world) as capture:
        client = run_client(lab, world, "dual.lab", servers.port)
        reached, peer = serve_one(lab, servers, client, "a slow address is not a dead one: "
                                  "keep every attempt under way going until one connects")
        expect_success(lab, client, reached, peer, servers.port)
        segments = segments_of(capture, servers.port)
    syns = attempts_from(segments, {CLIENT, CLIENT6})
    shown = "; ".join(f"{s.dst} at {s.time - syns[0].time:.3f} s" for s in syns)
    lab.step(f"on the wire, SYNs to: {shown or 'nothing'}")
    lab.check(reached == SERVER6, "the client dropped its IPv6 attempt when it started IPv4",
              expected=f"IPv6 (started first; its handshake takes {2 * delay:.1f} s) wins; "
              "IPv4, started 250 ms in, is cancelled", got=f"connected over IPv4; SYNs: {shown}",
              hint="starting the next address must not end the attempts under way: poll() "
                   "them all, and the first to connect wins")
    if len(syns) > 1:
        check_stagger(lab, syns[0], syns[1], "IPv4")


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_cancels_the_blackholed_attempt_once_ipv4_connects(lab):
    world = blackholed_world(lab)
    servers = dual_servers(world)
    with capture_client(world) as capture:
        client = run_client(lab, world, "black.lab", servers.port)
        first = first_syn(capture, client, SERVER6, servers.port)
        # The kernel resends an unanswered SYN after 1 s. The Python server answers
        # only after 1.6 s, so an IPv6 attempt still open by then shows on the wire.
        linger = 1.6
        lab.step(f"the Python server over IPv4 answers {linger} s after the first SYN to IPv6")
        reached, peer = serve_one(lab, servers, client, "IPv6 never answers: start IPv4 after "
                                  "250 ms", delay_until=(first.time + linger) if first else None)
        expect_success(lab, client, reached, peer, servers.port)
        segments = segments_of(capture, servers.port)
    lab.check(first is not None, "the client sent no SYN to IPv6, the resolver's first choice",
              hint=TRY_HINT)
    again = [s for s in syns_from(segments, {CLIENT6}) if s.sport == first.sport][1:]
    lab.check(not again, "the IPv6 attempt went on after IPv4 had connected: its SYN was resent",
              expected="no SYN to IPv6 after the IPv4 connection (the attempt closed)",
              got="; ".join(f"{s} at {s.time - first.time:.2f} s" for s in again[:2])
              + (f" ({len(again)} resent SYNs in all)" if len(again) > 2 else ""),
              hint="once an attempt connects, close() every other socket still connecting")
    client_line = line("Cancelled {addr} (still connecting)",
                       addr=re.escape(address(SERVER6, servers.port)))
    lab.check(any(re.fullmatch(client_line, text) for text in client.stdout),
              "the client did not say it cancelled the IPv6 attempt",
              expected=client_line.readable, got=" | ".join(client.stdout[-4:]))


@pytest.mark.points(6)
@pytest.mark.netns
def test_client_moves_on_at_once_from_refused_addresses(lab):
    dead, refused = "fd00:1::3", ["fd00:1::4", "fd00:1::5", "fd00:1::6"]
    name = "refused.lab"
    world = dual_world(lab, [(SERVER, name), (dead, name)] + [(a, name) for a in refused],
                       server_addresses6=refused)
    blackhole(lab, world, dead)
    expect_resolver_order(lab, world, name, [dead, *refused, SERVER], "rule 6: IPv6 first; "
                          "rule 9: fd00:1::3 shares 126 bits with fd00:1::1, the others 125; "
                          "then the file's order")
    servers = Servers(world.server, [SERVER])
    lab.step(f"nothing listens on {', '.join(refused)}: each SYN there is answered with a RST; "
             f"the attempt to {dead} stays under way all along")
    with capture_client(world) as capture:
        client = run_client(lab, world, name, servers.port)
        reached, peer = serve_one(lab, servers, client, "a refused attempt has failed: start "
                                  "the next address at once, without waiting 250 ms")
        expect_success(lab, client, reached, peer, servers.port)
        segments = segments_of(capture, servers.port)
    syns = attempts_from(segments, {CLIENT, CLIENT6})
    shown = "; ".join(f"{s.dst} at {s.time - syns[0].time:.3f} s" for s in syns)
    lab.step(f"on the wire, SYNs to: {shown or 'nothing'}")
    lab.check([s.dst for s in syns] == [dead, *refused, SERVER], "the client did not try "
              "every address once, in the resolver's order",
              expected=", ".join([dead, *refused, SERVER]), got=shown or "no SYN",
              hint=TRY_HINT)
    check_stagger(lab, syns[0], syns[1], "the second address")
    took = syns[-1].time - syns[1].time
    limit = min(scaled(0.3), 0.45)  # 250 ms after each of two refusals would be 0.5 s
    lab.check(took <= limit, "the client waited after refused attempts",
              expected=f"the SYN to {SERVER} within {limit:.2f} s of the first refused one "
              "(each refusal moves on at once, even while another attempt is under way)",
              got=f"{took:.3f} s", hint="when an attempt fails, set next_start to now: only "
              "an attempt still under way is worth waiting 250 ms for")
    for ip in refused:
        failed = line("Failed {addr}: Connection refused", addr=re.escape(address(ip, servers.port)))
        lab.check(any(re.fullmatch(failed, t) for t in client.stdout),
                  "the client did not say why an address failed", expected=failed.readable,
                  got=" | ".join(client.stdout), hint="print 'Failed ADDR: REASON' "
                  "(strerror of SO_ERROR) for every attempt that fails")


@pytest.mark.points(4)
@pytest.mark.netns
def test_client_tries_a_second_ipv6_address_before_ipv4(lab):
    name, dead = "order.lab", "fd00:1::3"
    world = dual_world(lab, [(SERVER, name), (dead, name), (SERVER6, name)])
    blackhole(lab, world, dead)
    expect_resolver_order(lab, world, name, [dead, SERVER6, SERVER], "rule 6: IPv6 first; "
                          "rule 9 ties (126 bits shared with fd00:1::1); then the file's order")
    servers = dual_servers(world)
    with capture_client(world) as capture:
        client = run_client(lab, world, name, servers.port)
        reached, peer = serve_one(lab, servers, client, "after 250 ms start the resolver's "
                                  "second address, whatever its family")
        expect_success(lab, client, reached, peer, servers.port)
        segments = segments_of(capture, servers.port)
    syns = attempts_from(segments, {CLIENT, CLIENT6})
    lab.check(reached == SERVER6 and [s.dst for s in syns[:2]] == [dead, SERVER6],
              "the client did not follow the resolver's order",
              expected=f"SYNs to {dead}, then {SERVER6} (which connects), none to {SERVER}",
              got="; ".join(str(s) for s in syns), hint=TRY_HINT)
    check_stagger(lab, syns[0], syns[1], "the second IPv6 address")


@pytest.mark.points(3)
@pytest.mark.netns
@pytest.mark.time_limit(30)
def test_client_gives_up_when_no_address_answers(lab):
    # The first refuses; four are blackholed, started 250 ms apart, so that a client
    # that gives them one deadline for all exits well before the last one's time
    # is up. -t keeps that time short; 5 s, the default, is what it replaces.
    dead = ["fd00:1::98", "fd00:1::99", "fd00:1::9a", "fd00:1::9b", "fd00:1::9c"]
    world = dual_world(lab, [(a, "dead.lab") for a in dead], server_addresses6=dead[:1])
    blackhole(lab, world, *dead[1:])
    lab.step(f"{dead[0]} is the server host's, and nothing listens on it: it refuses")
    unknown = run_client(lab, world, UNKNOWN, 1060)
    message = f"dual_client: {UNKNOWN}: Name or service not known"
    unknown.expect(re.escape(message), stream="stderr", timeout=STARTUP,
                   hint="on failure getaddrinfo() returns an EAI_ code: errx(1, \"%s: %s\", "
                        "host, gai_strerror(code)), as in showip")
    code = unknown.expect_exit(STARTUP)
    lab.check(code == 1, "the client did not exit 1 for an unknown name", expected="exit 1",
              got=f"exit {code}")
    with capture_client(world) as capture:
        lab.step(f"the client ran with -t {SHORT_LIMIT:g}: {SHORT_LIMIT:g} s for each address")
        client = run_client(lab, world, "dead.lab", 1060, "-t", SHORT_LIMIT)
        # The run is short, so a spinning client would not reach a second of CPU
        # (CPU_HOG below) on a busy machine: watch its state as well, once it is
        # waiting (a slow machine, such as user-mode Linux, takes a while to start it).
        client.printed(r"Trying " + re.escape(address(dead[1], 1060)) + r".*", STARTUP)
        check_blocks(lab, client, "any of its addresses to answer", interval=SHORT_LIMIT / 2)
        code = client.wait(SHORT_LIMIT + 3 * STAGGER + STARTUP)
        ended = time.time()
        segments = segments_of(capture, 1060)
    syns = attempts_from(segments, {CLIENT6})
    client.expect(line("Trying {addr} (IPv6)", addr=re.escape(address(dead[0], 1060))),
                  timeout=0.1, hint="print 'Trying ADDR (FAMILY)' as each attempt starts")
    if code is None:
        lab.fail("the client kept waiting for addresses that never answer",
                 expected=f"give up on each after {SHORT_LIMIT:g} s, then exit 1",
                 got=f"still running {scaled(SHORT_LIMIT + 3 * STAGGER + STARTUP):.1f} s later",
                 hint="give every attempt a deadline (connect_timeout, which -t sets) and end "
                      "it when poll() wakes after it")
    message = "dual_client: could not connect to dead.lab port 1060: "
    lab.check(code == 1 and any(t.startswith(message) for t in client.stderr),
              "the client did not report that it could not connect",
              expected=f"'{message}REASON' on stderr, exit 1",
              got=f"exit {code}, stderr: {' | '.join(client.stderr[-2:]) or 'nothing'}",
              hint="when every address has failed, errx(1, ...) with the last reason")
    final = next(t for t in client.stderr if t.startswith(message))
    lab.check(not final.endswith("Connection refused"), "the client gave the first failure's "
              "reason, not the last one's", expected=f"'{message}' and the reason {dead[-1]} "
              f"failed with (no answer within {SHORT_LIMIT:g} seconds)", got=f"'{final}'",
              hint="keep the errno of every failure as it happens: the message gives the last")
    lab.check(CPU_HOG not in client.symptoms, "the client kept the CPU busy while it waited",
              expected="poll() asleep until the next deadline", got="over a second of CPU time",
              hint="poll()'s timeout is the time left until the earliest deadline, in "
                   "milliseconds, never 0 while attempts are under way")
    lab.check(len(syns) >= 2 and ended - syns[-1].time >= SHORT_LIMIT - EARLY * 10,
              f"the client gave up before every address had its {SHORT_LIMIT:g} s",
              expected=f"exit {SHORT_LIMIT:g} s after the last address started",
              got=f"exit {ended - syns[-1].time:.2f} s after it" if syns else "no SYN at all",
              hint="an attempt's deadline is connect_timeout (-t) after its own start")
    late = SHORT_LIMIT + scaled(0.5)
    lab.check(ended - syns[-1].time <= late, "the client went on waiting after the last "
              f"address's {SHORT_LIMIT:g} s", expected=f"exit {SHORT_LIMIT:g} s after the last "
              f"address started (at most {late:.2f} s here)",
              got=f"exit {ended - syns[-1].time:.2f} s after it",
              hint="an attempt's deadline is connect_timeout (-t) after its own start, and "
                   "poll() must wake by the earliest deadline")
