"""Lab 03 big_sender: its grader, network and demo."""
TOPICS = ("udp", "mtu", "icmp")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "big_sender": [
        ["no-such-host.invalid"],
        ["127.0.0.1", "extra"],
        ["256.1.1.1"],
    ],
}
