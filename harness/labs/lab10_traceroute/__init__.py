"""Lab 10 traceroute: TTL probes, ICMP answers through IP_RECVERR, and -I with a raw socket."""
TOPICS = ("ttl", "icmp", "ip_recverr", "raw_sockets", "internet_checksum", "udp")
# Command lines with bad values in the right places, beyond what the graded tests
# try: every one must get a clear error, never a crash (tests/selftest/test_bad_input.py).
BAD_COMMAND_LINES = {
    "traceroute": [
        ["-I"],
        ["127.0.0.1", "-m", "-5"],
        ["127.0.0.1", "-m", "99999999999999999999"],
        ["127.0.0.1", "-q", "0x3"],
        ["127.0.0.1", "-w", "nan"],
        ["127.0.0.1", "-w", "1e9"],
        ["127.0.0.1", "-w", "-1"],
        ["256.1.1.1"],
        ["127.0.0.1", "extra"],
    ],
}
