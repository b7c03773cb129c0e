"""Refresh a lab's shipped test durations (harness/labs/labNN_name/durations.json),
the schedule of a first run, from the last grading of the reference solution:

    harness/grade --lab NN --impl solutions && PYTHONPATH=. python3 -m harness.commands.baseline NN
"""
import json
import os
import sys

from harness import catalog
from harness.commands import entry_point
from harness.errors import UsageError
from harness.grading.runner import DURATIONS
from harness.grading.schedule import BASELINE


def run(argv):
    if not argv:
        raise UsageError("usage: python3 -m harness.commands.baseline NN...")
    try:
        with open(DURATIONS) as kept:
            durations = json.load(kept)
    except (OSError, ValueError):
        raise UsageError(f"no durations in {DURATIONS}: grade the solutions first") from None
    for lab in catalog.select(argv):
        prefix = os.path.relpath(lab.package_dir, catalog.ROOT) + "/"
        mine = {test: seconds for test, seconds in durations.items() if test.startswith(prefix)}
        with open(os.path.join(lab.package_dir, BASELINE), "w") as out:
            json.dump(mine, out, indent=0, sort_keys=True)
            out.write("\n")
        print(f"baseline: lab {lab.number}: {len(mine)} tests")
    return 0


if __name__ == "__main__":
    sys.exit(entry_point("baseline", run, sys.argv[1:]))
