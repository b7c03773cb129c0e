"""Lab 04 udp_broadcast: its grader, network, peers and demo."""
TOPICS = ("udp", "broadcast", "multicast")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "udp_broadcast": [
        ["server"],
        ["client", "no-such-host.invalid"],
        ["client", "127.0.0.1", "--group", "10.0.0.1"],
        ["server", "0.0.0.0", "--group", "not-an-address"],
        ["bogus", "127.0.0.1"],
    ],
}
