#!/usr/bin/env python3
"""Where a submission's CPU time goes, for `make bench` (issue 15, part 1).

    tests/bench/breakdown.py [--lab NN]...

Grades a fresh copy of the solutions (as a class run grades a submission) and
measures the CPU time of everything it starts (getrusage of the children: every
process the grader starts is waited for, so its time and its own children's
count). Then each phase alone, the same way: the build of every lab; the
grader's fixed start-up (the grade command, the lab root, the pytest workers'
start-up and collection: a run that selects no test); each lab's tests (that lab
graded alone, its start-up taken off). Lab 07's share includes its chronyd.
The per-test costs measured inside a lab root (a host, a sandboxed start, a
Python peer process) are printed by tests/bench/overhead.py beside this table.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftest"))
from gradeapi import GRADE, ROOT  # noqa: E402

sys.path.insert(0, ROOT)
from harness import catalog  # noqa: E402

NO_TEST = "no_test_is_called_this"


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(argv, **options):
    """(CPU seconds of argv and everything it started, wall seconds, stdout)."""
    cpu, started = children_cpu(), time.monotonic()
    run = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=1800, **options)
    return children_cpu() - cpu, time.monotonic() - started, run.stdout


def grade_cpu(submission, *args):
    cpu, wall, out = measured([GRADE, "--impl", submission, "--format", "json", *args])
    try:
        report = json.loads(out)
    except ValueError:
        report = None
    return cpu, wall, report


def breakdown(labs):
    """[(phase, CPU seconds, note)] for one fresh copy of the solutions, and the total."""
    lab_args = [arg for lab in labs for arg in ("--lab", lab.number)]
    with tempfile.TemporaryDirectory(prefix="socklab-breakdown-") as scratch:
        submission = os.path.join(scratch, "student")
        shutil.copytree(os.path.join(ROOT, "solutions"), submission)
        total, wall, report = grade_cpu(submission, *lab_args)
        if report is None:
            return [], 0, 0, 0
        tests = sum(len(lab["tests"]) for lab in report["labs"].values())
        build, _, _ = measured([sys.executable, "-m", "harness.programs.build", "--tree",
                                "solutions", "--out", os.path.join(scratch, "build")],
                               env=dict(os.environ, PYTHONPATH=ROOT))
        # A submission is built afresh by every grade: a run that selects no test is
        # the build and the start-up; a lab's own run less its no-test run, its tests.
        startup, _, _ = grade_cpu(submission, *lab_args, "--test", NO_TEST)
        rows = [("build (every lab, from scratch)", build, ""),
                ("grader start-up (grade, lab root, pytest and its workers)",
                 startup - build, "")]
        for lab in labs:
            alone, _, lab_report = grade_cpu(submission, "--lab", lab.number)
            lab_startup, _, _ = grade_cpu(submission, "--lab", lab.number, "--test", NO_TEST)
            result = lab_report["labs"][lab.number] if lab_report else {"tests": []}
            count = len(result["tests"])
            note = "chronyd included" if lab.number == "07" else ""
            # A grader in trouble (a busy machine's timeouts) makes the figure meaningless.
            if not lab_report or result.get("problem") or not count:
                trouble = (result.get("problem") or "no report").splitlines()[0][:80]
                note = f"NOT MEASURED: {trouble}"
            rows.append((f"lab {lab.number} {lab.name}: {count} tests", alone - lab_startup,
                         note))
    rows.append(("the rest (what the phases alone do not add up to)",
                 total - sum(row[1] for row in rows), ""))
    return rows, total, wall, tests


def print_breakdown(labs):
    rows, total, wall, tests = breakdown(labs)
    if not rows:
        print("  (could not grade the solutions)")
        return
    print(f"  one fresh copy of the solutions: {total:.1f} CPU-s in {wall:.1f} s wall, "
          f"{tests} tests")
    for phase, seconds, note in rows:
        share = 100 * seconds / total if total else 0
        print(f"  {phase:<52} {seconds:6.1f} CPU-s {share:5.1f} %"
              + (f"  ({note})" if note else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", action="append", default=[], metavar="NN")
    args = parser.parse_args()
    print(f"Where a submission's CPU time goes ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}):")
    print_breakdown(catalog.select(args.lab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
