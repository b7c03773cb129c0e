"""The report people read in a terminal, and the JSON object (`--format json`):
both only render a results.model.Report."""
import json
import os
import re
import sys

from harness.results.model import to_json

MARKS = {"passed": ("32", "✓"), "failed": ("31", "✗"), "skipped": ("33", "-"),
         "not_run": ("33", "·")}


class Colours:
    def __init__(self, stream):
        self.on = stream.isatty() and "NO_COLOR" not in os.environ and \
            os.environ.get("TERM") != "dumb"

    def __call__(self, code, text):
        return f"\033[{code}m{text}\033[0m" if self.on else text


def render_terminal(report, stream=sys.stdout):
    """The table people read. Every text in it is safe (report.safe()): a
    program's output can move no cursor and redraw no total."""
    report = report.safe()
    paint = Colours(stream)
    out = [paint("1", f"socklab grade: {report.implementation}"), ""]
    for lab in report.labs:
        out.append(paint("1", lab.title.ljust(60) + f"{lab.score:>3}/{lab.max}"))
        if lab.problem:
            out += ["    " + line for line in lab.problem.splitlines()]
        out += ["    " + note for note in lab.ignored]
        told = set()  # a failure told in full once; after that, its first line only
        for test in lab.tests:
            code, mark = MARKS[test.outcome]
            points = f"{test.score:>3}/{test.max:<3}"
            hidden = " (hidden)" if test.hidden else ""
            out.append(f"  {paint(code, mark)} {points} {test.sentence}{hidden}")
            if test.outcome != "passed" and test.feedback:
                lines = test.feedback.splitlines()
                # The same failure with another port or count is still the same failure.
                key = re.sub(r"\d+", "N", lines[0])
                if key in told:
                    lines = [lines[0] + "  (as above)"]
                told.add(key)
                out += ["          " + line for line in lines]
        out.append("")
    out.append(paint("1", f"Total {report.score}/{report.max}"))
    skipped = report.points_with("skipped")
    if skipped:
        out.append(paint("33", f"{skipped} points were not graded here (skipped, reasons above)."))
    stream.write("\n".join(out) + "\n")


def render_json(report, stream=sys.stdout):
    json.dump(to_json(report.safe()), stream, indent=2)
    stream.write("\n")
