"""Lab 05 tcp_sixteen: its grader and demo."""
TOPICS = ("tcp", "streams")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "tcp_sixteen": [
        ["server"],
        ["client", "no-such-host.invalid"],
        ["client", "127.0.0.1", "extra"],
        ["server", "::zz"],
        ["client", "127.0.0.1", "-t", "0"],
        ["client", "127.0.0.1", "-t", "-1"],
        ["client", "127.0.0.1", "-t", "1.5"],
        ["server", "127.0.0.1", "-t", "3601"],
        ["server", "127.0.0.1", "-t", "99999999999999999999"],
        ["server", "127.0.0.1", "--timeout", ""],
        ["client", "127.0.0.1", "-t"],
    ],
}
