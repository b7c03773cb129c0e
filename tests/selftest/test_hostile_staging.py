"""Hostile submissions against staging and reports (docs/SECURITY.md, "Staging,
file names and reports"): names with make or shell syntax, links to solutions/, to
another student or to a grader file, link loops, FIFOs, huge files, thousands of
files, deep nesting (tests/hostile/staging_attacks.py lays them out), and a
program whose output forges a total and breaks JSON, XML and Markdown
(tests/hostile/report-injection). Each is contained and named to the student;
honest work in any layout keeps its marks; every report stays valid and safe."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from gradeapi import GRADE, ROOT, grade

HOSTILE = os.path.join(ROOT, "tests", "hostile")
if not os.path.isdir(HOSTILE):
    pytest.skip("no tests/hostile/ here (a student copy)", allow_module_level=True)
sys.path.insert(0, ROOT)
sys.path.insert(0, HOSTILE)

import staging_attacks  # noqa: E402  (tests/hostile/, on the path just above)
from harness import catalog  # noqa: E402
from harness.programs import staging  # noqa: E402
from harness.results import RENDERERS  # noqa: E402
from harness.results import model  # noqa: E402
from harness.results.text import FEEDBACK_LINES, LINE_LIMIT, MARKER_ROOM, safe_block  # noqa: E402

LAB = catalog.by_number("01")
HANG_GUARD = 300  # seconds: only so that a staging that hangs fails instead of hanging
# Every character a report may not carry raw: C0 but \n, DEL, C1, bidi controls.
FORBIDDEN = {chr(c) for c in range(0x20) if c != 0x0A} | {chr(c) for c in range(0x7F, 0xA0)} \
    | {chr(c) for c in range(0x202A, 0x202F)} | {chr(c) for c in range(0x2066, 0x206A)} \
    | {"\u2028", "\u2029", "\u200b", "\ufffe"}
NASTY = ("\x1b[2J\x1b[H\x1b[1;32mTotal 100/100\x1b[0m\r\x1b[1ATotal 100/100 \x00NUL \udcff "
         "\u202e001/001 latoT\u202c ]]></failure></testsuite> <![CDATA[ & \x85\u2028 ```")


def raw_characters(text):
    return sorted({f"U+{ord(char):04X}" for char in text if char in FORBIDDEN})


def stage_in_subprocess(folders):
    """Stage lab 01 of each folder in a process of its own (a hang fails the test,
    it does not stop the suite); {folder: (taken, ignored)}."""
    script = ("import json, sys\nfrom harness import catalog\n"
              "from harness.programs.staging import stage_sources\n"
              "for source, tree in zip(sys.argv[1::2], sys.argv[2::2]):\n"
              "    staged = stage_sources(source, tree, catalog.by_number('01'))\n"
              "    print(json.dumps([source, staged.taken, staged.ignored]), flush=True)\n")
    argv = [arg for folder in folders for arg in (folder, folder + ".staged")]
    try:
        run = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT, timeout=HANG_GUARD,
                             capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    except subprocess.TimeoutExpired as stopped:
        done = [json.loads(line)[0] for line in (stopped.output or b"").decode().splitlines()]
        hung = [folder for folder in folders if folder not in done][0]
        raise AssertionError(f"staging {os.path.basename(hung)} did not finish") from None
    assert run.returncode == 0, run.stderr[-3000:]
    return {source: (taken, ignored) for source, taken, ignored in
            map(json.loads, run.stdout.splitlines())}


@pytest.fixture(scope="module")
def attacks(tmp_path_factory):
    base = tmp_path_factory.mktemp("staging-attacks")
    made = staging_attacks.lay_out(str(base))
    staged = stage_in_subprocess(list(made.values()))
    return {name: staged[path] for name, path in made.items()}, made


# What each attack must come to: the sources taken, and a word of why the rest was not.
EXPECTED = {
    "links-to-solutions": ([], "a link"),
    "links-to-another-student": ([], "a link"),
    "links-to-grader-files": ([], "a link"),
    "hard-link-to-a-grader-file": ([], "a hard link"),
    "link-loops": (["udp_local.c"], "a link"),
    "fifo-sources": ([], "not a regular file"),
    "huge-source": ([], "larger than 1 MiB"),
    "deep-nesting": ([], "deeper than"),
    "control-names": ([], "not a name a person writes"),
}


@pytest.mark.parametrize("name", sorted(staging_attacks.ATTACKS))
def test_staging_contains_the_attack_and_names_it(attacks, name):
    staged, _ = attacks
    taken, ignored = staged[name]
    if name == "many-files":
        assert len(taken) == staging.MAX_LAB_FILES
        assert ignored[-1] == f"… and {staging_attacks.MANY_FILES - staging.MAX_LAB_FILES - 20}" \
                              " more ignored entries", ignored
        assert len(ignored) == staging.MAX_NOTES + 1
        return
    wanted, reason = EXPECTED[name]
    assert taken == wanted
    assert any(reason in note for note in ignored), ignored
    for note in ignored:
        assert not raw_characters(note), note


def test_staging_takes_no_byte_through_a_link(attacks):
    _, made = attacks
    solution = open(os.path.join(ROOT, "solutions", "01-udp-local", "udp_local.c")).read()
    for name in ("links-to-solutions", "links-to-another-student", "links-to-grader-files"):
        folder = os.path.join(made[name] + ".staged", LAB.directory)
        assert os.listdir(folder) == [], f"{name}: {os.listdir(folder)}"
    staged = open(os.path.join(made["link-loops"] + ".staged", LAB.directory, "udp_local.c")).read()
    assert staged == staging_attacks.NOT_IMPLEMENTED and staged != solution


def test_staging_names_make_and_shell_syntax_and_takes_only_the_program(tmp_path):
    staged = staging.stage_sources(os.path.join(HOSTILE, "file-names"), str(tmp_path), LAB)
    assert staged.taken == ["udp_local.c"]
    for name in ("$(shell touch PWNED).c", "x;touch PWNED;.c", "\\`touch PWNED\\`.c",
                 "$(eval $(shell touch PWNED)).h", "a b.c", "..c"):
        assert f"ignored `01-udp-local/{name}`: {staging.NAME_RULE}" in staged.ignored, \
            (name, staged.ignored)


def test_a_walk_past_its_deadline_stops_and_says_so(attacks, tmp_path):
    _, made = attacks
    staged = staging.stage_sources(made["many-files"], str(tmp_path), LAB, seconds=0)
    assert staged.taken == []
    assert staged.ignored == ["the rest of the submission was not looked at: "
                              "looking through it took too long"]


def test_platform_copy_keeps_links_as_links_for_staging_to_name(attacks, tmp_path):
    """Gradescope's and PrairieLearn's first copy: sources and links, never a
    link's target; staging the copy then names the links to the student."""
    _, made = attacks
    copy = tmp_path / "copy"
    staging.copy_sources_tree(made["links-to-solutions"], str(copy))
    assert os.path.islink(copy / "01-udp-local") and os.path.islink(copy / "labs" / "01-udp-local")
    staged = staging.stage_sources(str(copy), str(tmp_path / "tree"), LAB)
    assert staged.taken == [] and "ignored `01-udp-local`: a link (links are never " \
        "followed)" in staged.ignored
    fifo = staging.copy_sources_tree(made["fifo-sources"], str(tmp_path / "fifo"))
    assert fifo.taken == [] and len(fifo.ignored) == 2


@pytest.mark.parametrize("layout", ["labs/01-udp-local", "01-udp-local", "loose/nested"])
def test_honest_sources_are_staged_in_every_layout(tmp_path, layout):
    solution = os.path.join(ROOT, "solutions", "01-udp-local")
    shutil.copytree(solution, tmp_path / "submission" / layout)
    (tmp_path / "submission" / "README.md").write_text("my notes")
    staged = staging.stage_sources(str(tmp_path / "submission"), str(tmp_path / "tree"), LAB)
    sources = sorted(name for name in os.listdir(solution) if name.endswith((".c", ".h")))
    assert sorted(staged.taken) == sources
    assert staged.ignored == []
    for name in sources:
        assert (tmp_path / "tree" / LAB.directory / name).read_bytes() == \
            open(os.path.join(solution, name), "rb").read()


def test_feedback_lines_are_folded_or_cut_with_their_true_count():
    hint = "Hint: " + " ".join(f"word{number}" for number in range(60))
    folded = safe_block(hint).splitlines()
    assert len(folded) > 1 and all(len(line) <= LINE_LIMIT for line in folded)
    assert " ".join(line.strip() for line in folded) == hint
    flood = safe_block("  stdout| " + "A" * 1_000_000)
    shown, more = re.fullmatch(r"(?s)(.*)… \[(\d+) more characters\]", flood).groups()
    assert shown.count("A") + int(more) == 1_000_000, flood[-80:]
    assert all(len(line) <= LINE_LIMIT for line in shown.splitlines())
    assert safe_block(flood) == flood and safe_block("\n".join(folded)) == "\n".join(folded)
    many = safe_block("\n".join(["line"] * 1000)).splitlines()
    assert len(many) == FEEDBACK_LINES + 1 and many[-1] == f"… [{1000 - FEEDBACK_LINES} more lines]"


# -- graded end to end --------------------------------------------------------------------

def test_linked_solutions_score_nothing_and_the_student_is_told(attacks):
    _, made = attacks
    report, _, _ = grade("--lab", "01", "--impl", made["links-to-solutions"],
                         "--test", "really_bound")
    lab = report["labs"]["01"]
    assert lab["score"] == 0 and not lab["submitted"], json.dumps(lab, indent=1)[:3000]
    assert "ignored `01-udp-local`: a link (links are never followed)" in lab["ignored"]


def test_bad_file_names_are_never_built_nor_run(tmp_path):
    before = set(os.listdir(ROOT))
    report, _, _ = grade("--lab", "01", "--impl", os.path.join(HOSTILE, "file-names"),
                         "--test", "really_bound")
    lab = report["labs"]["01"]
    text = json.dumps(report)
    assert lab["built"] and lab["score"] == 0, json.dumps(lab, indent=1)[:3000]
    assert "not implemented" in lab["tests"][0]["feedback"]
    assert "BAD NAME WAS BUILT" not in text
    assert len(lab["ignored"]) == 6, lab["ignored"]
    assert set(os.listdir(ROOT)) == before and not os.path.exists("PWNED")


@pytest.fixture(scope="module")
def injected():
    """The report-injection submission graded: the JSON report, and the terminal one."""
    impl = os.path.join(HOSTILE, "report-injection")
    report, _, _ = grade("--lab", "01", "--impl", impl, "--test", "really_bound")
    terminal = subprocess.run([GRADE, "--lab", "01", "--impl", impl, "--test", "really_bound"],
                              cwd=ROOT, capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, TERM="xterm"))
    return report, terminal.stdout


def test_injected_output_reaches_the_feedback_escaped_and_cut(injected):
    report, _ = injected
    feedback = report["labs"]["01"]["tests"][0]["feedback"]
    assert "\\e[2J" in feedback or "\\e]0;" in feedback, feedback[:3000]
    assert "\\u202e001/001 latoT" in feedback and "NUL\\x00in" in feedback, feedback[:3000]
    assert "more characters]" in feedback, feedback[:3000]
    assert not raw_characters(feedback)
    assert max(len(line) for line in feedback.splitlines()) <= LINE_LIMIT + MARKER_ROOM + 20


def test_terminal_total_cannot_be_forged(injected):
    _, terminal = injected
    assert not raw_characters(terminal), raw_characters(terminal)
    totals = [line for line in terminal.splitlines() if line.lstrip().startswith("Total")]
    lab = injected[0]["labs"]["01"]
    real = f"Total {lab['score']}/{lab['max']}"  # one lab graded: its total is the total
    assert totals == [real], totals


def test_every_format_stays_valid_after_the_nastiest_output(injected):
    report = model.from_json(injected[0])
    check_every_format(report)


def test_every_renderer_makes_raw_model_text_safe():
    """Renderers never trust the model: raw text put straight into it comes out safe."""
    test = model.TestResult("harness/labs/x.py::test_" + NASTY, "test_x" + NASTY, "01", 0, 10,
                      outcome="failed", feedback=NASTY + "\n" + "A" * 1_000_000 + "\n" + NASTY)
    skipped = model.TestResult("n::test_y", "test_y", "01", 1, 5, outcome="skipped", feedback=NASTY)
    lab = model.LabResult("01", "udp_local", ["udp_local"], [test, skipped], problem=NASTY,
                    ignored=["ignored `" + NASTY + "`"])
    check_every_format(model.Report([lab], "the submission in /tmp/" + NASTY, 1.0, "loopback", NASTY))


def check_every_format(report):
    """Each format parses, and every text in it is safe: no raw control or bidi
    character, no line much longer than LINE_LIMIT, no forged total."""
    longest_allowed = LINE_LIMIT + MARKER_ROOM + 40  # and an indentation
    for kind, render in RENDERERS.items():
        stream = _Capture()
        render(report, stream)
        text = stream.text
        assert not raw_characters(text), (kind, raw_characters(text))
        if kind in ("json", "gradescope", "prairielearn"):
            texts = list(strings(json.loads(text)))
        elif kind == "junit":
            root = ElementTree.fromstring(text.encode())
            texts = [piece for element in root.iter()
                     for piece in (element.text or "", *element.attrib.values())]
        else:
            texts = [text]
        if kind == "classroom":
            encoded = text.splitlines()[-1].removeprefix("result=")
            texts += list(strings(json.loads(base64.b64decode(encoded))))
            texts[0] = text.rsplit("\n", 2)[0]
        for piece in texts:
            assert not raw_characters(piece), (kind, raw_characters(piece))
            lines = piece.splitlines() or [""]
            assert max(map(len, lines)) <= longest_allowed, (kind, max(lines, key=len)[:300])
        if kind in ("terminal", "autolab", "classroom"):
            totals = [line for line in text.splitlines() if line.startswith("Total")]
            assert totals == [f"Total {report.score}/{report.max}"], (kind, totals)


def strings(value):
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


class _Capture:
    """A text stream that is not a terminal (no colours)."""
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def isatty(self):
        return False

    @property
    def text(self):
        return "".join(self.parts)
