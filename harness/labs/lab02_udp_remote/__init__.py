"""Lab 02 udp_remote: its grader, peers and demo."""
TOPICS = ("udp", "timeouts", "backoff")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "udp_remote": [
        ["server"],
        ["client", "no-such-host.invalid"],
        ["server", "127.0.0.1", "--drop", "1.5"],
        ["server", "127.0.0.1", "--drop", "nan"],
        ["server", "127.0.0.1", "--seed", "-3"],
        ["client", "127.0.0.1", "extra"],
        ["client", "127.0.0.1", "--first-wait", "0"],
        ["client", "127.0.0.1", "--first-wait", "-0.1"],
        ["client", "127.0.0.1", "--first-wait", "inf"],
        ["client", "127.0.0.1", "--first-wait", "0.1s"],
        ["server", "127.0.0.1", "--first-wait", "0.1"],
        ["server", "x" * 5000],
    ],
}
