"""The hostile-submission suite (tests/hostile/): each submission, graded as part of
a class beside an honest one, is graded to completion within a bound, leaves no
process behind, cannot reach outside the lab network, and cannot change the
harness, the tests or the results. The honest submission keeps full marks."""
import csv
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from gradeapi import ROOT, leftovers

HOSTILE = os.path.join(ROOT, "tests", "hostile")
NAMES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HOSTILE, "*")) if os.path.isdir(p))
# A hang guard, not a speed test: the class takes ~14 s a submission on a quiet
# machine; far past that, something waited without a deadline. How fast grading is
# belongs to `make bench`.
HANG_GUARD = 60 * (len(NAMES) + 1)
# A few tests of lab 01 are enough: every hostile program misbehaves from its first
# line, whatever it is asked; the full lab takes a minute more (see README).
SOME_TESTS = "bound or time or usage or quotes"


def fingerprint():
    """Hashes of every file of the harness, its graders and the top-level files."""
    paths = sorted(glob.glob(os.path.join(ROOT, "harness", "**", "*.py"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "*.md")) + [os.path.join(ROOT, "Makefile")])
    return {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}


def outside_address():
    """An address of this machine that is not loopback: 'outside' the lab network."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing address
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    class_dir = base / "class"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    listener.setblocking(False)
    host, port = outside_address(), listener.getsockname()[1]
    for name in NAMES:
        shutil.copytree(os.path.join(HOSTILE, name), class_dir / name)
    for source in glob.glob(str(class_dir / "connects-outside" / "*" / "*.c")):
        text = open(source).read().replace('"192.0.2.1"', f'"{host}"').replace(
            "OUTSIDE_PORT 9", f"OUTSIDE_PORT {port}")
        open(source, "w").write(text)
    shutil.copytree(os.path.join(ROOT, "solutions", "01-udp-local"),
                    class_dir / "honest" / "01-udp-local")
    before = fingerprint()
    csv_path, reports = base / "class.csv", base / "reports"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "harness", "--class", str(class_dir),
                             "--lab", "01", "--test", SOME_TESTS, "--jobs", "2", "--csv", str(csv_path),
                             "--reports", str(reports)],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                            capture_output=True, text=True, timeout=HANG_GUARD)
    seconds = time.monotonic() - started
    try:
        listener.accept()
        reached = True
    except BlockingIOError:
        reached = False
    listener.close()
    rows = {row["student"]: row for row in csv.DictReader(open(csv_path))} \
        if csv_path.exists() else {}
    return {"result": result, "seconds": seconds, "rows": rows, "before": before,
            "after": fingerprint(), "reached": reached, "reports": reports, "class_dir": class_dir}


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")), reason="needs solutions/")
def test_hostile_class_is_graded_completely(graded_class):
    result, rows = graded_class["result"], graded_class["rows"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(rows) == sorted(NAMES + ["honest"]), result.stderr[-3000:]
    honest = json.load(open(graded_class["reports"] / "honest.json"))["labs"]["01"]
    assert honest["tests"] and honest["score"] == honest["max"], json.dumps(honest, indent=1)
    assert all(f"/{len(NAMES) + 1}]" in result.stderr for _ in [0])  # progress was shown


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")), reason="needs solutions/")
def test_hostile_submissions_leave_the_grader_intact(graded_class):
    assert graded_class["after"] == graded_class["before"], "a harness file was changed"
    for name in NAMES:
        report = open(graded_class["reports"] / f"{name}.json").read()
        assert "TAMPERED" not in report, f"{name} could write a file: {report[:2000]}"
        assert "ESCAPED" not in report, f"{name} reached outside: {report[:2000]}"
    assert not graded_class["reached"], "a submission connected to a listener outside the lab"
    for name in NAMES:
        key = hashlib.sha256(str(graded_class["class_dir"] / name).encode()).hexdigest()[:12]
        left = leftovers(os.path.join(ROOT, "build", "submissions", key))
        assert not left, f"processes of {name} are still running: {left}"


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")), reason="needs solutions/")
@pytest.mark.parametrize("name,reason", [("output-flood", "flooded its output"),
                                         ("memory-hog", "crashed")])
def test_hostile_submission_gets_a_reason(graded_class, name, reason):
    assert reason in graded_class["rows"][name]["reason"]
