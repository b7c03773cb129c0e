"""Running the labs' grader files with pytest, in a child process, and reading
back their results."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness.catalog import ROOT
from harness.grading.schedule import remember_durations
from harness.results.model import lab_result_for, test_from_json
from harness.timeouts import scaled

# A whole lab may take this long before its grader is stopped (every test also
# has its own limit, so this only fires if the grader itself misbehaves);
# labs graded together get this much per lab and worker.
LAB_TIME_LIMIT = 600
# How long each test took last time, for the scheduling in schedule.py.
DURATIONS = os.path.join(ROOT, "build", "test-durations.json")


def grade_labs(labs, bin_dir, jobs=1, hidden=False, wrapper="", extra_args=(), deadline=None):
    """Run the graded tests of labs against the binaries in bin_dir: one LabResult
    per lab. One pytest process collects the tests, then forks up to `jobs` workers
    (grading/workers.py) that take them longest first, by the durations kept from
    earlier runs (tests wait on the network far more than they compute, so more
    workers than CPUs pay off). At `deadline` (time.monotonic()), if given, grading
    stops: every test that finished keeps its result, and the others are reported
    with the outcome "not_run"."""
    with tempfile.TemporaryDirectory(prefix="socklab-") as scratch:
        results_path = os.path.join(scratch, "results.json")
        command = [sys.executable, "-m", "pytest", *[path for lab in labs for path in lab.graders],
                   "-p", "harness.grading.plugin", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                   "--rootdir", ROOT, "--socklab-bin", bin_dir,
                   "--socklab-durations", DURATIONS, "--socklab-results", results_path,
                   "--socklab-workers", str(max(1, jobs)),
                   # Inside the lab root everyone is "root": pytest's shared
                   # /tmp/pytest-of-root may belong to another user. Use our own.
                   "--basetemp", os.path.join(scratch, "pytest"), *extra_args]
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
        limit = scaled(LAB_TIME_LIMIT) * max(1, len(labs) / max(1, jobs))
        started = time.monotonic()
        own_deadline = started + limit
        budget = deadline is not None and deadline < own_deadline
        deadline = min(deadline, own_deadline) if deadline is not None else own_deadline
        if budget:
            stopped = (f"grading stopped when its time budget ran out "
                       f"({deadline - started:.0f} s for the tests)")
        else:
            stopped = f"the grader did not finish within {limit:.0f} s and was stopped"
        problem, tests = _finish(proc, results_path, deadline, stopped)
    by_lab = {lab.number: lab_result_for(lab) for lab in labs}
    for test in sorted(tests, key=lambda t: (t.lab, t.index)):
        by_lab[test.lab].tests.append(test)
    for result in by_lab.values():
        # A stop at the time budget concerns the labs it left tests of; any other
        # trouble of a pytest process may concern any lab it ran.
        result.problem = problem if problem and (problem != stopped or any(
            t.outcome == "not_run" for t in result.tests)) else ""
    remember_durations(DURATIONS, tests)
    return list(by_lab.values())


def read_results(path):
    """The tests of a pytest session's results file: each finished test as it
    ended, and each planned one that never finished as not run. A line cut short
    by a kill is ignored."""
    planned, finished = {}, {}
    try:
        with open(path) as results:
            for line in results:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue  # not a line the plugin writes
                for kind, fields in event.items():
                    if kind not in ("planned", "finished") or not isinstance(fields, dict):
                        continue
                    try:
                        test = test_from_json(fields)
                    except (KeyError, TypeError, ValueError):
                        continue
                    (planned if kind == "planned" else finished)[test.nodeid] = test
    except OSError:
        pass
    return [finished.get(nodeid, test) for nodeid, test in {**planned, **finished}.items()]


def _finish(proc, results_path, deadline, stopped):
    """Wait for the pytest process (and its workers) until deadline; (problem or "", its test
    results). When stopped, its tests that did not finish are not_run."""
    try:
        log, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        tests = read_results(results_path)
        for test in tests:
            if test.outcome == "not_run":
                test.feedback = f"Not graded: {stopped}, before this test finished."
        return stopped, tests
    tests = read_results(results_path)
    unfinished = [test for test in tests if test.outcome == "not_run"]
    # pytest: 0 all passed, 1 some failed, 5 none collected (a share may be empty);
    # anything else is the grader's own trouble, never to pass for a student's failure.
    if proc.returncode not in (0, 1, 5) or (not tests and proc.returncode != 5) or unfinished:
        tail = "\n".join(log.splitlines()[-30:])
        for test in unfinished:
            test.feedback = "Not graded: the grader failed before this test finished."
        return f"the grader failed (pytest exit {proc.returncode}):\n{tail}", tests
    return "", tests

