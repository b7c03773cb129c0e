"""Lab 08 unix_echo: its grader, peers and demo."""
TOPICS = ("af_unix", "socketpair", "credentials", "descriptor-passing")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "unix_echo": [
        ["server"],
        ["server", ""],
        ["server", "@"],
        ["server", "/tmp/" + "x" * 200],
        ["server", "@" + "x" * 108],
        ["server", "/proc/no-such-dir/x.sock"],
        ["server", "a", "b"],
        ["client"],
        ["client", "/nonexistent/x.sock"],
        ["client", "x", "y", "z"],
        ["client", "@" + "x" * 120, "hi"],
        ["send-fd", "/nonexistent/x.sock"],
        ["send-fd", "/nonexistent/x.sock", "/nonexistent/file"],
        ["pair", "0"],
        ["pair", "101"],
        ["pair", "-3"],
        ["pair", "x"],
        ["pair", "3", "4"],
        ["client", "/x.sock", "--dgram"],
        ["bogus"],
        ["server", "/tmp/x.sock", "-t", "0"],
        ["client", "/tmp/x.sock", "-t", "-1"],
        ["client", "/tmp/x.sock", "hi", "-t", "2.5"],
        ["send-fd", "/tmp/x.sock", "/etc/hostname", "-t", "3601"],
        ["pair", "3", "--timeout", "forever"],
        ["pair", "-t"],
    ],
}
