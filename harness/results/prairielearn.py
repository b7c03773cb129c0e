"""PrairieLearn's external-grading results.json (docs/externalGrading.md of
PrairieLearn): `score` in 0..1, `gradable`, a `message` for the whole
submission, and one entry per test with `name`, `points`, `max_points`,
`message` (the problem in a line) and `output` (what went over the wire).

`gradable` is false when nothing could be built: the student then keeps the
attempt, and `format_errors` says what the compiler said. PrairieLearn shows
results as soon as they come, so hidden tests are graded only where the
question asks for them (prairielearn/README.md: an assessment without
real-time grading shows them once it closes).
"""
import json
import sys

# PrairieLearn takes a results.json of at most 1 MB; outputs are cut to stay under.
SIZE_LIMIT = 900_000


def test_entry(title, test):
    lines = test.feedback.splitlines()
    if test.outcome == "passed":
        message = "Passed."
    elif test.outcome == "skipped":
        message = f"Not graded here (0 points): {lines[0] if lines else ''}"
    else:
        message = lines[0] if lines else "failed"
    return {"name": f"{title}: {test.sentence}", "points": test.score, "max_points": test.max,
            "message": message, "output": "\n".join(lines[1:])}


def as_prairielearn(report):
    """PrairieLearn's results object for a Report (its safe copy, report.safe())."""
    report = report.safe()
    ignored = [f"{lab.title}: {note}" for lab in report.labs for note in lab.ignored]
    built = [lab for lab in report.labs if lab.submitted and lab.built]
    if not built:
        errors = [f"{lab.title}: not submitted" if not lab.submitted else
                  f"{lab.title} did not compile:\n" + (lab.tests[0].feedback if lab.tests
                                                       else lab.problem)
                  for lab in report.labs]
        return {"gradable": False, "format_errors": errors + ignored,
                "message": "Nothing could be built, so nothing was graded; this attempt "
                           "does not count."}
    tests = [test_entry(lab.title, test) for lab in report.labs for test in lab.tests]
    for lab in report.labs:
        if lab.problem and not lab.tests:
            tests.append({"name": f"{lab.title}: could not be graded", "points": 0,
                          "max_points": 100, "message": lab.problem.splitlines()[0],
                          "output": lab.problem})
    earned = sum(test["points"] for test in tests)
    possible = sum(test["max_points"] for test in tests)
    lines = [f"{lab.title}: {lab.score}/{lab.max}" for lab in report.labs]
    skipped = report.points_with("skipped")
    if skipped:
        lines.append(f"{skipped} points were not graded in this environment "
                     f"({report.backend_note or 'no lab network'}); please tell your instructor.")
    if report.points_with("not_run"):
        lines.append("Some tests were not graded (each says why); please tell your instructor.")
    lines += ignored
    return {"gradable": True, "score": round(earned / possible, 4) if possible else 0.0,
            "message": "\n".join(lines), "tests": tests}


def within_size(results, limit=SIZE_LIMIT):
    """results with the longest test outputs halved until the JSON fits in limit."""
    while len(json.dumps(results)) > limit:
        longest = max(results.get("tests", []), key=lambda test: len(test["output"]),
                      default=None)
        if longest is None or len(longest["output"]) < 200:
            break
        keep = len(longest["output"]) // 2
        longest["output"] = (longest["output"][:keep] +
                             f"\n… ({len(longest['output']) - keep} more characters cut)")
    return results


def render_prairielearn(report, stream=sys.stdout):
    json.dump(within_size(as_prairielearn(report)), stream, indent=2)
    stream.write("\n")
