"""The sandbox every student program runs in: `build/harness/sandbox PROG ARGS…`,
compiled from sandbox.c (a small C program, so that it costs next to nothing per run).

Lab.run puts this in front of the program under test (peers and daemons the
harness starts itself run as they are), and build.py in front of a submission's
compiler. Inside, the program
  - has limits on CPU time, memory, processes, open files and file size, drops to
    the lowest CPU priority once it has used a second of CPU (a busy loop or a fork
    bomb must not starve other tests; a correct program computes far less and keeps
    its timing), and is stopped once it prints more than 2 MiB on a stream;
  - runs in its own PID namespace, so nothing it forks or daemonizes outlives it,
    and it cannot see or signal the grader's processes; and in its own IPC
    namespace, so no System V object is shared or left behind;
  - sees a file-system view of its own: the system's libraries and a few /etc
    files, its own binary, what the options show (a test's directory, a lab's
    /etc/hosts, a compile's /src), /proc, a minimal /dev, and empty private tmpfs
    for /tmp (TMPDIR), HOME and /dev/shm; nothing of the grader (repository,
    solutions, hidden tests, other submissions, the grader's home or /tmp);
  - gets a fixed environment (PATH, HOME, TMPDIR, LANG): nothing is inherited;
  - counts its processes in a user namespace of its own, so RLIMIT_NPROC limits
    this program alone and not the whole grader; when the grader is the real root
    it runs as SANDBOX_UID (65534) instead.
The network needs nothing here: the program already sits in its test's private
network namespace, which has no route out.

Fail closed: where no namespace can be made, a root grader's program runs as
65534 with no capability and no_new_privs (or not at all, if that fails), and an
ordinary user's is not run (it would have the grader's identity); where the view
cannot be built, the program is not run. docs/SECURITY.md has the measurements.

SOCKLAB_SANDBOX=off disables the sandbox (grade --no-sandbox); =no-memory-limit
leaves out the address-space limit, which sanitizers and valgrind cannot live with.
"""

import os

from harness.programs.build import build_tool
from harness.results.model import CPU_HOG, FLOODED

ENV = "SOCKLAB_SANDBOX"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.c")


def ensure_built():
    """The sandbox binary, compiled once into build/harness/ (see build_tool)."""
    return build_tool(SOURCE, "sandbox", "-std=c11", "-Wall", "-Wextra")


def command(events=None, open_files=None, net_raw=False, binds=(), writable=(), map_ids=False,
            chdir=None, memory_mib=None, env=None):
    """The prefix that runs a program in the sandbox ([] when it is switched off).

    events: a file the sandbox appends what it did to the program to (one line
    each: "flooded stdout", "cpu-hog"); open_files: the descriptor limit, or a
    (soft, hard) pair for a program that raises its own soft limit;
    net_raw: keep CAP_NET_RAW (and nothing else) for raw sockets in the test's
    network namespace; binds: (source, target) files or folders shown read-only
    at target (a lab's own /etc/hosts, a compile's sources); writable: folders shown
    writable, at their own path or "SOURCE:TARGET" (a per-test directory the program
    shares with the peers, a compile's /out); map_ids: map the lab root's users
    and groups one to one into the program's own user namespace, so that the ids the
    kernel reports to it (SO_PEERCRED, stat) are the lab root's, not the overflow id;
    chdir: where it starts in its view (default /); memory_mib: its address-space
    limit (default 256); env: variables added to its fixed environment.
    """
    if os.environ.get(ENV) == "off":
        return []
    prefix = [ensure_built()]
    if events:
        prefix += ["--events", events]
    if open_files:
        prefix += ["--open-files", ":".join(map(str, open_files))
                   if isinstance(open_files, tuple) else str(open_files)]
    if net_raw:
        prefix.append("--net-raw")
    if map_ids:
        prefix.append("--map-ids")
    for source, target in binds:
        prefix += ["--bind", f"{source}:{target}"]
    for folder in writable:
        prefix += ["--writable", folder]
    if chdir:
        prefix += ["--chdir", chdir]
    if memory_mib:
        prefix += ["--memory", str(memory_mib)]
    for name, value in (env or {}).items():
        prefix += ["--env", f"{name}={value}"]
    return prefix + ["--"]


# The lines of an events file, as the results model's symptoms.
EVENT_SYMPTOMS = {"flooded stdout": FLOODED, "flooded stderr": FLOODED, "cpu-hog": CPU_HOG}


def read_events(path):
    """The symptoms the sandbox recorded in its events file (an empty list if none)."""
    try:
        with open(path, errors="replace") as events:
            lines = events.read().splitlines()
    except OSError:
        return []
    return [EVENT_SYMPTOMS[line] for line in lines if line in EVENT_SYMPTOMS]
