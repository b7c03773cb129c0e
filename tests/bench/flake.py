#!/usr/bin/env python3
"""make flake: grade the solutions again and again, and a few mutants too, and
report every test whose verdict ever differs. It should report none, also with
the other core kept busy (--busy).

    tests/bench/flake.py [--runs 30] [--mutant-runs 10] [--mutants 4] [--busy] [--container]

--container grades under tests/container/run (Docker's default profile: the
grader runs in user-mode Linux), e.g. `make flake FLAKE_ARGS="--container --runs 10"`.

Exit 1 if any verdict differed, so it can gate a release.
"""
import argparse
import collections
import glob
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftest"))
from gradeapi import ROOT, grade, verdicts  # noqa: E402


def spin():
    while True:
        pass


def mutant_tree(patch, scratch):
    """A submission directory holding the solution with patch applied."""
    lab_dir = os.path.basename(os.path.dirname(patch))
    tree = os.path.join(scratch, os.path.basename(patch))
    shutil.copytree(os.path.join(ROOT, "solutions", lab_dir), os.path.join(tree, lab_dir))
    with open(patch) as diff:
        subprocess.run(["patch", "-s", "-p1", "-d", os.path.join(tree, lab_dir)], stdin=diff,
                       check=True)
    return lab_dir[:2], tree


def repeat(label, runs, *args, user=()):
    """Grade `runs` times; print and return the tests whose verdict varied."""
    seen = collections.defaultdict(collections.Counter)
    for run in range(1, runs + 1):
        report, seconds, _ = grade(*args, user=user, timeout=7200)
        for key, verdict in verdicts(report).items():
            seen[key][verdict] += 1
        print(f"  {label} run {run}/{runs}: {report['score']}/{report['max']} in {seconds:.1f} s",
              flush=True)
    varied = {key: counts for key, counts in seen.items() if len(counts) > 1}
    for (lab, name), counts in sorted(varied.items()):
        print(f"  FLAKY {label}: lab {lab} {name}: {dict(counts)}")
    return varied


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--mutant-runs", type=int, default=10)
    parser.add_argument("--mutants", type=int, default=4, help="how many mutants (spread over labs)")
    parser.add_argument("--busy", action="store_true", help="keep one core busy meanwhile")
    parser.add_argument("--container", action="store_true",
                        help="grade in a reproduced container (user-mode Linux inside)")
    args = parser.parse_args()
    user = [os.path.join(ROOT, "tests", "container", "run")] if args.container else []
    busy = multiprocessing.Process(target=spin, daemon=True) if args.busy else None
    if busy:
        busy.start()
    flaky = {}
    try:
        print(f"The solutions, {args.runs} times{' (one core kept busy)' if busy else ''}:")
        flaky.update(repeat("solutions", args.runs, "--impl", "solutions", user=user))
        patches = sorted(glob.glob(os.path.join(ROOT, "tests", "mutants", "*", "*.patch")))
        chosen = patches[::max(1, len(patches) // max(1, args.mutants))][:args.mutants]
        with tempfile.TemporaryDirectory(prefix="socklab-flake-") as scratch:
            for patch in chosen:
                lab, tree = mutant_tree(patch, scratch)
                name = os.path.relpath(patch, os.path.join(ROOT, "tests", "mutants"))
                print(f"Mutant {name}, {args.mutant_runs} times:")
                flaky.update(repeat(name, args.mutant_runs, "--impl", tree, "--lab", lab,
                                    user=user))
    finally:
        if busy:
            busy.terminate()
    print(f"\n{len(flaky)} verdicts differed between runs" + (":" if flaky else "."))
    for (lab, name), counts in sorted(flaky.items()):
        print(f"  lab {lab} {name}: {dict(counts)}")
    return 1 if flaky else 0


if __name__ == "__main__":
    sys.exit(main())
