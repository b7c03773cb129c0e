"""The pytest plugin behind every grader file: markers, the `lab` fixture, a time
limit per test, and the results file the grade command reads.

Markers:
  points(N)   what the test is worth (each lab's tests add up to 100)
  netns       needs more than a private loopback (skipped, with the reason, where
              network namespaces are unavailable)
  hidden      an instructor's test: not run unless --socklab-hidden is given
  time_limit(S)  seconds the whole test may take (default 30, scaled)
  bulk        moves so much data that it is skipped under a --wrapper such as valgrind
"""
import errno
import functools
import importlib
import json
import os
import signal
import time
from dataclasses import asdict

import pytest

from harness import catalog
from harness.grading.contract import OTHER_ZONE
from harness.grading.diagnoses import errno_hint, stderr_hint
from harness.grading.lab import GradeFailure, Lab
from harness.grading.schedule import longest_first
from harness.grading.workers import run_forked
from harness.network import namespaces
from harness.programs.build import build_failed, build_failure_text
from harness.programs.process import ProgramFailure
from harness.results.model import HUNG, TestResult
from harness.results.text import safe_block
from harness.timeouts import scaled

DEFAULT_TIME_LIMIT = 30.0


def pytest_addoption(parser):
    group = parser.getgroup("socklab")
    group.addoption("--socklab-bin", default="build/solutions",
                    help="directory holding NN-name/PROG binaries to grade")
    group.addoption("--socklab-results",
                    help="append the results to this file as they come, one JSON object a "
                         "line: {\"planned\": test} for each test to run, then "
                         "{\"finished\": test} as each one ends")
    group.addoption("--socklab-wrapper", default="",
                    help="command to run each program under test with (e.g. valgrind)")
    group.addoption("--socklab-hidden", action="store_true",
                    help="also run the instructors' hidden tests")
    group.addoption("--socklab-durations", metavar="FILE",
                    help="test durations of earlier runs: run the longest first")
    group.addoption("--socklab-workers", type=int, default=1, metavar="N",
                    help="run the tests in N processes forked after collection, each "
                         "taking the next test when it is free (grading/workers.py)")


def pytest_configure(config):
    global _config
    _config = config
    for line in ("points(n): points the test is worth",
                 "netns: needs network namespaces beyond a private loopback",
                 "hidden: an instructor-only test",
                 "time_limit(seconds): how long the whole test may take",
                 "bulk: too much data to run under a wrapper such as valgrind"):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--socklab-hidden"):
        kept = [item for item in items if item.get_closest_marker("hidden") is None]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
    for index, item in enumerate(items):
        item.socklab_index = index  # reports keep file order, whatever the run order
    longest_first(items, config.getoption("--socklab-durations"))


def pytest_collection_finish(session):
    """Every test this session will run, as planned (after -k and --socklab-hidden)."""
    for item in session.items:
        _record(session.config, "planned", planned_result(item))


def planned_result(item):
    """The TestResult of a test not run yet: what it is, where, and its points."""
    points = item.get_closest_marker("points")
    info = lab_info(item)
    return TestResult(nodeid=item.nodeid, name=item.nodeid.split("::")[-1], lab=lab_of(item),
                      index=getattr(item, "socklab_index", 0),
                      max=points.args[0] if points else 0,
                      hidden=item.get_closest_marker("hidden") is not None,
                      outcome="not_run",
                      tags=[info.key, *topics_of(info.package)] if info else [])


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """With --socklab-workers N, the tests run in N forked processes."""
    workers = min(session.config.getoption("--socklab-workers"), len(session.items))
    if workers <= 1 or session.config.option.collectonly:
        return None  # pytest's own loop
    return run_forked(session, workers)


def _record(config, event, result):
    """Append one event to the results file at once, so that a grader stopped at
    its time budget still leaves every finished test behind (runner.py). One
    write() of an O_APPEND file: the workers of grading/workers.py share the file,
    and no line of one can land inside a line of another."""
    path = config.getoption("--socklab-results")
    if path:
        line = (json.dumps({event: asdict(result)}) + "\n").encode()
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            while line:
                line = line[os.write(descriptor, line):]
        finally:
            os.close(descriptor)


_LABS = {}  # package directory -> LabInfo


def lab_info(item):
    """The catalog's LabInfo of the lab whose grader package holds item."""
    if not _LABS:
        _LABS.update({lab.package_dir: lab for lab in catalog.all_labs()})
    return _LABS.get(os.path.dirname(str(item.fspath)))


def lab_of(item):
    """'01' for a test of harness/labs/lab01_udp_local/."""
    info = lab_info(item)
    return info.number if info else "??"


def binaries_for(config, info):
    """name -> path of each binary under test of a lab: BIN/NN-name/PROG."""
    bin_dir = os.path.abspath(config.getoption("--socklab-bin"))
    return {program: os.path.join(bin_dir, info.directory, program) for program in info.programs}


@pytest.fixture
def lab(request):
    """A fresh Lab: private network, programs under test, story (see grading/lab.py)."""
    reason = namespaces.unavailable_reason()
    if reason and request.node.get_closest_marker("netns"):
        pytest.skip(f"needs a private lab network, which is unavailable here: {reason}")
    wrapper = request.config.getoption("--socklab-wrapper").split()
    if wrapper and request.node.get_closest_marker("bulk"):
        pytest.skip(f"moves too much data to run under {wrapper[0]}")
    binaries = binaries_for(request.config, lab_info(request.node))
    first = next(iter(binaries.values()))
    if any(build_failed(path) for path in binaries.values()):
        log = build_failure_text(os.path.dirname(first))
        raise GradeFailure(f"lab {lab_of(request.node)} did not compile, so nothing could "
                           f"be tested. The compiler said:\n{log}")
    world = Lab(binaries, reason, wrapper)
    request.node.socklab_lab = world
    yield world
    world.teardown()


@pytest.fixture
def other_time_zone(lab, monkeypatch):
    """For this test the grader and every program it starts run with
    TZ=contract.OTHER_ZONE, so that local time and UTC differ. (The sandbox gives
    programs a fixed environment: lab.env is how a variable reaches them.)"""
    lab.env["TZ"] = OTHER_ZONE
    monkeypatch.setenv("TZ", OTHER_ZONE)
    time.tzset()
    yield OTHER_ZONE
    monkeypatch.undo()
    time.tzset()


class TimeLimitExceeded(GradeFailure):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A test that outlives its limit is stopped; the grader never hangs."""
    marker = item.get_closest_marker("time_limit")
    limit = scaled(marker.args[0] if marker else DEFAULT_TIME_LIMIT)

    def expire(signum, frame):
        world = getattr(item, "socklab_lab", None)
        if world is not None:
            world.symptoms.append(HUNG)
        raise TimeLimitExceeded(f"the test did not finish within its time limit of {limit:.0f} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Put what the results need on each phase's report, as a user property."""
    outcome = yield
    report = outcome.get_result()
    planned = planned_result(item)
    details = {"lab": planned.lab, "max": planned.max, "hidden": planned.hidden,
               "index": planned.index, "tags": planned.tags}
    if report.failed and call.excinfo is not None:
        details["feedback"] = feedback_for(item, call.excinfo)
    world = getattr(item, "socklab_lab", None)
    if world is not None and call.when == "teardown":
        details["symptoms"] = world.seen_symptoms
    report.user_properties = [*report.user_properties, (SOCKLAB_PROPERTY, details)]


@functools.lru_cache(maxsize=None)
def topics_of(package):
    """A lab's topics, as its grader package's TOPICS names them (tags for platforms)."""
    return tuple(getattr(importlib.import_module(package), "TOPICS", ()))


def feedback_for(item, excinfo):
    """What a student reads for a failed test: the message, then the story."""
    if isinstance(excinfo.value, (GradeFailure, ProgramFailure)):
        message = str(excinfo.value)
    elif isinstance(excinfo.value, AssertionError):
        message = "check failed: " + str(excinfo.value).strip()
    elif isinstance(excinfo.value, OSError):
        message = peer_socket_failure(item, excinfo.value)
    else:  # the grader itself broke: say so plainly, with the place
        message = (f"the grader hit an internal error ({excinfo.typename}: {excinfo.value}); "
                   "this is not your fault, please report it\n"
                   + str(excinfo.getrepr(style="short")))
    world = getattr(item, "socklab_lab", None)
    story = world.story() if world is not None else ""
    return safe_block(message + ("\n" + story if story else ""))


def peer_socket_failure(item, error):
    """A socket error on the grader's side is almost always the program's doing
    (a port it printed wrong, a socket it closed, a reset): say what was seen, with
    the likely cause, and keep the grader's own blame for what it cannot explain."""
    name = errno.errorcode.get(error.errno, "")
    hint = errno_hint(error)
    world = getattr(item, "socklab_lab", None)
    if world is not None and not hint:
        for program in world.programs:
            hint = stderr_hint(program.stderr)
            if hint:
                break
    message = (f"a socket of the grader's peer failed while talking to your program: "
               f"{error.strerror or error}" + (f" ({name})" if name else ""))
    if hint:
        message += f"\nHint: {hint}"
    return message + ("\nIf your program's output below looks right, the grader may be at "
                      "fault: please report it.")


def pytest_runtest_logreport(report):
    """Fold each phase into one TestResult: passed only if every phase passed.
    The teardown phase ends the test: its result goes to the results file."""
    details = dict(report.user_properties).get(SOCKLAB_PROPERTY)
    if details is None:
        return
    result = _results.get(report.nodeid)
    if result is None:
        result = _results[report.nodeid] = TestResult(
            nodeid=report.nodeid, name=report.nodeid.split("::")[-1], lab=details["lab"],
            index=details["index"], max=details["max"], hidden=details["hidden"],
            tags=details["tags"])
    result.duration += report.duration
    result.symptoms += [s for s in details.get("symptoms", ()) if s not in result.symptoms]
    if report.skipped and result.outcome == "passed":
        result.outcome = "skipped"
        result.feedback = safe_block(_skip_reason(report))
    elif report.failed and result.outcome != "failed":
        result.outcome = "failed"
        result.feedback = details.get("feedback") or safe_block(str(report.longrepr))
    if report.when == "teardown":
        _record(_config, "finished", result)


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


SOCKLAB_PROPERTY = "socklab"
_results = {}  # nodeid -> TestResult, in the order tests first reported
_config = None  # the session's config, for _record from report hooks
