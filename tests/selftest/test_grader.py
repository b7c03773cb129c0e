"""The grader's self-tests: it must give full marks to the solutions (also built
with sanitizers), nothing to the untouched skeletons (fast), and catch every
known-bug mutant in tests/mutants/ with the test the mutant names."""
import glob
import os
import pathlib
import shutil
import tempfile
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from gradeapi import ROOT, failures, grade, lab_numbers

LABS = lab_numbers()
MUTANTS = sorted(glob.glob(os.path.join(ROOT, "tests", "mutants", "*", "*.patch")))


@pytest.fixture(scope="module")
def solutions():
    report, _, _ = grade("--impl", "solutions")
    return report


@pytest.fixture(scope="module")
def sanitized_solutions():
    report, _, _ = grade("--impl", "solutions", "--sanitize")
    return report


@pytest.mark.parametrize("lab", LABS)
def test_solution_scores_full_marks(solutions, lab):
    result = solutions["labs"][lab]
    assert result["max"] == 100, f"lab {lab}'s tests add up to {result['max']}, not 100"
    assert result["score"] == 100, failures(result) or result["problem"]


@pytest.mark.parametrize("lab", LABS)
def test_sanitized_solution_scores_full_marks(sanitized_solutions, lab):
    result = sanitized_solutions["labs"][lab]
    assert result["score"] == 100, failures(result) or result["problem"]


VALGRIND = "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"


@pytest.fixture(scope="module")
def solutions_under_valgrind():
    report, _, _ = grade("--impl", "solutions", "--wrapper", VALGRIND,
                         env={"SOCKLAB_TIMEOUT_SCALE": "5"})
    return report


@pytest.mark.parametrize("lab", LABS)
def test_solution_is_clean_under_valgrind(solutions_under_valgrind, lab):
    result = solutions_under_valgrind["labs"][lab]
    graded = [t for t in result["tests"] if t["outcome"] != "skipped"]
    assert graded, "no test ran under valgrind"
    assert all(t["outcome"] == "passed" for t in graded), failures(result) or result["problem"]


# Grading runs mostly wait on the network, so a few at a time beat one by one.
PARALLEL_GRADERS = max(2, os.cpu_count() or 1)


@pytest.fixture(scope="module")
def skeletons():
    """lab -> report, each lab's skeleton graded on its own."""
    with ThreadPoolExecutor(PARALLEL_GRADERS) as pool:
        runs = pool.map(lambda lab: grade("--lab", lab, "--impl", "labs"), LABS)
        return {lab: report for lab, (report, _, _) in zip(LABS, runs)}


# How fast a skeleton fails is a duration, so `make bench` measures it (every lab's
# skeleton graded within seconds); here only what does not depend on the machine.
@pytest.mark.parametrize("lab", LABS)
def test_skeleton_scores_zero_and_says_not_implemented(skeletons, lab):
    result = skeletons[lab]["labs"][lab]
    assert result["score"] == 0, f"the skeleton earns {result['score']} points"
    assert not result["problem"], result["problem"]
    failed = [t for t in result["tests"] if t["outcome"] == "failed"]
    assert all(t["outcome"] != "passed" for t in result["tests"])
    assert any("not implemented yet" in t["feedback"] for t in failed), \
        "no test says 'not implemented yet'"
    waited = [t["name"] for t in failed if "hung" in t["symptoms"]]
    assert not waited, f"tests that ran into their time limit on the skeleton: {waited}"


def mutant_header(path, field):
    with open(path) as patch:
        for line in patch:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no '{field}:' line")


def grade_mutant(patch, scratch):
    """Apply patch to a copy of its lab's solution and grade it with the test it
    names: (report or None, why not)."""
    lab_dir = os.path.basename(os.path.dirname(patch))
    mutant = os.path.join(scratch, os.path.basename(patch), lab_dir)
    shutil.copytree(os.path.join(ROOT, "solutions", lab_dir), mutant)
    with open(patch) as diff:
        applied = subprocess.run(["patch", "-s", "-p1", "-d", mutant], stdin=diff,
                                 capture_output=True, text=True)
    if applied.returncode != 0:
        return None, f"the mutant no longer applies:\n{applied.stdout}{applied.stderr}"
    report, _, _ = grade("--lab", lab_dir[:2], "--impl", os.path.dirname(mutant),
                         "--test", mutant_header(patch, "Caught-by"))
    return report, ""


@pytest.fixture(scope="module")
def mutants():
    """patch path -> (report, problem), every mutant graded, several at a time."""
    scratch = tempfile.mkdtemp(prefix="socklab-mutants-")
    try:
        with ThreadPoolExecutor(PARALLEL_GRADERS) as pool:
            results = pool.map(lambda patch: grade_mutant(patch, scratch), MUTANTS)
            yield dict(zip(MUTANTS, results))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.parametrize("patch", MUTANTS,
                         ids=[os.path.relpath(p, os.path.join(ROOT, "tests", "mutants"))
                              for p in MUTANTS])
def test_mutant_is_caught_by_its_test(mutants, patch):
    lab, caught_by = os.path.basename(os.path.dirname(patch))[:2], mutant_header(patch, "Caught-by")
    report, problem = mutants[patch]
    assert report is not None, problem
    named = [t for t in report["labs"][lab]["tests"] if t["name"].split("[")[0] == caught_by]
    assert named, f"lab {lab} has no test named {caught_by}"
    assert not any("did not compile" in t["feedback"] for t in named), named[0]["feedback"]
    assert any(t["outcome"] == "failed" for t in named), \
        f"{caught_by} did not catch the mutant ({mutant_header(patch, 'Bug')})"


def test_loopback_only_mode_skips_instead_of_failing():
    report, _, stderr = grade("--lab", "01", "--impl", "solutions",
                              env={"SOCKLAB_NO_NETNS": "namespaces switched off for this test"})
    tests = report["labs"]["01"]["tests"]
    skipped = [t for t in tests if t["outcome"] == "skipped"]
    assert skipped, "no test was skipped without namespaces"
    assert all("namespaces switched off" in t["feedback"] for t in skipped)
    assert all(t["outcome"] in ("passed", "skipped") for t in tests), \
        failures(report["labs"]["01"])
    assert "grading on the loopback only" in stderr


def test_two_graders_side_by_side_do_not_clash():
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: grade("--lab", "01", "--impl", "solutions"), range(2)))
    for report, _, _ in runs:
        assert report["score"] == 100, failures(report["labs"]["01"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become an ordinary user")
def test_grader_works_as_an_ordinary_user():
    # Not pytest's tmp_path: it sits in a directory only root may enter.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="socklab-nobody-"))
    copy = tmp_path / "socklab"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("build", ".git", "node_modules"))
    subprocess.run(["chown", "-R", "65534:65534", str(tmp_path)], check=True)
    os.chmod(tmp_path, 0o755)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
              "env", "HOME=" + str(tmp_path)]
    result = subprocess.run([*nobody, str(copy / "harness" / "grade"), "--format", "json",
                             "--lab", "01", "--impl", "solutions"],
                            capture_output=True, text=True, timeout=300, cwd=copy)
    shutil.rmtree(tmp_path)
    assert '"score": 100' in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
