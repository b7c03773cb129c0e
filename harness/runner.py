"""Running one lab's grader file with pytest, in a child process, and reading
back its results. Labs run in parallel, each in its own pytest process."""
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
# has its own limit, so this only fires if the grader itself misbehaves).
LAB_TIME_LIMIT = 600


def grade_lab(lab, bin_dir, hidden=False, wrapper="", extra_args=()):
    """Run lab's graded tests against the binaries in bin_dir; a LabResult."""
    with tempfile.TemporaryDirectory(prefix="socklab-") as scratch:
        results_path = os.path.join(scratch, "results.json")
        command = [sys.executable, "-m", "pytest", lab.grader, "-p", "harness.plugin",
                   "-p", "no:cacheprovider", "-q", "-o", "addopts=", "--rootdir", ROOT,
                   "--socklab-bin", bin_dir, "--socklab-results", results_path, *extra_args]
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
        try:
            log, _ = proc.communicate(timeout=scaled(LAB_TIME_LIMIT))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
            return LabResult(lab, problem=f"the grader for lab {lab.number} did not finish "
                                          f"within {scaled(LAB_TIME_LIMIT):.0f} s and was stopped")
        try:
            with open(results_path) as results:
                tests = json.load(results)["tests"]
        except (OSError, ValueError, KeyError):
            tests = []
        # pytest: 0 all passed, 1 some failed, 5 none collected; anything else is
        # the grader's own trouble, which must never pass for a student's failure.
        if proc.returncode not in (0, 1, 5) or (not tests and proc.returncode != 5):
            tail = "\n".join(log.splitlines()[-30:])
            return LabResult(lab, tests, problem=f"the grader for lab {lab.number} failed "
                                                 f"(pytest exit {proc.returncode}):\n{tail}")
        return LabResult(lab, tests)
