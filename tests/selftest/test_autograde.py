"""Self-tests of the instructors' side: report formats, hidden tests, the student
distribution, the Gradescope autograder, and loopback-only mode for every lab."""
import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile

import pytest

from gradeapi import ROOT, failures, grade, lab_numbers

LABS = lab_numbers()
HAVE_SOLUTIONS = os.path.isdir(os.path.join(ROOT, "solutions"))
needs_solutions = pytest.mark.skipif(not HAVE_SOLUTIONS, reason="needs solutions/")
needs_autograder = pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "autograder")),
                                      reason="no autograder/ here (a student copy)")

HIDDEN_TEST = '''

@pytest.mark.hidden
@pytest.mark.points(7)
def test_instructors_hidden_check(lab):
    server = lab.run("server", "-p", "0")
    server.expect("Listening at .*")
'''


def run_grade(root, *args, **options):
    return subprocess.run([os.path.join(root, "harness", "grade"), *args], cwd=root,
                          capture_output=True, text=True, timeout=300, **options)


def copy_of_repository(dest):
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    return str(dest)


@pytest.fixture(scope="module")
def with_hidden_test(tmp_path_factory):
    """A copy of the repository whose lab 01 grader has one hidden test more."""
    root = copy_of_repository(tmp_path_factory.mktemp("hidden") / "socklab")
    grader = os.path.join(root, "harness", "labs", "lab01_udp_local", "test_grader.py")
    with open(grader, "a") as file:
        file.write(HIDDEN_TEST)
    return root


# -- formats ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab01_outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("formats")
    texts = {}
    for kind in ("gradescope", "junit", "autolab"):
        result = run_grade(ROOT, "--lab", "01", "--impl", "labs", "--format", kind,
                           "--output", str(out / kind))
        assert os.path.exists(out / kind), result.stderr
        texts[kind] = (out / kind).read_text()
    return texts


def test_gradescope_results_have_the_documented_fields(lab01_outputs):
    results = json.loads(lab01_outputs["gradescope"])
    assert {"score", "execution_time", "output", "tests"} <= set(results)
    assert results["tests"], "no tests"
    for test in results["tests"]:
        assert {"name", "number", "score", "max_score", "output", "visibility"} <= set(test)
        assert test["visibility"] in ("visible", "after_due_date")
        assert isinstance(test["score"], (int, float)) and test["score"] <= test["max_score"]
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert any("not implemented yet" in t["output"] for t in results["tests"])


def test_junit_xml_has_a_suite_per_lab_and_a_case_per_test(lab01_outputs):
    suites = ElementTree.fromstring(lab01_outputs["junit"])
    suite = suites.find("testsuite")
    cases = suite.findall("testcase")
    assert cases and int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == len([c for c in cases if c.find("failure") is not None])
    assert all(c.get("name").startswith("test_") for c in cases)


def test_autolab_score_line_comes_last(lab01_outputs):
    last = lab01_outputs["autolab"].rstrip("\n").splitlines()[-1]
    assert json.loads(last) == {"scores": {"lab01": 0}, "scoreboard": [0, 0]}
    assert "not implemented yet" in lab01_outputs["autolab"]


# -- hidden tests -------------------------------------------------------------------

@needs_solutions
def test_hidden_tests_run_only_for_instructors(with_hidden_test):
    for hidden in (False, True):
        result = run_grade(with_hidden_test, "--lab", "01", "--impl", "solutions",
                           "--format", "gradescope", *(["--hidden"] if hidden else []))
        tests = {t["name"].split(": ", 1)[1]: t for t in json.loads(result.stdout)["tests"]}
        if not hidden:
            assert "instructors hidden check" not in tests
            visible = set(tests)
            continue
        check = tests["instructors hidden check"]
        assert check["visibility"] == "after_due_date" and check["score"] == 7, check
        assert tests["total with the hidden tests"]["visibility"] == "after_due_date"
        assert all(tests[name]["visibility"] == "visible" for name in visible)
        assert all(t["visibility"] == "after_due_date" for name, t in tests.items()
                   if name not in visible)


# -- the student distribution -------------------------------------------------------

@needs_solutions
def test_student_dist_has_no_solutions_and_no_hidden_tests(with_hidden_test, tmp_path):
    dest = tmp_path / "dist"
    made = subprocess.run(["make", "-s", "student-dist", f"DEST={dest}"], cwd=with_hidden_test,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert not (dest / "solutions").exists()
    assert not (dest / "tests" / "mutants").exists()
    assert not (dest / "autograder").exists()
    grader = dest / "harness" / "labs" / "lab01_udp_local" / "test_grader.py"
    text = open(grader).read()
    assert "hidden_check" not in text and "mark.hidden" not in text
    assert "def test_server_prints_the_address_it_really_bound" in text
    workflow = (dest / ".github" / "workflows" / "classroom.yml").read_text()
    for lab in LABS:  # one graded step per lab, each reported with a score per test
        assert f"id: lab{lab}\n" in workflow
        assert f"harness/grade --lab {lab} --format classroom" in workflow
        assert f"LAB{lab}_RESULTS: \"${{{{steps.lab{lab}.outputs.result}}}}\"" in workflow
    assert f"runners: {','.join('lab' + lab for lab in LABS)}\n" in workflow
    assert "education/autograding-command-grader" not in workflow
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:  # it parses, and every lab step is a runner of the reporter
        steps = yaml.safe_load(workflow)["jobs"]["run-autograding-tests"]["steps"]
        ids = [step["id"] for step in steps if "id" in step]
        assert ids == [f"lab{lab}" for lab in LABS]
        assert steps[-1]["with"]["runners"].split(",") == ids
    # make grade and the repository's own tests work there, without the solutions.
    graded = run_grade(str(dest), "--lab", "01", "--format", "json")
    assert json.loads(graded.stdout)["labs"]["01"]["score"] == 0, graded.stderr
    tested = subprocess.run([str(dest / "tests" / "run"), "-k", "skeleton or autolab"],
                            cwd=dest, capture_output=True, text=True, timeout=400)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert "no solutions/" in tested.stdout + tested.stderr


# -- Gradescope ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    build = tmp_path_factory.mktemp("autograder-build")
    made = subprocess.run(["make", "-s", "autograder", f"BUILD={build}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return build / "autograder.zip"


def fake_gradescope(root, archive, submission_files):
    """An /autograder tree: source/ from the zip (as Gradescope unpacks it), submission/."""
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(root / "source")
        for info in zipped.infolist():  # zipfile drops the modes: put them back
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, mode)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, text in submission_files.items():
        (root / "submission" / name).write_text(text)
    return subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True,
                          text=True, timeout=300,
                          env=dict(os.environ, SOCKLAB_AUTOGRADER_ROOT=str(root)))


@needs_autograder
def test_autograder_zip_has_the_entry_points_and_no_solutions(autograder_zip):
    names = zipfile.ZipFile(autograder_zip).namelist()
    assert "setup.sh" in names and "run_autograder" in names and "harness/grade" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/mutants/"))]


@needs_solutions
@needs_autograder
def test_run_autograder_grades_loose_c_files(autograder_zip, tmp_path):
    solution = {os.path.basename(p): open(p).read()
                for p in glob.glob(os.path.join(ROOT, "solutions", "01-*", "*.[ch]"))}
    solution["notes.txt"] = "not a C file: ignored"
    run = fake_gradescope(tmp_path, autograder_zip, solution)
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    lab01 = [t for t in results["tests"] if t["number"].startswith("1.") and "max_score" in t]
    assert lab01 and all(t["score"] == t["max_score"] for t in lab01), run.stderr[-2000:]
    assert {"score", "execution_time", "tests"} <= set(results)


@needs_autograder
def test_run_autograder_results_survive_a_submission_that_attacks_them(autograder_zip, tmp_path):
    hostile = os.path.join(ROOT, "tests", "hostile", "tampers-with-grader", "01-udp-local")
    if not os.path.isdir(hostile):
        pytest.skip("no tests/hostile here")
    sources = {name: open(os.path.join(hostile, name)).read() for name in os.listdir(hostile)}
    fake_gradescope(tmp_path, autograder_zip, sources)
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "TAMPERED" not in json.dumps(results)
    assert results["tests"] and all("score" in t for t in results["tests"] if "max_score" in t)


@needs_autograder
def test_run_autograder_writes_results_when_nothing_compiles(autograder_zip, tmp_path):
    run = fake_gradescope(tmp_path, autograder_zip, {"udp_local.c": "int main(void) { return"})
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert any("did not compile" in t["output"] for t in results["tests"]), run.stdout


@needs_autograder
def test_run_autograder_writes_results_when_the_grader_breaks(autograder_zip, tmp_path):
    os.makedirs(tmp_path / "source")
    (tmp_path / "source" / "harness").mkdir()  # a broken autograder: no grade command
    shutil.copy(os.path.join(ROOT, "autograder", "run_autograder"), tmp_path / "run_autograder")
    (tmp_path / "submission").mkdir()
    subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, timeout=60,
                   env=dict(os.environ, SOCKLAB_AUTOGRADER_ROOT=str(tmp_path)))
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "failed" in results["output"]


# -- loopback-only mode, every lab ---------------------------------------------------

@pytest.fixture(scope="module")
def loopback_only():
    return grade("--impl", "solutions",
                 env={"SOCKLAB_NO_NETNS": "namespaces switched off for this test"})


@needs_solutions
@pytest.mark.parametrize("lab", LABS)
def test_loopback_only_mode_grades_or_skips_every_test(loopback_only, lab):
    report, _, stderr = loopback_only
    tests = report["labs"][lab]["tests"]
    assert tests and not report["labs"][lab]["problem"], report["labs"][lab]["problem"]
    assert all(t["outcome"] in ("passed", "skipped") for t in tests), \
        failures(report["labs"][lab])
    assert all("namespaces switched off" in t["feedback"] for t in tests
               if t["outcome"] == "skipped")
    assert "grading on the loopback only" in stderr


# -- a class ---------------------------------------------------------------------------

@needs_solutions
def test_class_csv_has_a_row_per_student_and_a_reason_for_a_broken_build(tmp_path):
    for name in ("ann", "ben"):
        shutil.copytree(os.path.join(ROOT, "solutions", "01-udp-local"),
                        tmp_path / "class" / name / "01-udp-local")
    broken = tmp_path / "class" / "cy" / "udp_local.c"
    broken.parent.mkdir(parents=True)
    broken.write_text("int main(void) { return")
    run = subprocess.run([sys.executable, "-m", "harness", "--class", str(tmp_path / "class"),
                          "--lab", "01", "--jobs", "2", "--csv", str(tmp_path / "class.csv")],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(open(tmp_path / "class.csv")))
    assert list(rows[0]) == ["student", "lab01", "total", "max", "reason", "similar"]
    scores = {row["student"]: (row["lab01"], row["reason"]) for row in rows}
    assert scores["ann"] == ("100", "") and scores["ben"] == ("100", ""), run.stderr
    assert scores["cy"] == ("0", "lab01: did not compile")
    assert "[3/3]" in run.stderr
