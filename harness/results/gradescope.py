"""Gradescope's results.json (gradescope-autograders.readthedocs.io/en/latest/specs/).
Hidden tests appear only when they were run (--hidden); Gradescope then shows them
to students after the due date."""
import json
import sys

# Gradescope's visibility for instructors' hidden tests and for everything else.
HIDDEN_VISIBILITY = "after_due_date"
VISIBLE = "visible"


def lab_summary(result):
    """'Lab 01 udp_local: 90/100' and, if the lab could not be graded, why."""
    text = f"{result.title}: {result.score}/{result.max}"
    if not result.submitted:
        text += " (not submitted)"
    elif not result.built:
        text += " (did not compile)"
    if result.problem:
        text += f"\n  {result.problem.splitlines()[0]}"
    return text


def test_output(test):
    """What a test's box says: the feedback, or why it was not graded here."""
    if test.outcome == "skipped":
        return f"Not graded here (0 points): {test.feedback}"
    if test.outcome == "passed":
        return "Passed."
    return test.feedback


def as_gradescope(report):
    """Gradescope's results.json object (gradescope-autograders.readthedocs.io/en/latest/specs/):
    top-level score, execution_time and output; per test name, number, score,
    max_score, status, output and visibility."""
    tests = []
    for result in report.labs:
        number = int(result.number)
        for test_index, test in enumerate(result.tests, start=1):
            tests.append({
                "name": f"{result.title}: {test.sentence}",
                "number": f"{number}.{test_index}",
                "score": test.score, "max_score": test.max,
                "status": "passed" if test.outcome == "passed" else "failed",
                "output": test_output(test),
                "visibility": HIDDEN_VISIBILITY if test.hidden else VISIBLE,
            })
        if result.problem and not result.tests:
            # Nothing was graded: one failed entry keeps the lost points visible.
            tests.append({"name": f"{result.title}: could not be graded",
                          "number": f"{number}.0", "score": 0, "max_score": 100,
                          "status": "failed", "output": result.problem,
                          "visibility": VISIBLE})
    skipped = report.points_with("skipped")
    lines = [lab_summary(result) for result in report.labs]
    if skipped:
        lines.append(f"{skipped} points were not graded in this environment (see the "
                     "skipped tests); please tell your instructor.")
    return {"score": report.score, "execution_time": round(report.seconds),
            "output": "\n".join(lines), "visibility": VISIBLE, "stdout_visibility": "hidden",
            "tests": tests}


def render_gradescope(report, stream=sys.stdout):
    json.dump(as_gradescope(report), stream, indent=2)
    stream.write("\n")
