"""The sandbox every student program runs in: `build/harness/sandbox PROG ARGS…`,
compiled from sandbox.c (a small C program, so that it costs next to nothing per run).

Lab.run puts this in front of the program under test (peers and daemons the
harness starts itself run as they are). Inside, the program
  - has limits on CPU time, memory, processes, open files and file size, drops to
    the lowest CPU priority once it has used a second of CPU (a busy loop or a fork
    bomb must not starve other tests; a correct program computes far less and keeps
    its timing), and is stopped once it prints more than 2 MiB on a stream;
  - runs in its own PID namespace, so nothing it forks or daemonizes outlives it,
    and it cannot see or signal the grader's processes;
  - runs in its own mount namespace in which every file system is read-only
    (the repository, the harness, the tests, the results, /tmp); its TMPDIR is
    a small private tmpfs on /dev/shm (not on /tmp, which may hold the
    repository or the program itself);
  - counts its processes in a user namespace of its own, so RLIMIT_NPROC limits
    this program alone and not the whole grader; when the grader is the real root
    (exempt from RLIMIT_NPROC) it runs as SANDBOX_UID instead, if the lab root
    maps that uid (namespaces.py does so for root).
The network needs nothing here: the program already sits in its test's private
network namespace, which has no route out.

Where namespaces are unavailable, the limits still apply, and the sandbox (a
child subreaper) kills whatever the program left behind when it exits.

SOCKLAB_SANDBOX=off disables the sandbox (grade --no-sandbox); =no-memory-limit
leaves out the address-space limit, which sanitizers and valgrind cannot live with.
"""

import os
import subprocess
import tempfile

from harness.catalog import ROOT

ENV = "SOCKLAB_SANDBOX"
SOURCE = os.path.join(ROOT, "harness", "sandbox.c")
BINARY = os.path.join(ROOT, "build", "harness", "sandbox")


def ensure_built():
    """Compile sandbox.c into BINARY unless it is there and newer. The binary appears
    by an atomic rename, so graders sharing build/ never run a half-written one."""
    if os.path.exists(BINARY) and os.path.getmtime(BINARY) >= os.path.getmtime(SOURCE):
        return BINARY
    folder = os.path.dirname(BINARY)
    os.makedirs(folder, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".sandbox-")
    os.close(handle)
    built = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=c11", "-Wall", "-Wextra",
                            "-o", partial, SOURCE], capture_output=True, text=True)
    if built.returncode != 0:
        os.unlink(partial)
        raise SystemExit(f"grade: cannot build the sandbox ({SOURCE}):\n{built.stderr}")
    os.chmod(partial, 0o755)
    os.replace(partial, BINARY)
    return BINARY


def command():
    """The prefix that runs a program in the sandbox ([] when it is switched off)."""
    if os.environ.get(ENV) == "off":
        return []
    return [ensure_built()]
