"""Which labs exist and what each is made of.

A lab is a directory labs/NN-name/ of the instructor's tree with a grader package
harness/labs/labNN_name/ beside it. Its programs are the .c files of labs/NN-name/
that define main() (each becomes a binary of the same name); its other .c files,
except the cmocka tests test_*.c, are units linked into every program of the lab.
Everything here is read from the instructor's tree, never from a submission.
"""
import glob
import os
import re
from dataclasses import dataclass

from harness.errors import UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A definition of main() at the start of a line, as every lab program writes it
# (style(9): the type on the line before, or on the same line).
MAIN = re.compile(r"^(?:int\s+)?main\s*\(", re.M)
LAB_DIRECTORY = re.compile(r"(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)")


@dataclass(frozen=True)
class LabInfo:
    number: str          # "01"
    directory: str       # "01-udp-local"
    name: str            # "udp_local"
    programs: tuple      # ("udp_local",): a binary per .c with a main()
    units: tuple         # ("ntp_packet",): other .c files, linked into every program
    package: str         # "harness.labs.lab01_udp_local"
    package_dir: str     # absolute path of that package

    @property
    def title(self):
        return f"Lab {self.number} {self.name}"

    @property
    def program(self):
        """The lab's program when it has one; a lab of several names itself."""
        return self.programs[0] if len(self.programs) == 1 else self.name

    @property
    def graders(self):
        """The pytest files of the lab's graded tests: visible first, then hidden."""
        return [path for path in (os.path.join(self.package_dir, "test_grader.py"),
                                  os.path.join(self.package_dir, "test_hidden.py"))
                if os.path.isfile(path)]

    @property
    def key(self):
        """lab01, lab02, …: the name platforms use for the lab."""
        return f"lab{self.number}"


def read_lab(root, path):
    """The LabInfo of labs/NN-name/ at path, or None if it is no lab."""
    directory = os.path.basename(path)
    match = LAB_DIRECTORY.fullmatch(directory)
    if match is None:
        return None
    number, name = match[1], match[2].replace("-", "_")
    package_dir = os.path.join(root, "harness", "labs", f"lab{number}_{name}")
    if not os.path.isfile(os.path.join(package_dir, "test_grader.py")):
        return None
    programs, units = [], []
    for source in sorted(glob.glob(os.path.join(path, "*.c"))):
        stem = os.path.basename(source)[:-2]
        if stem.startswith("test_"):
            continue
        with open(source, errors="replace") as text:
            (programs if MAIN.search(text.read()) else units).append(stem)
    return LabInfo(number, directory, name, tuple(programs), tuple(units),
                   f"harness.labs.lab{number}_{name}", package_dir)


def all_labs(root=ROOT):
    labs = [read_lab(root, path)
            for path in sorted(glob.glob(os.path.join(root, "labs", "[0-9][0-9]-*")))]
    return [lab for lab in labs if lab is not None]


def select(numbers, root=ROOT):
    """The labs named by numbers ('1', '01', …), all of them if numbers is empty."""
    labs = all_labs(root)
    if not numbers:
        return labs
    wanted = set()
    for number in numbers:
        if not number.isdigit():
            raise UsageError(f"a lab is a number such as 01, not {number!r}")
        wanted.add(f"{int(number):02d}")
    known = {lab.number for lab in labs}
    missing = sorted(wanted - known)
    if missing:
        raise UsageError(f"no lab {', '.join(missing)}; the labs are {', '.join(sorted(known))}")
    return [lab for lab in labs if lab.number in wanted]


def by_number(number, root=ROOT):
    """The one lab numbered number."""
    return select([number], root)[0]
