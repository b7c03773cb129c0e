"""GitHub Classroom: the feedback students read in the workflow's log, then the
step output the autograding reporter reads (education/autograding-grading-reporter).

The reporter decodes each runner's `result` output (base64 JSON) and sends
Classroom the sum of its tests' `score` out of its `max_score`, so every test
carries its own points: a lab at 95/100 counts 95, not 0 as with the
all-or-nothing command grader. The last line is `result=BASE64`, ready to be
appended to $GITHUB_OUTPUT (the workflow of `make student-dist` does that).
"""
import base64
import json
import sys

from harness.results.terminal import render_terminal

# Points a lab is worth when its grader could not run at all (each lab totals 100).
LAB_POINTS = 100
STATUS = {"passed": "pass", "failed": "fail", "skipped": "error", "not_run": "error"}


def as_classroom(report):
    """The reporter's runner result: {"version": 1, "status", "max_score",
    "tests": [{"name", "status", "score", "message", "test_code", "filename",
    "line_no", "duration"}]}, durations in milliseconds as the command grader's.
    Every text in it is safe (report.safe()); what staging ignored is in the log."""
    report = report.safe()
    tests = []
    for lab in report.labs:
        for test in lab.tests:
            tests.append({"name": f"{lab.title}: {test.sentence}", "status": STATUS[test.outcome],
                          "score": test.score, "max_score": test.max,
                          "message": test.feedback if test.outcome != "passed" else "",
                          "test_code": "", "filename": "", "line_no": 0,
                          "duration": round(test.duration * 1000)})
        if lab.problem and not lab.tests:
            tests.append({"name": f"{lab.title}: could not be graded", "status": "error",
                          "score": 0, "max_score": LAB_POINTS, "message": lab.problem,
                          "test_code": "", "filename": "", "line_no": 0, "duration": 0})
    if any(test["status"] == "error" for test in tests):
        status = "error"
    else:
        status = "pass" if tests and all(test["status"] == "pass" for test in tests) else "fail"
    return {"version": 1, "status": status,
            "max_score": sum(test["max_score"] for test in tests), "tests": tests}


def render_classroom(report, stream=sys.stdout):
    """The terminal report (the log students read), then `result=BASE64`."""
    render_terminal(report, stream)
    encoded = base64.b64encode(json.dumps(as_classroom(report)).encode()).decode()
    stream.write(f"result={encoded}\n")
