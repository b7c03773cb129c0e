"""Autolab: the feedback students read, then the score line Autolab wants last."""
import json
import sys

from harness.results.terminal import render_terminal

def as_autolab(report):
    """Autolab's score object: {"scores": {"lab01": S, …}, "scoreboard": [total, S, …]}."""
    scores = {result.key: result.score for result in report.labs}
    return {"scores": scores,
            "scoreboard": [sum(scores.values()), *scores.values()]}


def render_autolab(report, stream=sys.stdout):
    """The feedback students read, then the score line, which Autolab wants last."""
    render_terminal(report, stream)
    stream.write(json.dumps(as_autolab(report)) + "\n")
