"""Linux namespaces, the mechanism under the lab network.

The grader runs inside a "lab root": a user namespace in which it is root, with
its own network, mount and PID namespaces (so it can build networks without
privileges, never sees the machine's real network, and every process it starts
dies with it). Inside, each lab host is a network namespace held open by a file
descriptor of this process; a program starts in it from a thread that entered
it (popen_in): a child inherits the namespaces of the thread that forks it.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading

from harness.errors import SetupError
from harness.timeouts import scaled

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

# The uid (and gid) that sandbox.py runs student programs as when the grader is the
# real root: root is exempt from RLIMIT_NPROC, so a fork bomb would not be stopped.
SANDBOX_UID = 65534

# Set in the lab root, so a re-executed grader knows it is already inside.
ENV_LAB_ROOT = "SOCKLAB_LAB_ROOT"
# Set to force (or to record) loopback-only mode; its value is the reason.
ENV_NO_NETNS = "SOCKLAB_NO_NETNS"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def in_lab_root():
    return os.environ.get(ENV_LAB_ROOT) == "1"


def unavailable_reason():
    """Why private networks cannot be built here, or None if they can."""
    forced = os.environ.get(ENV_NO_NETNS)
    if forced:
        return forced if forced != "1" else "disabled by SOCKLAB_NO_NETNS"
    if in_lab_root():
        return None
    return probe_user_namespaces()


def probe_user_namespaces():
    """Try to make the lab root once; None if it works, else the reason."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "unshare/nsenter not found (install util-linux)"
    try:
        probe = subprocess.run(_lab_root_command() + ["true"], capture_output=True,
                               text=True, timeout=scaled(10))
    except subprocess.TimeoutExpired:
        return f"unshare did not answer within {scaled(10):.0f} s"
    if probe.returncode != 0:
        why = probe.stderr.strip().splitlines()[-1:] or ["unknown error"]
        return f"unprivileged user namespaces are unavailable here ({why[0]})"
    return None


def _lab_root_command():
    return ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid",
            "--fork", "--mount-proc", "--kill-child"]


def reexec_in_lab_root(argv, module="harness"):
    """Run `python3 -m MODULE ARGV` inside a fresh lab root, then exit with its status.

    This process stays on as the lab root's parent, because it is the one a SIGTERM
    reaches (from timeout(1), Slurm, a class grader): unshare(1) ignores SIGTERM
    and SIGINT, and the PID 1 inside takes only the signals it asked for. On
    SIGTERM, SIGINT or SIGHUP it kills unshare, whose --kill-child kills PID 1, and
    with it every process of the lab root (pytest workers, peers, student programs).
    """
    # module: the grader by default; harness/demo re-enters as harness.commands.demo.
    os.environ[ENV_LAB_ROOT] = "1"
    command = _lab_root_command() + [sys.executable, "-m", module, *argv]
    if os.geteuid() == 0:
        # The real root: make the user namespace here, mapping SANDBOX_UID as well
        # as root (unshare(1) maps one uid only), and let unshare(1) do the rest.
        enter_user_namespace_with_sandbox_uid()
        command = [arg for arg in command if arg not in ("--user", "--map-root-user")]
    started = {}

    def stop(signum, _frame):
        started["stop"] = signum
        if "lab root" in started:
            # No wait(): the main thread may be inside it, holding its lock. unshare
            # dies of SIGKILL at once; its --kill-child takes the rest.
            started["lab root"].kill()
            os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    lab_root = started["lab root"] = subprocess.Popen(command)
    if "stop" in started:  # the signal came while it was starting
        stop(started["stop"], None)
    status = lab_root.wait()
    sys.exit(status if status >= 0 else 128 - status)


def enter_user_namespace_with_sandbox_uid():
    """unshare(CLONE_NEWUSER); a helper child, still root outside, writes our maps:
    root to root and SANDBOX_UID to itself."""
    go_read, go_write = os.pipe()
    helper = os.fork()
    if helper == 0:
        os.close(go_write)
        os.read(go_read, 1)
        try:
            for table in ("uid_map", "gid_map"):
                with open(f"/proc/{os.getppid()}/{table}", "w") as out:
                    out.write(f"0 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n")
        except OSError:
            os._exit(1)
        os._exit(0)
    os.close(go_read)
    try:
        _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    finally:
        os.write(go_write, b"!")
        os.close(go_write)
    _, status = os.waitpid(helper, 0)
    if status != 0:
        raise SetupError("could not map the users of the lab root")


def _in_thread(action):
    """Run action() on a fresh thread and return its result (or raise its error).

    setns and unshare of a network namespace act on the calling thread only, so
    doing them on a short-lived thread leaves the rest of the grader where it was.
    """
    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except BaseException as error:  # handed back to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def new_network_namespace():
    """Create an empty network namespace; returns an fd that keeps it alive."""
    def create():
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    return _in_thread(create)


def run_in_namespace(netns_fd, action):
    """Call action() with the calling thread's network namespace set to netns_fd.

    Sockets keep the namespace they were created in, so a socket made here can be
    used from any thread afterwards.
    """
    def entered():
        _check(_libc.setns(netns_fd, CLONE_NEWNET), "setns")
        return action()
    return _in_thread(entered)


def popen_in(netns_path, command, **options):
    """subprocess.Popen(command, **options) with the child in the network namespace
    at netns_path (None: this process's own). Forked from a thread that entered the
    namespace, so no `nsenter` runs first: that exec cost a few milliseconds of CPU
    for every program and `ip` a test starts."""
    return _in_namespace_at(netns_path, lambda: subprocess.Popen(command, **options))


def run_in(netns_path, command, input=None, timeout=None):
    """subprocess.run(command) in the namespace at netns_path, output captured as
    text: a CompletedProcess (TimeoutExpired past timeout, the command killed)."""
    return _in_namespace_at(netns_path, lambda: subprocess.run(
        command, input=input, capture_output=True, text=True, timeout=timeout))


def _in_namespace_at(netns_path, action):
    """action() on a thread inside the namespace at netns_path (None: here)."""
    if netns_path is None:
        return action()
    netns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return run_in_namespace(netns_fd, action)
    finally:
        os.close(netns_fd)


def namespace_path(netns_fd):
    """A path naming the namespace, usable by popen_in, nsenter and `ip link set netns`."""
    return f"/proc/{os.getpid()}/fd/{netns_fd}"


def enter_lab_root(argv, module="harness"):
    """Re-run `python3 -m module ARGV` inside a lab root unless already in one.
    Returns None inside the lab root; where one cannot be made, returns the reason
    (and the caller decides: grade on the loopback, or give up)."""
    if in_lab_root():
        # PID 1 of the lab root ignores SIGTERM unless it asks for it.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return None
    reason = unavailable_reason()
    if reason is None:
        reexec_in_lab_root(argv, module=module)
    return reason
