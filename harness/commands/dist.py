"""What leaves the instructor's tree: the student distribution and what each
hosted autograder takes.

    python3 -m harness.commands.dist student DEST       (make student-dist DEST=DIR)
    python3 -m harness.commands.dist autograder ZIP     (make autograder: Gradescope)
    python3 -m harness.commands.dist autolab DIR        (make autolab)
    python3 -m harness.commands.dist prairielearn DIR   (make prairielearn)
    python3 -m harness.commands.dist classroom          (print the GitHub Classroom workflow)

The student distribution is the repository without solutions/, the mutants, the
overfit programs, the hostile submissions and the platforms' entry points, with
every hidden test taken out of the graders and every slide's solution code
replaced by what the student is to write there; a GitHub Classroom workflow with one graded step per
lab is put where GitHub looks for it (.github/workflows/classroom.yml), so the
copy can serve as the assignment's template repository.

Every platform bundle holds the instructor's tree (hidden tests included,
solutions not): the Gradescope zip with setup.sh and run_autograder at its root;
Autolab's autograde.tar (the tree under socklab/) and autograde-Makefile; for
PrairieLearn an image context (the tree with prairielearn/Dockerfile at its root)
and one question directory per lab.
"""
import ast
import base64
import glob
import json
import os
import shutil
import string
import sys
import tarfile
import uuid
import zipfile

from harness.catalog import ROOT, all_labs
from harness.commands import entry_point
from harness.errors import UsageError

NEVER = {".git", "build", "__pycache__", ".pytest_cache", "node_modules"}
PLATFORMS = {"autograder", "autolab", "prairielearn"}
INSTRUCTOR_ONLY = {"solutions", os.path.join("tests", "mutants"), os.path.join("tests", "hostile"),
                   os.path.join("tests", "overfit"), *PLATFORMS}
NOT_IN_AUTOGRADER = {"solutions", os.path.join("tests", "mutants"),
                     os.path.join("tests", "hostile"), os.path.join("tests", "overfit"), ".github"}
CLASSROOM_WORKFLOW = os.path.join(".github", "workflows", "classroom.yml")
# Seconds one lab's grading may take in a Classroom step (the step's own limit is
# longer): past it, finished tests keep their points and the rest are not run.
CLASSROOM_BUDGET = 480

# GitHub Classroom's autograding convention: one step per graded part, each
# setting a `result` output (base64 JSON), then the reporter, which sends
# Classroom the sum of every test's score. Our step writes that output itself
# (`grade --format classroom`), so every test counts with its own points.
WORKFLOW_HEAD = """\
# GitHub Classroom autograding for socklab, made by `make student-dist`
# (harness/commands/dist.py): one step per lab, each test worth its own points.
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
        timeout-minutes: 12
        run: |
          harness/grade --lab {number} --format classroom --budget {budget} | tee "$RUNNER_TEMP/{step}.log"
          grep '^result=' "$RUNNER_TEMP/{step}.log" | tail -n 1 > "$RUNNER_TEMP/{step}.result" || true
          [ -s "$RUNNER_TEMP/{step}.result" ] || echo 'result={fallback}' > "$RUNNER_TEMP/{step}.result"
          cat "$RUNNER_TEMP/{step}.result" >> "$GITHUB_OUTPUT"
"""
WORKFLOW_REPORTER = """\
      - name: Autograding Reporter
        uses: education/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def classroom_fallback(lab):
    """The result a lab's step reports if the grader printed none: 0 of 100."""
    result = {"version": 1, "status": "error", "max_score": 100,
              "tests": [{"name": f"{lab.title}: could not be graded", "status": "error",
                         "score": 0, "message": "the grader printed no result; see this "
                         "step's log", "test_code": "", "filename": "", "line_no": 0}]}
    return base64.b64encode(json.dumps(result).encode()).decode()


def classroom_workflow(labs):
    """The workflow text for these labs (step ids lab01, lab02, …)."""
    steps = [WORKFLOW_STEP.format(title=lab.title, step=lab.key, number=lab.number,
                                  budget=CLASSROOM_BUDGET, fallback=classroom_fallback(lab))
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


def hidden_test_names(source):
    """The names of the hidden tests a grader file's text defines."""
    tree = ast.parse(source)
    whole = any(isinstance(node, ast.Assign) and "mark.hidden" in ast.unparse(node.value)
                and any(getattr(t, "id", "") == "pytestmark" for t in node.targets)
                for node in tree.body)
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and node.name.startswith("test_") and (whole or is_hidden(node))}


def without_hidden_durations(text, package_dir):
    """A lab's durations.json without the hidden tests (their names would tell)."""
    hidden = set()
    for grader in glob.glob(os.path.join(package_dir, "test_*.py")):
        with open(grader) as file:
            hidden |= hidden_test_names(file.read())
    kept = {nodeid: seconds for nodeid, seconds in json.loads(text).items()
            if nodeid.split("::")[-1].split("[")[0] not in hidden}
    return json.dumps(kept, indent=0, sort_keys=True) + "\n"


def is_durations(path):
    """Is path (relative) a lab's shipped durations, harness/labs/labNN_name/durations.json?"""
    parts = path.split(os.sep)
    return len(parts) == 4 and parts[:2] == ["harness", "labs"] and parts[3] == "durations.json"


def is_deck(path):
    """Is path (relative) a lab's slide deck, slides/NN-name.md?"""
    parts = path.split(os.sep)
    return len(parts) == 2 and parts[0] == "slides" and parts[1][:2].isdigit() and \
        parts[1].endswith(".md")


def student_deck(path, root):
    """The deck at path as students get it: every snippet of the solutions
    replaced by what the student is to write there (slides/snippets.py)."""
    sys.path.insert(0, os.path.join(root, "slides"))
    try:
        import snippets
    finally:
        sys.path.pop(0)
    with open(os.path.join(root, path), encoding="utf-8") as deck:
        return snippets.student_deck(deck.read(), root)


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
        elif is_deck(path):
            text = student_deck(path, root)
        elif is_durations(path):
            with open(source) as file:
                text = without_hidden_durations(file.read(), os.path.dirname(source))
        else:
            shutil.copy2(source, target)
            continue
        if text is not None:
            with open(target, "w", encoding="utf-8") as file:
                file.write(text)
    os.makedirs(os.path.join(dest, os.path.dirname(CLASSROOM_WORKFLOW)), exist_ok=True)
    with open(os.path.join(dest, CLASSROOM_WORKFLOW), "w") as out:
        out.write(classroom_workflow(all_labs(root)))
    print(f"student-dist: wrote {dest} (no solutions, mutants or hidden tests)")


def autolab_bundle(dest, root=ROOT):
    """dest/autograde.tar (the tree under socklab/) and dest/autograde-Makefile."""
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(os.path.join(dest, "autograde.tar"), "w") as archive:
        for path in files(NOT_IN_AUTOGRADER, root):
            archive.add(os.path.join(root, path), os.path.join("socklab", path), recursive=False)
    shutil.copyfile(os.path.join(root, "autolab", "autograde-Makefile"),
                    os.path.join(dest, "autograde-Makefile"))
    print(f"autolab: wrote {dest}/autograde.tar and autograde-Makefile "
          "(upload both as the assessment's autograder)")


def prairielearn_question(lab):
    """A question's info.json and question.html for one lab, from the templates
    in prairielearn/ (the lab's title, number and source files filled in; its
    uuid is the same every time, so a new bundle updates the same questions)."""
    with open(os.path.join(ROOT, "prairielearn", "info.json")) as template:
        info = json.load(template)
    info["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"socklab:{lab.key}"))
    info["title"] = lab.title
    info["tags"] = ["socklab", lab.key]
    info["externalGradingOptions"]["environment"]["SOCKLAB_LABS"] = lab.number
    names = [f"{name}.c" for name in (*lab.programs, *lab.units)]
    with open(os.path.join(ROOT, "prairielearn", "question.html")) as template:
        html = string.Template(template.read()).substitute(
            TITLE=lab.title, FILE_NAMES=",".join(names),
            FILES=" and ".join(f"<code>{name}</code>" for name in names))
    return json.dumps(info, indent=2) + "\n", html


def prairielearn_bundle(dest, root=ROOT):
    """dest/image/ (the grader image's context, Dockerfile at its root) and
    dest/questions/labNN/ for each lab (info.json, question.html)."""
    image = os.path.join(dest, "image")
    shutil.rmtree(image, ignore_errors=True)
    for path in files(NOT_IN_AUTOGRADER, root):
        target = os.path.join(image, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(root, path), target)
    shutil.copyfile(os.path.join(root, "prairielearn", "Dockerfile"),
                    os.path.join(image, "Dockerfile"))
    for lab in all_labs(root):
        question = os.path.join(dest, "questions", lab.key)
        os.makedirs(question, exist_ok=True)
        info, html = prairielearn_question(lab)
        with open(os.path.join(question, "info.json"), "w") as out:
            out.write(info)
        with open(os.path.join(question, "question.html"), "w") as out:
            out.write(html)
    print(f"prairielearn: wrote {image} (docker build it) and {dest}/questions/ "
          "(copy them into your course's questions/)")


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


COMMANDS = {"student": student_dist, "autograder": autograder_zip,
            "autolab": autolab_bundle, "prairielearn": prairielearn_bundle}


def check_instructors_tree(kind, root=ROOT):
    """A platform bundle needs the platform's folder, which a student copy lacks."""
    folder = {"autograder": "autograder", "autolab": "autolab",
              "prairielearn": "prairielearn"}.get(kind)
    if folder and not os.path.isdir(os.path.join(root, folder)):
        raise UsageError(f"no {folder}/ here: platform bundles are made from the "
                         "instructors' tree, not from a student copy")


def run(argv):
    if argv == ["classroom"]:
        sys.stdout.write(classroom_workflow(all_labs()))
        return 0
    if len(argv) != 2 or argv[0] not in COMMANDS:
        print("usage: python3 -m harness.commands.dist student DEST | autograder ZIP | "
              "autolab DIR | prairielearn DIR | classroom", file=sys.stderr)
        return 2
    check_instructors_tree(argv[0])
    COMMANDS[argv[0]](argv[1])
    return 0


def main(argv):
    return entry_point("dist", run, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
