"""Running the labs' grader files with pytest, in a child process, and reading
back their results."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile

from harness.catalog import ROOT
from harness.report import LabResult
from harness.timeouts import scaled

# A whole lab may take this long before its grader is stopped (every test also
# has its own limit, so this only fires if the grader itself misbehaves);
# labs graded together get this much per lab and worker.
LAB_TIME_LIMIT = 600


def xdist_available():
    return importlib.util.find_spec("xdist") is not None


def grade_labs(labs, bin_dir, jobs=1, hidden=False, wrapper="", extra_args=()):
    """Run the graded tests of labs against the binaries in bin_dir: one LabResult
    per lab. One pytest session runs them all, its tests spread over `jobs`
    processes when pytest-xdist is installed (tests wait on the network far more
    than they compute, so more processes than CPUs pay off)."""
    with tempfile.TemporaryDirectory(prefix="socklab-") as scratch:
        results_path = os.path.join(scratch, "results.json")
        command = [sys.executable, "-m", "pytest", *[lab.grader for lab in labs],
                   "-p", "harness.plugin", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                   "--rootdir", ROOT, "--socklab-bin", bin_dir,
                   "--socklab-results", results_path, *extra_args,
                   # Inside the lab root everyone is "root": pytest's shared
                   # /tmp/pytest-of-root may belong to another user. Use our own.
                   "--basetemp", os.path.join(scratch, "pytest")]
        # A worker costs about half a second to start: a few tests do not pay for many.
        workers = min(jobs, 1 + 2 * len(labs))
        if workers > 1 and xdist_available():
            command += ["-p", "xdist", "-n", str(workers), "--dist", "load"]
        if hidden:
            command.append("--socklab-hidden")
        if wrapper:
            command.append(f"--socklab-wrapper={wrapper}")
        # No third-party plugin autoloading: faster start-up, and nothing installed on
        # the machine changes how tests run.
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="1",
                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        limit = scaled(LAB_TIME_LIMIT) * max(1, len(labs) / jobs)
        try:
            log, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return [LabResult(lab, problem=f"the grader did not finish within {limit:.0f} s "
                                           "and was stopped") for lab in labs]
        try:
            with open(results_path) as results:
                tests = json.load(results)["tests"]
        except (OSError, ValueError, KeyError):
            tests = []
    by_lab = {lab.number: LabResult(lab) for lab in labs}
    for test in tests:
        by_lab[test["lab"]].tests.append(test)
    # pytest: 0 all passed, 1 some failed, 5 none collected; anything else is the
    # grader's own trouble, which must never pass for a student's failure.
    if proc.returncode not in (0, 1, 5) or (not tests and proc.returncode != 5):
        tail = "\n".join(log.splitlines()[-30:])
        for result in by_lab.values():
            result.problem = f"the grader failed (pytest exit {proc.returncode}):\n{tail}"
    return list(by_lab.values())


def grade_lab(lab, bin_dir, hidden=False, wrapper="", extra_args=()):
    """grade_labs for one lab, its tests run one after another."""
    return grade_labs([lab], bin_dir, 1, hidden, wrapper, extra_args)[0]
