"""Similar submissions in a class (`grade --class DIR --similarity P`): for each
lab, every pair of students whose own code is near-identical, measured with the
similarity tester's C mode (Debian's similarity-tester, `sim_c`), which sees
through changes of layout, comments and names. The grader only points: the
instructor looks at the evidence and judges.

What every student got from the skeleton (labs/NN-name/) is taken out first, so
only code a student wrote is compared; a student who wrote little is not
compared at all.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from harness.catalog import ROOT
from harness.programs.staging import stage_sources
from harness.results.text import printable

SIM = "sim_c"
# Fewer tokens of one's own than this in a lab, and there is nothing to compare.
FEWEST_TOKENS = 100
SIM_TIMEOUT = 120
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\S")
PERCENT = re.compile(r"^(?P<a>.+)\.c consists for (?P<percent>\d+) % of (?P<b>.+)\.c material$")


@dataclass
class Pair:
    lab: str          # "01"
    first: str        # a student, the one sim_c says consists of the other's material
    second: str
    percent: int      # how much of first's own code is also in second's
    evidence: str = ""  # sim_c's side-by-side listing of the shared runs


def available():
    return shutil.which(SIM) is not None


def normalized(line):
    return re.sub(r"\s+", " ", line).strip()


def given_lines(lab, root=ROOT):
    """Every line the skeleton of lab gives students, normalized."""
    lines = set()
    for path in glob.glob(os.path.join(root, "labs", lab.directory, "*.[ch]")):
        with open(path, errors="replace") as source:
            lines.update(normalized(line) for line in source)
    return lines - {""}


def own_code(submission, lab, given, scratch):
    """The student's code of one lab, the skeleton's lines blanked out (line
    numbers kept), all files in one text; None if it is too little to compare."""
    tree = os.path.join(scratch, "staged")
    stage_sources(submission, tree, lab)
    parts = []
    for path in sorted(glob.glob(os.path.join(tree, lab.directory, "*.[ch]"))):
        with open(path, errors="replace") as source:
            lines = ["" if normalized(line) in given else line.rstrip("\n") for line in source]
        parts.append(f"/* {os.path.basename(path)} */\n" + "\n".join(lines))
    shutil.rmtree(tree, ignore_errors=True)
    text = "\n".join(parts)
    return text if len(TOKEN.findall(re.sub(r"/\*.*?\*/", "", text, flags=re.S))) >= \
        FEWEST_TOKENS else None


def run_sim(*args, cwd):
    return subprocess.run([SIM, *args], cwd=cwd, capture_output=True, text=True,
                          errors="replace", timeout=SIM_TIMEOUT).stdout


def similar_pairs(submissions, labs, threshold):
    """Pairs of submissions [(name, path)] whose own code of a lab overlaps by at
    least threshold percent, most similar first, each with its evidence."""
    pairs = []
    with tempfile.TemporaryDirectory(prefix="socklab-similar-") as scratch:
        for lab in labs:
            given = given_lines(lab)
            folder = os.path.join(scratch, lab.key)
            os.makedirs(folder)
            names = {}
            for index, (name, path) in enumerate(submissions):
                code = own_code(path, lab, given, scratch)
                if code is not None:
                    # File names of our own: a student's name never reaches sim_c's argv.
                    names[f"s{index}"] = name
                    with open(os.path.join(folder, f"s{index}.c"), "w") as out:
                        out.write(code)
            if len(names) < 2:
                continue
            files = [f"{key}.c" for key in names]
            listing = run_sim("-p", "-e", "-T", "-t", str(threshold), *files, cwd=folder)
            for line in listing.splitlines():
                match = PERCENT.match(line.strip())
                if match and match["a"] in names and match["b"] in names:
                    evidence = run_sim("-e", "-T", "-w", "120", f"{match['a']}.c",
                                       f"{match['b']}.c", cwd=folder)
                    for key, name in names.items():
                        evidence = evidence.replace(f"{key}.c", name)
                    pairs.append(Pair(lab.number, names[match["a"]], names[match["b"]],
                                      int(match["percent"]), evidence))
    return sorted(pairs, key=lambda pair: (-pair.percent, pair.lab, pair.first, pair.second))


def by_student(pairs):
    """{student: 'lab01: ben 87%; lab03: cy 64%'} for the CSV's `similar` column."""
    found = {}
    for pair in pairs:
        for me, other in ((pair.first, pair.second), (pair.second, pair.first)):
            found.setdefault(me, []).append(f"lab{pair.lab}: {other} {pair.percent}%")
    return {name: "; ".join(notes) for name, notes in found.items()}


def write_evidence(pairs, folder):
    """folder/similar.txt: every flagged pair and the code they share."""
    with open(os.path.join(folder, "similar.txt"), "w") as out:
        if not pairs:
            out.write("No pairs of similar submissions.\n")
        for pair in pairs:
            # Students' code and names, escaped but for tabs: it is read on a terminal.
            evidence = "\n".join("\t".join(map(printable, line.split("\t")))
                                 for line in pair.evidence.split("\n"))
            out.write(f"== lab {pair.lab}: {pair.percent}% of {printable(pair.first)}'s own "
                      f"code is also in {printable(pair.second)}'s\n{evidence}\n")
