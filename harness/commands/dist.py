"""What leaves the instructor's tree: the student distribution and the Gradescope
autograder zip.

    python3 -m harness.commands.dist student DEST      (make student-dist DEST=DIR)
    python3 -m harness.commands.dist autograder ZIP    (make autograder)
    python3 -m harness.commands.dist classroom         (print the GitHub Classroom workflow)

The student distribution is the repository without solutions/, the mutants, the
hostile submissions and the autograder, and with every hidden test taken out of
the graders; a GitHub Classroom workflow with one graded step per lab is put where
GitHub looks for it (.github/workflows/classroom.yml), so the copy can serve as
the assignment's template repository. The
autograder zip holds the instructor's tree (hidden tests included, solutions not)
with Gradescope's setup.sh and run_autograder at its root.
"""
import ast
import os
import shutil
import sys
import zipfile

from harness.catalog import ROOT, all_labs
from harness.commands import entry_point
from harness.errors import UsageError

NEVER = {".git", "build", "__pycache__", ".pytest_cache", "node_modules"}
INSTRUCTOR_ONLY = {"solutions", os.path.join("tests", "mutants"), os.path.join("tests", "hostile"),
                   "autograder"}
NOT_IN_AUTOGRADER = {"solutions", os.path.join("tests", "mutants"),
                     os.path.join("tests", "hostile"), ".github"}
CLASSROOM_WORKFLOW = os.path.join(".github", "workflows", "classroom.yml")

# GitHub Classroom's autograding convention: one command-grader step per graded
# part (all of max-score when the command exits 0), then the reporter, which
# reads each step's `result` output. `grade --lab NN` exits 0 at full marks only.
WORKFLOW_HEAD = """\
# GitHub Classroom autograding for socklab, made by `make student-dist`
# (harness/dist.py): one step per lab, worth 100 points when the lab is complete.
name: Autograding Tests
'on':
  - push
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Install the packages grading needs
        run: sudo harness/deps grade
      - name: Allow unprivileged user namespaces (the lab networks need them)
        run: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
"""
WORKFLOW_STEP = """\
      - name: {title}
        id: {step}
        uses: education/autograding-command-grader@v1
        with:
          test-name: {title}
          command: harness/grade --lab {number}
          timeout: 10
          max-score: 100
"""
WORKFLOW_REPORTER = """\
      - name: Autograding Reporter
        uses: education/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def classroom_workflow(labs):
    """The workflow text for these labs (step ids lab01, lab02, …)."""
    steps = [WORKFLOW_STEP.format(title=lab.title, step=lab.key, number=lab.number)
             for lab in labs]
    env = "\n".join(f'          LAB{lab.number}_RESULTS: "${{{{steps.{lab.key}.outputs.result}}}}"'
                    for lab in labs)
    runners = ",".join(lab.key for lab in labs)
    return WORKFLOW_HEAD + "".join(steps) + WORKFLOW_REPORTER.format(env=env, runners=runners)


def files(left_out, root=ROOT):
    """Relative paths of the tree's files, less build outputs and left_out folders."""
    for folder, subfolders, names in os.walk(root):
        relative = os.path.relpath(folder, root)
        subfolders[:] = sorted(d for d in subfolders if d not in NEVER
                               and os.path.normpath(os.path.join(relative, d)) not in left_out)
        for name in sorted(names):
            if not name.endswith(".pyc"):
                yield os.path.normpath(os.path.join(relative, name))


def is_hidden(node):
    """Is this top-level definition an instructor's hidden test?"""
    decorators = getattr(node, "decorator_list", [])
    return any("mark.hidden" in ast.unparse(d) for d in decorators)


def without_hidden_tests(source):
    """A grader file's text with its hidden tests cut out, or None if the whole
    file is hidden (pytestmark = pytest.mark.hidden)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cut = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark"
                                                for t in node.targets):
            if "mark.hidden" in ast.unparse(node.value):
                return None
        if is_hidden(node):
            first = min(d.lineno for d in node.decorator_list)
            cut.append((first - 1, node.end_lineno))
    for start, end in reversed(cut):
        del lines[start:end]
    return "".join(lines)


def is_grader_file(path):
    """Is path (relative) a lab's pytest file, harness/labs/labNN_name/test_*.py?"""
    parts = path.split(os.sep)
    return (len(parts) == 4 and parts[:2] == ["harness", "labs"] and
            parts[3].startswith("test_") and parts[3].endswith(".py"))


def student_dist(dest, root=ROOT):
    if os.path.exists(dest) and os.listdir(dest):
        raise UsageError(f"{dest} exists and is not empty")
    for path in files(INSTRUCTOR_ONLY, root):
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        source = os.path.join(root, path)
        if is_grader_file(path):
            with open(source) as file:
                text = without_hidden_tests(file.read())
            if text is not None:
                with open(target, "w") as file:
                    file.write(text)
            continue
        shutil.copy2(source, target)
    os.makedirs(os.path.join(dest, os.path.dirname(CLASSROOM_WORKFLOW)), exist_ok=True)
    with open(os.path.join(dest, CLASSROOM_WORKFLOW), "w") as out:
        out.write(classroom_workflow(all_labs(root)))
    print(f"student-dist: wrote {dest} (no solutions, mutants or hidden tests)")


def autograder_zip(zip_path, root=ROOT):
    os.makedirs(os.path.dirname(os.path.abspath(zip_path)), exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files(NOT_IN_AUTOGRADER, root):
            archive.write(os.path.join(root, path), path)
        for name in ("setup.sh", "run_autograder"):  # Gradescope wants these at the root
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            with open(os.path.join(root, "autograder", name), "rb") as file:
                archive.writestr(info, file.read())
    print(f"autograder: wrote {zip_path} (upload it as the Gradescope autograder)")


def run(argv):
    if argv == ["classroom"]:
        sys.stdout.write(classroom_workflow(all_labs()))
        return 0
    if len(argv) != 2 or argv[0] not in ("student", "autograder"):
        print("usage: python3 -m harness.commands.dist student DEST | autograder ZIP | classroom",
              file=sys.stderr)
        return 2
    if argv[0] == "student":
        student_dist(argv[1])
    else:
        autograder_zip(argv[1])
    return 0


def main(argv):
    return entry_point("dist", run, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
