"""What a program really bound, read from the kernel's socket tables, so a grader
can tell a port printed in the wrong byte order (no ntohs()) from a server that
listens nowhere: the printed number and the bound one are each other's byte swap."""

# /proc/PID/net/{tcp,udp}[6] rows: "sl local_address rem_address st ...", the
# local address as hex IP:PORT; TCP state 0A is LISTEN (UDP sockets have no state).
TCP_LISTEN = "0A"


def swapped(port):
    """port with its two bytes exchanged: what printing sin_port without ntohs() shows."""
    return ((port & 0xFF) << 8) | (port >> 8)


def bound_ports(pid, protocol="tcp"):
    """The local ports of pid's network namespace's listening TCP (or bound UDP)
    sockets, IPv4 and IPv6; an empty set when the tables cannot be read."""
    ports = set()
    for table in (protocol, protocol + "6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as rows:
                next(rows, None)
                for row in rows:
                    fields = row.split()
                    if protocol == "tcp" and fields[3] != TCP_LISTEN:
                        continue
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except (OSError, IndexError, ValueError):
            continue
    return ports


def byte_swapped_port(pid, printed, protocol="tcp"):
    """The port really bound when the program printed `printed` byte-swapped
    (nothing bound at `printed`, something at its swap), else None."""
    ports = bound_ports(pid, protocol)
    real = swapped(printed)
    if printed not in ports and real in ports and real != printed:
        return real
    return None


def byte_order_hint(real, printed):
    """The hint for a port printed without ntohs(): real is the port in use."""
    return (f"{printed} is {real} with its two bytes swapped: sin_port is kept in network "
            "byte order, so print ntohs(sin_port) (or use sl_addr_text())")
