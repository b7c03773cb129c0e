"""Lab 06 tcp_deadlock: its grader, peers and demo."""
TOPICS = ("tcp", "flow-control", "poll")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "tcp_deadlock": [
        ["client"],
        ["client", "127.0.0.1", "-5"],
        ["client", "127.0.0.1", "12ab"],
        ["client", "127.0.0.1", "99999999999999999999999"],
        ["client", "127.0.0.1", "16", "--mode", "fast"],
        ["server", "127.0.0.1", "16"],
        ["client", "no-such-host.invalid", "16"],
        ["client", "127.0.0.1", "16", "--mode", "poll", "-t", "0"],
        ["client", "127.0.0.1", "16", "--mode", "poll", "-t", "-2"],
        ["client", "127.0.0.1", "16", "--mode", "poll", "-t", "0.5"],
        ["client", "127.0.0.1", "16", "--mode", "poll", "-t", "3601"],
        ["client", "127.0.0.1", "16", "--timeout", "ten"],
        ["client", "127.0.0.1", "16", "-t"],
    ],
}
