"""Turning graded results into what people read: the terminal table and JSON
(formats.py has the hosted autograders' formats, batch.py the class CSV).

A result set is a list of LabResult; each holds the per-test dicts written by
plugin.py (name, max, score, outcome, feedback, hidden, duration).
"""
import json
import os
import sys
from dataclasses import dataclass, field


@dataclass
class LabResult:
    lab: object                      # catalog.LabInfo
    tests: list = field(default_factory=list)
    problem: str = ""                # the grader could not grade this lab at all
    build_failed: bool = False       # the program did not compile (every test says so)
    submitted: bool = True           # a submission had C sources for this lab

    @property
    def score(self):
        return sum(test["score"] for test in self.tests)

    @property
    def max(self):
        return sum(test["max"] for test in self.tests)


def sentence(test_name):
    """test_server_replies_with_length -> 'server replies with length'."""
    return test_name.removeprefix("test_").split("[")[0].replace("_", " ") + (
        f" [{test_name.split('[', 1)[1]}" if "[" in test_name else "")


class Colours:
    def __init__(self, stream):
        self.on = stream.isatty() and "NO_COLOR" not in os.environ and \
            os.environ.get("TERM") != "dumb"

    def __call__(self, code, text):
        return f"\033[{code}m{text}\033[0m" if self.on else text


def render_terminal(results, title, stream=sys.stdout):
    paint = Colours(stream)
    mark = {"passed": paint("32", "✓"), "failed": paint("31", "✗"),
            "skipped": paint("33", "-")}
    out = [paint("1", f"socklab grade: {title}"), ""]
    for result in results:
        out.append(paint("1", f"{result.lab.title}".ljust(60) + f"{result.score:>3}/{result.max}"))
        if result.problem:
            out += ["    " + line for line in result.problem.splitlines()]
        told = set()  # a failure told in full once; after that, its first line only
        for test in result.tests:
            points = f"{test['score']:>3}/{test['max']:<3}"
            hidden = " (hidden)" if test["hidden"] else ""
            out.append(f"  {mark[test['outcome']]} {points} {sentence(test['name'])}{hidden}")
            if test["outcome"] != "passed" and test["feedback"]:
                lines = test["feedback"].splitlines()
                if lines[0] in told:
                    lines = [lines[0] + "  (as above)"]
                told.add(lines[0])
                out += ["          " + line for line in lines]
        out.append("")
    total, most = sum(r.score for r in results), sum(r.max for r in results)
    skipped = sum(t["max"] for r in results for t in r.tests if t["outcome"] == "skipped")
    out.append(paint("1", f"Total {total}/{most}"))
    if skipped:
        out.append(paint("33", f"{skipped} points were not graded here (skipped, reasons above)."))
    stream.write("\n".join(out) + "\n")


def as_json(results):
    """The JSON object of the grade command (see README: formats)."""
    labs = {}
    for result in results:
        labs[result.lab.number] = {
            "program": result.lab.program,
            "score": result.score, "max": result.max,
            "problem": result.problem or None,
            "built": not result.build_failed,
            "submitted": result.submitted,
            "tests": [{"name": t["name"], "score": t["score"], "max": t["max"],
                       "passed": t["outcome"] == "passed",
                       "skipped": t["outcome"] == "skipped",
                       "hidden": t["hidden"], "feedback": t["feedback"],
                       "duration": round(t["duration"], 3)} for t in result.tests],
        }
    return {"labs": labs, "score": sum(r.score for r in results),
            "max": sum(r.max for r in results)}


def render_json(results, stream=sys.stdout):
    json.dump(as_json(results), stream, indent=2)
    stream.write("\n")
