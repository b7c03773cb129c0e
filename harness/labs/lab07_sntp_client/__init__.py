"""Lab 07 sntp_client: its grader, peers, chronyd and demo."""
TOPICS = ("udp", "ntp", "validation")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "sntp_client": [
        ["no-such-host.invalid"],
        ["127.0.0.1", "-t", "0"],
        ["127.0.0.1", "-t", "-1"],
        ["127.0.0.1", "-t", "abc"],
        ["127.0.0.1", "-t", "1e9"],
        ["127.0.0.1", "extra"],
    ],
}
