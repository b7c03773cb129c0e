"""The sandbox (harness/sandbox.c) on its own: exit statuses pass through, output is
cut off, nothing a program leaves behind survives it, files are read-only, and a
fork bomb is bounded; both inside a lab root, as the grader uses it, and as an
ordinary user outside any user namespace (the sandbox then makes its own). The
program sees its own file-system view, environment and IPC namespace; where no
namespace can be made it fails closed: as nobody if the grader is root, else not
at all."""
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from gradeapi import ROOT

sys.path.insert(0, ROOT)
from harness.programs import sandbox  # noqa: E402  (the repository's harness package)

LAB_ROOT = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork",
            "--mount-proc", "--kill-child"]
# As the grader makes it: for the real root, a user namespace that maps uid 65534 too.
LAB_ROOT_AS_ROOT = [sys.executable, "-c",
                    "import os, sys; from harness.network import namespaces; "
                    "namespaces.enter_user_namespace_with_sandbox_uid(); "
                    "os.execvp('unshare', ['unshare', *sys.argv[1:]])",
                    "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"]
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def lab_root_works():
    try:
        return subprocess.run([*LAB_ROOT, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


MODES = ["lab-root"] + (["no-namespaces"] if os.geteuid() == 0 and shutil.which("setpriv") else [])


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    # A copy nobody can run (the build tree may sit in a private home directory).
    folder = tmp_path_factory.mktemp("sandbox")
    os.chmod(folder, 0o755)
    copy = folder / "sandbox"
    shutil.copy(sandbox.ensure_built(), copy)
    os.chmod(copy, 0o755)
    return str(copy)


def run(binary, mode, *command, timeout=30):
    """Run command in the sandbox, in a lab root or as nobody without namespaces."""
    if mode == "lab-root":
        if not lab_root_works():
            pytest.skip("user namespaces are unavailable here")
        # A shell as PID 1 of the lab root, as the grader is: the sandbox must not be
        # PID 1 itself, which cannot die of a signal it sends itself.
        prefix = [*(LAB_ROOT_AS_ROOT if os.geteuid() == 0 else LAB_ROOT),
                  "sh", "-c", '"$@"; exit $?', "sh"]
    else:
        prefix = AS_NOBODY  # nobody may not make namespaces: the sandbox's fallback
    return subprocess.run([*prefix, binary, *command], capture_output=True, timeout=timeout,
                          cwd="/", env=dict(os.environ, SOCKLAB_SANDBOX="on", PYTHONPATH=ROOT))


def running(marker):
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(entry)
        except OSError:
            pass
    return found


@pytest.mark.parametrize("mode", MODES)
def test_exit_status_and_signals_pass_through(binary, mode):
    assert run(binary, mode, "sh", "-c", "exit 7").returncode == 7
    killed = run(binary, mode, "sh", "-c", "kill -SEGV $$")
    assert killed.returncode in (-11, 139), killed


@pytest.mark.parametrize("mode", MODES)
def test_output_past_the_limit_is_cut_off(binary, mode):
    result = run(binary, mode, "head", "-c", "50000000", "/dev/zero")
    assert result.returncode == 125
    assert len(result.stdout) == 2 << 20
    assert b"more than 2 MiB on stdout" in result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_nothing_left_behind_survives(binary, mode):
    marker = f"{uuid.uuid4().int % 10**6}.5"  # `sleep 123456.5`: easy to find, never ends
    result = run(binary, mode, "sh", "-c", f"setsid sleep {marker} > /dev/null 2>&1 & exit 0")
    assert result.returncode == 0
    assert not running(f"sleep\0{marker}"), "the daemonized child is still running"


FORK_BOMB = """
import os, time
started = 0
for _ in range(64):
    try:
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        started += 1
    except OSError:
        break
print(started)
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_fork_bomb_is_bounded(binary, mode):
    result = run(binary, mode, sys.executable, "-S", "-c", FORK_BOMB)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) < 16, f"{int(result.stdout)} processes were started"


def test_files_are_read_only_but_tmpdir_is_not(binary):
    probe = os.path.join(ROOT, "harness", f".sandbox-probe-{uuid.uuid4().hex}")
    result = run(binary, "lab-root", "sh", "-c",
                 f'echo x > {probe} || echo refused; echo y > "$TMPDIR/ok" && echo tmp-ok')
    assert not os.path.exists(probe), "the sandboxed program wrote into the repository"
    assert b"refused" in result.stdout and b"tmp-ok" in result.stdout, result


def test_no_route_out_of_a_lab_host(binary):
    result = run(binary, "lab-root", "sh", "-c", "ip route; ip -4 addr show scope global")
    assert result.returncode == 0
    assert result.stdout.strip() == b"", f"a lab host has routes or addresses: {result.stdout}"


def test_mapped_ids_are_the_lab_roots_and_bring_no_capability(binary):
    show = "cat /proc/self/uid_map; grep CapEff /proc/self/status"
    plain = run(binary, "lab-root", "sh", "-c", show)
    mapped = run(binary, "lab-root", "--map-ids", "--", "sh", "-c", show)
    assert plain.stdout.split()[:1] == [b"CapEff:"], plain  # no map: ids read as 65534
    lines = mapped.stdout.decode().splitlines()
    assert lines[-1].split() == ["CapEff:", "0000000000000000"], mapped
    assert lines[:-1] and all(len(set(line.split()[:2])) == 1 for line in lines[:-1]), \
        f"--map-ids did not map ids one to one: {mapped}"


# Spins for `seconds` of CPU, or until the sandbox lowers its priority: once it
# has, it would get almost no CPU on a busy machine, and must not need more.
SPIN = """
import os, time
end = time.process_time() + {seconds}
while time.process_time() < end and os.getpriority(os.PRIO_PROCESS, 0) == 0:
    pass
print(os.getpriority(os.PRIO_PROCESS, 0))
"""


@pytest.mark.parametrize("seconds,niceness", [(0.1, 0), (6.0, 19)])
def test_only_a_cpu_hog_drops_to_the_lowest_priority(binary, seconds, niceness):
    result = run(binary, "lab-root", sys.executable, "-S", "-c", SPIN.format(seconds=seconds))
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == niceness


def test_the_program_sees_its_view_and_a_fixed_environment(binary):
    secret = f"SOCKLAB-CANARY-{uuid.uuid4().hex}"
    show = "ls /; echo ==; ls /tmp /dev/shm $HOME; env; ls " + ROOT + " /work 2>&1"
    result = subprocess.run([*(LAB_ROOT_AS_ROOT if os.geteuid() == 0 else LAB_ROOT),
                             binary, "--", "sh", "-c", show], capture_output=True, timeout=30,
                            cwd="/", env=dict(os.environ, SOCKLAB_CANARY_TOKEN=secret,
                                              PYTHONPATH=ROOT))
    if not lab_root_works():
        pytest.skip("user namespaces are unavailable here")
    out = result.stdout.decode()
    assert secret not in out and "SOCKLAB" not in out, out
    assert sorted(out.split("==")[0].split()) == sorted(
        name for name in ("bin", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32",
                          "proc", "sbin", "tmp", "usr") if os.path.lexists("/" + name)), out
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert env.get("HOME") == "/home/student" and env.get("TMPDIR") == "/tmp", out
    assert "No such file" in out and "harness" not in out, out


# Namespaces blocked, as in a container: 0 of each may be made from here on.
NO_NAMESPACES = ("for n in user pid mnt ipc net; do echo 0 > /proc/sys/user/max_${n}_namespaces; "
                 "done; exec \"$@\"")
SHOW_IDENTITY = "id -u; grep -E 'CapEff|NoNewPrivs' /proc/self/status"


def without_namespaces(binary, *user):
    """Run SHOW_IDENTITY in the sandbox where no namespace can be made, as root of a
    user namespace mapping 65534 (as the grader makes it) or as user."""
    if os.geteuid() != 0 or not lab_root_works():
        pytest.skip("needs root and user namespaces to simulate a container")
    enter = ("import os, sys; from harness.network import namespaces; "
             "namespaces.enter_user_namespace_with_sandbox_uid(); os.execvp('sh', sys.argv[1:])")
    return subprocess.run([sys.executable, "-c", enter, "sh", "-c", NO_NAMESPACES, "sh", *user,
                           binary, "--", "sh", "-c", SHOW_IDENTITY], capture_output=True,
                          timeout=30, cwd="/", env=dict(os.environ, PYTHONPATH=ROOT))


def test_root_without_namespaces_runs_the_program_as_nobody_without_privileges(binary):
    result = without_namespaces(binary)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().split()
    assert lines[0] == "65534", result.stdout
    assert lines[lines.index("CapEff:") + 1] == "0000000000000000", result.stdout
    assert lines[lines.index("NoNewPrivs:") + 1] == "1", result.stdout


def test_an_ordinary_user_without_namespaces_is_refused(binary):
    result = without_namespaces(binary, *AS_NOBODY)
    assert result.returncode == 126, result
    assert result.stdout == b"", result.stdout
    assert b"refusing to run the program" in result.stderr and b"own user" in result.stderr


def test_a_file_named_on_the_command_line_is_shown_read_only(binary, tmp_path):
    """As a wrapper (valgrind) is given the program: by its absolute path."""
    script = tmp_path / "script.sh"
    script.write_text("echo ran; echo x >> $0 || echo read-only\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(script, 0o644)
    result = run(binary, "lab-root", "sh", str(script))
    assert result.stdout.split() == [b"ran", b"read-only"], result
