"""Lab 11's hidden tests: the same contract with what the visible tests hold
fixed changed (how many addresses are blackholed, the port, the names and their
order), so a program tuned to the visible tests loses points here."""
import pytest

from harness.labs.lab11_dual_stack.network import (
    CLIENT, CLIENT6, SERVER, SERVER6, attempts_from, blackhole, capture_client, dual_world,
    expect_resolver_order, segments_of)
from harness.labs.lab11_dual_stack.peers import Servers
from harness.labs.lab11_dual_stack.test_grader import (
    STARTUP, check_stagger, expect_answered, expect_listing, expect_success, run_client,
    serve_one)
from harness.grading.contract import line

pytestmark = pytest.mark.hidden

PORT = 2611


@pytest.mark.points(5)
@pytest.mark.netns
def test_client_staggers_each_of_three_blackholed_addresses(lab):
    dead = ["fd00:1::3", "fd00:1::4", "fd00:1::5"]
    name = "three.lab"
    world = dual_world(lab, [(SERVER, name)] + [(a, name) for a in dead])
    blackhole(lab, world, *dead)
    expect_resolver_order(lab, world, name, [*dead, SERVER], "rule 6: IPv6 first; rule 9 puts "
                          "fd00:1::3 first, the others keep the file's order")
    servers = Servers(world.server, [SERVER6, SERVER], PORT)
    with capture_client(world) as capture:
        client = run_client(lab, world, name, PORT)
        reached, peer = serve_one(lab, servers, client, "start the next address every 250 ms "
                                  "while none has connected, keeping the others going")
        expect_success(lab, client, reached, peer, PORT)
        segments = segments_of(capture, PORT)
    syns = attempts_from(segments, {CLIENT, CLIENT6})
    lab.check([s.dst for s in syns] == [*dead, SERVER], "the client did not try each address "
              "once, in the resolver's order", expected=", ".join([*dead, SERVER]),
              got="; ".join(map(str, syns)) or "no SYN")
    for before, after in zip(syns, syns[1:]):
        check_stagger(lab, before, after, f"the attempt to {after.dst}")


@pytest.mark.points(5)
@pytest.mark.netns
def test_server_on_port_2611_serves_both_families_from_another_host(lab):
    world = dual_world(lab)
    server = lab.run("-p", PORT, program="dual_server", host=world.server)
    server.expect(line(f"Listening at [::]:{PORT}"), timeout=STARTUP)
    for to_ip in (SERVER, SERVER6, SERVER6, SERVER, SERVER6, SERVER):
        expect_answered(lab, server, world.client, to_ip, PORT)


@pytest.mark.points(5)
@pytest.mark.netns
def test_showip_orders_a_longer_list(lab):
    names = [("10.0.1.7", "many.lab"), ("fd00:9::1", "many.lab"), ("10.0.1.5", "many.lab"),
             (SERVER6, "many.lab"), ("10.0.1.6", "many.lab"), ("fd00:1::3", "many.lab")]
    world = dual_world(lab, names)
    expect_listing(lab, world, "many.lab",
                   [SERVER6, "fd00:1::3", "10.0.1.7", "10.0.1.5", "10.0.1.6", "fd00:9::1"],
                   "rule 1 puts fd00:9::1 (no route) last, rule 6 the other IPv6 addresses "
                   "first; the rest keeps the file's order")
