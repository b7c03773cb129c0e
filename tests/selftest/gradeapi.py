"""Running the grade command the way users do, for the grader's self-tests."""
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRADE = os.path.join(ROOT, "harness", "grade")


def grade(*args, env=None, timeout=900, user=()):
    """Run `harness/grade --format json ARGS`; returns (report, seconds, stderr)."""
    started = time.monotonic()
    result = subprocess.run([*user, GRADE, "--format", "json", *args], capture_output=True,
                            text=True, timeout=timeout, env=dict(os.environ, **(env or {})),
                            cwd=ROOT)
    elapsed = time.monotonic() - started
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"grade printed no JSON (exit {result.returncode}):\n"
                             f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return report, elapsed, result.stderr


def verdicts(report):
    """{(lab, test name): outcome} of a JSON report: what two gradings must agree on."""
    return {(number, test["name"]): test["outcome"]
            for number, lab in report["labs"].items() for test in lab["tests"]}


def failures(lab_report):
    """The failed tests of one lab, as 'name: first lines of feedback'."""
    return "\n".join(f"{t['name']}: {t['feedback'][:600]}" for t in lab_report["tests"]
                     if t["outcome"] == "failed")


def lab_numbers():
    """The labs of the tree, as the grader finds them: ['01', '02', …]."""
    import sys
    sys.path.insert(0, ROOT)
    from harness import catalog
    return [lab.number for lab in catalog.all_labs(ROOT)]


def leftovers(marker):
    """Processes whose executable or command line mentions marker (a path of a
    submission's own), as "PID: command line" lines: what a graded program left."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                cmdline = file.read().decode(errors="replace")
            exe = os.readlink(f"/proc/{entry}/exe")
        except OSError:
            continue
        if marker in cmdline or marker in exe:
            found.append(f"{entry}: {cmdline!r}")
    return found
