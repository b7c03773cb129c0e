"""What a running program is doing, read from /proc: its processes, the CPU they
used, and how long they were runnable. Graders use it to tell a program that
blocks in the kernel (poll, recv, accept) from one that spins, whatever the load.

CPU time alone cannot tell them apart on a busy machine: the sandbox demotes a
program that has used a second of CPU to the lowest priority, and a spinning,
demoted program then gets only a few percent of a core. The scheduler's own
accounting (/proc/PID/task/TID/schedstat: nanoseconds running, nanoseconds waiting
for a CPU) can: a spinning thread is always one of the two, so they add up to the
whole interval; a thread blocked in the kernel is neither.

A program is followed through its descendants (not its session: setsid() would
hide a child from that), and the sandbox's own supervising processes are left out
(they wake a few times a second to watch the program)."""
import os

SUPERVISOR = "sandbox"  # the command name of programs/sandbox.c's processes


def descendants(pid):
    """pid and every live process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])  # state, ppid, ...
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def command_name(pid):
    """The process's command name (/proc/PID/comm), or "" once it has gone."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def _schedstats(pid):
    """(running, waiting) nanoseconds of every thread of the program started as
    pid and of its children, the sandbox's processes left out."""
    for process in descendants(pid):
        if command_name(process) == SUPERVISOR:
            continue
        try:
            for task in os.listdir(f"/proc/{process}/task"):
                with open(f"/proc/{process}/task/{task}/schedstat") as schedstat:
                    running, waiting = (int(x) for x in schedstat.read().split()[:2])
                yield running, waiting
        except (OSError, ValueError):
            continue  # it ended meanwhile


def cpu_seconds(pid):
    """CPU time used so far by the program started as pid and its children."""
    return sum(running for running, _ in _schedstats(pid)) / 1e9


def runnable_seconds(pid):
    """Seconds the program and its children have spent running or waiting to run.
    Compare two readings around a quiet interval: about the whole interval for a
    busy wait, about 0 when blocked."""
    return sum(running + waiting for running, waiting in _schedstats(pid)) / 1e9
