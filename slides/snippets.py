#!/usr/bin/env python3
"""snippets: code on slides is cut from the compiled sources, never retyped.

In a deck, an HTML comment names the source file and a marker, right above a
fenced code block (an HTML comment is invisible both on the slide and in a
Markdown viewer):

    <!-- snippet: solutions/01-udp-local/udp_local.c#server-loop -->
    ```c
    ...the lines between the markers...
    ```

In the source, the marker is a pair of comment lines around the lines to cut:

    /* slide: server-loop */
    ...
    /* end slide */

Markers may nest; marker lines inside a snippet are left out of it. The cut
lines lose their common leading indentation and have tabs expanded to four
spaces, so a snippet starts at the left margin of the slide.

    python3 slides/snippets.py check [DECK.md...]    exit 1 if a snippet differs
    python3 slides/snippets.py update [DECK.md...]   rewrite snippets from the source
    python3 slides/snippets.py student DECK.md       print the deck as students get it
Without decks, every slides/[0-9][0-9]-*.md.

The student copy (make student-dist) keeps every slide but none of the solution:
each snippet becomes what the student is to write there, cut from the skeleton
(labs/NN-name/FILE). The skeleton's own `/* slide: NAME */` region is used if it
has one; a snippet the skeleton holds line for line stays; a snippet inside a
function becomes the skeleton's lines between the same surrounding lines, if a
TODO is among them; otherwise the skeleton's version of each function the
snippet shows (its TODO and hint). A function the skeleton does not have is a
helper of the student's own: the TODOs of the skeleton functions that call it
stand in.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNIPPET = re.compile(r"<!--\s*snippet:\s*(?P<path>[^#\s]+)#(?P<marker>[\w.-]+)\s*-->")
BEGIN = re.compile(r"^\s*/\*\s*slide:\s*(?P<marker>[\w.-]+)\s*\*/\s*$")
END = re.compile(r"^\s*/\*\s*end slide\s*\*/\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>.*)$")
TAB_WIDTH = 4


class SnippetError(Exception):
    """A snippet comment or a marker that cannot be resolved."""


def decks(root=ROOT):
    """The slide decks, in order."""
    return sorted(glob.glob(os.path.join(root, "slides", "[0-9][0-9]-*.md")))


def markers(source_text):
    """{marker: [lines]} of one source file (see the module docstring)."""
    found, open_markers = {}, []
    for number, line in enumerate(source_text.splitlines(), 1):
        begin = BEGIN.match(line)
        if begin:
            name = begin["marker"]
            if name in found or any(name == n for n, _ in open_markers):
                raise SnippetError(f"line {number}: marker '{name}' is used twice")
            open_markers.append((name, number))
            found[name] = []
            continue
        if END.match(line):
            if not open_markers:
                raise SnippetError(f"line {number}: '/* end slide */' without a marker")
            open_markers.pop()
            continue
        for name, _ in open_markers:
            found[name].append(line)
    if open_markers:
        name, number = open_markers[-1]
        raise SnippetError(f"line {number}: marker '{name}' is never ended")
    return {name: tidy(lines) for name, lines in found.items()}


def tidy(lines):
    """Tabs expanded, common indentation removed, blank lines at both ends dropped."""
    lines = [line.expandtabs(TAB_WIDTH).rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines]


def cut(path, marker, root=ROOT, cache=None):
    """The lines of marker in path (relative to root)."""
    cache = {} if cache is None else cache
    if path not in cache:
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            raise SnippetError(f"source file {path} does not exist")
        with open(full, encoding="utf-8") as source:
            try:
                cache[path] = markers(source.read())
            except SnippetError as error:
                raise SnippetError(f"{path}: {error}") from None
    if marker not in cache[path]:
        raise SnippetError(f"{path} has no marker '/* slide: {marker} */'")
    return cache[path][marker]


def blocks(deck_lines):
    """(comment line index, path, marker, first code line index, end fence index)
    for every snippet of a deck."""
    index = 0
    while index < len(deck_lines):
        match = SNIPPET.search(deck_lines[index])
        if match:
            fence = FENCE.match(deck_lines[index + 1]) if index + 1 < len(deck_lines) else None
            if not fence:
                raise SnippetError(f"line {index + 1}: a snippet comment must be followed "
                                   "at once by a fenced code block")
            close = index + 2
            while close < len(deck_lines) and deck_lines[close].rstrip() != fence["fence"]:
                close += 1
            if close == len(deck_lines):
                raise SnippetError(f"line {index + 2}: the code block is never closed")
            yield index, match["path"], match["marker"], index + 2, close
            index = close
        index += 1


def process(deck, update=False, root=ROOT, cache=None):
    """Compare (or rewrite) a deck's snippets; returns a list of problems."""
    with open(deck, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    problems, rewritten, kept = [], [], 0
    name = os.path.relpath(deck, root)
    try:
        found = list(blocks(lines))
    except SnippetError as error:
        return [f"{name}: {error}"]
    for comment, path, marker, first, close in found:
        try:
            want = cut(path, marker, root, cache)
        except SnippetError as error:
            problems.append(f"{name}:{comment + 1}: {error}")
            continue
        have = lines[first:close]
        rewritten += lines[kept:first] + want
        kept = close
        if have != want and not update:
            problems.append(f"{name}:{first + 1}: the snippet {path}#{marker} differs from "
                            f"the source:\n{diff(want, have)}")
    if update and not problems:
        rewritten += lines[kept:]
        if rewritten != lines:
            with open(deck, "w", encoding="utf-8") as handle:
                handle.write("\n".join(rewritten))
            print(f"updated {name}")
    return problems


# A function definition in the style(9) shape: its name at the start of a line,
# the type on the line before.
FUNCTION = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*\(")


def functions(lines):
    """{name: (first, last)} of a C file's function definitions: first is the
    line of its leading comment (or of its type), last the line of its closing
    brace, both 0-based."""
    found, index = {}, 0
    while index < len(lines):
        match = FUNCTION.match(lines[index])
        if match and match["name"] not in ("if", "for", "while", "switch", "return"):
            body = index
            while body < len(lines) and lines[body].rstrip() != "{" and \
                    not lines[body].rstrip().endswith(";"):
                body += 1
            if body < len(lines) and lines[body].rstrip() == "{":
                last = body
                while last < len(lines) and lines[last].rstrip() != "}":
                    last += 1
                found[match["name"]] = (_leading_comment(lines, index - 1), last)
                index = last
        index += 1
    return found


def _leading_comment(lines, type_line):
    """The first line of the comment right above a function's type line, or the
    type line itself if there is none."""
    first = type_line
    if first > 0 and lines[first - 1].rstrip().endswith("*/"):
        first -= 1
        while first > 0 and "/*" not in lines[first]:
            first -= 1
    return first


def marker_span(lines, marker):
    """The 0-based (first, last) lines between a marker's comments."""
    for begin, line in enumerate(lines):
        found = BEGIN.match(line)
        if found and found["marker"] == marker:
            depth = 0
            for end in range(begin + 1, len(lines)):
                if BEGIN.match(lines[end]):
                    depth += 1
                elif END.match(lines[end]):
                    if depth == 0:
                        return begin + 1, end - 1
                    depth -= 1
    raise SnippetError(f"no marker '/* slide: {marker} */'")


def todo_comments(lines, first, last):
    """The comments of lines[first..last] that say TODO, whole, in order."""
    kept, index = [], first
    while index <= last:
        if "/*" in lines[index]:
            end = index
            while end < last and "*/" not in lines[end]:
                end += 1
            if any("TODO(" in line for line in lines[index:end + 1]):
                kept += lines[index:end + 1]
            index = end
        index += 1
    return kept


def skeleton_part(path, marker, root=ROOT):
    """What the student writes where solutions/PATH#marker is shown: lines."""
    skeleton = os.path.join(root, path.replace("solutions/", "labs/", 1))
    with open(os.path.join(root, path), encoding="utf-8") as source:
        solution = source.read().split("\n")
    try:
        with open(skeleton, encoding="utf-8") as source:
            given = source.read().split("\n")
    except OSError:
        given = []
    own = markers("\n".join(given)) if given else {}
    if marker in own:
        return own[marker]
    first, last = marker_span(solution, marker)
    known = {line.strip() for line in given}
    if all(line.strip() in known for line in solution[first:last + 1]):
        return cut(path, marker, root)  # code the skeleton gives as it is
    solved, skeletal = functions(solution), functions(given)
    shown = [name for name, (start, end) in solved.items() if start <= last and end >= first]
    if len(shown) == 1 and shown[0] in skeletal:
        inside = part_inside(solution, solved[shown[0]], given, skeletal[shown[0]], first, last)
        if inside is not None:
            return [f"/* in {shown[0]}(): */", *tidy(inside)]
    part = []
    for name in shown:
        if name in skeletal:
            start, end = skeletal[name]
            part += [line for line in given[start:end + 1] if not VOID_CAST.match(line)] + [""]
            continue
        callers = [caller for caller, (start, end) in solved.items() if caller in skeletal
                   and re.search(rf"\b{name}\s*\(", "\n".join(solution[start:end + 1]))]
        part.append(f"/* {name}(): a helper of your own; its job is in these TODOs. */")
        for caller in callers:
            part += tidy(todo_comments(given, *skeletal[caller]))
        part.append("")
    if not part:
        part = ["/* TODO: this part is yours to write; the handout says what it does. */"]
    return tidy(part)


def part_inside(solution, solved, given, skeletal, first, last):
    """The skeleton's lines where a snippet inside a function (lines first..last
    of its solution) goes: between the nearest lines around the snippet that the
    skeleton's function has too, once each. None if the snippet starts at the
    function's definition, or no such lines hold a TODO between them."""
    if FUNCTION.match(solution[first]) or any(FUNCTION.match(line)
                                               for line in solution[first:last + 1]):
        return None
    body = given[skeletal[0]:skeletal[1] + 1]
    counts = {}
    for line in body:
        counts[line.strip()] = counts.get(line.strip(), 0) + 1

    def anchor(lines):
        for line in lines:
            text = line.strip()
            if len(text) > 3 and counts.get(text) == 1 and not END.match(text) \
                    and not BEGIN.match(text):
                return [other.strip() for other in body].index(text)
        return None
    before = anchor(reversed(solution[solved[0]:first]))
    after = anchor(solution[last + 1:solved[1] + 1])
    if before is None or after is None or after <= before + 1:
        return None
    inside = [line for line in body[before + 1:after] if not VOID_CAST.match(line)]
    return inside if any("TODO(" in line for line in inside) else None


# `(void)name;` keeps a skeleton free of unused-parameter warnings: noise on a slide.
VOID_CAST = re.compile(r"^\s*\(void\)\w+;\s*$")


def student_deck(text, root=ROOT):
    """A deck's text with every snippet replaced by the skeleton's part (see the
    module docstring), and its comment saying so."""
    lines = text.split("\n")
    out, kept = [], 0
    for comment, path, marker, first, close in blocks(lines):
        part = skeleton_part(path, marker, root)
        skeleton = path.replace("solutions/", "labs/", 1)
        out += lines[kept:comment]
        out.append(f"<!-- yours to write: {skeleton}, where the instructors' deck shows "
                   f"the solution ({marker}) -->")
        out += [lines[comment + 1]] + part
        kept = close
    return "\n".join(out + lines[kept:])


def diff(want, have):
    import difflib
    return "\n".join(difflib.unified_diff(want, have, "source", "slide", lineterm="", n=1))


def main(argv):
    if len(argv) == 2 and argv[0] == "student":
        with open(argv[1], encoding="utf-8") as deck:
            sys.stdout.write(student_deck(deck.read()))
        return 0
    if not argv or argv[0] not in ("check", "update"):
        print("usage: snippets.py check|update [DECK.md...] | student DECK.md", file=sys.stderr)
        return 2
    cache, problems = {}, []
    chosen = argv[1:] or decks()
    for deck in chosen:
        problems += process(deck, update=argv[0] == "update", cache=cache)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("snippets: run `python3 slides/snippets.py update` to copy the source into "
              "the slides", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
