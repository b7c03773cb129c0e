"""Lab 10 traceroute: TTL probes, ICMP answers through IP_RECVERR, and -I with a raw socket."""
TOPICS = ("ttl", "icmp", "ip_recverr", "raw_sockets", "internet_checksum", "udp")
