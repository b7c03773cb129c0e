"""Generic detectors of common socket mistakes, for hints that name the cause a
test actually saw. Every lab may use them:

    errno_hint(error)               an OSError (or an errno) -> hint text, or ""
    stderr_hint(lines)              a program's stderr lines -> hint for the first
                                    known error text in them (err(3) prints strerror), or ""
    swapped(port)                   the port with its two bytes exchanged (htons twice, or never)
    bound_ports(program, "udp")     local ports of the sockets in the program's network
                                    namespace ("udp" or "tcp"; IPv4 and IPv6)
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


def bound_ports(program, kind="udp"):
    """The local ports of every socket of that kind in the network namespace the
    program runs in (read from /proc/PID/net, which shows the process's own
    namespace). Empty if the program has gone."""
    ports = set()
    for table in (kind, kind + "6"):
        try:
            with open(f"/proc/{program.pid}/net/{table}") as rows:
                next(rows)
                for row in rows:
                    local = row.split()[1]
                    ports.add(int(local.rsplit(":", 1)[1], 16))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    return ports


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


# A program blocked in poll(), recv() or accept() sleeps in the kernel: it uses
# next to no CPU and /proc shows it in state S. One that spins is runnable (R)
# whenever it is looked at, even when the machine is so busy that it gets little
# CPU (the sandbox lowers a hog's priority), so the share of samples in which it
# is runnable tells the two apart whatever the load; the CPU share is a second sign.
BUSY_RUNNABLE = 0.5
BUSY_CPU = 0.3
SAMPLES = 25


def session_states(program):
    """The states (R, S, D, ...) of the live processes of the program's session:
    the program, its sandbox and anything it forked."""
    states = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == program.pid:
            states.append(fields[0].decode())
    return states


def watch_quiet(program, interval=1.0):
    """Watch the program over a quiet interval (the test sends it nothing; ends
    early if it exits): (share of samples in which it was runnable, CPU seconds
    it used, seconds that passed)."""
    before, started = program.cpu_seconds(), time.monotonic()
    runnable = 0
    for _ in range(SAMPLES):
        # Not scaled (wait() scales): a slow machine must not stretch the quiet
        # interval past the program's own timeouts.
        if program.wait(interval / SAMPLES / scaled(1.0)) is not None:
            break
        runnable += "R" in session_states(program)
    return runnable / SAMPLES, program.cpu_seconds() - before, time.monotonic() - started


def check_blocks(lab, program, waiting_for, interval=1.0):
    """Fail the test if the program spins instead of blocking while it waits for
    waiting_for ("a datagram"): it must sleep in the kernel until something comes."""
    lab.step(f"for {interval:g} s nothing was sent to `{program.label}`, which should be "
             f"blocked waiting for {waiting_for}; the grader watched its state and CPU time")
    runnable, used, passed = watch_quiet(program, interval)
    lab.check(runnable <= BUSY_RUNNABLE and used <= BUSY_CPU * passed,
              f"the program kept the CPU busy while waiting for {waiting_for}",
              expected="a program asleep in the kernel (state S) using next to no CPU",
              got=f"runnable in {runnable:.0%} of {SAMPLES} looks, {used:.2f} s of CPU "
                  f"in {passed:.2f} s",
              hint="a loop around a non-blocking call (MSG_DONTWAIT, O_NONBLOCK, poll() with "
                   "timeout 0) busy-waits: block in recvfrom()/poll() with the time left instead")
