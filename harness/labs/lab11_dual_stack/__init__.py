"""Lab 11 dual_stack: showip, dual_server and dual_client; their grader, peers, network and demo."""
TOPICS = ("ipv6", "getaddrinfo", "dual_stack", "happy_eyeballs")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "showip": [["one", "two"], ["-p", "1060", "localhost"]],
    "dual_server": [["extra"], ["-p", "1060", "extra"], ["-p", "0x10"]],
    "dual_client": [["one", "two"], ["::1", "-p", "65536"], ["::1", "-p", "port"],
                    ["::1", "-t", "0"], ["::1", "-t", "-1"], ["::1", "-t", "nan"],
                    ["::1", "-t", "5s"], ["::1", "-t"]],
}
# Command lines that look like the self-test's generic bad ones but are right for
# this lab: `dual_server` alone listens on port 1060 (its synopsis: dual_server [-p PORT]).
VALID_COMMAND_LINES = {"dual_server": [[]]}
