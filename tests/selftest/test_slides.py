"""The slides' self-tests: every snippet on a slide equals the source it is cut
from, the checker notices when one drifts, and every deck renders to HTML whose
every slide shows something and fits on the slide (checked in headless Chromium,
screenshots in build/slides/screenshots/)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from gradeapi import ROOT

# Slides are cut from the solutions: none of this can run in a student copy (conftest.py).
pytestmark = pytest.mark.needs_solutions

sys.path.insert(0, os.path.join(ROOT, "slides"))
import snippets  # noqa: E402  (slides/snippets.py)

BUILD = os.path.join(ROOT, "build", "slides")
SCREENSHOTS = os.path.join(BUILD, "screenshots")
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
# A slide that shows something has text and a background: more than a handful of colours.
FEWEST_COLOURS = 8


def test_every_snippet_matches_its_source():
    problems = []
    for deck in snippets.decks():
        problems += snippets.process(deck)
    assert not problems, "\n".join(problems)


def test_every_marker_in_the_solutions_is_on_a_slide():
    import glob
    used = {(path, marker) for deck in snippets.decks()
            for _, path, marker, _, _ in snippets.blocks(open(deck).read().split("\n"))}
    assert used, "no deck cuts any code from the solutions"
    unused = []
    for source in sorted(glob.glob(os.path.join(ROOT, "solutions", "*", "*.[ch]"))):
        path = os.path.relpath(source, ROOT)
        with open(source) as text:
            unused += [f"{path}#{marker}" for marker in snippets.markers(text.read())
                       if (path, marker) not in used]
    assert not unused, f"markers no slide uses (remove them, or show them): {unused}"


SOURCE = """int main(void)
{
\t/* slide: greet */
\tputs("hello");
\t/* slide: inner */
\tputs("world");
\t/* end slide */
\t/* end slide */
}
"""
DECK = """# A deck

<!-- snippet: prog.c#greet -->
```c
puts("hello");
puts("world");
```
"""


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "prog.c").write_text(SOURCE)
    (tmp_path / "slides").mkdir()
    deck = tmp_path / "slides" / "01-demo.md"
    deck.write_text(DECK)
    return tmp_path, deck


def test_checker_accepts_a_faithful_snippet_with_nested_markers(tree):
    root, deck = tree
    assert snippets.process(str(deck), root=str(root)) == []


def test_checker_reports_a_snippet_that_drifted(tree):
    root, deck = tree
    deck.write_text(DECK.replace('"world"', '"World"'))
    problems = snippets.process(str(deck), root=str(root))
    assert len(problems) == 1 and "differs from the source" in problems[0]
    assert '+puts("World");' in problems[0]


def test_checker_reports_a_missing_marker_and_file(tree):
    root, deck = tree
    deck.write_text(DECK.replace("#greet", "#gone") + DECK.replace("prog.c", "nope.c"))
    problems = snippets.process(str(deck), root=str(root))
    assert any("no marker '/* slide: gone */'" in p for p in problems)
    assert any("nope.c does not exist" in p for p in problems)


def test_update_copies_the_source_into_the_slide(tree):
    root, deck = tree
    deck.write_text(DECK.replace('puts("world");\n', ""))
    assert snippets.process(str(deck), update=True, root=str(root)) == []
    assert deck.read_text() == DECK


def slide_count(markdown):
    """Slides in a Marp deck: '---' rulers outside code blocks, after the front matter."""
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


@pytest.fixture(scope="module")
def rendered():
    result = subprocess.run([os.path.join(ROOT, "slides", "render"), BUILD],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, f"slides/render failed:\n{result.stdout}\n{result.stderr}"
    return BUILD


def test_every_deck_renders_to_html(rendered):
    with open(os.path.join(rendered, "index.html")) as index:
        listed = index.read()
    for deck in snippets.decks():
        name = os.path.splitext(os.path.basename(deck))[0]
        assert os.path.isfile(os.path.join(rendered, name + ".html")), f"{name}.html missing"
        assert f'href="{name}.html"' in listed, f"index.html does not list {name}"
        if BROWSER:
            assert os.path.isfile(os.path.join(rendered, name + ".pdf")), f"{name}.pdf missing"


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (harness/deps slides)")
def test_every_slide_shows_something_and_fits(rendered):
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    result = subprocess.run(["node", os.path.join(ROOT, "slides", "screenshot.mjs"), rendered,
                             SCREENSHOTS, BROWSER],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, f"screenshot.mjs failed:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    problems = []
    for deck in snippets.decks():
        name = os.path.splitext(os.path.basename(deck))[0]
        with open(deck) as source:
            expected = slide_count(source.read())
        slides = report.get(name, [])
        if len(slides) != expected:
            problems.append(f"{name}: {len(slides)} slides rendered, the Markdown has {expected}")
        for slide in slides:
            where = f"{name} slide {slide['slide']} ({slide['screenshot']})"
            if slide["shown"] != 1 or slide.get("id") != str(slide["slide"]):
                problems.append(f"{where}: navigation did not show this slide")
            if slide["colours"] < FEWEST_COLOURS:
                problems.append(f"{where}: blank ({slide['colours']} colours)")
            problems += [f"{where}: {what}" for what in slide["overflow"]]
    assert not problems, "\n".join(problems)


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def test_every_diagram_is_well_formed_and_every_image_exists():
    import glob
    import xml.etree.ElementTree as ElementTree
    diagrams = sorted(glob.glob(os.path.join(ROOT, "slides", "diagrams", "*.svg")))
    assert diagrams, "no diagrams in slides/diagrams/"
    for diagram in diagrams:
        root = ElementTree.parse(diagram).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", f"{diagram} is not an SVG"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None, \
            f"{diagram} has no <title> (what a screen reader says)"
    pages = snippets.decks() + sorted(glob.glob(os.path.join(ROOT, "labs", "*", "README.md")))
    used = set()
    for page in pages:
        with open(page) as text:
            for target in IMAGE.findall(text.read()):
                path = os.path.normpath(os.path.join(os.path.dirname(page), target))
                assert os.path.isfile(path), f"{os.path.relpath(page, ROOT)} shows {target}, " \
                                             "which does not exist"
                used.add(path)
    unused = [d for d in diagrams if d not in used]
    assert not unused, f"diagrams no deck or handout shows: {unused}"
