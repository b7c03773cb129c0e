"""Lab 01 udp_local: its grader, peers and demo."""
TOPICS = ("udp", "sockets", "loopback")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "udp_local": [
        ["server", "extra"],
        ["client", "x" * 5000],
    ],
}
