"""Lab 09 chat_server and chat_client: their grader, peers and demo."""
TOPICS = ("tcp", "poll", "non-blocking", "many-clients")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "chat_server": [
        ["127.0.0.1", "extra"],
        ["::zz"],
        ["no-such-host.invalid"],
        ["-p", "1060", "127.0.0.1", "-p"],
    ],
    "chat_client": [
        ["127.0.0.1", "extra"],
        ["no-such-host.invalid"],
        ["127.0.0.1", "-p", "9"],
    ],
}
