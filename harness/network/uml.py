"""User-mode Linux: the lab root where the host refuses namespaces.

Hosted autograders run the grader in a Docker container whose default profile
refuses unshare, setns and mount. A user-mode Linux kernel (Debian's
user-mode-linux) is an ordinary process that needs none of them: booted with the
host's file system as its root (hostfs), it runs the very same grading command,
as root of its own kernel, where namespaces, veth pairs and bridges work.

One boot per grading run. The kernel's PID 1 is uml-init (next to this file); the
two sides talk through a run directory on the host: the command to run, the
modules to load, the command's stdout, stderr and exit status. The console (a
pipe to us) only says when the kernel has booted, so a kernel that cannot start
(ptrace refused, no memory) is given up after a bounded time, never waited on.
"""
import ctypes
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness.timeouts import scaled

KERNEL = "/usr/bin/linux"
MODULES = "/usr/lib/uml/modules"
INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "uml-init")
# What the lab network needs beyond the built-in kernel: IPv6, veth pairs, bridges.
NEEDED_MODULES = ("ipv6", "veth", "bridge")
# Set inside the kernel: its value is why the host could not make namespaces.
ENV_INSIDE = "SOCKLAB_UML"
# Set to "0" to never boot user-mode Linux (loopback only where namespaces fail).
ENV_ALLOW = "SOCKLAB_UML_ALLOW"
# The kernel's memory. The whole grade fits (bench measures the peak); hosted
# containers are small (Gradescope's default was 384 MB), so no more than needed.
MEMORY_MB = 256
# Inside, every system call crosses ptrace: the grader's own waits get at least
# this much longer, and more on a host so loaded that the boot took longer than
# REFERENCE_BOOT_SECONDS (see timeout_scale). Waits that a lab's contract fixes
# are measured, not scaled (timeouts.py).
TIMEOUT_FACTOR = 5
REFERENCE_BOOT_SECONDS = 3.0
BOOT_SECONDS = 120
# A kernel whose command ran past its deadline gets this long to finish before it
# is killed (its grade stops itself at --budget; this is the last resort).
STOP_SECONDS = 60
BOOTED = "socklab-uml-booted"
# Kernel facilities the grader never uses whose start-up dominates the boot
# (terminal and serial-line drivers, file systems, RAID and crypto self-benchmarks).
SKIPPED_INITCALLS = ("pty_init", "strp_dev_init", "ssl_init", "init_btrfs_fs",
                     "init_zswap", "raid6_select_algo", "init_jfs_fs",
                     "calibrate_xor_blocks", "init_xfs_fs", "crypto_algapi_init")


def inside():
    return ENV_INSIDE in os.environ


def unavailable_reason():
    """Why user-mode Linux cannot be tried here, or None if it can."""
    if os.environ.get(ENV_ALLOW) == "0":
        return f"user-mode Linux disabled by {ENV_ALLOW}=0"
    if inside():
        return "already inside user-mode Linux"
    if not os.access(KERNEL, os.X_OK):
        return f"no user-mode Linux kernel at {KERNEL} (install user-mode-linux)"
    if shutil.which("insmod", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
        return "insmod not found (install kmod)"
    if module_directory() is None:
        return f"no user-mode Linux modules under {MODULES}"
    return None


def module_directory():
    """MODULES/VERSION of the installed kernel (the newest, if several)."""
    try:
        versions = sorted(os.listdir(MODULES))
    except OSError:
        return None
    return os.path.join(MODULES, versions[-1]) if versions else None


def modules_in_load_order(directory, names=NEEDED_MODULES):
    """The .ko paths for names and what they depend on, dependencies first
    (modules.dep lists a module's dependencies, nearest first)."""
    depends = {}
    with open(os.path.join(directory, "modules.dep")) as table:
        for line in table:
            module, _, needs = line.partition(":")
            depends[module] = needs.split()
    by_name = {os.path.basename(path)[:-3].replace("-", "_"): path for path in depends}
    order = []

    def add(path):
        for needed in reversed(depends.get(path, [])):
            add(needed)
        if path not in order:
            order.append(path)
    for name in names:
        if name in by_name:
            add(by_name[name])
    return [os.path.join(directory, path) for path in order]


def memory_directory(megabytes):
    """Where the kernel's memory file goes: /dev/shm when it has room (fastest),
    else the temporary directory (Docker's /dev/shm holds only 64 MB)."""
    try:
        shm = os.statvfs("/dev/shm")
        if shm.f_bavail * shm.f_frsize > (megabytes + 64) * 2**20:
            return "/dev/shm"
    except OSError:
        pass
    return tempfile.gettempdir()


def command_line(run, memory_mb):
    return [KERNEL, f"mem={memory_mb}M", "rootfstype=hostfs", "rootflags=/", "rw",
            f"init={INIT}", f"socklab_run={run}", "con=null", "con0=fd:0,fd:1",
            "quiet", "lpj=1000000", "initcall_blacklist=" + ",".join(SKIPPED_INITCALLS)]


def inner_environment(reason, run):
    """The environment of the command inside: ours, marked as inside, with the
    grader's waits stretched and scratch files in the kernel's memory."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SOCKLAB_NO_NETNS")}
    env[ENV_INSIDE] = reason
    env["TMPDIR"] = os.path.join(run, "tmp")
    env.pop("SOCKLAB_TIMEOUT_SCALE", None)  # init sets it once booted (timeout_scale)
    env.setdefault("PYTHONPATH", os.path.dirname(os.path.dirname(os.path.dirname(INIT))))
    return env


def timeout_scale_command():
    """Shell that sets SOCKLAB_TIMEOUT_SCALE inside: ours, times the kernel's
    slowness, which its boot measures (the uptime when the command starts; the
    same boot takes REFERENCE_BOOT_SECONDS on an idle host)."""
    program = ("{ s = f * $1 / ref; if (s < f) s = f; s *= base; if (s > 100) s = 100; "
               "printf \"%.1f\", s }")
    return (f"SOCKLAB_TIMEOUT_SCALE=$(awk -v f={TIMEOUT_FACTOR} "
            f"-v ref={REFERENCE_BOOT_SECONDS} -v base={scaled(1)} "
            f"{shlex.quote(program)} /proc/uptime)\nexport SOCKLAB_TIMEOUT_SCALE\n")


def write_run_directory(run, argv, reason):
    os.mkdir(os.path.join(run, "tmp"))
    with open(os.path.join(run, "modules"), "w") as listing:
        listing.writelines(path + "\n" for path in modules_in_load_order(module_directory()))
    env = inner_environment(reason, run)
    exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items()
                      if key.isidentifier())
    with open(os.path.join(run, "command"), "w") as script:
        script.write(f"{exports}{timeout_scale_command()}"
                     f"cd {shlex.quote(os.getcwd())} || exit 1\n"
                     f"exec {shlex.join(argv)}\n")


PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the kernel's process before exec: if the grader is killed (a platform's
    time limit), the kernel goes too, and with it the processes it runs."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Boot:
    """One user-mode Linux kernel running `argv` (see run)."""

    def __init__(self, argv, reason, memory_mb=MEMORY_MB):
        self.run_dir = tempfile.mkdtemp(prefix="socklab-uml-")
        write_run_directory(self.run_dir, argv, reason)
        env = dict(os.environ, TMPDIR=memory_directory(memory_mb))
        self.console = open(os.path.join(self.run_dir, "console"), "wb")
        self.started = time.monotonic()
        self.boot_seconds = None
        self.process = subprocess.Popen(command_line(self.run_dir, memory_mb),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True,
                                        preexec_fn=die_with_parent)

    def wait_until_booted(self, seconds):
        """None once init says so, else why not: the kernel ended, or seconds passed."""
        deadline = self.started + seconds
        seen = b""
        while BOOTED.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stdout], [], [], left)[0]:
                return f"user-mode Linux did not boot within {seconds:.0f} s"
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                return "user-mode Linux stopped while booting"
            self.console.write(chunk)
            seen = seen[-len(BOOTED):] + chunk
        self.boot_seconds = time.monotonic() - self.started
        return None

    def wait(self, seconds=None):
        """The command's exit status, or None if the kernel stopped without one
        (or ran past seconds)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if not select.select([self.process.stdout], [], [], left)[0]:
                break
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                break
            self.console.write(chunk)
        self.stop()
        try:
            with open(os.path.join(self.run_dir, "status")) as status:
                return int(status.read())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Kill the kernel and every host process it made (they share its group).
        Safe to call again."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process.stdout.close()
        self.console.close()

    def output(self, name):
        try:
            with open(os.path.join(self.run_dir, name), "rb") as captured:
                return captured.read()
        except OSError:
            return b""

    def last_console_lines(self, count=3):
        lines = self.output("console").decode(errors="replace").strip().splitlines()
        return "; ".join(line.strip() for line in lines[-count:]) or "no output"

    def remove(self):
        shutil.rmtree(self.run_dir, ignore_errors=True)


def run(argv, reason, deadline_seconds=None, booted=lambda: None):
    """Run argv inside a fresh user-mode Linux kernel and pass its stdout and
    stderr on; booted() is called once the kernel runs it. Returns (exit status,
    None), or (None, why) if the kernel could not boot or died before the command
    ended (the caller then grades on the loopback)."""
    # A platform's time limit sends SIGTERM: leave through the finally below, which
    # kills the kernel's whole process group (SIGKILL leaves only PDEATHSIG to help).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    boot = Boot(argv, reason)
    try:
        why_not = boot.wait_until_booted(scaled(BOOT_SECONDS))
        if why_not:
            boot.stop()
            return None, f"{why_not} ({boot.last_console_lines()})"
        booted()
        status = boot.wait(deadline_seconds)
        sys.stdout.buffer.write(boot.output("stdout"))
        sys.stdout.flush()
        sys.stderr.buffer.write(boot.output("stderr"))
        sys.stderr.flush()
        if status is None:
            return None, f"user-mode Linux stopped early ({boot.last_console_lines()})"
        return status, None
    finally:
        boot.stop()
        boot.remove()
        signal.signal(signal.SIGTERM, previous)
