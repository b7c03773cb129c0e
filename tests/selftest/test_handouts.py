"""The handouts (labs/NN-name/README.md) as students use them.

Runnable experiments. A fenced code block whose info string is `sh experiment`
is a shell experiment that needs nothing but a lab network: no second terminal,
no person at a keyboard, no state left by an earlier block. This test runs each
one with `bash -e` on a fresh lab network host (tests/selftest/handout_experiment.py),
from the repository's root, with the reference programs in place of the
student's (`build/labs/` read as `build/solutions/`: a skeleton stops at its
first TODO), and requires it to run to its end, exit 0, within a bound. Blocks
that need a person, a terminal or an earlier block's state are plain `sh`
blocks and are not run. Mark a new experiment `sh experiment` once it runs on
its own.

Files a student has. A student copy (make student-dist) has no solutions/, no
mutants, no hidden tests, and the harness is the grader's business: a handout
names only files a student has, and `harness/grade` as a command."""
import glob
import os
import re
import subprocess

import pytest

from gradeapi import ROOT
from harness import catalog
from harness.commands.dist import hidden_test_names
from harness.network import namespaces
from harness.timeouts import scaled

HANDOUTS = sorted(glob.glob(os.path.join(ROOT, "labs", "*", "README.md")))
EXPERIMENT = re.compile(r"^```sh experiment\n(.*?)^```$", re.M | re.S)
EXPERIMENT_SECONDS = 90  # the longest marked block takes about 40 s (lab 06's seven sizes)
RUNNER = os.path.join(ROOT, "tests", "selftest", "handout_experiment.py")
NETNS = namespaces.probe_user_namespaces()
# What a handout may not point at: the reference solutions, the repository's own
# tests, the grader's internals (only its command, harness/grade, is for students).
NOT_A_STUDENTS = [
    (re.compile(r"(?<![\w./-])solutions/(?! \(reference\))"), "the reference solutions"),
    (re.compile(r"build/solutions"), "the reference solutions' programs"),
    (re.compile(r"(?<![\w./-])tests/"), "the repository's own tests"),
    (re.compile(r"(?<![\w./-])harness/(?!grade\b)"), "the grader's internals"),
]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def relative(path):
    return os.path.relpath(path, ROOT)


def experiments():
    """(handout, number, block) for every runnable experiment of every handout."""
    found = []
    for handout in HANDOUTS:
        with open(handout) as text:
            for number, block in enumerate(EXPERIMENT.findall(text.read()), 1):
                found.append((relative(handout), number, block))
    return found


@pytest.fixture(scope="module")
def programs():
    """Every program built, the reference solutions included."""
    built = subprocess.run(["make", "-s"], cwd=ROOT, capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]


def test_some_handouts_have_runnable_experiments():
    assert experiments(), "no handout has an `sh experiment` block"


@pytest.mark.needs_solutions
@pytest.mark.skipif(NETNS is not None, reason=f"no lab networks here: {NETNS}")
@pytest.mark.parametrize("handout,number,block", experiments(),
                         ids=[f"{h.split('/')[1]}-{n}" for h, n, _ in experiments()])
def test_handout_experiment_runs_in_a_lab_network(programs, handout, number, block):
    script = block.replace("build/labs/", "build/solutions/")
    command = namespaces._lab_root_command() + ["python3", RUNNER, str(scaled(EXPERIMENT_SECONDS))]
    result = subprocess.run(command, input=script, capture_output=True, text=True, cwd=ROOT,
                            timeout=scaled(EXPERIMENT_SECONDS) + 60)
    assert result.returncode == 0, (
        f"{handout}, experiment block {number} exited {result.returncode}:\n{block}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda h: h.split("/")[-2])
def test_handout_points_only_at_files_a_student_has(handout):
    with open(handout) as file:
        text = file.read()
    wrong = []
    for number, line in enumerate(text.splitlines(), 1):
        for pattern, what in NOT_A_STUDENTS:
            if pattern.search(line):
                wrong.append(f"line {number} points at {what}: {line.strip()[:120]}")
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path = os.path.normpath(os.path.join(os.path.dirname(handout), target))
        if not os.path.exists(path):
            wrong.append(f"a link to {target}, which does not exist")
    assert not wrong, f"{relative(handout)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("handout", HANDOUTS, ids=lambda h: h.split("/")[-2])
def test_handout_states_the_number_of_tests_the_grader_has(handout):
    with open(handout) as file:
        stated = re.findall(r"runs (\d+) tests", file.read())
    lab = catalog.by_number(os.path.basename(os.path.dirname(handout))[:2], ROOT)
    grader = os.path.join(lab.package_dir, "test_grader.py")
    with open(grader) as file:
        source = file.read()
    visible = set(re.findall(r"^def (test_\w+)", source, re.M)) - set(hidden_test_names(source))
    assert all(int(n) == len(visible) for n in stated), \
        f"{relative(handout)} says it runs {stated[0]} tests; its grader has {len(visible)}"
