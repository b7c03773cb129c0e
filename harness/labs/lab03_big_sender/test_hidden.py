"""Lab 03 big_sender: instructors' hidden tests. They vary what the visible tests
hold fixed (the MTUs of the path, where on it the bottleneck is, the port), so a
program written to the visible tests alone loses these points."""
import pytest

from harness.labs.lab03_big_sender.network import routed_path
from harness.labs.lab03_big_sender.test_grader import (ALAS, reported_mtu, run_to_the_end,
                                                       check_path)
from harness.peers.udp import udp_socket

pytestmark = pytest.mark.hidden


@pytest.mark.points(5)
@pytest.mark.netns
def test_sender_finds_an_unusual_bottleneck_between_two_routers(lab):
    check_path(lab, (9000, 1492, 4000))


@pytest.mark.points(5)
@pytest.mark.netns
def test_sender_finds_a_bottleneck_on_its_own_link_to_the_port_it_is_given(lab):
    mtus, port = (1006, 9000), 4321
    path = routed_path(lab.net, mtus)
    lab.step(f"the grader built the path {path.describe()}: the sender's own link is "
             "the narrowest, so no router has anything to say")
    peer = udp_socket(path.far, "0.0.0.0", port)
    lab.step(f"a Python peer listens at {path.far_address}:{port}")
    sender = run_to_the_end(lab, path.far_address, "-p", port, host=path.sender)
    got = reported_mtu(lab, sender, hint="print 'Actual MTU: M' at the end")
    lab.check(got == path.bottleneck, f"wrong path MTU reported for {path.describe()}",
              expected=f"Actual MTU: {path.bottleneck}", got=f"Actual MTU: {got}",
              hint="the kernel refuses a datagram too big for the first link at once "
                   "(EMSGSIZE) and IP_MTU already knows the answer: never assume a "
                   "table of usual sizes")
    lab.check(ALAS in sender.stdout, "the refused first datagram was not reported",
              expected=f"'{ALAS}'", got="no such line")
    arrived = []
    peer.setblocking(False)
    try:
        while True:
            arrived.append(len(peer.recv(65535)))
    except BlockingIOError:
        pass
    peer.close()
    lab.step("the peer received datagrams of these sizes: "
             + (", ".join(map(str, arrived)) or "none"))
    lab.check(arrived, f"nothing arrived at {path.far_address}:{port}",
              expected=f"the probe that fits, sent to the port given with -p ({port})",
              hint="connect() to HOST and the port given with -p")
