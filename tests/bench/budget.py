#!/usr/bin/env python3
"""make bench (part 2): does grading fit the hosted platforms' time limits?

    tests/bench/budget.py [--cpu N]

Grades every lab, hidden tests included, the way a platform with one CPU does
(the grader and everything it starts pinned to CPU N, which a busy loop shares,
--jobs as on a one-CPU machine), for the reference solutions, the untouched
skeletons, and programs that never answer (every test waits out its deadlines).
Each must finish within GOAL seconds: the run_autograder budget, well under
Gradescope's default limit of 600 s (PrairieLearn's maximum is 600 s, Autolab's
899 s). A measurement to read, not a test: it exits 0 unless something could not run.
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftest"))
from gradeapi import GRADE, ROOT  # noqa: E402

sys.path.insert(0, ROOT)
from harness import catalog  # noqa: E402

GOAL = 480                  # seconds: run_autograder's budget
GRADESCOPE_LIMIT = 600
ONE_CPU_JOBS = 2 * 1 + 2    # grade's default --jobs on a machine with one CPU
SILENT = "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"


def spin(cpu):
    os.sched_setaffinity(0, {cpu})
    while True:
        pass


def silent_programs(folder):
    """A submission whose every program waits for ever without a word (units are
    the skeleton's, so everything builds)."""
    for lab in catalog.all_labs():
        os.makedirs(os.path.join(folder, lab.directory))
        for program in lab.programs:
            with open(os.path.join(folder, lab.directory, f"{program}.c"), "w") as out:
                out.write(SILENT)
        for unit in lab.units:
            with open(os.path.join(ROOT, "labs", lab.directory, f"{unit}.c")) as source, \
                    open(os.path.join(folder, lab.directory, f"{unit}.c"), "w") as out:
                out.write(source.read())
    return folder


def pinned_grade(cpu, impl):
    """(wall seconds, report) of grading impl with --hidden on one CPU."""
    started = time.monotonic()
    run = subprocess.run([GRADE, "--impl", impl, "--hidden", "--jobs", str(ONE_CPU_JOBS),
                          "--format", "json"], capture_output=True, text=True, cwd=ROOT,
                         preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    seconds = time.monotonic() - started
    try:
        return seconds, json.loads(run.stdout)
    except ValueError:
        raise SystemExit(f"budget: grade printed no report (exit {run.returncode}):\n"
                         f"{run.stderr[-2000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to grade on (default 0)")
    args = parser.parse_args()
    busy = multiprocessing.Process(target=spin, args=(args.cpu,), daemon=True)
    busy.start()
    print(f"Every lab with its hidden tests, on CPU {args.cpu} shared with a busy loop, "
          f"--jobs {ONE_CPU_JOBS}; the goal is {GOAL} s (Gradescope stops at "
          f"{GRADESCOPE_LIMIT} s):")
    try:
        with tempfile.TemporaryDirectory(prefix="socklab-budget-") as scratch:
            for label, impl in (("reference solutions", "solutions"),
                                ("untouched skeletons", "labs"),
                                ("programs that never answer", silent_programs(scratch))):
                seconds, report = pinned_grade(args.cpu, impl)
                verdict = "within the goal" if seconds <= GOAL else "OVER THE GOAL"
                print(f"  {label:<28} {seconds:6.1f} s  {verdict}  "
                      f"({report['score']}/{report['max']} points, "
                      f"{len(report['labs'])} labs)")
    finally:
        busy.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
