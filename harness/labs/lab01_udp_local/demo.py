"""Lab 01 demos: udp_local on a private loopback."""
import shutil

from harness.grading.contract import ADDRESS, line
from harness.peers.udp import receive, udp_socket

PORT = 1060
LISTENING = line("Listening at {addr}", addr=ADDRESS)
ASSIGNED = line("The OS assigned me the address {addr}", addr=ADDRESS)


def exchange(demo):
    """the client asks the server once, on a private loopback"""
    demo.start_capture()
    demo.say(f"start the server on port {PORT}, and wait for its 'Listening at' line")
    server = demo.run("server", "-p", PORT)
    demo.expect(server, LISTENING)
    demo.say("run the client once")
    client = demo.run("client", "-p", PORT)
    client.wait(5)
    demo.finish("""
        One datagram each way, and no connection: no handshake before the request, no
        goodbye after the reply. The client's source port is the one the OS assigned on
        its first sendto() (the same number it printed); the server answered exactly that
        address, which recvfrom() had given it. The reply is 27 bytes: the text with no
        newline and no NUL.
        """)


def spoof(demo):
    """a stranger answers the client first: it is ignored, the real port is not"""
    demo.start_capture()
    demo.say(f"a silent stand-in server binds 127.0.0.1:{PORT} (like `nc -u -l 127.0.0.1 {PORT}`)")
    stand_in = udp_socket(demo.host, "127.0.0.1", PORT)
    demo.say("start the client; it sends its request to the stand-in")
    client = demo.run("client", "-p", PORT)
    port = int(demo.expect(client, ASSIGNED)["port"])
    request = receive(stand_in, timeout=5)
    if request is None:
        demo.fail("the client's request never reached the stand-in server")
    demo.say(f"a stranger sends 'I am the server, honest' to the client's port {port}")
    stranger = say_to(demo, port, "I am the server, honest")
    demo.expect(client, r"Ignored a datagram from .*")
    demo.say(f"the stand-in answers from port {PORT}, the address the client wrote to")
    stand_in.sendto(b"I really am the server", request[1])
    client.wait(5)
    if stranger is not None:
        stranger.wait(3)  # nc -w1 leaves one idle second after sending
    stand_in.close()
    demo.finish(f"""
        The client compares each datagram's source (IP and port) with the address it
        sent to. The stranger's datagram came from another port, so it was reported and
        ignored; the stand-in's came from 127.0.0.1:{PORT}, so the client took it as the
        reply, although no real server ever ran. Checking the address stops strangers,
        not someone who can send from the server's own address.
        """)


def say_to(demo, port, text):
    """Send text to 127.0.0.1:port from a fresh port: with nc if it is installed
    (its Program, to wait for), else from Python (None)."""
    if shutil.which("nc"):
        shell = f"printf '%s' '{text}' | nc -u -w1 127.0.0.1 {port}"
        return demo.command(["sh", "-c", shell],
                            label=f"echo -n '{text}' | nc -u -w1 127.0.0.1 {port}")
    with udp_socket(demo.host) as stranger:
        stranger.sendto(text.encode(), ("127.0.0.1", port))
    return None


def no_server(demo):
    """the client runs before any server: its datagram vanishes, and it waits"""
    demo.start_capture()
    demo.say(f"run the client with nothing on port {PORT}; give it two seconds")
    client = demo.run("client", "-p", PORT)
    demo.expect(client, ASSIGNED)
    client.wait(2)
    demo.finish("""
        The kernel answered the datagram at once with ICMP "port unreachable" (see the
        packets), but an unconnected UDP socket is never told: the client sits in
        recvfrom() for ever, until the demo stops it. Lab 02 adds the two cures: a
        timeout on every wait, and connect(), after which the kernel reports that ICMP
        error as ECONNREFUSED.
        """)


def size(demo):
    """the largest datagram arrives whole; one byte more is refused by the sender"""
    demo.start_capture()
    demo.say(f"start the server on port {PORT}")
    server = demo.run("server", "-p", PORT)
    demo.expect(server, LISTENING)
    with udp_socket(demo.host) as sender:
        for count in (65507, 65508):
            demo.say(f"a Python client sends {count} bytes to 127.0.0.1:{PORT}")
            try:
                sender.sendto(b"x" * count, ("127.0.0.1", PORT))
                reply = receive(sender, timeout=5)
                demo.say(f"  reply: {reply[0].decode() if reply else 'none'}")
            except OSError as error:
                demo.say(f"  sendto() failed: OSError: [Errno {error.errno}] {error.strerror}")
    demo.finish("""
        65507 bytes is the largest UDP payload over IPv4: 65535, the most the IP header's
        16-bit length field can say, less 20 bytes of IP header and 8 of UDP header. The
        loopback's MTU is 65536, so it went as one packet. 65508 bytes never left: the
        sender's own kernel refused it with EMSGSIZE, "Message too long".
        """)


EXPERIMENTS = {"": exchange, "spoof": spoof, "no-server": no_server, "size": size}

# What each experiment must show (tests/selftest/test_demo.py): regexes, each
# matching some line of its output.
SHOWS = {
    "": [r"In  IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.1060: UDP, length 38: 'The time is ",
        r"In  IP 127\.0\.0\.1\.1060 > 127\.0\.0\.1\.\d+: UDP, length 27: "
        r"'Your data was 38 bytes long'"],
    "spoof": [r"\s+Ignored a datagram from 127\.0\.0\.1:\d+, which is not the server: "
        r"'I am the server, honest'"],
    "no-server": [r".*ICMP 127\.0\.0\.1 udp port 1060 unreachable, length 74"],
    "size": [r".*UDP, length 65507: .*", r".*\[Errno 90\] Message too long"],
}
