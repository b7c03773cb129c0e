"""Run one handout experiment in a lab network: `python3 handout_experiment.py SECONDS`
inside a lab root, with the block's shell text on standard input. The block runs
with `bash -e` on a fresh lab network host (its own network namespace, loopback
up; harness/network/labnet.py), from the repository's root. Everything it starts,
background jobs included, is killed when it ends or after SECONDS. Exits with the
block's status, 124 if it ran out of time."""
import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from harness.network.labnet import LabNet  # noqa: E402 (after the path is set)


def main():
    seconds = float(sys.argv[1])
    block = sys.stdin.read()
    host = LabNet(launch=None).host("experiment")
    shell = subprocess.Popen(["nsenter", f"--net={host.netns_path}", "bash", "-e", "-c", block],
                             cwd=ROOT, start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        code = shell.wait(seconds)
    except subprocess.TimeoutExpired:
        code = 124
        print(f"handout_experiment: still running after {seconds:.0f} s", file=sys.stderr)
    try:
        os.killpg(shell.pid, signal.SIGKILL)  # the block's background jobs too
    except ProcessLookupError:
        pass
    sys.exit(code)


if __name__ == "__main__":
    main()
