"""Lab 03 big_sender: path-MTU discovery on a connected UDP socket. On the loopback
it must report the loopback's MTU; across real routers (namespaces that forward,
and answer a too-big packet with ICMP "fragmentation needed") it must report the
smallest MTU on the path, exactly, within 2 seconds."""
import socket
import time

import pytest

from harness.grading.contract import line
from harness.labs.lab03_big_sender.network import IcmpWatch, elapsed_since, interface_mtu, routed_path
from harness.network.wire import Impairment
from harness.peers.udp import udp_socket
from harness.programs.process import describe_exit
from harness.timeouts import scaled

ACTUAL_MTU = line("Actual MTU: {mtu}", mtu=r"(?P<mtu>\d+)")
ALAS = "Alas, the datagram did not make it"
TIME_LIMIT = 2.0  # the whole run, as the handout promises
IPV4_MAX = 65535  # no IPv4 packet is larger, whatever the link's MTU


def run_to_the_end(lab, *args, host=None):
    """Run big_sender ARGS; fail unless it exits 0 within the time limit. The program."""
    sender = lab.run(*args, host=host)
    code = sender.wait(TIME_LIMIT + 0.5)
    took = elapsed_since(sender)
    if code is None:
        sender.kill()
        lab.fail(f"big_sender was still running after {took:.1f} s",
                 expected=f"'Actual MTU: M' and exit 0 within {TIME_LIMIT:.0f} s",
                 hint="every wait needs a bound: poll() with a timeout for the error "
                      "queue, and give up the whole search after a second or so")
    if code != 0:
        sender.expect(ACTUAL_MTU, timeout=1)  # says "not implemented yet" or how it ended
        refused = any("refused" in l.lower() for l in sender.stderr)
        lab.fail("big_sender did not finish successfully", expected="exit 0",
                 got=f"it {describe_exit(code)}, stderr {sender.stderr[-1:] or 'empty'}",
                 hint="ECONNREFUSED is the far host's ICMP port unreachable: the probe "
                      "arrived whole, so it passed; it is no error" if refused else None)
    lab.check(took <= scaled(TIME_LIMIT), f"big_sender took {took:.2f} s",
              expected=f"at most {TIME_LIMIT:.0f} s", hint="wait for a router's answer a "
              "fraction of a second per probe, not seconds")
    return sender


def reported_mtu(lab, sender, hint):
    """The M of the program's 'Actual MTU: M' line."""
    return int(sender.expect(ACTUAL_MTU, timeout=1, hint=hint)["mtu"])


# A search may try sizes of its own, refused more often than the handout's; but one
# that is refused over and over is not converging (a probe that never fits).
EXTRA_REFUSALS = 10


def check_refusals(lab, sender, refused, why):
    """An 'Alas' line for each datagram refused as too big: at least the `refused`
    that must have been (why), and not endlessly many more."""
    count = sender.stdout.count(ALAS)
    lab.check(refused <= count <= refused + EXTRA_REFUSALS,
              "the refused datagrams were not reported one line each",
              expected=f"'{ALAS}' once per refused datagram, at least {refused} time(s): {why}",
              got=f"{count} time(s)",
              hint="the same probe is refused again and again: after a refusal, probe with "
                   "IP_MTU - 28 bytes (20 for the IP header, 8 for UDP), which fits"
              if count > refused else
              "print the line also when a router's ICMP 'fragmentation needed' refuses "
              "the probe (EMSGSIZE in the error queue), not only when send() fails")


# -- the loopback ----------------------------------------------------------------

@pytest.mark.points(4)
def test_sender_reports_the_loopback_mtu(lab):
    mtu = interface_mtu(lab.host, "lo")
    lab.step(f"the loopback's MTU is {mtu} (the grader read it from the interface)")
    expected = min(mtu, IPV4_MAX)
    sender = run_to_the_end(lab, "127.0.0.1")
    got = reported_mtu(lab, sender, hint="print 'Actual MTU: M' with M from getsockopt(IP_MTU)")
    lab.check(got == expected, "wrong MTU reported for the loopback",
              expected=f"Actual MTU: {expected}" + (" (the largest IPv4 packet)"
                                                    if expected != mtu else ""),
              got=f"Actual MTU: {got}",
              hint="report the MTU itself, from getsockopt(IP_MTU) on the connected "
                   "socket, not the payload size (MTU - 28) and not a number you know")
    check_refusals(lab, sender, 1 if mtu < IPV4_MAX else 0,
                   f"the loopback's MTU {mtu} " + ("carries the largest UDP datagram"
                                                   if mtu >= IPV4_MAX else "is smaller"))


@pytest.mark.points(3)
@pytest.mark.netns
@pytest.mark.parametrize("lo_mtu", [1500, 20000])
def test_sender_reports_a_changed_loopback_mtu(lab, lo_mtu):
    lab.host.ip(f"link set lo mtu {lo_mtu}")
    mtu = interface_mtu(lab.host, "lo")
    lab.step(f"the grader set the loopback's MTU to {mtu}")
    sender = run_to_the_end(lab, "localhost", "-p", "9")
    got = reported_mtu(lab, sender, hint="print 'Actual MTU: M' with M from getsockopt(IP_MTU)")
    lab.check(got == mtu, f"wrong MTU reported for a loopback with MTU {mtu}",
              expected=f"Actual MTU: {mtu}", got=f"Actual MTU: {got}",
              hint="the 65507-byte probe was not refused: without IP_MTU_DISCOVER set to "
                   "IP_PMTUDISC_DO the kernel fragments it instead of failing send() with "
                   "EMSGSIZE" if got == IPV4_MAX and ALAS not in sender.stdout else
                   "never assume a number: ask the kernel with getsockopt(IP_MTU)")
    lab.check(ALAS in sender.stdout, "the refused first datagram was not reported",
              expected=f"'{ALAS}' when send() fails with EMSGSIZE",
              got="no such line", hint="a 65507-byte datagram cannot fit an MTU of "
              f"{mtu} with DF set (IP_PMTUDISC_DO): send() fails with EMSGSIZE")
    check_refusals(lab, sender, 1, f"the 65507-byte probe does not fit {mtu}")


# -- routed paths ------------------------------------------------------------------

# How often a path is built and the program run again when a router's answer on
# a link without delay reached the sender only after it had stopped waiting: the
# machine, not the program, was too slow then (a busy one defers packet handling).
SLOW_MACHINE_RUNS = 3


def check_path(lab, mtus, listener=False, impairments=()):
    """Build the path, run big_sender to the far host, and check the MTU it reports."""
    for run in range(1, SLOW_MACHINE_RUNS + 1):
        path, port, sender, seen, received = run_on_a_path(
            lab, mtus, listener, impairments, prefix=f"r{run}-" if run > 1 else "")
        late = seen and sender.stdout.count(ALAS) < len(seen) + (
            1 if mtus[0] < IPV4_MAX else 0)  # a refusal it never saw
        if not late or any(impairments) or run == SLOW_MACHINE_RUNS:
            break
        lab.step("a router's answer reached the sender after it had stopped waiting, on a "
                 "link without delay: this machine was too slow for this run, so the test "
                 "built the path again and ran the program again")
    late = late and any(impairments)
    got = reported_mtu(lab, sender, hint="print 'Actual MTU: M' at the end")
    if not seen and got != path.bottleneck:
        lab.fail("no router ever said 'fragmentation needed'",
                 expected=f"Actual MTU: {path.bottleneck}", got=f"Actual MTU: {got}",
                 hint="the program stopped at the first link's MTU: no probe of that size "
                      "ever reached the router, so it had nothing to complain about. After a "
                      "refusal, send again with IP_MTU - 28 bytes and wait for the verdict"
                 if got == mtus[0] else
                 "set IP_MTU_DISCOVER to IP_PMTUDISC_DO so that every datagram carries "
                 "DF: without it the router fragments silently")
    lab.check(got == path.bottleneck, f"wrong path MTU reported for {path.describe()}",
              expected=f"Actual MTU: {path.bottleneck}", got=f"Actual MTU: {got}",
              hint="the router's answer came back after the program had stopped waiting "
                   "for it: on a path with delay it takes a round trip (here over 100 ms), "
                   "so wait a fraction of a second per probe, not milliseconds" if late else
                   "the router's answer arrives after send() returned: after each probe, "
                   "wait (poll() with a timeout) for the error queue (IP_RECVERR, "
                   "MSG_ERRQUEUE), re-read IP_MTU, and probe again at the new size"
              if got == mtus[0] or got > path.bottleneck else
              "an ICMP port unreachable from the far host means the probe arrived: it "
              "is not a reason to shrink; report the MTU, not the payload size")
    lab.check(ALAS in sender.stdout, "no refused datagram was reported",
              expected=f"'{ALAS}' for each datagram refused as too big", got="no such line")
    local = 1 if mtus[0] < IPV4_MAX else 0
    check_refusals(lab, sender, local + len(seen),
                   ("send() refuses the 65507-byte probe, and " if local else "") +
                   f"{len(seen)} router answer(s) came back")
    if listener:
        lab.check(path.bottleneck - 28 in received, "the probe that passed never reached the "
                  f"peer at {path.far_address}:{port}",
                  expected=f"a datagram of {path.bottleneck - 28} bytes at port {port}",
                  got=", ".join(map(str, received)) or "nothing",
                  hint="connect() the socket to HOST and the port given with -p")


def run_on_a_path(lab, mtus, listener, impairments, prefix):
    """Build a path, run big_sender over it to the end; (path, port, the program,
    the routers' answers seen, sizes the far peer received or [])."""
    path = routed_path(lab.net, mtus, impairments, prefix)
    lab.step(f"the grader built the path {path.describe()} "
             f"(every router forwards, ICMP included)")
    for number, impairment in enumerate(impairments, 1):
        if impairment is not None:
            lab.step(f"link {number} is slow: {impairment.describe()}")
    port = 1060
    args = ()
    peer = None
    if listener:
        port = 4321
        args = ("-p", str(port))
        peer = udp_socket(path.far, "0.0.0.0", port)
        lab.step(f"a Python peer listens at {path.far_address}:{port} (no ICMP port "
                 "unreachable will come back)")
    else:
        lab.step(f"nobody listens at {path.far_address}:{port}: the far host answers each "
                 "datagram that reaches it with ICMP port unreachable")
    watch = IcmpWatch(path.sender)
    try:
        sender = run_to_the_end(lab, path.far_address, *args, host=path.sender)
        seen = watch.collect()
        # An answer may still be on its way (a slow link, a busy machine): see it, to
        # say so.
        deadline = time.monotonic() + scaled(1)
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)  # polling our own raw socket, with a deadline
            seen = watch.collect()
    finally:
        watch.close()
    for router, mtu in seen:
        lab.step(f"router {router} sent 'fragmentation needed, next-hop MTU {mtu}'")
    received = []
    if peer:
        # The probe that passed may still be on its way (the router resolves the far
        # host's address first): wait for it, with a deadline, before judging.
        received = sizes_received(peer, path.bottleneck - 28, scaled(2))
        peer.close()
        lab.step("the far peer received datagrams of these sizes: "
                 + (", ".join(map(str, received)) or "none"))
    return path, port, sender, seen, received


def sizes_received(sock, awaited, timeout):
    """Sizes of the datagrams that reached sock: those already queued, and more as
    they come until one of `awaited` bytes has or timeout seconds pass."""
    sizes = []
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.0, deadline - time.monotonic()) if awaited not in sizes else 0)
        try:
            sizes.append(len(sock.recv(65535)))
        except (BlockingIOError, socket.timeout):
            return sizes


@pytest.mark.points(15)
@pytest.mark.netns
@pytest.mark.parametrize("mtus", [(1500, 1280), (9000, 1400), (9000, 1500), (65535, 9000)],
                         ids=lambda mtus: f"{mtus[0]}-then-{mtus[1]}")
def test_sender_finds_the_bottleneck_behind_a_router(lab, mtus):
    check_path(lab, mtus)


@pytest.mark.points(10)
@pytest.mark.netns
def test_sender_finds_the_bottleneck_when_someone_listens(lab):
    check_path(lab, (9000, 1400), listener=True)


@pytest.mark.points(10)
@pytest.mark.netns
def test_sender_finds_the_bottleneck_two_routers_away(lab):
    check_path(lab, (9000, 4000, 1400))


# A router's answer that takes a while (but far less than the time limit) to come
# back: a program that waits only a few milliseconds for it takes the silence for
# a pass. No loss here: a lost answer is silence too, and nobody could tell.
SLOW_FIRST_LINK = Impairment(delay=0.06, jitter=0.02, seed=3)


@pytest.mark.points(5)
@pytest.mark.netns
def test_sender_waits_for_a_router_across_a_slow_link(lab):
    check_path(lab, (9000, 1400), impairments=(SLOW_FIRST_LINK,))


# -- the command line ----------------------------------------------------------------

@pytest.mark.points(5)
def test_bad_input_is_a_clear_error(lab):
    lab.step("ran big_sender with a host that does not exist")
    program = lab.run("no-such-host.invalid")
    code = program.wait(5)
    if code == 3:
        program.expect(ACTUAL_MTU, timeout=1)  # reports "not implemented yet"
    lab.check(code == 1 and any("no-such-host.invalid" in l for l in program.stderr),
              "an unresolvable host was not reported clearly",
              expected="exit 1 and a message naming the host on stderr",
              got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}",
              hint="when sl_resolve() fails, errx(1, \"%s\", err) with the message it wrote")
    for port in ["0", "65536", "12ab", ""]:
        program = lab.run("127.0.0.1", "-p", port)
        code = program.wait(5)
        lab.check(code == 1 and program.stderr and "port" in program.stderr[-1].lower(),
                  f"a bad port {port!r} was not refused clearly",
                  expected="exit 1 with a message naming the port on stderr (a datagram "
                           "needs a port from 1 to 65535)",
                  got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}")
    for args in [[], ["127.0.0.1", "extra"]]:
        program = lab.run(*args)
        code = program.wait(5)
        lab.check(code == 2 and any("usage:" in l for l in program.stderr),
                  f"`big_sender {' '.join(args)}` is bad usage",
                  expected="exit 2 and the synopsis on stderr",
                  got=f"it {describe_exit(code)}, stderr {program.stderr[-1:] or 'empty'}")

