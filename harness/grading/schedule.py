"""Which tests run first: each test's duration is kept from run to run, and the
next run hands out the longest first (grading/workers.py gives each free worker
the next), so that no long test starts last. Only the order changes: every test
runs exactly once, and order changes no verdict."""
import json
import os
import tempfile


def longest_first(items, path):
    """Order the tests by how long they took last time, longest first, so a long
    test never starts last (tests are independent: order changes no verdict).
    Tests not seen before count as long."""
    known = {**baseline(items), **_read(path)}
    items.sort(key=lambda item: (-known.get(item.nodeid, UNKNOWN_DURATION), item.nodeid))


UNKNOWN_DURATION = 10.0
# Each lab's grader package ships durations.json, its tests' durations for the
# reference solution, so that a first run (every run on a hosted autograder) is
# scheduled well too. Refresh one after changing its tests:
#   harness/grade --lab NN --impl solutions && python3 -m harness.commands.baseline NN
BASELINE = "durations.json"


def baseline(items):
    """The shipped durations of the grader packages the items come from."""
    known = {}
    for folder in sorted({os.path.dirname(str(item.fspath)) for item in items}):
        known.update(_read(os.path.join(folder, BASELINE)))
    return known


def _read(path):
    try:
        with open(path) as durations:
            return json.load(durations)
    except (TypeError, OSError, ValueError):
        return {}


def remember_durations(path, results):
    """Keep the durations of the tests that passed (a failure is often quick and
    says nothing of the test's real cost) for longest_first. Written whole, then
    renamed, so graders sharing build/ never read half a file."""
    known = _read(path)
    known.update({result.nodeid: round(result.duration, 3) for result in results
                  if result.outcome == "passed"})
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # mkstemp, not the pid: every grader is PID 1 of its own namespace.
        handle, scratch = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".durations-")
        with os.fdopen(handle, "w") as out:
            json.dump(known, out, indent=0, sort_keys=True)
        os.replace(scratch, path)
    except OSError:
        pass  # only a scheduling hint: grading goes on without it
