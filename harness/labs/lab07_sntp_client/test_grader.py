"""Lab 07 sntp_client: an SNTP client graded against a real chronyd whose clock
libfaketime shifts (cross-checked with python3-ntplib), and against a scripted
fake server that sends every kind of reply RFC 4330 says a client must discard."""
import calendar
import datetime
import re
import socket
import tempfile
import time

import pytest

from harness.grading.contract import address, line
from harness.grading.diagnoses import check_blocks
from harness.network.capture import ETH_P_IP, Capture
from harness.network.wire import Impairment
from harness.labs.lab07_sntp_client.peers import ERA, MODE_CLIENT, FakeServer, from_ntp
from harness.labs.lab07_sntp_client.chronyd import (Chronyd, ask_ntplib, build_shim, shift_text,
                                       unavailable_reason)
from harness.peers.udp import udp_socket

LOOPBACK = "127.0.0.1"
STRATUM = 5            # what our chronyd serves (`local stratum 5`)
FAKE_AHEAD = 12.5      # the fake server's clock, ahead of the grader's
BAD_AHEAD = 1000.0     # the clock of every reply the client must not use
BAD_STRATUM = 9
TOLERANCE = 0.002      # the lab's promise: within 2 ms of ntplib, plus half the delays
ROUGH = 0.05           # against the fake server: its answer is right to well under this
MAX_LEG = 0.5          # a larger delay says nothing more of the offset

SERVER = line("Server {addr} stratum {stratum}", addr=r"(?P<addr>\S+)", stratum=r"(?P<stratum>\d+)")
TIME = line("Time: {time} UTC", time=r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})")
OFFSET = line("Offset: {offset} s", offset=r"(?P<offset>[+-]\d+\.\d{6})")
DELAY = line("Delay: {delay} s", delay=r"(?P<delay>-?\d+\.\d{6})")


class Result:
    """The four lines a client prints for a valid reply."""

    def __init__(self, server, stratum, when, offset, delay, text):
        self.server, self.stratum, self.when = server, stratum, when
        self.offset, self.delay, self.text = offset, delay, text

    def offset_near(self, wanted):
        """Whether the printed offset is wanted within ROUGH plus half the delay the
        client measured: an exchange cannot place the server's clock closer than
        that (the two legs of the delay may differ), and a slow machine (valgrind,
        a busy CPU) lengthens the legs. The delay counts at most MAX_LEG."""
        return abs(self.offset - wanted) <= ROUGH + min(abs(self.delay), MAX_LEG) / 2


def expect_result(lab, client, timeout=3.0):
    """Read Server/Time/Offset/Delay from the client, in that order."""
    hint = ("print 'Server IP:PORT stratum S', 'Time: YYYY-MM-DD HH:MM:SS.ffffff UTC', "
            "'Offset: +S.ffffff s' (sign always) and 'Delay: S.ffffff s'")
    server = client.expect(SERVER, timeout=timeout, hint=hint)
    when = client.expect(TIME, timeout=0.5, hint=hint)
    offset = client.expect(OFFSET, timeout=0.5, hint=hint)
    delay = client.expect(DELAY, timeout=0.5, hint=hint)
    stamp = datetime.datetime.strptime(when["time"], "%Y-%m-%d %H:%M:%S.%f")
    seconds = calendar.timegm(stamp.timetuple()) + stamp.microsecond / 1e6
    text = " / ".join(m.group(0) for m in (server, when, offset, delay))
    return Result(server["addr"], int(server["stratum"]), seconds, float(offset["offset"]),
                  float(delay["delay"]), text)


def expect_success(lab, client):
    code = client.expect_exit(3)
    lab.check(code == 0, "the client did not exit 0 after a valid reply", expected="exit 0",
              got=f"exit {code}")


def utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S.%f")


# -- against a real chronyd ---------------------------------------------------------

# Scratch directories come from tempfile, not pytest's tmp_path: in the lab root
# the grader is "root" of a user namespace, and pytest would look for a
# /tmp/pytest-of-root that belongs to the real root.
@pytest.fixture(scope="session")
def shim():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"needs a real NTP server, unavailable here: {reason}")
    return build_shim()


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="socklab-chronyd-") as directory:
        yield directory


def real_server(lab, scratch, shim, shift, probe=LOOPBACK):
    """chronyd on the lab host, its clock `shift` s off, answering on port 123."""
    # Starting chronyd costs a quarter second: first make sure, cheaply, that
    # the client sends anything at all (an unfinished one fails here at once).
    fake = FakeServer(lab.host)
    lab.step("first, a quick check that the client sends a request at all, to a plain Python "
             "socket (the client is stopped once it has)")
    first = lab.run(LOOPBACK, "-p", fake.port, "-t", "0.5")
    next_request(lab, fake, first)
    first.kill()
    fake.close()
    server = Chronyd(lab.host, scratch, shim, shift=shift, stratum=STRATUM)
    server.ready(probe)
    lab.step(f"chronyd serves `local stratum {STRATUM}` on port 123, its clock shifted by "
             f"{shift_text(shift)} s with libfaketime")
    return server


def measure(lab, target, shift, server_text, era_fix=False):
    """Run the client against chronyd at target and check, in this order, the
    server it names, the stratum, the offset (against ntplib's, or against the
    shift itself where ntplib gets the era wrong), the time and the delay."""
    before = time.time()
    client = lab.run(target, "-t", "1")
    result = expect_result(lab, client)
    after = time.time()
    lab.step(f"the client printed: {result.text}")
    expect_success(lab, client)
    lab.check(result.server == server_text, "the server's address is not printed right",
              expected=f"Server {server_text} stratum {STRATUM}", got=result.text,
              hint="without -p the port is 123; print the address with sl_addr_text(), "
                   "which writes an IPv6 address as [ADDR]:PORT")
    lab.check(result.stratum == STRATUM, "wrong stratum", expected=str(STRATUM),
              got=str(result.stratum), hint="print the stratum byte of the reply")
    check_offset(lab, result, target, shift, era_fix)
    # The server's clock when the reply arrived lies between the grader's clock
    # at start and end, shifted; the estimate may be off by half the delay.
    slack = TOLERANCE + abs(result.delay) / 2
    lab.check(before + shift - slack <= result.when <= after + shift + slack,
              "the printed time is not the server's clock",
              expected=f"between {utc(before + shift)} and {utc(after + shift)} UTC",
              got=f"{utc(result.when)} UTC",
              hint="print your clock at T4 plus the offset, in UTC (gmtime_r, not localtime_r), "
                   "with the era closest to your clock (ntp_to_timespec)")
    lab.check(-0.001 <= result.delay < 1.0, "the delay is not plausible on a loopback",
              expected="a few microseconds to milliseconds", got=f"{result.delay:.6f} s",
              hint="delay = (T4 - T1) - (T3 - T2); T1 and T4 are your clock at send and "
                   "at receive")


def check_offset(lab, result, target, shift, era_fix):
    reference = ask_ntplib(lab.host, target)
    theirs = reference.offset
    note = ""
    if era_fix:  # ntplib reads every timestamp in era 0 (1900-2036): put it right
        theirs += round((shift - theirs) / ERA) * ERA
        note = f" (ntplib said {reference.offset:+.6f}, wrong by whole NTP eras)"
    lab.step(f"python3-ntplib then measured an offset of {theirs:+.6f} s{note}, "
             f"delay {reference.delay:.6f} s")
    slack = TOLERANCE + (abs(result.delay) + abs(reference.delay)) / 2
    wanted = shift if era_fix else theirs
    lab.check(abs(result.offset - wanted) <= slack,
              "the offset does not agree with the server's real offset",
              expected=f"{wanted:+.6f} s (within {slack * 1000:.1f} ms)",
              got=f"{result.offset:+.6f} s",
              hint="offset = ((T2 - T1) + (T3 - T4)) / 2: compute the differences on the "
                   "64-bit NTP timestamps (signed, in 32.32 fixed point), not on doubles of "
                   "whole dates, and read T1 and T4 right at sendto() and recvfrom()")


@pytest.mark.points(7)
@pytest.mark.netns
def test_client_reads_a_real_server_in_step(lab, scratch, shim, other_time_zone):
    # Another time zone than UTC, so that a time printed in local time shows.
    lab.step(f"the client runs with TZ={other_time_zone} (local time is UTC+5:45); it must "
             "print UTC")
    real_server(lab, scratch, shim, 0.0)
    measure(lab, LOOPBACK, 0.0, f"{LOOPBACK}:123")


@pytest.mark.points(5)
@pytest.mark.netns
@pytest.mark.parametrize("shift", [3600.0, -86400.0, 0.25],
                         ids=["an_hour_ahead", "a_day_behind", "a_quarter_second_ahead"])
def test_client_measures_a_shifted_server(lab, scratch, shim, shift):
    real_server(lab, scratch, shim, shift)
    measure(lab, LOOPBACK, shift, f"{LOOPBACK}:123")


@pytest.mark.points(7)
@pytest.mark.netns
def test_client_reads_a_server_past_the_2036_era_rollover(lab, scratch, shim):
    # A server on 1 March 2036 (NTP era 1), whatever the date today.
    target = calendar.timegm((2036, 3, 1, 12, 0, 0))
    shift = float(target - int(time.time()))
    real_server(lab, scratch, shim, shift)
    measure(lab, LOOPBACK, shift, f"{LOOPBACK}:123", era_fix=True)


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_talks_to_a_real_server_over_ipv6(lab, scratch, shim):
    real_server(lab, scratch, shim, 3600.0, probe="::1")
    measure(lab, "::1", 3600.0, "[::1]:123")


# -- against a scripted fake server ------------------------------------------------

def start_fake(lab, timeout="0.5"):
    server = FakeServer(lab.host, ahead=FAKE_AHEAD)
    lab.step(f"a Python NTP server listens at {address(server.address, server.port)}, "
             f"stratum {server.stratum}, its clock {FAKE_AHEAD} s ahead")
    client = lab.run(LOOPBACK, "-p", server.port, "-t", timeout)
    return server, client


def next_request(lab, server, client, timeout=2.0, which="a request"):
    request = server.next_request(timeout, watch=client)
    if request is None:
        if client.poll() is not None:  # say how it ended: not implemented yet, a crash...
            client.expect(SERVER, timeout=0.2)
        lab.fail(f"the Python NTP server did not receive {which} within {timeout:g} s",
                 hint="sendto() a 48-byte request to the server's address and port")
    lab.step(f"the server received {len(request.data)} bytes from {address(*request.sender)}")
    return request


def expect_the_good_reply_used(lab, server, client, bad=""):
    """bad: what was wrong with the reply to discard ("with stratum 16"), if any."""
    result = expect_result(lab, client)
    lab.step(f"the client printed: {result.text}")
    used_bad = result.stratum == BAD_STRATUM or abs(result.offset - BAD_AHEAD) < 1
    lab.check(not used_bad, "the client used a reply it should have discarded"
              + (f": the one {bad}" if bad else ""),
              expected=f"stratum {server.stratum}, offset about {FAKE_AHEAD:+.6f} s "
                       "(the correct reply that followed)",
              got=result.text)
    lab.check(result.stratum == server.stratum and result.offset_near(FAKE_AHEAD),
              "the client did not report the correct reply right",
              expected=f"stratum {server.stratum}, offset {FAKE_AHEAD:+.6f} s within 50 ms "
                       "plus half the delay",
              got=result.text)
    expect_success(lab, client)
    return result


def discard_then_answer(lab, bad, told, reason, hint, **bad_fields):
    """The server answers the first request with a bad reply (stratum 9, a clock
    1000 s ahead, plus bad_fields, each a value or a function of the request's
    packet; or the bytes bad(reply bytes) gives), then with a
    correct one; the client must say why it discarded the first and use the second."""
    server, client = start_fake(lab)
    request = next_request(lab, server, client)
    if bad is None:
        fields = {name: value(request.packet) if callable(value) else value
                  for name, value in bad_fields.items()}
        bad = server.answer(request, **{"ahead": BAD_AHEAD, "stratum": BAD_STRATUM, **fields})
    else:
        bad = bad(server.answer(request, ahead=BAD_AHEAD, stratum=BAD_STRATUM).encode())
    lab.step(f"the server replied {told}, then sent a correct reply")
    server.send(request, bad)
    server.send(request, server.answer(request))
    expect_the_good_reply_used(lab, server, client, told)
    said = [text for text in client.stderr if re.search(reason, text, re.IGNORECASE)]
    lab.check(said, "the client did not say why it discarded the bad reply",
              expected=f"a line on stderr giving the reason (matching /{reason}/i)",
              got=" | ".join(client.stderr[-3:]) or "nothing on stderr", hint=hint)


@pytest.mark.points(5)
def test_client_sends_a_48_byte_version_4_request(lab):
    server, client = start_fake(lab)
    request = next_request(lab, server, client)
    data = request.data
    lab.check(len(data) == 48, "the request is not 48 bytes", expected="48 bytes",
              got=f"{len(data)} bytes", hint="send exactly NTP_PACKET_SIZE bytes")
    packet = request.packet
    lab.check(data[0] == 0x23, "the first byte of the request is wrong",
              expected="0x23: leap indicator 0, version 4, mode 3 (client)",
              got=f"0x{data[0]:02x}: leap {packet.leap}, version {packet.version}, "
                  f"mode {packet.mode}",
              hint="byte 0 is LI (2 bits) | VN (3 bits) | Mode (3 bits)")
    sent = from_ntp(packet.transmit, time.time())
    lab.check(packet.transmit != 0 and abs(sent - time.time()) < 5,
              "the request's transmit timestamp is not the client's clock",
              expected=f"about {utc(time.time())} UTC (bytes 40-47, NTP 32.32 since 1900)",
              got=f"0x{packet.transmit:016x} = {utc(sent)} UTC",
              hint="ntp_from_timespec() of clock_gettime(CLOCK_REALTIME), in network order")
    server.send(request, server.answer(request))
    expect_the_good_reply_used(lab, server, client)


@pytest.mark.points(4)
def test_client_discards_a_reply_that_is_not_mode_4(lab):
    for mode, what in ((MODE_CLIENT, "a client request, as a reflector would send"),
                       (5, "broadcast")):
        discard_then_answer(lab, None, f"with mode {mode} ({what})", r"mode",
                            "check that the mode is 4 (server), not just that it is not 3, "
                            "and say so when it is not", mode=mode)


@pytest.mark.points(5)
def test_client_stops_at_a_kiss_of_death(lab):
    for code in ("RATE", "DENY", "RSTR"):
        server, client = start_fake(lab)
        request = next_request(lab, server, client)
        lab.step(f"the server replied with a kiss-o'-death: stratum 0, leap 3, code {code}")
        server.send(request, server.answer(request, leap=3, stratum=0,
                                           reference_id=code.encode()))
        status = client.expect_exit(3)
        lab.check(status == 1, f"the client did not exit 1 after a kiss-o'-death ({code})",
                  expected="exit 1", got=f"exit {status}",
                  hint="stratum 0 is no time at all: it is the server telling you to stop")
        again = server.next_request(0.05, watch=client)
        lab.check(again is None, f"the client asked again after a kiss-o'-death ({code})",
                  expected="no further request", got=f"another {len(again.data) if again else 0}"
                  "-byte request", hint="stratum 0 is not a bad reply to wait past: RATE says "
                  "slow down, DENY and RSTR say stop; either way this client is done")
        lab.check(not any(text.startswith("Time:") for text in client.stdout),
                  "the client printed a time from a kiss-o'-death",
                  got=" | ".join(client.stdout[-4:]))
        lab.check(any(code in text for text in client.stderr + client.stdout),
                  f"the client did not print the kiss code {code}",
                  expected=f"e.g. \"kiss-o'-death from {address(server.address, server.port)}: "
                           f"{code}\" on stderr",
                  got=" | ".join(client.stderr[-3:]) or "nothing on stderr",
                  hint="the code is the four bytes of the reference id")
        server.close()


@pytest.mark.points(3)
def test_client_discards_stratum_16(lab):
    discard_then_answer(lab, None, "with stratum 16 (not synchronized)", r"stratum|synchroni",
                        "a valid stratum is 1 to 15: 16 means the server is not synchronized",
                        stratum=16)


@pytest.mark.points(4)
def test_client_ignores_a_forged_kiss_of_death(lab):
    server, client = start_fake(lab)
    request = next_request(lab, server, client)
    forger = udp_socket(lab.host)
    kiss = dict(ahead=BAD_AHEAD, leap=3, stratum=0, reference_id=b"DENY")
    lab.step(f"a socket at {address(*forger.getsockname())} (not the server) sent a "
             "kiss-o'-death DENY with the right originate timestamp")
    server.send(request, server.answer(request, **kiss), source=forger)
    lab.step("the server's address sent a kiss-o'-death DENY whose originate timestamp is "
             "not the request's transmit timestamp (a blind forgery)")
    server.send(request, server.answer(request, originate=(request.packet.transmit + (1 << 32))
                                       % (1 << 64), **kiss))
    lab.step("then the server sent a correct reply")
    server.send(request, server.answer(request))
    code = client.expect_exit(3)
    believed = [text for text in client.stderr if "DENY" in text and "kiss" in text.lower()]
    lab.check(code == 0 or not believed, "the client believed a forged kiss-o'-death",
              expected="both kisses discarded (wrong source; wrong originate timestamp), then "
                       "the correct reply used", got=believed[-1] if believed else None,
              hint="check the source address and the originate timestamp before you look at "
                   "the stratum: otherwise anyone can silence the client with one packet")
    expect_the_good_reply_used(lab, server, client)


@pytest.mark.points(3)
def test_client_blocks_while_waiting_for_the_reply(lab):
    server, client = start_fake(lab, timeout="5")
    request = next_request(lab, server, client)
    check_blocks(lab, client, "the server's reply (it runs with -t 5)", interval=0.4)
    while True:  # answer the latest request, whatever the client's tries
        later = server.next_request(0, watch=client)
        if later is None:
            break
        request = later
    server.send(request, server.answer(request))
    expect_the_good_reply_used(lab, server, client)


STRANGER_EVERY = 0.2   # s between a stranger's datagrams, shorter than -t
STRANGER_FOR = 3.0     # s the stranger keeps sending: six times -t


@pytest.mark.points(3)
def test_client_keeps_its_deadline_while_strangers_send(lab):
    server, client = start_fake(lab, timeout="0.5")
    first = next_request(lab, server, client)
    stranger = udp_socket(lab.host)
    lab.step(f"the server kept quiet; a stranger at {address(*stranger.getsockname())} sent a "
             f"reply every {STRANGER_EVERY} s (shorter than -t 0.5), for up to {STRANGER_FOR} s")
    bogus = server.answer(first, ahead=BAD_AHEAD, stratum=BAD_STRATUM).encode()
    started = time.monotonic()
    second = None
    while second is None and time.monotonic() - started < STRANGER_FOR:
        stranger.sendto(bogus, first.sender)
        second = server.next_request(STRANGER_EVERY, watch=client)
        if client.poll() is not None:
            break
    if second is None:
        if client.poll() is not None:
            client.expect(SERVER, timeout=0.2)  # says how it ended
        lab.fail(f"the client sent no second request within {STRANGER_FOR} s although the "
                 "server never answered", expected="a retry about 0.5 s after the first request",
                 got=f"none while a stranger sent a datagram every {STRANGER_EVERY} s",
                 hint="the try's deadline is fixed when the request goes out: after a "
                      "discarded datagram, wait only for the time left, not -t again")
    lab.step("the server answered the second request")
    server.send(second, server.answer(second))
    expect_the_good_reply_used(lab, server, client)


@pytest.mark.points(3)
def test_client_accepts_a_leap_second_warning(lab):
    for leap in (1, 2):
        server, client = start_fake(lab)
        request = next_request(lab, server, client)
        lab.step(f"the server replied correctly, with leap indicator {leap} (a leap second "
                 f"{'added' if leap == 1 else 'removed'} at the end of the day)")
        server.send(request, server.answer(request, leap=leap))
        code = client.expect_exit(3)
        lab.check(code == 0, f"the client refused a valid reply with leap indicator {leap}",
                  expected="the reply used: only leap indicator 3 means unsynchronized",
                  got=f"exit {code}; " + (" | ".join(client.stderr[-2:]) or "nothing on stderr"),
                  hint="leap indicators 1 and 2 announce a leap second; discard only 3")
        expect_the_good_reply_used(lab, server, client)
        server.close()


@pytest.mark.points(4)
def test_client_discards_an_unsynchronized_server(lab):
    discard_then_answer(lab, None, "with leap indicator 3 (clock not synchronized)",
                        r"leap|synchroni|alarm|\bLI\b",
                        "leap indicator 3 means the server does not know the time", leap=3)


@pytest.mark.points(4)
def test_client_discards_a_reply_with_no_transmit_timestamp(lab):
    discard_then_answer(lab, None, "with a zero transmit timestamp", r"transmit|zero",
                        "a reply whose transmit timestamp is 0 carries no time", transmit=0)


@pytest.mark.points(5)
def test_client_discards_a_reply_to_another_request(lab):
    discard_then_answer(lab, None, "with an originate timestamp 1 s off the request's "
                        "transmit timestamp (a forgery, or an answer to someone else)",
                        r"origin", "the reply's originate timestamp must equal the transmit "
                        "timestamp you sent, bit for bit",
                        originate=lambda asked: (asked.transmit + (1 << 32)) % (1 << 64))


@pytest.mark.points(3)
def test_client_discards_a_47_byte_reply(lab):
    discard_then_answer(lab, lambda reply: reply[:47], "with only 47 bytes",
                        r"47|short|length|size|truncat|bytes",
                        "check recvfrom()'s count before reading the header (ntp_decode)")


@pytest.mark.points(5)
def test_client_discards_replies_from_anyone_but_the_server(lab):
    server, client = start_fake(lab)
    request = next_request(lab, server, client)
    # Well-formed replies with the right originate timestamp, as someone who
    # sees the request could forge: only the source gives them away.
    spoofers = [(udp_socket(lab.host), "another port of the server's address"),
                (udp_socket(lab.host, "127.0.0.2", server.port),
                 "the server's port on another address")]
    for spoofer, where in spoofers:
        lab.step(f"a socket at {address(*spoofer.getsockname())} ({where}) sent a "
                 "well-formed reply (stratum 9)")
        server.send(request, server.answer(request, ahead=BAD_AHEAD, stratum=BAD_STRATUM),
                    source=spoofer)
    lab.step("then the server itself replied")
    server.send(request, server.answer(request))
    expect_the_good_reply_used(lab, server, client)
    for spoofer, where in spoofers:
        stranger = address(*spoofer.getsockname())
        lab.check(any(stranger in text for text in client.stderr),
                  f"the client did not report the reply from {where} that it discarded",
                  expected=f"a line on stderr naming {stranger}, e.g. 'discarded reply from "
                           f"{stranger}: not the server'",
                  got=" | ".join(client.stderr[-3:]) or "nothing on stderr",
                  hint="do not connect() the socket (the kernel would drop strangers unseen): "
                       "compare each sender with the server's address and say why you discard")


@pytest.mark.points(3)
def test_client_uses_a_duplicated_reply_once(lab):
    server, client = start_fake(lab)
    request = next_request(lab, server, client)
    lab.step("the server sent the same correct reply twice")
    reply = server.answer(request)
    server.send(request, reply)
    server.send(request, reply)
    expect_the_good_reply_used(lab, server, client)
    results = [text for text in client.stdout if text.startswith("Server ")]
    lab.check(len(results) == 1, "the client reported more than one reply",
              expected="one result", got=" | ".join(results))


@pytest.mark.points(4)
def test_client_retries_and_ignores_a_late_answer_to_the_lost_try(lab):
    server, client = start_fake(lab)
    first = next_request(lab, server, client)
    lab.step("the server kept quiet (a lost reply) until the client asked again")
    second = next_request(lab, server, client, which="a second request (a retry after -t 0.5 s)")
    lab.check(second.packet is not None and second.packet.transmit != first.packet.transmit,
              "the retry carries the same transmit timestamp as the first request",
              hint="stamp every request afresh: then a late answer to an old one is "
                   "recognised by its originate timestamp")
    lab.step("the server answered the FIRST request late (stratum 9), then the second")
    server.send(first, server.answer(first, ahead=BAD_AHEAD, stratum=BAD_STRATUM))
    server.send(second, server.answer(second))
    expect_the_good_reply_used(lab, server, client)


TRIES = 3
SLOW_LINK = Impairment(delay=0.05, jitter=0.005, seed=707)
LINK_PROBES = 5


def gaps_of_tries(lab, server, client, timeout):
    """Watch a server that never answers: the gaps between the requests that
    arrive, and the client's exit status."""
    arrivals = []
    while True:
        request = server.next_request(2.0 + timeout, watch=client)
        if request is None:
            break
        arrivals.append(request.arrival)
        lab.check(len(arrivals) <= 10, "the client does not stop resending",
                  expected=f"{TRIES} tries", got="more than 10 requests")
    if not arrivals:
        next_request(lab, server, client)  # fails with the story
    status = client.expect_exit(3)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    lab.step(f"the server received {len(arrivals)} requests"
             + (", apart by " + ", ".join(f"{gap:.3f} s" for gap in gaps) if gaps else "")
             + f"; the client ended with exit {status}")
    return gaps, status


def gives_up(lab, start, timeout):
    """start(timeout) -> (server, client), a server that never answers. The client
    must send TRIES requests, each -t after the last, then exit 1 with a message.
    A correct client may be late on a busy machine, never early: a run whose
    only fault is a late try is run once more, and the second run judged."""
    for run in (1, 2):
        server, client, capture = start(timeout)
        lab.step(f"the server never answers; the client runs with -t {timeout}")
        gaps, status = gaps_of_tries(lab, server, client, float(timeout))
        server.close()
        if capture is not None:  # the send times at the client's end of the link
            sent = [packet.time for packet in capture.stop() if packet.outgoing
                    and packet.protocol == ETH_P_IP and packet.data[9] == socket.IPPROTO_UDP
                    and socket.inet_ntoa(packet.data[16:20]) == server.address]
            if len(sent) == len(gaps) + 1:
                gaps = [b - a for a, b in zip(sent, sent[1:])]
        late = [gap for gap in gaps if gap > float(timeout) * 1.5 + 0.2]
        if not late or any(gap < float(timeout) * 0.7 for gap in gaps) or run == 2:
            break
        lab.step("a try ended later than -t: the machine may be busy, so the grader runs "
                 "the client once more")
    limit = float(timeout)
    lab.check(len(gaps) + 1 >= 2, "the client did not retry a lost request",
              expected=f"{TRIES} requests, -t apart", got="1 request",
              hint="UDP loses datagrams: resend a fresh request when a try's time is up")
    lab.check(min(gaps) >= 0.7 * limit, "the client resent before its timeout ran out",
              expected=f"requests {limit:g} s apart (-t {timeout})",
              got=", ".join(f"{gap:.3f} s" for gap in gaps),
              hint="wait out each try's deadline (poll() with the time left) before resending")
    lab.check(max(gaps) <= 1.5 * limit + 0.2, "the client waited longer than -t between tries",
              expected=f"requests {limit:g} s apart (-t {timeout})",
              got=", ".join(f"{gap:.3f} s" for gap in gaps),
              hint="-t takes fractions of a second: parse it with strtod() and wait "
                   "that long, in milliseconds for poll(), not rounded to whole seconds")
    lab.check(len(gaps) + 1 == TRIES, f"the client made {len(gaps) + 1} tries",
              expected=f"{TRIES} tries in all, then give up", got=f"{len(gaps) + 1} requests",
              hint=f"send at most {TRIES} requests, the first included")
    lab.check(status == 1, "the client did not exit 1 when no reply came", expected="exit 1",
              got=f"exit {status}")
    lab.check(client.stderr, "the client gave up without a word",
              expected="an error on stderr, e.g. 'no reply from 127.0.0.1:123 after 3 tries'",
              got="nothing on stderr")


@pytest.mark.points(5)
def test_client_gives_up_after_a_few_tries(lab):
    gives_up(lab, lambda timeout: (*start_fake(lab, timeout), None), "0.3")


@pytest.mark.points(3)
@pytest.mark.netns
def test_client_gives_up_after_a_few_tries_over_a_slow_link(lab):
    client_host, server_host = lab.net.host("client"), lab.net.host("server")
    link = lab.net.link(client_host, server_host, "10.7.0.0/24", impairment=SLOW_LINK)
    probe = client_host.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def start(timeout):
        server = FakeServer(server_host, link.b_address, ahead=FAKE_AHEAD)
        # One datagram first, so that the link is known to carry before the client's
        # timing counts; sent again each second (a busy machine's cable may be slow
        # to start), for at most LINK_PROBES seconds.
        for _ in range(LINK_PROBES):
            probe.sendto(b"probe", (link.b_address, server.port))
            if server.next_request(1.0) is not None:
                break
        else:
            lab.fail("the lab link carried nothing", hint="the grader's network failed: "
                     "please report it")
        # Send times come from the client's host: the user-space cable's own
        # scheduling must not make a correct client look early or late.
        capture = Capture([client_host])
        client = lab.run(link.b_address, "-p", server.port, "-t", timeout, host=client_host)
        return server, client, capture
    try:
        gives_up(lab, start, "0.3")
    finally:
        probe.close()
