"""Lab 02 udp_remote: instructors' hidden tests. They vary what the visible tests
hold fixed (the server's reply, how many clients the server has), so a program
written to the visible tests alone loses these points."""
import re

import pytest

from harness.grading.contract import address, line, quote
from harness.labs.lab02_udp_remote.peers import serve_slowly, stamped_socket
from harness.labs.lab02_udp_remote.test_grader import (check_answered, check_exit,
                                                       check_sent_the_request, network,
                                                       start_server)

pytestmark = pytest.mark.hidden

ODD_REPLY = b"Pong #7 \x01\xfe from a server that says what it likes"


@pytest.mark.points(5)
@pytest.mark.time_limit(10)
def test_client_prints_whatever_the_server_replies(lab):
    net = network(lab)
    with stamped_socket(net.server, net.server_ip) as sock:
        port = sock.getsockname()[1]
        lab.step(f"a Python server at {address(net.server_ip, port)} ignores the first "
                 f"request and answers the second with '{quote(ODD_REPLY)}'")
        client = lab.run("client", net.server_ip, "-p", port, host=net.client, lifetime=10)
        arrivals = serve_slowly(sock, client, 1, timeout=10, reply=ODD_REPLY)
    check_sent_the_request(lab, client, arrivals)
    client.expect(line("The server says '{text}'", text=re.escape(quote(ODD_REPLY))), timeout=1,
                  hint="print the bytes that came back, quoted with sl_quote(): the reply is "
                       "whatever the server sent, not a text you expect")
    check_exit(lab, client, 0, "after the reply")


@pytest.mark.points(5)
@pytest.mark.time_limit(10)
def test_server_answers_each_of_two_clients_at_its_own_address(lab):
    net = network(lab, stranger=True)
    server, server_address = start_server(lab, net, "--drop", 0)
    with net.client.socket() as first, net.stranger.socket() as second:
        first.bind((net.client_ip, 0))
        second.bind((net.stranger_ip, 0))
        for number in range(3):
            for sock in (first, second):
                me = address(*sock.getsockname())
                check_answered(lab, server, sock, me, server_address,
                               b"Client %s, message %d" % (me.encode(), number) + b"!" * number)
