"""Lab 07 sntp_client: instructors' hidden tests. They vary what the visible tests
hold fixed (the per-try timeout, the server's address, stratum and clock), so a
program written to the visible tests alone loses these points."""
import time

import pytest

from harness.grading.contract import address
from harness.labs.lab07_sntp_client.peers import FakeServer
from harness.peers.udp import receive_until
from harness.labs.lab07_sntp_client.test_grader import (expect_result, expect_success,
                                                        next_request)

pytestmark = pytest.mark.hidden

BEHIND = -3.25  # the server's clock, behind the grader's
TIMEOUT, QUIET = 2.5, 1.5  # the client's -t; how long the server then keeps quiet (unscaled)


@pytest.mark.points(5)
def test_client_waits_out_the_timeout_it_is_given(lab):
    server = FakeServer(lab.host, ahead=BEHIND)
    lab.step(f"a Python NTP server listens at {address(server.address, server.port)}; the "
             f"client runs with -t {TIMEOUT}")
    client = lab.run("127.0.0.1", "-p", server.port, "-t", TIMEOUT)
    request = next_request(lab, server, client)
    lab.step(f"the server kept quiet for {QUIET} s (well inside the {TIMEOUT} s the client "
             "was told to wait), then answered")
    # The wait is the behaviour under test, so it is not scaled: a slow machine
    # makes the client's timeout no shorter.
    again = receive_until(server.sock, time.monotonic() + QUIET, watch=client)
    lab.check(again is None, f"the client asked again before its timeout of {TIMEOUT} s was up",
              expected=f"one request, then a wait of up to {TIMEOUT} s",
              hint="wait as long as -t says (fractions allowed): parse it with "
                   "sl_parse_double() and use it for every try")
    server.send(request, server.answer(request))
    result = expect_result(lab, client)
    lab.step(f"the client printed: {result.text}")
    lab.check(result.offset_near(BEHIND), "the client did not report the reply right",
              expected=f"Offset: {BEHIND:+.6f} s (within 50 ms plus half the delay)", got=result.text)
    expect_success(lab, client)


@pytest.mark.points(5)
def test_client_discards_stratum_16_from_a_server_on_another_address(lab):
    server = FakeServer(lab.host, address="127.0.0.5", ahead=BEHIND, stratum=2)
    where = address(server.address, server.port)
    lab.step(f"a Python NTP server listens at {where}, stratum 2, its clock {-BEHIND} s "
             "behind")
    client = lab.run(server.address, "-p", server.port, "-t", "0.5")
    request = next_request(lab, server, client)
    lab.step("the server replied with stratum 16 (unsynchronized), then with a correct reply")
    server.send(request, server.answer(request, ahead=1000.0, stratum=16))
    server.send(request, server.answer(request))
    result = expect_result(lab, client)
    lab.step(f"the client printed: {result.text}")
    lab.check(result.server == where and result.stratum == 2,
              "the client did not report the server it asked and its stratum",
              expected=f"Server {where} stratum 2", got=result.text,
              hint="stratum 16 and above means unsynchronized: discard it (1..15 are "
                   "valid) and print the address the good reply came from")
    lab.check(result.offset_near(BEHIND), "the client did not report the good reply",
              expected=f"Offset: {BEHIND:+.6f} s (within 50 ms plus half the delay)", got=result.text)
    expect_success(lab, client)
