"""Hostile submissions that try to read or change what is not theirs (issue 11),
graded as a class beside an honest one, with canaries planted where a grader's
secrets live: the grader's environment (an instructor's token), its home
directory, a hidden test, the solutions and another student's sources. No canary
may reach any report or any output of the grade command; each hostile submission
scores nothing; the honest one keeps full marks; nothing is left running and no
System V IPC object is left behind."""
import csv
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import pytest

from gradeapi import ROOT, leftovers

HOSTILE = os.path.join(ROOT, "tests", "hostile")
NAMES = ["compile-reads-files", "compile-incbin", "compile-dev-zero", "reads-everything",
         "leaves-ipc", "daemon-forges-results", "socket-memory-hog"]
IPC_KEY = "0x50c1ab01"  # leaves-ipc's key
SOME_TESTS = "bound or time or usage or quotes"  # as test_hostile.py: enough of lab 01
BOUND = 180  # seconds for the whole class with two submissions at a time

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")),
                                reason="needs solutions/")


def first_line_with(path, length=30):
    """A line of path long enough to be its own fingerprint."""
    with open(path, errors="replace") as file:
        return next(line.strip() for line in file if len(line.strip()) >= length)


def ipc_objects():
    return subprocess.run(["ipcs"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("isolation")
    token = f"SOCKLAB-CANARY-{uuid.uuid4().hex}"
    home = base / "home"
    home.mkdir(mode=0o700)
    canary_file = home / "canary.txt"
    canary_file.write_text(f"{token}-home\n")
    class_dir = base / "class"
    for name in NAMES:
        shutil.copytree(os.path.join(HOSTILE, name), class_dir / name)
        for source in glob.glob(str(class_dir / name / "*" / "*.c")):
            text = open(source).read().replace("@ROOT@", ROOT).replace("@HOME@", str(home)) \
                .replace("@CANARY_FILE@", str(canary_file))
            open(source, "w").write(text)
    honest = class_dir / "honest" / "01-udp-local"
    shutil.copytree(os.path.join(ROOT, "solutions", "01-udp-local"), honest)
    with open(honest / "udp_local.c", "a") as source:
        source.write(f"/* {token}-other-student */\n")
    canaries = {
        "the grader's environment": f"{token}-env",
        "the grader's home": f"{token}-home",
        "another student's source": f"{token}-other-student",
        "a hidden test": first_line_with(os.path.join(
            ROOT, "harness", "labs", "lab01_udp_local", "test_hidden.py")),
        "the solution": first_line_with(os.path.join(ROOT, "solutions", "01-udp-local",
                                                     "udp_local.c")),
    }
    try:
        canaries["/etc/shadow"] = open("/etc/shadow").readline().strip()
    except OSError:
        pass
    ipc_before = ipc_objects()
    csv_path, reports = base / "class.csv", base / "reports"
    result = subprocess.run([sys.executable, "-m", "harness", "--class", str(class_dir),
                             "--lab", "01", "--test", SOME_TESTS, "--jobs", "2",
                             "--csv", str(csv_path), "--reports", str(reports)],
                            cwd=ROOT, capture_output=True, text=True, timeout=BOUND,
                            env=dict(os.environ, PYTHONPATH=ROOT, HOME=str(home),
                                     SOCKLAB_CANARY_TOKEN=f"{token}-env"))
    texts = {"grade's stdout": result.stdout, "grade's stderr": result.stderr}
    for path in [csv_path, *glob.glob(str(reports / "**" / "*"), recursive=True)]:
        if os.path.isfile(path):
            texts[os.path.basename(str(path))] = open(path, errors="replace").read()
    rows = {row["student"]: row for row in csv.DictReader(open(csv_path))} \
        if csv_path.exists() else {}
    return {"result": result, "texts": texts, "rows": rows, "reports": reports,
            "canaries": canaries, "ipc_before": ipc_before, "class_dir": class_dir}


def report_of(graded, name):
    return json.load(open(graded["reports"] / f"{name}.json"))["labs"]["01"]


def feedback_of(graded, name):
    return "\n".join(test["feedback"] for test in report_of(graded, name)["tests"])


def test_the_class_is_graded(graded):
    result = graded["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(graded["rows"]) == sorted(NAMES + ["honest"]), result.stderr[-3000:]


def test_no_canary_reaches_any_report(graded):
    for where, text in graded["texts"].items():
        for secret, canary in graded["canaries"].items():
            assert canary not in text, f"{secret} ({canary!r}) appears in {where}"


def test_the_readers_ran_and_were_shown(graded):
    """Not vacuous: the reader's own output, and the compilers' errors, are in the
    reports, only without anything of the grader's."""
    assert "READER-RAN" in feedback_of(graded, "reads-everything")
    assert "ENV: " in feedback_of(graded, "reads-everything")
    incbin = feedback_of(graded, "compile-incbin")
    assert "did not compile" in incbin and "file not found" in incbin, incbin[:2000]
    dev_zero = feedback_of(graded, "compile-dev-zero")
    assert "did not compile" in dev_zero, dev_zero[:2000]


def test_compiler_output_shows_no_grader_path(graded):
    for name in ("compile-reads-files", "compile-incbin", "compile-dev-zero"):
        feedback = feedback_of(graded, name)
        assert ROOT not in feedback, f"{name}'s feedback shows the grader's tree: {feedback[:2000]}"


def test_each_hostile_submission_scores_nothing_and_the_honest_one_everything(graded):
    for name in NAMES:
        lab = report_of(graded, name)
        assert lab["score"] == 0, f"{name} scored {lab['score']}: {json.dumps(lab)[:2000]}"
    honest = report_of(graded, "honest")
    assert honest["tests"] and honest["score"] == honest["max"], json.dumps(honest, indent=1)


def test_no_forged_result_and_nothing_left_running(graded):
    assert "FORGER-STARTED" in feedback_of(graded, "daemon-forges-results")
    for where, text in graded["texts"].items():
        assert "FORGED" not in text, f"the forger wrote into {where}"
    for name in NAMES:
        key = hashlib.sha256(str(graded["class_dir"] / name).encode()).hexdigest()[:12]
        left = leftovers(os.path.join(ROOT, "build", "submissions", key))
        assert not left, f"processes of {name} are still running: {left}"


def test_no_ipc_object_outlives_the_program(graded):
    assert "IPC-CREATED" in feedback_of(graded, "leaves-ipc")
    assert IPC_KEY not in graded["ipc_before"], "a System V object of this key existed before"
    assert IPC_KEY not in ipc_objects(), "leaves-ipc's objects outlived it:\n" + ipc_objects()


def test_socket_memory_is_bounded_by_the_descriptor_limit(graded):
    """Without a cgroup's memory.max (docs/SECURITY.md), what bounds socket buffers is
    the sandbox's descriptor limit times the largest buffer a socket may get."""
    feedback = feedback_of(graded, "socket-memory-hog")
    found = [(int(q), int(p)) for q, p in re.findall(r"QUEUED (\d+) in (\d+) socket pairs", feedback)]
    assert found, feedback[:2000]
    largest = max(int(open(f"/proc/sys/net/core/{name}").read()) for name in ("wmem_max", "rmem_max"))
    queued, pairs = max(found)
    assert pairs <= 256 // 2, f"{pairs} socket pairs: the descriptor limit did not hold"
    assert queued <= pairs * 2 * largest, f"{queued} bytes queued in {pairs} socket pairs"
