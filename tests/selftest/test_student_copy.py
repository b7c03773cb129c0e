"""Self-tests of the student copy (make student-dist): it holds no line of
solution code anywhere (handouts, slides, demos, comments, the rendered slides),
and its slides keep every slide, each solution snippet replaced by what the
student is to write there."""
import glob
import html
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from gradeapi import ROOT

sys.path.insert(0, os.path.join(ROOT, "slides"))
import snippets  # noqa: E402  (slides/snippets.py)

pytestmark = pytest.mark.needs_solutions  # what leaks is measured against solutions/

# A line of solution code worth hiding: at least this long and this many C
# tokens once its spacing is normalized (`if (errno != EINTR)` or `} else {` say
# nothing of a solution), and not given to students anyway (not in labs/).
SHORTEST = 20
FEWEST_TOKENS = 5
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|\S")
MARKER = re.compile(r"/\*\s*(end )?slide\b")
# Lines the manual pages give as the way to make a call: every program that makes
# it writes them, so a handout that teaches the call may show them. Add one only
# with the page that shows it.
TEXTBOOK = {
    "struct addrinfo hints, *res;": "getaddrinfo(3)",
    "hints.ai_family = AF_UNSPEC;": "getaddrinfo(3)",
    "hints.ai_socktype = SOCK_STREAM;": "getaddrinfo(3)",
    "cmsg->cmsg_level = SOL_SOCKET;": "cmsg(3), unix(7)",
    "cmsg->cmsg_type = SCM_RIGHTS;": "cmsg(3), unix(7)",
    "cmsg->cmsg_len = CMSG_LEN(sizeof(int));": "cmsg(3)",
    "memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);": "cmsg(3)",
}


def normalized(text):
    return re.sub(r"\s+", " ", text).strip()


def solution_lines(root=ROOT):
    """{normalized line: 'solutions/…:N'} of every line of solution code that is
    not also given to students in labs/."""
    given = "\n".join(normalized(open(path, encoding="utf-8").read()) for path in glob.glob(
        os.path.join(root, "labs", "**", "*.[ch]"), recursive=True))
    found = {}
    for path in sorted(glob.glob(os.path.join(root, "solutions", "**", "*.[ch]"),
                                 recursive=True)):
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            text = normalized(line)
            if (len(text) >= SHORTEST and len(TOKEN.findall(text)) >= FEWEST_TOKENS
                    and not MARKER.search(text) and text not in given
                    and text not in TEXTBOOK):
                found.setdefault(text, f"{os.path.relpath(path, root)}:{number}")
    return found


def readable_text(path):
    """A file's text as a reader sees it (an HTML page without its markup), or
    None for a file that is not text."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (UnicodeDecodeError, OSError):
        return None
    if path.endswith((".html", ".htm", ".svg")):
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return normalized(text)


def leaks(folder, lines):
    """'FILE: line (from solutions/…:N)' for every solution line found in any file."""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if "node_modules" in path.split(os.sep) or not os.path.isfile(path):
            continue
        text = readable_text(path)
        if text is None:
            continue
        found += [f"{os.path.relpath(path, folder)}: {line!r} (from {where})"
                  for line, where in lines.items() if line in text]
    return found


def marp():
    """The instructors' tree's pinned marp, installed as slides/render would."""
    tool = os.path.join(ROOT, "slides", "node_modules", ".bin", "marp")
    if not os.path.exists(tool) and shutil.which("npm"):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=os.path.join(ROOT, "slides"), capture_output=True, timeout=300)
    return tool if os.path.exists(tool) else None


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    """A student copy, with its slides rendered to HTML in build/slides/."""
    dest = tmp_path_factory.mktemp("student") / "socklab"
    made = subprocess.run(["make", "-s", "student-dist", f"DEST={dest}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    tool = marp()
    if tool:
        out = dest / "build" / "slides"
        rendered = subprocess.run([tool, "--theme-set", "theme", "--html", "-I", ".", "-o",
                                   str(out)], cwd=dest / "slides", capture_output=True,
                                  text=True, timeout=300)
        assert rendered.returncode == 0, rendered.stderr[-3000:]
        shutil.copytree(dest / "slides" / "diagrams", out / "diagrams")
    return dest


def test_the_check_finds_a_line_of_solution_code(tmp_path):
    lines = solution_lines()
    assert len(lines) > 100, "too few solution lines to compare: is solutions/ there?"
    some = next(iter(lines))
    (tmp_path / "notes.md").write_text(f"# Notes\n\n    {some}\n")
    (tmp_path / "page.html").write_text(f"<pre><code>{html.escape(some)}</code></pre>")
    assert len(leaks(tmp_path, {some: "x"})) == 2


def test_student_copy_holds_no_line_of_solution_code(student_copy):
    found = leaks(student_copy, solution_lines())
    assert not found, "solution code in the student copy:\n" + "\n".join(found[:40])


def test_student_copy_names_no_hidden_test(student_copy):
    sys.path.insert(0, ROOT)
    from harness.commands.dist import hidden_test_names
    hidden = set()
    for grader in glob.glob(os.path.join(ROOT, "harness", "labs", "*", "test_*.py")):
        hidden |= hidden_test_names(open(grader, encoding="utf-8").read())
    assert hidden, "no hidden tests in the instructors' tree"
    found = []
    for path in sorted(glob.glob(os.path.join(student_copy, "**", "*"), recursive=True)):
        if "node_modules" in path.split(os.sep) or not os.path.isfile(path):
            continue
        text = readable_text(path) or ""
        found += [f"{os.path.relpath(path, student_copy)}: {name}"
                  for name in hidden if name in text]
    assert not found, "hidden tests named in the student copy:\n" + "\n".join(found)


def test_student_slides_were_rendered_and_checked(student_copy):
    if marp() is None:
        pytest.skip("marp is not installed (harness/deps slides, then make slides)")
    pages = glob.glob(str(student_copy / "build" / "slides" / "*.html"))
    assert len(pages) == len(snippets.decks(str(student_copy))), pages


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (harness/deps slides)")
def test_every_student_slide_shows_something_and_fits(student_copy):
    if marp() is None:
        pytest.skip("marp is not installed (harness/deps slides, then make slides)")
    shots = student_copy / "build" / "screenshots"
    result = subprocess.run(["node", os.path.join(ROOT, "slides", "screenshot.mjs"),
                             str(student_copy / "build" / "slides"), str(shots), BROWSER],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, f"screenshot.mjs failed:\n{result.stderr[-3000:]}"
    problems = [f"{name} slide {slide['slide']}: {what}"
                for name, slides in json.loads(result.stdout).items() for slide in slides
                for what in slide["overflow"] + (["blank"] if slide["colours"] < 8 else [])]
    assert not problems, "\n".join(problems)


def slides_in(markdown):
    """A Marp deck's slides: the '---' rulers outside code blocks, after the front matter."""
    lines = markdown.split("\n")
    if lines[0] == "---":
        lines = lines[lines.index("---", 1) + 1:]
    count, fence = 1, None
    for line in lines:
        opening = re.match(r"^(```+|~~~+)", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None and line.strip() == "---":
            count += 1
    return count


@pytest.mark.parametrize("deck", [os.path.basename(d) for d in snippets.decks()])
def test_student_deck_keeps_every_slide_with_the_todo_instead_of_the_code(student_copy, deck):
    theirs = (student_copy / "slides" / deck).read_text()
    ours = open(os.path.join(ROOT, "slides", deck), encoding="utf-8").read()
    assert slides_in(theirs) == slides_in(ours)
    assert "<!-- snippet:" not in theirs
    shown = [path for _, path, _, _, _ in snippets.blocks(ours.split("\n"))]
    assert theirs.count("<!-- yours to write:") == len(shown)
    if deck[:2] != "00":  # a lab's deck shows what the student is to write
        assert "TODO(" in theirs


# -- the replacement, on a small tree -------------------------------------------

SOLUTION = """\
/* Add them up. */
static int
total(const int *values, int count)
{
\tint sum = 0;

\t/* slide: loop */
\tfor (int i = 0; i < count; i++)
\t\tsum += twice(values[i]);
\t/* end slide */
\treturn sum;
}

/* slide: twice */
/* Double it. */
static int
twice(int value)
{
\treturn value + value;
}
/* end slide */
"""
SKELETON = """\
/* Add them up. */
static int
total(const int *values, int count)
{
\t/* TODO(lab99): add twice each value
\t *              to a running sum. */
\tsl_todo("lab99", "total()");
}
"""
DECK = """\
# Adding

<!-- snippet: solutions/99-add/add.c#loop -->
```c
for (int i = 0; i < count; i++)
    sum += twice(values[i]);
```

---

<!-- snippet: solutions/99-add/add.c#twice -->
```c
old
```
"""


@pytest.fixture
def tree(tmp_path):
    for folder, text in (("solutions", SOLUTION), ("labs", SKELETON)):
        (tmp_path / folder / "99-add").mkdir(parents=True)
        (tmp_path / folder / "99-add" / "add.c").write_text(text)
    return tmp_path


def test_a_snippet_inside_a_function_becomes_the_skeletons_function(tree):
    deck = snippets.student_deck(DECK, str(tree)).split("\n---\n")[0]
    assert "sum += twice" not in deck
    assert "/* TODO(lab99): add twice each value" in deck and "total(const int" in deck
    assert "<!-- yours to write: labs/99-add/add.c" in deck


def test_a_helper_the_skeleton_lacks_becomes_the_todos_of_its_callers(tree):
    deck = snippets.student_deck(DECK, str(tree)).split("\n---\n")[1]
    assert "value + value" not in deck
    assert "twice(): a helper of your own" in deck and "TODO(lab99)" in deck


def test_a_marker_in_the_skeleton_is_used_as_it_is(tree):
    (tree / "labs" / "99-add" / "add.c").write_text(
        SKELETON + "/* slide: twice */\n/* TODO(lab99): double it */\n/* end slide */\n")
    deck = snippets.student_deck(DECK, str(tree)).split("\n---\n")[1]
    assert "```c\n/* TODO(lab99): double it */\n```" in deck
