"""Lab 04 udp_broadcast: instructors' hidden tests. They vary what the visible
tests hold fixed (the LAN's subnet and broadcast address, the port, the group),
so a program written to the visible tests alone loses these points."""
import pytest

from harness.grading.contract import address, quote
from harness.labs.lab04_udp_broadcast.network import broadcast_lan
from harness.labs.lab04_udp_broadcast.peers import listener, multicast_sender
from harness.labs.lab04_udp_broadcast.test_grader import (expect_message, expect_report,
                                                          run_client, start_server)

pytestmark = pytest.mark.hidden

PORT = 5151
GROUP = "239.255.42.99"


class SmallLan:
    """Hosts on a /26 whose broadcast address does not end in .255, with the
    address(host) that expect_message asks of a network."""

    def __init__(self, net, count):
        self.hosts = [net.host(f"h{n}") for n in range(1, count + 1)]
        self.lan = net.lan(self.hosts, "10.9.8.64/26")

    def address(self, host):
        return self.lan.address_of(host)


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_broadcast_reaches_a_small_subnet_on_the_port_it_is_given(lab):
    net = SmallLan(lab.net, 3)
    peers = [(host, listener(host, PORT)) for host in net.hosts[1:]]
    lab.step(f"a LAN 10.9.8.64/26 (broadcast {net.lan.broadcast}); Python servers listen "
             f"at 0.0.0.0:{PORT} on " + ", ".join(host.name for host, _ in peers))
    run_client(lab, net, net.lan.broadcast, "-p", PORT, port=PORT)
    for host, sock in peers:
        expect_message(lab, net, sock, host, hint="sendto() the address HOST and the port "
                       "given with -p; a broadcast address need not end in .255")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_joins_the_group_it_is_given_on_the_port_it_is_given(lab):
    net = broadcast_lan(lab.net, count=2)
    host = net.hosts[1]
    server, match = start_server(lab, host, net.address(host), "--group", GROUP, "-p", PORT)
    expected = f"Listening for datagrams at 0.0.0.0:{PORT} in group {GROUP}"
    lab.check(match[0] == expected, "wrong first line for a server in a group",
              expected=expected, got=match[0],
              hint="bind to any address on the port given with -p and join the group given "
                   "with --group")
    peer = multicast_sender(net.hosts[0], net.address(net.hosts[0]))
    payload = b"For the members of 239.255.42.99 only \x00\xff"
    lab.step(f"a Python client at {address(*peer.getsockname())} sent '{quote(payload)}' "
             f"to {GROUP}:{PORT} (TTL 1)")
    peer.sendto(payload, (GROUP, PORT))
    expect_report(server, peer, payload,
                  hint="join the group named by --group (IP_ADD_MEMBERSHIP), whatever it is")
