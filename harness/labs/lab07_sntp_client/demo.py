"""Lab 07 demos: sntp_client against a real chronyd, its clock shifted with
libfaketime, and against a scripted Python server."""
import tempfile
import time

from harness.network.capture import ETH_P_IP, ETH_P_IPV6
from harness.labs.lab07_sntp_client.peers import MODE_CLIENT, MODE_SERVER, FakeServer, Packet, from_ntp
from harness.labs.lab07_sntp_client.chronyd import Chronyd, build_shim, unavailable_reason

SHIFT = 2.5  # seconds chronyd's clock runs ahead: the offset the client should find
RESULT = r"Delay: .*"


def real_server(demo, address, server_text):
    reason = unavailable_reason()
    if reason:
        demo.fail(f"this demo needs a real NTP server: {reason}")
    with tempfile.TemporaryDirectory(prefix="socklab-demo-ntp-") as scratch:
        demo.say(f"start chronyd on port 123, its clock {SHIFT:+} s off (libfaketime), "
                 "and wait until it answers")
        server = Chronyd(demo.host, scratch, build_shim(), shift=SHIFT, stratum=5)
        demo.lab.programs.append(server.program)
        try:
            server.ready(address)
        except RuntimeError as error:
            demo.fail(str(error))
        demo.start_capture()
        demo.say(f"ask it once: sntp_client {address}")
        client = demo.run(address, "-t", "1")
        demo.expect(client, RESULT)
        client.wait(3)
        demo.finish(four_timestamps(demo, server_text))


def four_timestamps(demo, server_text):
    """What to notice: T1..T4 read off the captured request and reply."""
    request = reply = None
    for packet in demo.capture.packets:
        ntp = ntp_payload(packet)
        if ntp is None:
            continue
        if ntp.mode == MODE_CLIENT:
            request = ntp
        elif ntp.mode == MODE_SERVER and request and ntp.originate == request.transmit:
            reply, arrival = ntp, packet.time
    if reply is None:
        return "The capture holds no request with its reply: see the packets above."
    t1, t2, t3 = (from_ntp(stamp, arrival) for stamp in
                  (reply.originate, reply.receive, reply.transmit))
    t4 = arrival  # the kernel's capture stamp: when the reply reached the client's host
    offset, delay = ((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)
    return f"""
        The request and the reply are one 48-byte datagram each. From the captured
        packets, in UTC:
          T1 = {clock(t1)}  client clock: request sent (the reply echoes it as "originate")
          T2 = {clock(t2)}  server clock: request received
          T3 = {clock(t3)}  server clock: reply sent
          T4 = {clock(t4)}  client clock: reply arrived (here: the capture's own stamp)
        offset = ((T2 - T1) + (T3 - T4)) / 2 = {offset:+.6f} s: the server's clock is
        {SHIFT:+} s off ours, and the client printed about the same. delay = (T4 - T1) -
        (T3 - T2) = {delay:.6f} s: the round trip, less the time chronyd held the request
        (the client's own T4 is a little later than the capture's, so its delay is a
        little longer). The client checked that the reply came from {server_text} and that
        its originate equals the T1 it sent, before it believed a single field.
        """


def clock(seconds):
    """HH:MM:SS.ffffff of a Unix time, in UTC."""
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f"{seconds % 1:.6f}"[1:]


def ntp_payload(packet):
    """The NTP packet inside a captured UDP datagram to or from port 123, or None."""
    data = packet.data
    if packet.protocol == ETH_P_IP and len(data) > 20 and data[9] == 17:
        udp = data[(data[0] & 0x0F) * 4:]
    elif packet.protocol == ETH_P_IPV6 and len(data) > 40 and data[6] == 17:
        udp = data[40:]
    else:
        return None
    ports = (int.from_bytes(udp[0:2], "big"), int.from_bytes(udp[2:4], "big"))
    if 123 not in ports or len(udp) < 8 + 48:
        return None
    return Packet.decode(udp[8:56])


def ipv4(demo):
    """the four timestamps of one request to a real chronyd"""
    real_server(demo, "127.0.0.1", "127.0.0.1:123")


def ipv6(demo):
    """the same over IPv6: getaddrinfo gives a sockaddr_in6, the rest is alike"""
    real_server(demo, "::1", "[::1]:123")


def kiss(demo):
    """a kiss-o'-death: stratum 0 and code RATE; the client stops asking"""
    demo.start_capture()
    server = FakeServer(demo.host)
    demo.say(f"a Python NTP server on 127.0.0.1:{server.port}")
    client = demo.run("127.0.0.1", "-p", server.port, "-t", "0.5")
    request = server.next_request(3, watch=client)
    if request is None:
        demo.fail("the client sent no request")
    demo.say("it answers with stratum 0, leap 3, reference id 'RATE'")
    server.send(request, server.answer(request, leap=3, stratum=0, reference_id=b"RATE"))
    client.wait(3)
    server.close()
    demo.finish("""
        Stratum 0 is not a time: it is a kiss-o'-death, and the four bytes of the
        reference id say why (RATE: you ask too often; DENY, RSTR: go away). The client
        printed the code and exited 1 without asking again: one request, one reply.
        """)


def lost(demo):
    """the first request is lost: the client asks again after its timeout"""
    demo.start_capture()
    server = FakeServer(demo.host, ahead=12.5)
    demo.say(f"a Python NTP server on 127.0.0.1:{server.port}, its clock 12.5 s ahead, "
             "that ignores the first request")
    client = demo.run("127.0.0.1", "-p", server.port, "-t", "0.5")
    if server.next_request(3, watch=client) is None:
        demo.fail("the client sent no request")
    second = server.next_request(3, watch=client)
    if second is None:
        demo.fail("the client did not ask again")
    demo.say("it answers the second request")
    server.send(second, server.answer(second))
    demo.expect(client, RESULT)
    client.wait(3)
    server.close()
    demo.finish("""
        The first request got no answer, so after its -t 0.5 s the client sent a fresh
        one, with a new transmit timestamp (see the two requests half a second apart).
        A late answer to the first would now be discarded: its originate would not match
        the new T1. After 3 unanswered tries the client gives up, exit 1.
        """)


EXPERIMENTS = {"": ipv4, "ipv6": ipv6, "kiss": kiss, "lost": lost}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r".*127\.0\.0\.1\.123 > 127\.0\.0\.1\.\d+: UDP, length 48: NTPv4, server, "
        r"stratum 5, reference [\d.]+, originate [\d.]+, receive [\d.]+, transmit",
        r"\s+T4 = .*"],
    "kiss": [r".*NTPv4, server, stratum 0, leap 3, kiss code RATE, .*"],
}
