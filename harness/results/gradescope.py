"""Gradescope's results.json (gradescope-autograders.readthedocs.io/en/latest/specs/).

Hidden tests appear only when they were run (--hidden), with the visibility
after_due_date. Before the due date nothing a student can see says that they
exist: the top-level output, the per-lab lines, the numbering and extra_data
count the visible tests only; each hidden test, and a per-lab total that
includes them, is a test case of its own that Gradescope shows after the due
date. What only instructors should read (a grader's own log) goes into a test
case with the visibility hidden, which students never see.
"""
import json
import sys

from harness.results.markdown import code_block, escape

# Gradescope's visibility for instructors' hidden tests and for everything else.
HIDDEN_VISIBILITY = "after_due_date"
VISIBLE = "visible"
INSTRUCTORS_ONLY = "hidden"


def lab_line(result):
    """'Lab 01 udp_local: 90/100' over the visible tests, and what kept any of
    them from being graded; never a word about the hidden ones."""
    visible = [test for test in result.tests if not test.hidden]
    score = sum(test.score for test in visible)
    text = f"**{escape(result.title)}**: {score}/{sum(test.max for test in visible)}"
    if not result.submitted:
        text += " (not submitted)"
    elif not result.built:
        text += " (did not compile)"
    elif result.problem and not result.tests:
        text += " (could not be graded, see below)"
    not_run = [test for test in visible if test.outcome == "not_run"]
    if not_run:
        text += f" ({len(not_run)} tests not graded, see below)"
    for note in result.ignored:
        text += f"\n  - {escape(note)}"
    return text


def test_output(test):
    """What a test's box says, in Markdown: the first line of the feedback as a
    sentence, the rest (what went over the wire, the program's output) as code."""
    if test.outcome == "passed":
        return "Passed."
    lines = test.feedback.splitlines() or ["failed"]
    first = lines[0]
    if test.outcome == "skipped":
        first = f"Not graded here (0 points): {first}"
    text = f"**{escape(first)}**"
    if lines[1:]:
        text += "\n\n" + code_block("\n".join(lines[1:]))
    return text


def test_case(result, test, number):
    return {"name": f"{result.title}: {test.sentence}", "number": number,
            "score": test.score, "max_score": test.max,
            "status": "passed" if test.outcome == "passed" else "failed",
            "output": test_output(test), "output_format": "md",
            "tags": list(test.tags),
            "visibility": HIDDEN_VISIBILITY if test.hidden else VISIBLE}


def lab_cases(result):
    """The test cases of one lab: visible tests numbered first (so a gap in the
    numbers never hints at a hidden test), then the hidden ones and their total."""
    number = int(result.number)
    visible = [test for test in result.tests if not test.hidden]
    hidden = [test for test in result.tests if test.hidden]
    cases = [test_case(result, test, f"{number}.{index}")
             for index, test in enumerate(visible + hidden, start=1)]
    if hidden:
        earned = sum(test.score for test in hidden)
        cases.append({"name": f"{result.title}: total with the hidden tests",
                      "number": f"{number}.{len(cases) + 1}",
                      "status": "passed" if earned == sum(t.max for t in hidden) else "failed",
                      "output": f"{result.score}/{result.max}: the visible tests "
                                f"{result.score - earned}/{result.max - sum(t.max for t in hidden)}"
                                f", the hidden tests {earned}/{sum(t.max for t in hidden)}.",
                      "tags": [result.key], "visibility": HIDDEN_VISIBILITY})
    if result.problem and not result.tests:
        # Nothing was graded: one failed entry keeps the lost points visible.
        cases.append({"name": f"{result.title}: could not be graded",
                      "number": f"{number}.0", "score": 0, "max_score": 100,
                      "status": "failed", "output": escape(result.problem.splitlines()[0]),
                      "output_format": "md", "tags": [result.key], "visibility": VISIBLE})
    if result.problem:
        # The grader's own log may name any test: for instructors' eyes only.
        cases.append({"name": f"{result.title}: the grader's log (instructors only)",
                      "number": f"{number}.99", "status": "failed",
                      "output": code_block(result.problem), "output_format": "md",
                      "tags": [result.key], "visibility": INSTRUCTORS_ONLY})
    return cases


def as_gradescope(report):
    """Gradescope's results.json object: top-level score, execution_time, output
    (Markdown) and extra_data; per test name, number, score, max_score, status,
    output (Markdown), tags and visibility. Every text in it is safe (report.safe())."""
    report = report.safe()
    tests = [case for result in report.labs for case in lab_cases(result)]
    visible = [test for test in report.tests() if not test.hidden]
    lines = [f"- {lab_line(result)}" for result in report.labs]
    skipped = sum(test.max for test in visible if test.outcome == "skipped")
    if skipped:
        lines += ["", f"{skipped} points were not graded in this environment (see the "
                  "skipped tests); please tell your instructor."]
    if any(test.outcome == "not_run" for test in visible):
        lines += ["", "Some tests were not graded (each says why below); please tell "
                  "your instructor."]
    return {"score": report.score, "execution_time": round(report.seconds),
            "output": "\n".join(lines), "output_format": "md",
            "visibility": VISIBLE, "stdout_visibility": "hidden",
            "extra_data": {"backend": report.backend, "backend_note": report.backend_note},
            "tests": tests}


def render_gradescope(report, stream=sys.stdout):
    json.dump(as_gradescope(report), stream, indent=2)
    stream.write("\n")
