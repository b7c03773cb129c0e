"""Self-tests of the instructors' hidden tests: every lab ships at least two, the
reference solutions pass them, and every program of tests/overfit/ (a solution
tuned to the visible tests, as a student might write it) keeps full marks on
the visible tests yet fails the hidden test it names."""
import glob
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from gradeapi import ROOT, failures, grade, lab_numbers

LABS = lab_numbers()
OVERFIT = sorted(glob.glob(os.path.join(ROOT, "tests", "overfit", "*", "*.patch")))
FEWEST_HIDDEN = 2


@pytest.fixture(scope="module")
def solutions_with_hidden_tests():
    report, _, _ = grade("--impl", "solutions", "--hidden")
    return report


def hidden_functions(lab_report):
    """The names of a lab's hidden test functions (a parametrized one counts once)."""
    return {test["name"].split("[")[0] for test in lab_report["tests"] if test["hidden"]}


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_ships_at_least_two_hidden_tests(solutions_with_hidden_tests, lab):
    found = hidden_functions(solutions_with_hidden_tests["labs"][lab])
    assert len(found) >= FEWEST_HIDDEN, (
        f"lab {lab} has {len(found)} hidden tests ({', '.join(sorted(found)) or 'none'}); "
        f"write at least {FEWEST_HIDDEN} in its test_hidden.py")


@pytest.mark.parametrize("lab", LABS)
def test_solution_passes_every_hidden_test(solutions_with_hidden_tests, lab):
    result = solutions_with_hidden_tests["labs"][lab]
    hidden = [test for test in result["tests"] if test["hidden"]]
    assert all(test["outcome"] == "passed" for test in hidden), \
        failures(dict(result, tests=hidden)) or result["problem"]


def header(path, field):
    with open(path) as patch:
        for line in patch:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no '{field}:' line")


def grade_overfit(patch, scratch):
    """The solution with patch applied, graded with the hidden tests:
    (report or None, why not)."""
    lab_dir = os.path.basename(os.path.dirname(patch))
    program = os.path.join(scratch, os.path.basename(patch), lab_dir)
    shutil.copytree(os.path.join(ROOT, "solutions", lab_dir), program)
    with open(patch) as diff:
        applied = subprocess.run(["patch", "-s", "-p1", "-d", program], stdin=diff,
                                 capture_output=True, text=True)
    if applied.returncode != 0:
        return None, f"the overfit no longer applies:\n{applied.stdout}{applied.stderr}"
    report, _, _ = grade("--lab", lab_dir[:2], "--impl", os.path.dirname(program), "--hidden")
    return report, ""


@pytest.fixture(scope="module")
def overfits():
    """patch path -> (report, problem), every overfit program graded, two at a time."""
    scratch = tempfile.mkdtemp(prefix="socklab-overfit-")
    try:
        with ThreadPoolExecutor(2) as pool:
            yield dict(zip(OVERFIT, pool.map(lambda patch: grade_overfit(patch, scratch),
                                             OVERFIT)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("patch", OVERFIT, ids=[os.path.relpath(p, os.path.join(
    ROOT, "tests", "overfit")) for p in OVERFIT])
def test_overfit_passes_the_visible_tests_and_fails_its_hidden_test(overfits, patch):
    lab, caught_by = os.path.basename(os.path.dirname(patch))[:2], header(patch, "Caught-by")
    report, problem = overfits[patch]
    assert report is not None, problem
    tests = report["labs"][lab]["tests"]
    visible = [test for test in tests if not test["hidden"]]
    assert visible and all(test["outcome"] in ("passed", "skipped") for test in visible), \
        "the overfit program fails visible tests too, so it shows nothing about the " \
        "hidden ones:\n" + failures(dict(report["labs"][lab], tests=visible))
    named = [test for test in tests if test["name"].split("[")[0] == caught_by]
    assert named and all(test["hidden"] for test in named), \
        f"lab {lab} has no hidden test named {caught_by}"
    assert any(test["outcome"] == "failed" for test in named), \
        f"{caught_by} did not catch the overfit program ({header(patch, 'Overfit')})"
