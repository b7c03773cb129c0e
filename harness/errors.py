"""The harness's own exceptions. Library code raises them; only the entry points
(harness/commands/) print them, with their own name, and choose an exit status."""


class HarnessError(Exception):
    """Something the person running the harness must fix or know (a bad option, a
    missing lab, a machine that cannot do what was asked); the message says what."""


class UsageError(HarnessError):
    """The command line asked for something that does not exist (exit 2)."""


class SetupError(HarnessError):
    """The machine could not provide what grading needs (not the student's fault)."""
