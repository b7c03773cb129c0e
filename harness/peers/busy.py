"""Is a program blocked, or spinning? Measured so that a busy machine cannot change
the answer.

CPU time alone can: the sandbox demotes a program that has used a second of CPU
to the lowest priority, and on a loaded machine a spinning, demoted program gets
only a few percent of a core, as little as some blocked ones. The scheduler's own
accounting (/proc/PID/task/TID/schedstat) tells the two apart whatever the load:
a spinning thread is always either running or waiting for a CPU (runnable), so
the two add up to the whole interval; a thread blocked in poll() or recv() is
neither, so they add up to next to nothing. The sandbox's own supervising
processes (they wake a few times a second to watch the program, and on a loaded
machine each wake-up waits its turn for a CPU) are left out: only the program and
its children are measured."""
import os


SUPERVISOR = b"sandbox"  # the command name of programs/sandbox.c's processes


def _session_tasks(session):
    """(pid, thread id) of every thread of every live process whose session is
    `session`, but the sandbox's."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                command, rest = stat.read().split(b" (", 1)[1].rsplit(b")", 1)
            fields = rest.split()
            if int(fields[3]) != session or command == SUPERVISOR:  # state, ppid, pgrp, session
                continue
            for task in os.listdir(f"/proc/{entry}/task"):
                yield entry, task
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile


def runnable_seconds(program):
    """Seconds the threads of program's session (the program and its children, not
    the sandbox) have spent running or waiting to run, so far. Compare two readings around a quiet
    interval: about the whole interval for a busy wait, about 0 when blocked."""
    total = 0
    for pid, task in _session_tasks(program.pid):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                running, waiting = (int(x) for x in schedstat.read().split()[:2])
        except (OSError, ValueError):
            continue
        total += running + waiting
    return total / 1e9
