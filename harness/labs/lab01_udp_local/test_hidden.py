"""Lab 01 udp_local: instructors' hidden tests. They vary what the visible tests
hold fixed (the port, the payload, where a forged reply comes from), so a
program written to the visible tests alone loses these points."""
import re

import pytest

from harness.grading.contract import address, line, quote
from harness.labs.lab01_udp_local.test_grader import (LOOPBACK, expect_client_line,
                                                      expect_reply, first_request,
                                                      start_client)
from harness.peers.udp import udp_socket

pytestmark = pytest.mark.hidden


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_listens_on_the_port_it_is_given(lab):
    port = 40517
    server = lab.run("server", "-p", port)
    server.expect(line("Listening at {addr}", addr=re.escape(f"{LOOPBACK}:{port}")),
                  hint=f"bind to the port given with -p ({port}), not to 0 or 1060")
    peer = udp_socket(lab.host)
    payload = bytes(range(33, 127)) * 9  # 846 bytes
    expect_reply(lab, server, peer, port, payload)
    expect_client_line(lab, server, peer, payload,
                       hint="print the sender's address and the whole payload, quoted")


@pytest.mark.points(5)
def test_client_ignores_a_reply_from_another_address_on_the_server_port(lab):
    peer, client = start_client(lab)
    data, sender = first_request(lab, peer, client)
    # The same port as the server's, on another loopback address: only a client
    # that compares the IP as well as the port sees that it is not the server.
    forger = udp_socket(lab.host, "127.0.0.2", peer.getsockname()[1])
    forged = b"Your data was 1 bytes long"
    lab.step(f"a socket at {address(*forger.getsockname())} (the server's port, another "
             f"address) sent '{quote(forged)}' to the client, then the real server replied")
    forger.sendto(forged, sender)
    peer.sendto(f"Your data was {len(data)} bytes long".encode(), sender)
    client.expect(line("The server {addr} replied 'Your data was {n} bytes long'",
                       addr=re.escape(address(*peer.getsockname())), n=str(len(data))),
                  hint="a reply counts only if both the IP and the port are the server's")
    taken = [l for l in client.stdout if "replied 'Your data was 1 bytes long'" in l]
    lab.check(not taken, "the client took a datagram from another address for the reply",
              got=taken[0] if taken else None,
              hint="compare sin_addr as well as sin_port with the server's address")
    lab.check(client.expect_exit(2) == 0, "the client did not exit 0 after the real reply")
    forger.close()
