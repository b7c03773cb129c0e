"""Which labs exist: every labs/NN-name/ of the instructor's tree that has a grader."""
import glob
import os
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class LabInfo:
    number: str        # "01"
    directory: str     # "01-udp-local"
    program: str       # "udp_local"
    grader: str        # absolute path of harness/graders/test_01_udp_local.py

    @property
    def title(self):
        return f"Lab {self.number} {self.program}"


def all_labs(root=ROOT):
    labs = []
    for path in sorted(glob.glob(os.path.join(root, "labs", "[0-9][0-9]-*"))):
        directory = os.path.basename(path)
        number, name = directory.split("-", 1)
        program = name.replace("-", "_")
        grader = os.path.join(root, "harness", "graders", f"test_{number}_{program}.py")
        if os.path.isfile(grader):
            labs.append(LabInfo(number, directory, program, grader))
    return labs


def select(numbers, root=ROOT):
    """The labs named by numbers ('1', '01', …), all of them if numbers is empty."""
    labs = all_labs(root)
    if not numbers:
        return labs
    wanted = set()
    for number in numbers:
        if not number.isdigit():
            raise SystemExit(f"grade: a lab is a number such as 01, not {number!r}")
        wanted.add(f"{int(number):02d}")
    known = {lab.number for lab in labs}
    missing = sorted(wanted - known)
    if missing:
        raise SystemExit(f"grade: no lab {', '.join(missing)}; the labs are {', '.join(sorted(known))}")
    return [lab for lab in labs if lab.number in wanted]
