"""Results: the one model (model.py) and what renders it, one module a format.

RENDERERS maps each --format name to a function render(report, stream)."""
from harness.results import autolab, classroom, gradescope, junit, prairielearn, terminal

RENDERERS = {
    "terminal": terminal.render_terminal,  # the table with feedback people read
    "json": terminal.render_json,          # the results schema (harness/README.md)
    "gradescope": gradescope.render_gradescope,
    "junit": junit.render_junit,
    "autolab": autolab.render_autolab,
    "classroom": classroom.render_classroom,  # the log, then the reporter's result= line
    "prairielearn": prairielearn.render_prairielearn,
}
