"""The `lab` fixture's object: what one graded test works with.

It starts programs (the one under test, peers' helpers) on hosts of the test's
own lab network, keeps the story of what the test did, and turns a failure into
feedback a student can act on: the steps, what was expected, what came back, a
hint, and the last lines each program printed.
"""
import contextlib
import os
import re
import shlex
import shutil
import tempfile

from harness.network.labnet import LabNet
from harness.programs import sandbox
from harness.programs.process import DEFAULT_LIFETIME, Program
from harness.results.model import MEMORY_ERROR
from harness.results.text import safe_line

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

    def __init__(self, programs, unavailable_reason=None, wrapper=()):
        self.binaries = dict(programs)  # name -> path of each binary under test
        self.name = next(iter(self.binaries))  # the default program (a lab's only one)
        self.wrapper = tuple(wrapper)
        self.net = LabNet(self._launch, unavailable_reason, note=self.step)
        self.steps = []
        self.programs = []  # every Program started, the harness's own commands too
        self.symptoms = []  # set by the harness itself (the test's time limit)
        self._host = None
        self._scratch = tempfile.mkdtemp(prefix="socklab-test-")
        # A directory of this test's own that the program under test may write and
        # the peers can read (AF_UNIX socket files, say).
        os.chmod(self._scratch, 0o711)  # reachable, not listable, for that other user
        self.workdir = os.path.join(self._scratch, "work")
        os.mkdir(self.workdir)
        os.chmod(self.workdir, 0o1777)  # the program may run as another user
        self.seen_symptoms = []  # filled in at teardown
        # Variables added to the sandbox's fixed environment for every program this
        # test runs (a test of time zones sets TZ here; the grader's own environment
        # never reaches student code).
        self.env = {}

    @property
    def host(self):
        """The default host: a private loopback (the grader's own without namespaces)."""
        if self._host is None:
            self._host = self.net.host("host")
        return self._host

    # -- running things ------------------------------------------------------

    def run(self, *args, program=None, host=None, lifetime=DEFAULT_LIFETIME,
            open_files=None, net_raw=False, binds=(), map_ids=False, stdin=False):
        """Start a program under test (program: its name, for a lab of several)
        with args on host (default: self.host). open_files, net_raw, binds and
        map_ids are what the lab needs of the sandbox beyond the defaults
        (harness/README.md); stdin=True gives it a pipe to type into
        (Program.send_input)."""
        host = host or self.host
        name = program or self.name
        if name not in self.binaries:
            raise ValueError(f"no program {name!r} in this lab: {', '.join(self.binaries)}")
        label = shlex.join([name, *map(str, args)])
        # Student code always runs in the sandbox (limits, read-only files, own PID
        # namespace: harness/programs/sandbox.py); peers and daemons the harness
        # starts do not.
        events = tempfile.mkstemp(prefix="events-", dir=self._scratch)
        os.close(events[0])
        fence = sandbox.command(events=events[1], open_files=open_files, net_raw=net_raw,
                                binds=binds, writable=[self.workdir], map_ids=map_ids,
                                env=self.env)
        return self._launch(host, [self.binaries[name], *map(str, args)], lifetime=lifetime,
                            label=label, wrapper=(*fence, *self.wrapper), events=events[1],
                            stdin=stdin)

    def _launch(self, host, argv, lifetime=DEFAULT_LIFETIME, label=None, wrapper=(), env=None,
                events=None, stdin=False):
        program = Program(argv, host.netns_path, label=label, lifetime=lifetime,
                          wrapper=wrapper, env=env, events=events, stdin=stdin)
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

    @contextlib.contextmanager
    def wire(self, doing, hint=None):
        """Turn a socket error on a Python peer's side (refused, reset, broken pipe)
        into a failure that says what the peer was doing, instead of a grader crash:
        `with lab.wire("a Python client sent the greeting"): ...`"""
        try:
            yield
        except OSError as error:
            self.fail(f"the connection failed while {doing}: {error.strerror or error}",
                      hint=hint)

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
        try:
            self.seen_symptoms = self.all_symptoms()
            for program in self.programs:
                found = [line for line in program.stderr if CHECKER_REPORT.search(line)]
                if found:
                    self.seen_symptoms.append(MEMORY_ERROR)
                    self.fail(f"a memory checker found a bug in `{program.label}`",
                              got=safe_line(found[0]),
                              hint="run it by hand built with `make SANITIZE=1` "
                              "(or under valgrind) to see the full report")
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def all_symptoms(self):
        """The symptoms of this test: the harness's own, then each program's."""
        found = list(self.symptoms)
        for program in self.programs:
            found += [symptom for symptom in program.symptoms if symptom not in found]
        return found


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
