"""SIGTERM stops the whole grader (issue 11, part 6): a single grade and a class
run, each stopped while a student program that ignores SIGTERM (and leaves a
child of its own, in a session of its own) hangs in a test, exit promptly and
leave no process behind: not a child grader, a lab root, a pytest worker, a peer
or a student program."""
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRADE = os.path.join(ROOT, "harness", "grade")
sys.path.insert(0, ROOT)

from harness.timeouts import scaled  # noqa: E402

# Ignores every polite signal, and forks a child that escapes into a session of
# its own; both wait forever, using no CPU.
STUBBORN = r"""
#include <signal.h>
#include <unistd.h>

int main(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (fork() == 0)
		setsid();
	for (;;)
		pause();
}
"""
PROGRAM = "udp_local"
# Generous bounds, far above what stopping takes, so that a slow machine passes
# and only a grader that does not stop fails.
START_LIMIT = 300
STOP_LIMIT = 30


def processes():
    """{pid: (ppid, session, start time, state)} of every process now."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        found[int(name)] = (int(fields[1]), int(fields[3]), fields[19], fields[0])
    return found


def descendants(root, table):
    """root's process tree: {pid: start time} (PIDs as seen from here)."""
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (ppid, *_rest) in table.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return {pid: table[pid][2] for pid in tree if pid in table}


def pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def exe_name(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def left_behind(tree, namespaces, session):
    """The processes of the stopped grader still alive (zombies count as gone):
    one of its tree, one in a PID namespace it made, or one of its session."""
    alive = []
    for pid, (_ppid, sid, started, state) in processes().items():
        if state == "Z":
            continue
        if tree.get(pid) == started or sid == session or pid_namespace(pid) in namespaces:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    alive.append(f"{pid}: {cmdline.read().replace(bytes(1), b' ').decode()}")
            except OSError:
                pass
    return alive


@pytest.fixture
def stubborn_submission(tmp_path):
    folder = tmp_path / "class" / "stubborn" / "01-udp-local"
    folder.mkdir(parents=True)
    (folder / f"{PROGRAM}.c").write_text(STUBBORN)
    return tmp_path / "class"


@pytest.mark.parametrize("mode", ["single", "class"])
def test_sigterm_stops_the_whole_grader(stubborn_submission, mode):
    if mode == "class":
        command = [GRADE, "--class", str(stubborn_submission), "--lab", "01", "--jobs", "1",
                   "--csv", str(stubborn_submission.parent / "class.csv")]
    else:
        command = [GRADE, "--impl", str(stubborn_submission / "stubborn"), "--lab", "01"]
    grader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        # Wait until a student program runs under the grader (with a deadline).
        deadline = time.monotonic() + scaled(START_LIMIT)
        while True:
            table = processes()
            tree = descendants(grader.pid, table)
            if any(exe_name(pid) == PROGRAM for pid in tree) or \
                    grader.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # polling /proc, with a deadline: nothing to wait on
        assert grader.poll() is None, grader.stderr.read().decode(errors="replace")
        assert any(exe_name(pid) == PROGRAM for pid in tree), \
            f"no student program started within {scaled(START_LIMIT):.0f} s"
        namespaces = {pid_namespace(pid) for pid in tree} - {pid_namespace(os.getpid())}

        stopped = time.monotonic()
        grader.send_signal(signal.SIGTERM)
        try:
            grader.wait(timeout=scaled(STOP_LIMIT))
        except subprocess.TimeoutExpired:
            pytest.fail(f"the grader did not exit within {scaled(STOP_LIMIT):.0f} s of SIGTERM")
        # Killed processes take a moment to go; each check has a deadline.
        deadline = stopped + scaled(STOP_LIMIT)
        while left_behind(tree, namespaces, grader.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left_behind(tree, namespaces, grader.pid) == []
        assert grader.returncode == 128 + signal.SIGTERM
        if mode == "class":
            assert not (stubborn_submission.parent / "class.csv").exists()
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
            grader.wait()
        grader.stderr.close()
