"""Reports for hosted autograders and CI: Gradescope results.json, JUnit XML and
the Autolab score line. (The terminal table and the JSON object are in report.py.)

Every renderer takes the list of LabResult of one submission. Hidden tests appear
only when they were run (--hidden); Gradescope then shows them to students after
the due date.
"""
import io
import json
import sys
import xml.etree.ElementTree as ElementTree

from harness.report import render_terminal, sentence

# Gradescope's visibility for instructors' hidden tests and for everything else.
HIDDEN_VISIBILITY = "after_due_date"
VISIBLE = "visible"


def lab_summary(result):
    """'Lab 01 udp_local: 90/100' and, if the lab could not be graded, why."""
    text = f"{result.lab.title}: {result.score}/{result.max}"
    if not result.submitted:
        text += " (not submitted)"
    elif result.build_failed:
        text += " (did not compile)"
    if result.problem:
        text += f"\n  {result.problem.splitlines()[0]}"
    return text


def test_output(test):
    """What a test's box says: the feedback, or why it was not graded here."""
    if test["outcome"] == "skipped":
        return f"Not graded here (0 points): {test['feedback']}"
    if test["outcome"] == "passed":
        return "Passed."
    return test["feedback"]


# -- Gradescope -----------------------------------------------------------------

def as_gradescope(results, execution_time=None):
    """Gradescope's results.json object (gradescope-autograders.readthedocs.io/en/latest/specs/):
    top-level score, execution_time and output; per test name, number, score,
    max_score, status, output and visibility."""
    tests = []
    for lab_index, result in enumerate(results, start=1):
        number = int(result.lab.number) if result.lab.number.isdigit() else lab_index
        for test_index, test in enumerate(result.tests, start=1):
            tests.append({
                "name": f"{result.lab.title}: {sentence(test['name'])}",
                "number": f"{number}.{test_index}",
                "score": test["score"], "max_score": test["max"],
                "status": "passed" if test["outcome"] == "passed" else "failed",
                "output": test_output(test),
                "visibility": HIDDEN_VISIBILITY if test["hidden"] else VISIBLE,
            })
        if result.problem and not result.tests:
            # Nothing was graded: one failed entry keeps the lost points visible.
            tests.append({"name": f"{result.lab.title}: could not be graded",
                          "number": f"{number}.0", "score": 0, "max_score": 100,
                          "status": "failed", "output": result.problem,
                          "visibility": VISIBLE})
    skipped = sum(t["max"] for r in results for t in r.tests if t["outcome"] == "skipped")
    lines = [lab_summary(result) for result in results]
    if skipped:
        lines.append(f"{skipped} points were not graded in this environment (see the "
                     "skipped tests); please tell your instructor.")
    report = {"score": sum(r.score for r in results),
              "output": "\n".join(lines),
              "visibility": VISIBLE, "stdout_visibility": "hidden",
              "tests": tests}
    if execution_time is not None:
        report["execution_time"] = round(execution_time)
    return report


def render_gradescope(results, stream=sys.stdout, execution_time=None):
    json.dump(as_gradescope(results, execution_time), stream, indent=2)
    stream.write("\n")


def failed_gradescope(message, execution_time=None):
    """results.json for a run that produced no results at all (the grader broke)."""
    report = {"score": 0, "output": message, "visibility": VISIBLE,
              "stdout_visibility": "hidden",
              "tests": [{"name": "The autograder could not grade this submission",
                         "number": "0.0", "score": 0, "max_score": 0, "status": "failed",
                         "output": message, "visibility": VISIBLE}]}
    if execution_time is not None:
        report["execution_time"] = round(execution_time)
    return report


# -- JUnit XML --------------------------------------------------------------------

def as_junit(results):
    """An ElementTree: <testsuites> with one <testsuite> per lab, one <testcase> per test
    (points as a property), <failure> with the feedback, <skipped> with the reason,
    and an <error> case when a lab's grader could not run."""
    suites = ElementTree.Element("testsuites", name="socklab")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0, "time": 0.0}
    for result in results:
        suite = ElementTree.SubElement(suites, "testsuite", name=result.lab.title)
        counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0, "time": 0.0}
        classname = f"lab{result.lab.number}.{result.lab.program}"
        for test in result.tests:
            case = ElementTree.SubElement(suite, "testcase", classname=classname,
                                          name=test["name"], time=f"{test['duration']:.3f}")
            properties = ElementTree.SubElement(case, "properties")
            ElementTree.SubElement(properties, "property", name="points",
                                   value=f"{test['score']}/{test['max']}")
            if test["hidden"]:
                ElementTree.SubElement(properties, "property", name="hidden", value="true")
            counts["tests"] += 1
            counts["time"] += test["duration"]
            if test["outcome"] == "failed":
                counts["failures"] += 1
                first = (test["feedback"].splitlines() or ["failed"])[0]
                ElementTree.SubElement(case, "failure", message=first).text = test["feedback"]
            elif test["outcome"] == "skipped":
                counts["skipped"] += 1
                ElementTree.SubElement(case, "skipped", message=test["feedback"])
        if result.problem:
            case = ElementTree.SubElement(suite, "testcase", classname=classname,
                                          name="grader", time="0")
            ElementTree.SubElement(case, "error", message=result.problem.splitlines()[0]
                                   ).text = result.problem
            counts["tests"] += 1
            counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, f"{value:.3f}" if key == "time" else str(value))
    return ElementTree.ElementTree(suites)


def render_junit(results, stream=sys.stdout):
    tree = as_junit(results)
    ElementTree.indent(tree)
    buffer = io.BytesIO()
    tree.write(buffer, encoding="utf-8", xml_declaration=True)
    stream.write(buffer.getvalue().decode("utf-8") + "\n")


# -- Autolab ----------------------------------------------------------------------

def autolab_key(lab):
    """The Autolab problem name of a lab: lab01, lab02, …"""
    return f"lab{lab.number}"


def as_autolab(results):
    """Autolab's score object: {"scores": {"lab01": S, …}, "scoreboard": [total, S, …]}."""
    scores = {autolab_key(result.lab): result.score for result in results}
    return {"scores": scores,
            "scoreboard": [sum(scores.values()), *scores.values()]}


def render_autolab(results, title, stream=sys.stdout):
    """The feedback students read, then the score line, which Autolab wants last."""
    render_terminal(results, title, stream)
    stream.write(json.dumps(as_autolab(results)) + "\n")
