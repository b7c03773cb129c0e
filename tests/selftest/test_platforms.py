"""Self-tests of the hosted platforms: what Gradescope shows students before and
after the due date, GitHub Classroom's partial credit as its reporter adds it
up, PrairieLearn's external grader and Autolab's autograder on fake trees, and
grading stopped by its time budget."""
import base64
import copy
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from gradeapi import ROOT, grade

import sys
sys.path.insert(0, ROOT)
from harness.results.classroom import as_classroom, render_classroom  # noqa: E402
from harness.results.gradescope import as_gradescope  # noqa: E402
from harness.results import model  # noqa: E402
from harness.results.prairielearn import as_prairielearn, within_size  # noqa: E402

HAVE_SOLUTIONS = os.path.isdir(os.path.join(ROOT, "solutions"))
needs_solutions = pytest.mark.skipif(not HAVE_SOLUTIONS, reason="needs solutions/")
needs_platforms = pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "prairielearn")),
                                     reason="no platform entry points here (a student copy)")

# What a failing test's feedback looks like, with a fence of its own inside (a
# program may print anything) that must not end the Markdown code block.
FEEDBACK = ("wrong reply to a 1-byte datagram\nExpected: 'Your data was 1 bytes long'\n"
            "Got:      '``` **bold** <b>'\nThe test did these steps:\n  1. started `udp_local`")


def visible_tests(points=(10, 5, 5, 80), outcomes=("passed", "failed", "skipped", "passed")):
    return [model.TestResult(f"harness/labs/lab01_udp_local/test_grader.py::test_visible_{i}",
                       f"test_visible_{i}", "01", i, points[i], outcome=outcome,
                       feedback="" if outcome == "passed" else FEEDBACK,
                       tags=["lab01", "udp"])
            for i, outcome in enumerate(outcomes)]


def hidden_tests(outcomes):
    return [model.TestResult(f"harness/labs/lab01_udp_local/test_hidden.py::test_secret_check_{i}",
                       f"test_secret_check_{i}", "01", 10 + i, 7, hidden=True, outcome=outcome,
                       feedback="" if outcome == "passed" else f"secret failure {i}",
                       tags=["lab01", "udp"])
            for i, outcome in enumerate(outcomes)]


def report_of(tests, problem=""):
    lab = model.LabResult("01", "udp_local", ["udp_local"], tests, problem=problem)
    other = model.LabResult("02", "udp_remote", ["udp_remote"],
                      [model.TestResult("t2::test_client_backs_off", "test_client_backs_off", "02",
                                  0, 100, tags=["lab02"])])
    return model.Report([lab, other], "a submission", 12.4, "namespaces", "")


def student_view(results):
    """What a student sees before the due date: every top-level field but the
    total (Gradescope hides it while any test is not visible) and the visible
    test cases."""
    view = {key: value for key, value in results.items() if key not in ("tests", "score")}
    view["tests"] = [test for test in results["tests"] if test["visibility"] == "visible"]
    return view


# -- Gradescope ---------------------------------------------------------------------

HIDDEN_VARIANTS = {
    "passed": dict(tests=hidden_tests(["passed", "passed"])),
    "failed": dict(tests=hidden_tests(["failed", "passed"])),
    "not run": dict(tests=hidden_tests(["passed", "not_run"])),
    "grader log names one": dict(tests=hidden_tests(["failed", "failed"]),
                                 problem="the grader failed (pytest exit 2):\n"
                                         "test_hidden.py::test_secret_check_1 crashed"),
}


@pytest.mark.parametrize("variant", HIDDEN_VARIANTS)
def test_gradescope_shows_nothing_of_hidden_tests_before_the_due_date(variant):
    without = as_gradescope(report_of(visible_tests()))
    hidden = HIDDEN_VARIANTS[variant]
    results = as_gradescope(report_of(visible_tests() + hidden["tests"],
                                      hidden.get("problem", "")))
    assert student_view(results) == student_view(without)
    shown = json.dumps(student_view(results))
    assert "secret" not in shown and "test_hidden" not in shown
    # Gradescope keeps the total from students while any test case is not visible.
    assert any(test["visibility"] != "visible" for test in results["tests"])


def test_gradescope_shows_every_hidden_test_after_the_due_date():
    report = report_of(visible_tests() + hidden_tests(["failed", "passed"]))
    results = as_gradescope(report)
    later = [test for test in results["tests"] if test["visibility"] == "after_due_date"]
    secret = {test["name"]: test for test in later if "secret" in test["name"]}
    assert len(secret) == 2
    failed = secret["Lab 01 udp_local: secret check 0"]
    assert failed["score"] == 0 and failed["max_score"] == 7 and "secret failure 0" in \
        failed["output"]
    assert secret["Lab 01 udp_local: secret check 1"]["score"] == 7
    total = [test for test in later if "total" in test["name"]]
    assert total and "97/114" in total[0]["output"], total
    assert results["score"] == report.score == 197
    # Numbered after the visible ones: no gap in the visible numbers.
    numbers = [test["number"] for test in results["tests"] if test["name"].startswith("Lab 01")]
    assert numbers[:4] == ["1.1", "1.2", "1.3", "1.4"]


def test_gradescope_feedback_is_markdown_with_the_wire_in_a_code_block():
    results = as_gradescope(report_of(visible_tests()))
    assert results["output_format"] == "md"
    failed = next(test for test in results["tests"] if test["status"] == "failed"
                  and "Not graded" not in test["output"])
    assert failed["output_format"] == "md" and failed["tags"] == ["lab01", "udp"]
    head, _, block = failed["output"].partition("\n\n")
    assert head == "**wrong reply to a 1-byte datagram**"
    fence = block.split("text\n", 1)[0]
    assert len(fence) > 3 and block.endswith("\n" + fence)  # longer than the ``` inside
    assert "'``` **bold** <b>'" in block


def test_markdown_escapes_what_would_be_markup_and_nothing_else():
    from harness.results.markdown import escape
    assert escape("a_b *c* <b> [x](y) `z` ~s~ 127.0.0.1 1-byte") == \
        "a\\_b \\*c\\* \\<b\\> \\[x\\](y) \\`z\\` \\~s\\~ 127.0.0.1 1-byte"
    assert escape("# no heading\n- no list\n12. no list") == \
        "\\# no heading\n\\- no list\n12\\. no list"


def test_gradescope_lab_line_counts_the_visible_tests_only():
    results = as_gradescope(report_of(visible_tests() + hidden_tests(["failed", "failed"])))
    assert "**Lab 01 udp\\_local**: 90/100" in results["output"]
    assert "5 points were not graded" in results["output"]


# -- GitHub Classroom ---------------------------------------------------------------

def reporter_total(step_output):
    """What education/autograding-grading-reporter sends Classroom for one runner:
    the `result=` output decoded from base64, its tests' scores summed, out of its
    max_score (src/notify-classroom.js)."""
    encoded = [line for line in step_output.splitlines() if line.startswith("result=")][-1]
    results = json.loads(base64.b64decode(encoded.removeprefix("result=")))
    assert results["version"] == 1 and results["status"] in ("pass", "fail", "error")
    return sum(test["score"] for test in results["tests"]), results["max_score"]


def test_classroom_gives_partial_credit_per_test():
    import io
    report = report_of(visible_tests(outcomes=("passed", "passed", "failed", "passed")))
    report.labs = report.labs[:1]
    out = io.StringIO()
    render_classroom(report, out)
    assert reporter_total(out.getvalue()) == (95, 100)
    assert "wrong reply to a 1-byte datagram" in out.getvalue()  # the log students read
    results = as_classroom(report)
    assert results["status"] == "fail"
    assert [t["status"] for t in results["tests"]] == ["pass", "pass", "fail", "pass"]


def test_classroom_counts_a_lab_that_could_not_run_as_lost_points():
    report = report_of([], problem="the grader failed (pytest exit 3)")
    report.labs = report.labs[:1]
    results = as_classroom(report)
    assert results["max_score"] == 100 and results["status"] == "error"


def workflow_step(workflow, step_id):
    """The shell script of one step of the Classroom workflow."""
    lines = workflow.splitlines()
    start = lines.index(f"        id: {step_id}")
    script, inside = [], False
    for line in lines[start:]:
        if line == "        run: |":
            inside = True
        elif inside and line.startswith("          "):
            script.append(line[10:])
        elif inside:
            break
    return "\n".join(script)


@needs_solutions
def test_classroom_step_reports_partial_credit_as_graded(tmp_path):
    """The workflow's lab 05 step, run as GitHub runs it, on a student's copy whose
    client reads the reply with one recv(): the reporter sums what the grader gives
    that copy (the tests that catch the bug lose their points, no more), not 0."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    lab = copy / "labs" / "05-tcp-sixteen"
    shutil.copy(os.path.join(ROOT, "solutions", "05-tcp-sixteen", "tcp_sixteen.c"), lab)
    patch = os.path.join(ROOT, "tests", "mutants", "05-tcp-sixteen", "client-single-recv.patch")
    subprocess.run(["patch", "-s", "-p1", "-i", patch], cwd=lab, check=True)
    workflow = subprocess.run([sys.executable, "-m", "harness.commands.dist", "classroom"],
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                              capture_output=True, text=True, check=True).stdout
    output, temp = tmp_path / "github_output", tmp_path / "runner_temp"
    temp.mkdir()
    step = subprocess.run(["bash", "-e", "-c", workflow_step(workflow, "lab05")], cwd=copy,
                          env=dict(os.environ, GITHUB_OUTPUT=str(output), RUNNER_TEMP=str(temp)),
                          capture_output=True, text=True, timeout=300)
    assert step.returncode == 0, step.stderr
    assert "client reads a dribbled reply" in step.stdout  # the feedback is in the log
    graded, _, _ = grade("--lab", "05", "--impl", str(copy / "labs"))
    score = graded["labs"]["05"]["score"]
    assert 0 < score < 100, graded["labs"]["05"]
    assert reporter_total(output.read_text()) == (score, 100), step.stdout[-3000:]


# -- PrairieLearn --------------------------------------------------------------------

def test_prairielearn_score_is_a_fraction_and_tests_carry_points():
    results = as_prairielearn(report_of(visible_tests()))
    assert results["gradable"] is True and results["score"] == round(190 / 200, 4)
    first = results["tests"][1]
    assert {"name", "points", "max_points", "message", "output"} <= set(first)
    assert first["message"] == "wrong reply to a 1-byte datagram"
    assert "Expected:" in first["output"]


def test_prairielearn_nothing_built_is_not_gradable():
    report = report_of(visible_tests())
    for lab in report.labs:
        lab.built = False
    results = as_prairielearn(report)
    assert results["gradable"] is False and "score" not in results
    assert results["format_errors"]


def test_prairielearn_results_stay_under_its_size_limit():
    report = report_of(visible_tests(points=(1,) * 60, outcomes=("failed",) * 60))
    for test in report.labs[0].tests:
        test.feedback = "first line\n" + "x" * 30000
    results = within_size(as_prairielearn(report), limit=200_000)
    assert len(json.dumps(results)) <= 200_000


@pytest.fixture(scope="module")
def prairielearn_image(tmp_path_factory):
    build = tmp_path_factory.mktemp("pl-build")
    made = subprocess.run(["make", "-s", "prairielearn", f"BUILD={build}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return build / "prairielearn"


def fake_prairielearn(image, root, files, **env):
    """A /grade tree with student/ holding files; runs the image's entrypoint."""
    (root / "student").mkdir(parents=True)
    for name, text in files.items():
        (root / "student" / name).write_text(text)
    run = subprocess.run([str(image / "image" / "prairielearn" / "grade")], capture_output=True,
                         text=True, timeout=300,
                         env=dict(os.environ, SOCKLAB_GRADE_ROOT=str(root), **env))
    return json.loads((root / "results" / "results.json").read_text()), run


@needs_platforms
def test_prairielearn_bundle_has_the_image_and_a_question_per_lab(prairielearn_image):
    from gradeapi import lab_numbers
    image = prairielearn_image / "image"
    assert (image / "Dockerfile").is_file() and (image / "prairielearn" / "grade").is_file()
    assert not (image / "solutions").exists() and not (image / "tests" / "mutants").exists()
    for number in lab_numbers():
        info = json.loads((prairielearn_image / "questions" / f"lab{number}" / "info.json")
                          .read_text())
        options = info["externalGradingOptions"]
        assert options["environment"]["SOCKLAB_LABS"] == number
        assert options["timeout"] <= 600  # PrairieLearn's maximum


@needs_solutions
@needs_platforms
def test_prairielearn_grades_a_solution_on_a_fake_grade_tree(prairielearn_image, tmp_path):
    sources = {name: open(os.path.join(ROOT, "solutions", "01-udp-local", name)).read()
               for name in os.listdir(os.path.join(ROOT, "solutions", "01-udp-local"))}
    results, run = fake_prairielearn(prairielearn_image, tmp_path, sources)
    assert results["gradable"] is True and results["score"] == 1.0, run.stdout[-2000:]
    assert all(test["points"] == test["max_points"] for test in results["tests"])


@needs_solutions
@needs_platforms
def test_prairielearn_runs_hidden_tests_only_where_the_question_asks(prairielearn_image,
                                                                    tmp_path):
    sources = {"udp_local.c": open(os.path.join(ROOT, "solutions", "01-udp-local",
                                                "udp_local.c")).read()}
    visible, _ = fake_prairielearn(prairielearn_image, tmp_path / "practice", sources,
                                   SOCKLAB_LABS="01", SOCKLAB_HIDDEN="0")
    graded, run = fake_prairielearn(prairielearn_image, tmp_path / "graded", sources,
                                    SOCKLAB_LABS="01", SOCKLAB_HIDDEN="1")
    names = {test["name"] for test in visible["tests"]}
    extra = [test for test in graded["tests"] if test["name"] not in names]
    assert names < {test["name"] for test in graded["tests"]} and extra, run.stdout[-2000:]
    assert graded["score"] == 1.0 and all(t["points"] == t["max_points"] for t in extra)


@needs_platforms
def test_prairielearn_does_not_charge_an_attempt_that_does_not_compile(prairielearn_image,
                                                                        tmp_path):
    results, _ = fake_prairielearn(prairielearn_image, tmp_path,
                                   {"udp_local.c": "int main(void) { return"})
    assert results["gradable"] is False
    assert any("did not compile" in error for error in results["format_errors"])


@needs_platforms
def test_prairielearn_does_not_charge_an_empty_submission(prairielearn_image, tmp_path):
    results, _ = fake_prairielearn(prairielearn_image, tmp_path, {"notes.txt": "hello"})
    assert results["gradable"] is False and results["format_errors"]


# A program that answers nothing and never exits: every test waits out its wait
# for the first line (at least 2 s each, from its own start), so a budget of 2 s
# always stops grading with tests left, however fast the machine and however many
# tests run at once.
SILENT = "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n"


@needs_platforms
def test_prairielearn_budget_keeps_what_was_graded(prairielearn_image, tmp_path):
    results, run = fake_prairielearn(prairielearn_image, tmp_path, {"udp_local.c": SILENT},
                                     SOCKLAB_BUDGET="2")
    assert results["gradable"] is True, run.stdout[-2000:]
    messages = [test["message"] for test in results["tests"]]
    assert any(m.startswith("Not graded: grading stopped") for m in messages), messages
    assert all(test["points"] == 0 for test in results["tests"])
    assert "Some tests were not graded" in results["message"]


# -- Gradescope's budget --------------------------------------------------------------

@needs_platforms
def test_run_autograder_budget_keeps_what_was_graded(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        "build", ".git", "__pycache__", "solutions", "mutants", "hostile", "node_modules"))
    shutil.copy(source / "autograder" / "run_autograder", tmp_path / "run_autograder")
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "udp_local.c").write_text(SILENT)
    subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, timeout=400,
                   capture_output=True,
                   env=dict(os.environ, SOCKLAB_AUTOGRADER_ROOT=str(tmp_path),
                            SOCKLAB_BUDGET="2"))
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    lab01 = [test for test in results["tests"] if test["name"].startswith("Lab 01")]
    assert lab01, results["output"]
    assert all("score" in test for test in lab01 if "max_score" in test)
    assert any("Not graded" in test["output"] for test in lab01), lab01
    assert "Some tests were not graded" in results["output"]


# -- Autolab ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def autolab_bundle(tmp_path_factory):
    build = tmp_path_factory.mktemp("autolab-build")
    made = subprocess.run(["make", "-s", "autolab", f"BUILD={build}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return build / "autolab"


def fake_autolab(bundle, folder, handin, makefile_vars=()):
    """Autolab's grading directory: the handin file, autograde.tar and the
    autograde-Makefile as Makefile; `make` there, as Tango runs it."""
    folder.mkdir()
    shutil.copy(bundle / "autograde.tar", folder)
    shutil.copy(bundle / "autograde-Makefile", folder / "Makefile")
    handin(folder)
    run = subprocess.run(["make", "-s", *makefile_vars], cwd=folder, capture_output=True,
                         text=True, timeout=300)
    return json.loads(run.stdout.rstrip("\n").splitlines()[-1]), run


@needs_solutions
@needs_platforms
def test_autolab_grades_a_handin_tar_of_lab_directories(autolab_bundle, tmp_path):
    def handin(folder):
        with tarfile.open(folder / "handin.tar", "w") as tar:
            for lab in ("01-udp-local", "05-tcp-sixteen"):
                tar.add(os.path.join(ROOT, "solutions", lab), lab)
    score, run = fake_autolab(autolab_bundle, tmp_path / "job", handin)
    assert score == {"scores": {"lab01": 100, "lab05": 100}, "scoreboard": [200, 100, 100]}, \
        run.stdout[-2000:]


@needs_solutions
@needs_platforms
def test_autolab_grades_a_single_file_handin_for_the_lab_named(autolab_bundle, tmp_path):
    def handin(folder):
        shutil.copy(os.path.join(ROOT, "solutions", "01-udp-local", "udp_local.c"),
                    folder / "handin.c")
    score, run = fake_autolab(autolab_bundle, tmp_path / "job", handin, ["LABS=01"])
    assert score["scores"] == {"lab01": 100}, run.stdout[-2000:]


@needs_platforms
def test_autolab_prints_a_score_line_for_a_broken_handin(autolab_bundle, tmp_path):
    def handin(folder):
        (folder / "handin.c").write_text("int main(void) { return")
    score, run = fake_autolab(autolab_bundle, tmp_path / "job", handin, ["LABS=01"])
    assert score["scores"] == {"lab01": 0}
    assert "did not compile" in run.stdout


def test_renderers_leave_the_report_unchanged():
    report = report_of(visible_tests() + hidden_tests(["failed", "passed"]))
    before = copy.deepcopy(report)
    as_gradescope(report), as_classroom(report), as_prairielearn(report)
    assert report == before


# -- similar submissions in a class -----------------------------------------------------

@needs_solutions
@pytest.mark.skipif(shutil.which("sim_c") is None,
                    reason="sim_c is not installed (apt-get install similarity-tester)")
def test_class_flags_near_identical_submissions_only(tmp_path):
    solution = open(os.path.join(ROOT, "solutions", "01-udp-local", "udp_local.c")).read()
    # ben renamed the variables and dropped the comments: still the same code.
    renamed = re.sub(r"\bsock\b", "fd", re.sub(r"\bselflen\b", "size", solution))
    renamed = re.sub(r"/\*.*?\*/", "", renamed, flags=re.S)
    skeleton = open(os.path.join(ROOT, "labs", "01-udp-local", "udp_local.c")).read()
    for name, text in (("ann", solution), ("ben", renamed), ("dan", skeleton),
                       ("eve", skeleton)):
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "udp_local.c").write_text(text)
    run = subprocess.run([sys.executable, "-m", "harness", "--class", str(tmp_path / "class"),
                          "--lab", "01", "--csv", str(tmp_path / "class.csv"),
                          "--reports", str(tmp_path / "reports")], cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    import csv
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "class.csv"))}
    assert rows["ben"]["lab01"] == "100", run.stderr  # renamed, it still works
    assert re.fullmatch(r"lab01: ben \d+%", rows["ann"]["similar"]), rows["ann"]
    assert re.fullmatch(r"lab01: ann \d+%", rows["ben"]["similar"]), rows["ben"]
    # Two untouched skeletons share everything, but none of it is their own code.
    assert rows["dan"]["similar"] == "" and rows["eve"]["similar"] == ""
    evidence = (tmp_path / "reports" / "similar.txt").read_text()
    assert "lab 01" in evidence and "ann" in evidence and "ben" in evidence
    assert "recvfrom" in evidence  # the shared code itself, for the instructor to judge
