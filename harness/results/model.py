"""The one results model: what grading found, as plain dataclasses.

Every outcome is a field set where it happens (a test's verdict by the pytest
plugin, a program's symptoms by the process that watched it, a lab's build by the
builder, a lab the grader could not run by the runner), never recovered from
text. Reports and platform formats (harness/results/*) only render a Report; the
JSON schema below (harness/README.md documents it) is what `--format json`
prints, what the pytest processes hand back, and what a class run keeps per
student.
"""
from dataclasses import asdict, dataclass, field, replace

from harness.results.text import safe_text

SCHEMA_VERSION = 2

# A test's outcome. "not_run": the grader's time budget ran out before it.
OUTCOMES = ("passed", "failed", "skipped", "not_run")

# Ways a program under test went wrong that deserve a reason of their own (the
# class CSV lists them), each set by the code that saw it happen.
HUNG = "hung"                        # outlived its lifetime or the test's time limit
CRASHED = "crashed"                  # killed by a signal it did not ask for
FLOODED = "flooded its output"       # printed more than the sandbox passes on
CPU_HOG = "kept the CPU busy"        # used a second of CPU: demoted by the sandbox
CPU_LIMIT = "used too much CPU"      # killed by SIGXCPU
MEMORY_ERROR = "memory error"        # a sanitizer or valgrind report
NOT_IMPLEMENTED = "not implemented"  # a skeleton's exit 3
SYMPTOMS = (HUNG, CRASHED, FLOODED, CPU_HOG, CPU_LIMIT, MEMORY_ERROR, NOT_IMPLEMENTED)


@dataclass
class TestResult:
    nodeid: str                  # pytest's id: harness/labs/lab01_udp_local/test_grader.py::test_…
    name: str                    # test_server_replies_with_the_exact_length[38]
    lab: str                     # "01"
    index: int                   # position in the lab's grader files (reports keep this order)
    max: int                     # points the test is worth
    hidden: bool = False         # an instructor's hidden test
    outcome: str = "passed"      # one of OUTCOMES
    feedback: str = ""           # for a student: why it failed or was skipped (safe text)
    duration: float = 0.0        # seconds, every phase of the test
    symptoms: list = field(default_factory=list)  # of SYMPTOMS, in the order seen
    tags: list = field(default_factory=list)      # lab, topics (platforms group by them)

    @property
    def score(self):
        return self.max if self.outcome == "passed" else 0

    @property
    def sentence(self):
        """test_server_replies_with_length[38] -> 'server replies with length [38]'."""
        base, _, case = self.name.partition("[")
        text = base.removeprefix("test_").replace("_", " ")
        return f"{text} [{case}" if case else text


@dataclass
class LabResult:
    number: str                  # "01"
    name: str                    # "udp_local"
    programs: list               # the lab's binaries
    tests: list = field(default_factory=list)  # of TestResult, in grader order
    built: bool = True           # every program compiled
    submitted: bool = True       # a submission had sources for this lab
    problem: str = ""            # why the grader could not grade (not the student's fault)
    ignored: list = field(default_factory=list)  # what staging left out and why (safe text)

    @property
    def title(self):
        return f"Lab {self.number} {self.name}"

    @property
    def key(self):
        return f"lab{self.number}"

    @property
    def score(self):
        return sum(test.score for test in self.tests)

    @property
    def max(self):
        return sum(test.max for test in self.tests)

    @property
    def visible_max(self):
        return sum(test.max for test in self.tests if not test.hidden)

    def symptoms(self, failed_only=True):
        """The symptoms of the lab's tests (of its failed tests only, by default)."""
        seen = []
        for test in self.tests:
            if failed_only and test.outcome != "failed":
                continue
            seen += [symptom for symptom in test.symptoms if symptom not in seen]
        return seen


@dataclass
class Report:
    labs: list                   # of LabResult, in lab order
    implementation: str = ""     # what was graded, in words
    seconds: float = 0.0         # wall time of the whole run
    backend: str = ""            # where the lab networks ran: namespaces, user-mode-linux, loopback
    backend_note: str = ""       # why not the full lab network, when so

    @property
    def score(self):
        return sum(lab.score for lab in self.labs)

    @property
    def max(self):
        return sum(lab.max for lab in self.labs)

    def tests(self):
        return [test for lab in self.labs for test in lab.tests]

    def safe(self):
        """A copy with every text made safe to show (results/text.py), whoever
        filled it in: each renderer shows this copy only."""
        def texts(values):
            return [safe_text(value) for value in values]

        labs = [replace(lab, number=safe_text(lab.number), name=safe_text(lab.name),
                        programs=texts(lab.programs), problem=safe_text(lab.problem),
                        ignored=texts(lab.ignored),
                        tests=[replace(test, nodeid=safe_text(test.nodeid),
                                       name=safe_text(test.name),
                                       feedback=safe_text(test.feedback),
                                       symptoms=texts(test.symptoms), tags=texts(test.tags))
                               for test in lab.tests])
                for lab in self.labs]
        return replace(self, labs=labs, implementation=safe_text(self.implementation),
                       backend=safe_text(self.backend),
                       backend_note=safe_text(self.backend_note))

    def points_with(self, outcome):
        return sum(test.max for test in self.tests() if test.outcome == outcome)

    @property
    def complete(self):
        """Full marks on everything graded, nothing the grader could not do."""
        return bool(self.max) and self.score == self.max and not any(
            lab.problem for lab in self.labs)


def lab_result_for(lab):
    """An empty LabResult for a catalog.LabInfo."""
    return LabResult(lab.number, lab.name, list(lab.programs))


# -- JSON ---------------------------------------------------------------------------

def to_json(report):
    """The report as the JSON object of harness/README.md ("The results schema")."""
    labs = {}
    for lab in report.labs:
        fields = asdict(lab)
        fields["tests"] = [dict(asdict(test), score=test.score) for test in lab.tests]
        labs[lab.number] = dict(fields, title=lab.title, score=lab.score, max=lab.max)
    return {"schema": SCHEMA_VERSION, "implementation": report.implementation,
            "seconds": round(report.seconds, 3), "backend": report.backend,
            "backend_note": report.backend_note,
            "score": report.score, "max": report.max, "labs": labs}


def test_from_json(fields):
    known = TestResult.__dataclass_fields__
    return TestResult(**{key: value for key, value in fields.items() if key in known})


def from_json(data):
    """A Report from to_json's object (derived fields such as score are recomputed)."""
    if data.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"results schema {data.get('schema')!r}, expected {SCHEMA_VERSION}")
    labs = []
    for number, fields in sorted(data["labs"].items()):
        lab = LabResult(number, fields["name"], list(fields["programs"]),
                        [test_from_json(test) for test in fields["tests"]],
                        fields["built"], fields["submitted"], fields["problem"],
                        list(fields.get("ignored", [])))
        labs.append(lab)
    return Report(labs, data["implementation"], data["seconds"], data["backend"],
                  data["backend_note"])
