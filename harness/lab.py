"""The `lab` fixture's object: what one graded test works with.

It starts programs (the one under test, peers' helpers) on hosts of the test's
own lab network, keeps the story of what the test did, and turns a failure into
feedback a student can act on: the steps, what was expected, what came back, a
hint, and the last lines each program printed.
"""
import os
import re
import shlex

from harness import sandbox
from harness.labnet import LabNet
from harness.process import DEFAULT_LIFETIME, Program

# Reports of a memory checker on stderr: ASan, LSan, UBSan, and valgrind's errors
# (with -q valgrind prints nothing else).
CHECKER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                            r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|"
                            r"Syscall param|Mismatched free|Source and destination overlap|"
                            r".*definitely lost in)")


class GradeFailure(AssertionError):
    """The program under test did something wrong; the message is for the student."""


class Lab:
    """One test's world: its network, its programs and its story."""

    def __init__(self, program, unavailable_reason=None, wrapper=()):
        self.program = program  # path of the binary under test
        self.name = os.path.basename(program)
        self.wrapper = tuple(wrapper)
        self.net = LabNet(self._launch, unavailable_reason)
        self.steps = []
        self.programs = []
        self._host = None

    @property
    def host(self):
        """The default host: a private loopback (the grader's own without namespaces)."""
        if self._host is None:
            self._host = self.net.host("host")
        return self._host

    # -- running things ------------------------------------------------------

    def run(self, *args, host=None, lifetime=DEFAULT_LIFETIME):
        """Start the program under test with args on host (default: self.host)."""
        host = host or self.host
        label = shlex.join([self.name, *map(str, args)])
        # Student code always runs in the sandbox (limits, read-only files, own PID
        # namespace: harness/sandbox.py); peers and daemons the harness starts do not.
        return self._launch(host, [self.program, *map(str, args)], lifetime=lifetime,
                            label=label, wrapper=(*sandbox.command(), *self.wrapper))

    def _launch(self, host, argv, lifetime=DEFAULT_LIFETIME, label=None, wrapper=(), env=None):
        program = Program(argv, host.netns_path, label=label, lifetime=lifetime,
                          wrapper=wrapper, env=env)
        self.programs.append(program)
        where = f" on host {host.name}" if len(self.net.hosts) > 1 else ""
        self.step(f"started `{program.label}`{where}")
        return program

    # -- the story -----------------------------------------------------------

    def step(self, text):
        """Record what the test just did, for the failure story."""
        self.steps.append(text)

    def fail(self, problem, expected=None, got=None, hint=None):
        """Stop the test: problem in one line, then expected/got/hint if given."""
        raise GradeFailure(explain(problem, expected, got, hint))

    def check(self, condition, problem, expected=None, got=None, hint=None):
        """fail(...) unless condition holds."""
        if not condition:
            self.fail(problem, expected, got, hint)

    def story(self):
        """The steps and every program's last output, to follow a failure message."""
        parts = []
        if self.steps:
            parts.append("The test did these steps:")
            parts += [f"  {n}. {step}" for n, step in enumerate(self.steps, 1)]
        parts += [program.tail() for program in self.programs]
        return "\n".join(parts)

    # -- the end ---------------------------------------------------------------

    def teardown(self):
        """Kill every program and free the network; then report sanitizer findings."""
        for program in self.programs:
            program.kill()
        self.net.close()
        for program in self.programs:
            found = [line for line in program.stderr if CHECKER_REPORT.search(line)]
            if found:
                self.fail(f"a memory checker found a bug in `{program.label}`",
                          got=found[0], hint="run it by hand built with `make SANITIZE=1` "
                          "(or under valgrind) to see the full report")


def explain(problem, expected=None, got=None, hint=None):
    """The failure message format shared by every grader."""
    lines = [problem]
    if expected is not None:
        lines.append(f"Expected: {expected}")
    if got is not None:
        lines.append(f"Got:      {got}")
    if hint:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)
