"""Generic detectors of common socket mistakes, for hints that name the cause a
test actually saw. Every lab may use them:

    errno_hint(error)               an OSError (or an errno) -> hint text, or ""
    stderr_hint(lines)              a program's stderr lines -> hint for the first
                                    known error text in them (err(3) prints strerror), or ""
    swapped(port)                   the port with its two bytes exchanged (htons twice, or never)
    bound_ports(program, "udp")     local ports of the sockets in the program's network
                                    namespace ("udp" or "tcp"; IPv4 and IPv6)
    byte_swapped_port(program, printed, "tcp")
                                    the port really bound when `printed` is its byte swap
    byte_order_hint(real, printed)  the hint for a port printed without ntohs()
    check_blocks(lab, program, waiting_for)
                                    fail the test if the program spins while it should
                                    block (programs/activity.py measures it)
    port_hint(printed, program)     why a printed port may be wrong (0, byte-swapped), or ""
    check_printed_port(lab, printed, program, what)
                                    fail the test with a student-facing message if the port
                                    a program printed cannot be right (0, byte-swapped)

A hint here says what was seen ("ICMP port unreachable arrived"), then what to do.
"""
import errno
import os
import time

from harness.timeouts import scaled

ERRNO_HINTS = {
    errno.ECONNREFUSED: "the other side's port was closed: an ICMP port unreachable (UDP) or "
                        "a RST (TCP) arrived, which the kernel reports as ECONNREFUSED",
    errno.EACCES: "the kernel refused with EACCES: sending to a broadcast address needs "
                  "setsockopt(SO_BROADCAST, 1) first, and ports below 1024 need privileges",
    errno.ECONNRESET: "the connection was reset (a RST arrived): the other side closed a socket "
                      "with unread data, or aborted",
    errno.EPIPE: "writing to a connection the other side has closed (EPIPE)",
    errno.EADDRINUSE: "the address is already in use: another socket holds it "
                      "(SO_REUSEADDR lets a server rebind at once after a restart)",
    errno.EADDRNOTAVAIL: "the address is not one of this host's (EADDRNOTAVAIL)",
    errno.EMSGSIZE: "the datagram is larger than the path allows (EMSGSIZE)",
    errno.EINVAL: "an invalid argument (EINVAL), such as port 0 as a destination or a "
                  "wrong address length",
    errno.ENETUNREACH: "no route to that network (ENETUNREACH)",
    errno.EHOSTUNREACH: "no route to that host (EHOSTUNREACH)",
}

# The text err(3)/perror print for each errno above, to read a program's stderr.
STRERROR_HINTS = {os.strerror(code): hint for code, hint in ERRNO_HINTS.items()}


def errno_hint(error):
    """Hint for an OSError or an errno number, or "" if it is not a known cause."""
    code = error.errno if isinstance(error, OSError) else error
    return ERRNO_HINTS.get(code, "")


def stderr_hint(lines):
    """Hint for the first line of a program's stderr that ends in a known
    strerror text ("udp_remote: recv: Connection refused"), or ""."""
    for text in lines:
        for message, hint in STRERROR_HINTS.items():
            if text.endswith(message):
                return hint
    return ""


def swapped(port):
    """port with its two bytes exchanged: what printing sin_port without ntohs() shows."""
    return ((port & 0xFF) << 8) | (port >> 8)


# /proc/PID/net/{tcp,udp}[6] rows: "sl local_address rem_address st ...", the
# local address as hex IP:PORT; TCP state 0A is LISTEN (UDP sockets have no state).
TCP_LISTEN = "0A"


def bound_ports(program, kind="udp", listening=False):
    """The local ports of every socket of that kind ("udp" or "tcp"; IPv4 and IPv6)
    in the network namespace the program (a Program or a pid) runs in, read from
    /proc/PID/net, which shows the process's own namespace; with listening=True
    only listening TCP sockets. Empty if the program has gone."""
    pid = getattr(program, "pid", program)
    ports = set()
    for table in (kind, kind + "6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    if listening and kind == "tcp" and fields[3] != TCP_LISTEN:
                        continue
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    return ports


def byte_swapped_port(program, printed, kind="tcp"):
    """The port really bound when the program printed `printed` byte-swapped
    (nothing bound at `printed`, something at its swap), else None."""
    ports = bound_ports(program, kind, listening=True)
    real = swapped(printed)
    if printed not in ports and real in ports and real != printed:
        return real
    return None


def byte_order_hint(real, printed):
    """The hint for a port printed without ntohs(): real is the port in use."""
    return (f"{printed} is {real} with its two bytes swapped: sin_port is kept in network "
            "byte order, so print ntohs(sin_port) (or use sl_addr_text())")


def port_hint(printed, program=None, kind="udp"):
    """Why the port a program printed may be wrong, or "" if nothing is seen."""
    if printed == 0:
        return ("port 0 asks the OS to choose a port; print the port it chose, which "
                "getsockname() returns after bind()")
    if program is None:
        return ""
    bound = bound_ports(program, kind)
    if printed not in bound and swapped(printed) in bound:
        return (f"{printed} looks like the port without ntohs(): the socket is bound to "
                f"port {swapped(printed)}, and {printed} is that number with its two bytes "
                "swapped. sin_port is in network byte order; print ntohs(sin_port)")
    return ""


def check_printed_port(lab, printed, program, what="the server", kind="udp"):
    """Fail the test (with a hint) when a printed port is 0 or byte-swapped."""
    hint = port_hint(printed, program, kind)
    if hint:
        lab.fail(f"{what} printed port {printed}, which is not the port it is bound to",
                 expected="the port the socket is really bound to", got=str(printed), hint=hint)


# A program blocked in poll(), recv() or accept() sleeps in the kernel: it is
# neither running nor waiting for a CPU. One that spins is always one of the two,
# even when the machine is so busy that it gets little CPU (the sandbox lowers a
# hog's priority), so the share of a quiet interval it spends runnable tells the
# two apart whatever the load (programs/activity.py); the CPU share is a second sign.
BUSY_RUNNABLE = 0.5
BUSY_CPU = 0.3


def watch_quiet(program, interval=1.0):
    """Watch the program over a quiet interval (the test sends it nothing; ends
    early if it exits): (share of the interval it was runnable, CPU seconds it
    used, seconds that passed)."""
    runnable, cpu, started = program.runnable_seconds(), program.cpu_seconds(), time.monotonic()
    # Not scaled (wait() scales): a slow machine must not stretch the quiet
    # interval past the program's own timeouts.
    program.wait(interval / scaled(1.0))
    passed = time.monotonic() - started
    runnable = max(0.0, program.runnable_seconds() - runnable)
    return runnable / passed, max(0.0, program.cpu_seconds() - cpu), passed


def check_blocks(lab, program, waiting_for, interval=1.0):
    """Fail the test if the program spins instead of blocking while it waits for
    waiting_for ("a datagram"): it must sleep in the kernel until something comes.
    Not measured when the program runs under a wrapper (valgrind runs it many times
    slower, translating code as it goes): the plain grade measures it."""
    if lab.wrapper:
        lab.step(f"(whether `{program.label}` blocks is not measured under {lab.wrapper[0]})")
        return
    lab.step(f"for {interval:g} s nothing was sent to `{program.label}`, which should be "
             f"blocked waiting for {waiting_for}; the grader watched its state and CPU time")
    runnable, used, passed = watch_quiet(program, interval)
    lab.check(runnable <= BUSY_RUNNABLE and used <= BUSY_CPU * passed,
              f"the program kept the CPU busy while waiting for {waiting_for}",
              expected="a program asleep in the kernel, using next to no CPU",
              got=f"running or ready to run for {runnable:.0%} of {passed:.2f} s, "
                  f"{used:.2f} s of CPU",
              hint="a loop around a non-blocking call (MSG_DONTWAIT, O_NONBLOCK, poll() with "
                   "timeout 0) busy-waits: block in recvfrom()/poll() with the time left instead")
