"""The sandbox every student program runs in: `python3 sandbox.py PROG ARGS…`.

Lab.run puts this in front of the program under test (peers and daemons the
harness starts itself run as they are). Inside, the program
  - has limits on CPU time, memory, processes, open files and file size, runs at
    the lowest CPU priority, and is stopped once it prints more than OUTPUT_LIMIT
    on a stream;
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

Where namespaces are unavailable, the limits still apply, and this process (a
child subreaper) kills whatever the program left behind when it exits.

SOCKLAB_SANDBOX=off disables the sandbox (grade --no-sandbox); =no-memory-limit
leaves out the address-space limit, which sanitizers and valgrind cannot live with.

Standard library only, and no harness imports: this file is run as a script so
that starting a program costs as little as possible.
"""
import ctypes
import errno
import os
import resource
import select
import signal
import sys

ENV = "SOCKLAB_SANDBOX"
SANDBOX_UID = 65534
# Bytes per stream before the program is stopped: below process.py's OUTPUT_LIMIT,
# so that the note saying so still reaches the grader.
OUTPUT_LIMIT = 2 * 1024 * 1024
MEMORY_LIMIT = 256 * 1024 * 1024   # address space
CPU_SECONDS = 10                   # scaled by SOCKLAB_TIMEOUT_SCALE
MAX_PROCESSES = 16
# Student programs yield the CPU to the grader and its peers: a fork bomb or busy
# loop in one submission must not make another's tests miss their deadlines.
NICENESS = 19
MAX_OPEN_FILES = 256
MAX_FILE_SIZE = 16 * 1024 * 1024
TMP_SIZE = "16m"
PRIVATE_TMP = "/dev/shm"

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
              "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}

_libc = ctypes.CDLL(None, use_errno=True)
_private_tmp_ready = False  # set once PRIVATE_TMP is our own tmpfs


def command():
    """The prefix that runs a program in the sandbox ([] when it is switched off)."""
    if os.environ.get(ENV) == "off":
        return []
    return [sys.executable, "-S", os.path.abspath(__file__)]


# -- setting up (in the children) ---------------------------------------------------

def _call(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    _call(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def make_files_read_only():
    """In a fresh mount namespace: a /proc for the new PID namespace, every mount
    read-only, and a private writable PRIVATE_TMP. A mount that cannot be changed is
    reported, so a self-test notices, but does not stop the program."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    with open("/proc/self/mountinfo") as table:
        targets = [line.split()[4:6] for line in table]
    for target, options in targets:
        target = target.encode().decode("unicode_escape")  # \040 for spaces, …
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        # A remount must keep the flags the parent namespace locked in place.
        flags |= sum(bit for name, bit in KEPT_FLAGS.items() if name in options.split(","))
        try:
            _mount(None, target, None, flags)
        except OSError as error:
            if error.errno not in (errno.ENOENT, errno.EACCES):
                print(f"sandbox: {error}", file=sys.stderr)
    if os.path.isdir(PRIVATE_TMP):
        global _private_tmp_ready
        _mount("tmpfs", PRIVATE_TMP, "tmpfs", MS_NOSUID | MS_NODEV, f"size={TMP_SIZE},mode=1777")
        os.environ["TMPDIR"] = PRIVATE_TMP
        _private_tmp_ready = True


def _maps_uid(uid):
    """Is uid mapped in this user namespace, and is our own uid 0 the real root?"""
    try:
        with open("/proc/self/uid_map") as table:
            rows = [tuple(map(int, line.split())) for line in table]
    except OSError:
        return False
    real_root = any(inside == 0 and outside == 0 for inside, outside, _ in rows)
    return real_root and any(inside <= uid < inside + count for inside, _, count in rows)


def drop_to_own_user(argv):
    """Leave the real root (exempt from RLIMIT_NPROC) if we can, then enter a user
    namespace of our own so that RLIMIT_NPROC counts this program's processes only.
    Returns argv, its files made reachable for SANDBOX_UID if need be."""
    if os.getuid() == 0 and _maps_uid(SANDBOX_UID):
        os.setgroups([])
        reachable = reachable_argv(argv)
        if reachable is not None:  # else stay root: the program could not even start
            argv = reachable
            os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
            os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    _libc.unshare(CLONE_NEWUSER)  # best effort: without it the count is per grader
    return argv


def reachable_argv(argv):
    """argv with every file SANDBOX_UID cannot reach (a tree under a private home,
    say) bind-mounted into the private tmpfs under its own name; None if that
    cannot be done."""
    result = list(argv)
    for index, arg in enumerate(argv):
        if not (arg.startswith("/") and os.path.isfile(arg)) or _reachable(arg, index == 0):
            continue
        if not _private_tmp_ready:
            return None
        folder = os.path.join(PRIVATE_TMP, ".programs", str(index))
        os.makedirs(folder, mode=0o755)
        target = os.path.join(folder, os.path.basename(arg))
        open(target, "w").close()
        _mount(arg, target, None, MS_BIND)
        if not _reachable(target, index == 0):
            return None  # the file itself is not readable by others
        result[index] = target
    return result


def _reachable(path, run):
    """Could SANDBOX_UID run (or read) path?"""
    os.setegid(SANDBOX_UID)
    os.seteuid(SANDBOX_UID)
    try:
        return os.access(path, os.X_OK if run else os.R_OK, effective_ids=True)
    finally:
        os.seteuid(0)
        os.setegid(0)


def set_limits():
    scale = float(os.environ.get("SOCKLAB_TIMEOUT_SCALE", "1") or 1)
    cpu = int(CPU_SECONDS * scale)
    limits = [(resource.RLIMIT_CPU, cpu, cpu + 1),
              (resource.RLIMIT_NPROC, MAX_PROCESSES, MAX_PROCESSES),
              (resource.RLIMIT_NOFILE, MAX_OPEN_FILES, MAX_OPEN_FILES),
              (resource.RLIMIT_FSIZE, MAX_FILE_SIZE, MAX_FILE_SIZE),
              (resource.RLIMIT_CORE, 0, 0)]
    if os.environ.get(ENV) != "no-memory-limit":
        limits.append((resource.RLIMIT_AS, MEMORY_LIMIT, MEMORY_LIMIT))
    for kind, soft, hard in limits:
        _, old_hard = resource.getrlimit(kind)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(kind, (soft, hard))


def run_program(argv):
    """Become the program: limits, own user, exec. Never returns."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        argv = drop_to_own_user(argv)
        set_limits()
        os.setpriority(os.PRIO_PROCESS, 0, NICENESS)
        os.execvp(argv[0], argv)
    except OSError as error:
        print(f"sandbox: cannot run {argv[0]}: {error.strerror}", file=sys.stderr)
    os._exit(127)


def be_init(argv, status_pipe):
    """PID 1 of the program's PID namespace: start the program, pass signals on,
    reap orphans; when the program ends, report how and exit, which ends every
    process left in the namespace."""
    _call(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    make_files_read_only()
    program = os.fork()
    if program == 0:
        os.close(status_pipe)
        run_program(argv)
    forward = lambda signum, frame: _kill(program, signum)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == program:
            os.write(status_pipe, str(status).encode())
            os._exit(0)


def _kill(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


# -- the sandbox process (the one the harness started) -----------------------------

def start(argv):
    """Fork the program (in new namespaces if we can); returns (pid, status_pipe, isolated)."""
    status_read, status_write = os.pipe()
    isolated = _libc.unshare(CLONE_NEWPID) == 0  # our next child is PID 1 of a new namespace
    child = os.fork()
    if child == 0:
        os.close(status_read)
        if isolated:
            try:
                be_init(argv, status_write)
            except OSError as error:
                print(f"sandbox: cannot set up the sandbox: {error}", file=sys.stderr)
            os._exit(126)
        os.close(status_write)
        run_program(argv)
    os.close(status_write)
    return child, status_read, isolated


def pass_output(pipes, child):
    """Copy the program's output to ours until it ends; stop it past OUTPUT_LIMIT.
    Returns a note to print if it was stopped."""
    written = {fd: 0 for fd in pipes}
    open_pipes = set(pipes)
    while open_pipes:
        try:
            ready, _, _ = select.select(list(open_pipes), [], [], 0.2)
        except InterruptedError:
            continue
        if not ready and _exited(child):
            # Anything still holding our pipes is a leftover: it goes.
            kill_descendants()
            continue
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                open_pipes.discard(fd)
                continue
            room = OUTPUT_LIMIT - written[fd]
            _write_all(pipes[fd], data[:room])
            written[fd] += len(data)
            if written[fd] > OUTPUT_LIMIT:
                _kill(child, signal.SIGKILL)
                kill_descendants()
                name = "stdout" if pipes[fd] == 1 else "stderr"
                return (f"sandbox: the program printed more than {OUTPUT_LIMIT // 2**20} MiB "
                        f"on {name} and was stopped")
    return None


_exit_status = {}


def _exited(child):
    if child in _exit_status:
        return True
    try:
        pid, status = os.waitpid(child, os.WNOHANG)
    except ChildProcessError:
        return True
    if pid:
        _exit_status[child] = status
    return bool(pid)


def _write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except BrokenPipeError:
            return
        except InterruptedError:
            continue


def kill_descendants():
    """SIGKILL every process below this one (orphans are ours: we are a subreaper)."""
    for _ in range(100):
        found = _children(os.getpid())
        if not found:
            return
        for pid in found:
            _kill(pid, signal.SIGKILL)
        for pid in found:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _children(pid):
    """Living (not yet reaped) descendants of pid, from /proc."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as listing:
                    kids = [int(k) for k in listing.read().split()]
            except OSError:
                continue
            found += kids
            queue += kids
    return found


def main(argv):
    if not argv:
        print("usage: sandbox.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # we may re-raise the program's SIGSEGV
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    saved = os.dup(1), os.dup(2)
    os.dup2(out_write, 1)
    os.dup2(err_write, 2)
    try:
        child, status_pipe, isolated = start(argv)
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (out_write, err_write, *saved):
            os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: _kill(child, signum))
    note = pass_output({out_read: 1, err_read: 2}, child)
    while not _exited(child):
        try:
            _exit_status[child] = os.waitpid(child, 0)[1]
        except ChildProcessError:
            break
        except InterruptedError:
            continue
    status = _exit_status.get(child, 0)
    if isolated:
        reported = os.read(status_pipe, 32)
        status = int(reported) if reported else status
    kill_descendants()
    if note:
        print(note, file=sys.stderr)
        return 125
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
