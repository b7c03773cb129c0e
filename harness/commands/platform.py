"""The hosted autograders' side of grading one submission (PrairieLearn, Autolab;
Gradescope's is autograder/run_autograder): take only the submission's C
sources, grade them within a time budget below the platform's own limit, and
always leave a result the platform can read, even when nothing compiles or the
grader itself fails.

    python3 -m harness.commands.platform prairielearn   (prairielearn/grade runs it)
    python3 -m harness.commands.platform autolab        (the autograde-Makefile runs it)

Settings come from the environment, which both platforms let instructors set:

    SOCKLAB_LABS     labs to grade ("01 03"); default: every lab the submission has sources of
    SOCKLAB_HIDDEN   1: also run the instructors' hidden tests
    SOCKLAB_BUDGET   seconds grading may take (default: the platform's limit less a margin)
    SOCKLAB_GRADE_ROOT  PrairieLearn's /grade (a fake tree for the self-tests)
    SOCKLAB_HANDIN_DIR  where Autolab's handin file is (the autograde-Makefile's directory)
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

from harness import catalog
from harness.catalog import ROOT
from harness.programs.staging import MAX_SOURCE_BYTES, copy_sources_tree, stage_sources

# Each platform's limit on one grading job, and the budget grading gets within it:
# building, starting up and writing results need the rest.
PLATFORMS = {
    # PrairieLearn: externalGradingOptions.timeout, at most 600 s (prairielearn/info.json).
    "prairielearn": {"limit": 600, "budget": 480, "format": "prairielearn"},
    # Autolab: an assessment's autograding timeout, at most 899 s here.
    "autolab": {"limit": 899, "budget": 780, "format": "autolab"},
}
# After the budget, the grade command itself is given this long to write its report.
GRACE = 45
# At most this many files are taken from an archive (a class's labs have a dozen).
MAX_MEMBERS = 200


def c_sources_from(source, dest):
    """Copy the *.c and *.h files under source into dest, in their folders, and its
    links as links (staging names them to the student), within staging's bounds."""
    copy_sources_tree(source, dest)


def unpack_c_sources(archive, dest):
    """The *.c and *.h members of a tar or zip archive, into dest; only regular
    files, only below dest, nothing oversized. False if it is no such archive."""
    wanted = []
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.size <= MAX_SOURCE_BYTES:
                    wanted.append((member.name, lambda m=member, t=tar: t.extractfile(m).read()))
            return _write_members(wanted, dest)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir() and info.file_size <= MAX_SOURCE_BYTES:
                    wanted.append((info.filename, lambda i=info, z=zipped: z.read(i)))
            return _write_members(wanted, dest)
    return False


def _write_members(members, dest):
    for name, read in members[:MAX_MEMBERS]:
        parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
        if not parts or ".." in parts or not parts[-1].endswith((".c", ".h")):
            continue
        target = os.path.join(dest, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(read()[:MAX_SOURCE_BYTES])
    return True


def submitted_labs(submission):
    """The labs the submission has sources of, as the grader would stage them."""
    found = []
    with tempfile.TemporaryDirectory(prefix="socklab-probe-") as tree:
        for lab in catalog.all_labs():
            stage_sources(submission, tree, lab)
            if any(name.endswith(".c") for name in os.listdir(os.path.join(tree, lab.directory))):
                found.append(lab)
    return found


def settings(platform):
    """(labs, hidden, budget) from the environment."""
    named = os.environ.get("SOCKLAB_LABS", "").replace(",", " ").split()
    hidden = os.environ.get("SOCKLAB_HIDDEN", "") == "1"
    budget = float(os.environ.get("SOCKLAB_BUDGET") or PLATFORMS[platform]["budget"])
    return named, hidden, budget


def grade(platform, submission, labs, hidden, budget):
    """Grade the staged submission; (report text or None, the grader's log)."""
    out = os.path.join(tempfile.mkdtemp(prefix="socklab-results-"), "report")
    command = [os.path.join(ROOT, "harness", "grade"), "--impl", submission,
               "--format", PLATFORMS[platform]["format"], "--output", out,
               "--budget", str(budget), *(["--hidden"] if hidden else [])]
    for lab in labs:
        command += ["--lab", lab.number]
    try:
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                             errors="replace", timeout=budget + GRACE, start_new_session=True)
        log = run.stdout + run.stderr
    except subprocess.TimeoutExpired:
        return None, f"the grader did not stop at its budget of {budget:.0f} s"
    try:
        with open(out) as report:
            text = report.read()
    except OSError:
        return None, log
    return (text if text.strip() else None), log


def prairielearn():
    """Grade /grade/student into /grade/results/results.json."""
    root = os.environ.get("SOCKLAB_GRADE_ROOT", "/grade")
    results = os.path.join(root, "results", "results.json")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    named, hidden, budget = settings("prairielearn")
    scratch = tempfile.mkdtemp(prefix="socklab-submission-")
    os.chmod(scratch, 0o755)  # student programs may run as an unprivileged user
    c_sources_from(os.path.join(root, "student"), scratch)
    labs = catalog.select(named) if named else submitted_labs(scratch)
    if not labs:
        outcome = {"gradable": False, "format_errors": [
            "no lab's C sources were found in the submission (expected files such as "
            + ", ".join(f"{p}.c" for lab in catalog.all_labs() for p in lab.programs) + ")"],
            "message": "Nothing to grade; this attempt does not count."}
    else:
        text, log = grade("prairielearn", scratch, labs, hidden, budget)
        sys.stdout.write(log)  # PrairieLearn shows the job's output to staff
        outcome = json.loads(text) if text else {
            "gradable": False, "message": "The autograder itself failed, so this attempt "
            "does not count; please tell your instructor.", "format_errors": [log[-3000:]]}
    with open(results, "w") as out:
        json.dump(outcome, out, indent=2)
    return 0


def autolab():
    """Grade the handin file(s) in the working directory; print the feedback and,
    last, Autolab's score line (an all-zero one if grading failed)."""
    named, hidden, budget = settings("autolab")
    scratch = tempfile.mkdtemp(prefix="socklab-submission-")
    os.chmod(scratch, 0o755)
    folder = os.environ.get("SOCKLAB_HANDIN_DIR", ".")
    handins = sorted(os.path.join(folder, name) for name in os.listdir(folder)
                     if name.startswith("handin") and os.path.isfile(os.path.join(folder, name)))
    for name in handins:
        if not unpack_c_sources(name, scratch) and name.endswith(".c"):
            # A single file: it is the program of the one lab named in the Makefile.
            chosen = catalog.select(named) if named else []
            if len(chosen) == 1 and len(chosen[0].programs) == 1:
                shutil.copyfile(name, os.path.join(scratch, chosen[0].programs[0] + ".c"))
    labs = catalog.select(named) if named else submitted_labs(scratch) or catalog.all_labs()
    text, log = grade("autolab", scratch, labs, hidden, budget) if labs else (None, "")
    if text:
        sys.stdout.write(text)
        return 0
    print(f"The autograder itself failed; please tell your instructor.\n{log[-3000:]}")
    scores = {lab.key: 0 for lab in labs}
    print(json.dumps({"scores": scores, "scoreboard": [0, *scores.values()]}))
    return 0


def main(argv):
    if argv not in (["prairielearn"], ["autolab"]):
        print("usage: python3 -m harness.commands.platform prairielearn|autolab", file=sys.stderr)
        return 2
    started = time.monotonic()
    status = prairielearn() if argv == ["prairielearn"] else autolab()
    print(f"platform: {argv[0]} grading took {time.monotonic() - started:.0f} s", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
