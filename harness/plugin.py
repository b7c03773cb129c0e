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
import glob
import json
import os
import re
import signal
import time

import pytest

from harness import namespaces
from harness.build import build_failed, build_failure_text
from harness.lab import GradeFailure, Lab
from harness.process import ProgramFailure
from harness.schedule import longest_first, my_share
from harness.timeouts import scaled

DEFAULT_TIME_LIMIT = 30.0
GRADER_FILE = re.compile(r"test_(\d\d)_\w+\.py")


def pytest_addoption(parser):
    group = parser.getgroup("socklab")
    group.addoption("--socklab-bin", default="build/solutions",
                    help="directory holding NN-name/PROG binaries to grade")
    group.addoption("--socklab-results", help="write the results as JSON to this file")
    group.addoption("--socklab-wrapper", default="",
                    help="command to run each program under test with (e.g. valgrind)")
    group.addoption("--socklab-hidden", action="store_true",
                    help="also run the instructors' hidden tests")
    group.addoption("--socklab-durations", metavar="FILE",
                    help="test durations of earlier runs: run the longest first")
    group.addoption("--socklab-shard", type=parse_shard, default=(0, 1), metavar="K/N",
                    help="run only share K (0-based) of N of the tests (see my_share)")


def parse_shard(text):
    shard, shards = (int(part) for part in text.split("/"))
    if not 0 <= shard < shards:
        raise ValueError(f"shard {text}: K must be from 0 to N-1")
    return shard, shards


def pytest_configure(config):
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
    known = longest_first(items, config.getoption("--socklab-durations"))
    shard, shards = config.getoption("--socklab-shard")
    if shards > 1:
        mine = my_share(items, known, shard, shards)
        config.hook.pytest_deselected(items=[item for item in items if item not in mine])
        items[:] = mine


def lab_of(item):
    """'01' for a test in test_01_udp_local.py."""
    match = GRADER_FILE.fullmatch(os.path.basename(str(item.fspath)))
    return match.group(1) if match else "??"


def program_for(config, lab):
    """The binary under test for a lab: BIN/NN-name/prog (the only file there named like the lab)."""
    bin_dir = config.getoption("--socklab-bin")
    for lab_dir in glob.glob(os.path.join(bin_dir, f"{lab}-*")):
        name = os.path.basename(lab_dir).split("-", 1)[1].replace("-", "_")
        return os.path.abspath(os.path.join(lab_dir, name))
    return os.path.abspath(os.path.join(bin_dir, f"{lab}-missing", "missing"))


@pytest.fixture
def lab(request):
    """A fresh Lab: private network, program under test, story (see harness/lab.py)."""
    reason = namespaces.unavailable_reason()
    if reason and request.node.get_closest_marker("netns"):
        pytest.skip(f"needs a private lab network, which is unavailable here: {reason}")
    wrapper = request.config.getoption("--socklab-wrapper").split()
    if wrapper and request.node.get_closest_marker("bulk"):
        pytest.skip(f"moves too much data to run under {wrapper[0]}")
    program = program_for(request.config, lab_of(request.node))
    if build_failed(program):
        log = build_failure_text(os.path.dirname(os.path.dirname(program)),
                                 os.path.basename(os.path.dirname(program)))
        raise GradeFailure(f"{os.path.basename(program)} did not compile, so nothing could "
                           f"be tested. The compiler said:\n{log}")
    world = Lab(program, reason, wrapper)
    request.node.socklab_lab = world
    yield world
    world.teardown()


class TimeLimitExceeded(GradeFailure):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A test that outlives its limit is stopped; the grader never hangs."""
    marker = item.get_closest_marker("time_limit")
    limit = scaled(marker.args[0] if marker else DEFAULT_TIME_LIMIT)

    def expire(signum, frame):
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
    """Put what the results file needs on each report, as user_properties."""
    outcome = yield
    report = outcome.get_result()
    points = item.get_closest_marker("points")
    details = {"lab": lab_of(item), "max": points.args[0] if points else 0,
               "hidden": item.get_closest_marker("hidden") is not None,
               "index": getattr(item, "socklab_index", 0)}
    if report.failed and call.excinfo is not None:
        details["feedback"] = feedback_for(item, call.excinfo)
    report.user_properties = [*report.user_properties, (SOCKLAB_PROPERTY, details)]


def feedback_for(item, excinfo):
    """What a student reads for a failed test: the message, then the story."""
    if isinstance(excinfo.value, (GradeFailure, ProgramFailure)):
        message = str(excinfo.value)
    elif isinstance(excinfo.value, AssertionError):
        message = "check failed: " + str(excinfo.value).strip()
    else:  # the grader itself broke: say so plainly, with the place
        message = (f"the grader hit an internal error ({excinfo.typename}: {excinfo.value}); "
                   "this is not your fault, please report it\n"
                   + str(excinfo.getrepr(style="short")))
    world = getattr(item, "socklab_lab", None)
    story = world.story() if world is not None else ""
    return message + ("\n" + story if story else "")


def pytest_runtest_logreport(report):
    """Fold each phase into one result per test: passed only if every phase passed."""
    details = dict(report.user_properties).get(SOCKLAB_PROPERTY)
    if details is None:
        return
    results = _results.setdefault(report.nodeid, {
        "nodeid": report.nodeid, "name": report.nodeid.split("::")[-1], "lab": details["lab"],
        "index": details["index"],
        "max": details["max"], "hidden": details["hidden"], "outcome": "passed",
        "feedback": "", "duration": 0.0})
    results["duration"] += report.duration
    if report.skipped and results["outcome"] == "passed":
        results["outcome"] = "skipped"
        results["feedback"] = _skip_reason(report)
    elif report.failed and results["outcome"] != "failed":
        results["outcome"] = "failed"
        results["feedback"] = details.get("feedback") or str(report.longrepr)
    results["score"] = results["max"] if results["outcome"] == "passed" else 0


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


SOCKLAB_PROPERTY = "socklab"
_results = {}  # nodeid -> result, in the order tests first reported


def pytest_sessionfinish(session):
    path = session.config.getoption("--socklab-results")
    if path:
        ordered = sorted(_results.values(), key=lambda r: (r["lab"], r["index"]))
        with open(path, "w") as out:
            json.dump({"finished": time.time(), "tests": ordered}, out, indent=1)
