"""Text that came from a program under test, made safe to show anywhere: on a
terminal, in JSON, in XML, on a web page. A student program may print anything
(escape sequences that move the cursor and redraw a forged total, NUL bytes,
bidirectional overrides, a megabyte on one line); what reaches a report is one
printable line per line, of bounded length, saying how much was cut."""
import re
import unicodedata

LINE_LIMIT = 200        # characters of one line of feedback
FEEDBACK_LINES = 120    # lines of one test's whole feedback
FEEDBACK_BYTES = 12000  # bytes (UTF-8) of one test's whole feedback
MARKER_ROOM = 40        # what a cut adds: "… [123456789 more characters]"

_MARKER = re.compile(r"… \[\d+ more characters\]\Z")
_NAMED = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\x1b": "\\e"}


def printable(text):
    """text with every control or formatting character escaped: C0 and C1
    controls, DEL, and the invisible format characters (bidirectional overrides,
    zero-width spaces, line and paragraph separators)."""
    out = []
    for char in text:
        code = ord(char)
        if char in _NAMED:
            out.append(_NAMED[char])
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif code > 0x7F and unicodedata.category(char) in ("Cf", "Zl", "Zp", "Co", "Cs", "Cn"):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def cut(line, limit=LINE_LIMIT):
    """line, or its first limit characters and how many more there were. A line
    cut before (and then maybe indented) is left as it is, so the count it
    gives stays the true one."""
    if len(line) <= limit:
        return line
    marker = _MARKER.search(line)
    if marker and marker.start() <= limit + MARKER_ROOM:
        return line
    return f"{line[:limit]}… [{len(line) - limit} more characters]"


def fold(line, limit=LINE_LIMIT, pieces=3):
    """A long line of words as up to pieces lines of at most limit characters,
    broken at spaces (continuations indented two more), the last one cut with its
    count: a grader's hint stays whole, a megabyte of output does not."""
    if len(line) <= limit or (_MARKER.search(line) and cut(line, limit) == line):
        return [line]
    indent = line[:len(line) - len(line.lstrip(" "))]
    folded, rest = [], line
    while len(rest) > limit and len(folded) < pieces - 1:
        at = rest.rfind(" ", len(rest) - len(rest.lstrip(" ")) + 1, limit + 1)
        if at == -1:
            break
        folded.append(rest[:at])
        rest = indent + "  " + rest[at + 1:]
    return folded + [cut(rest, limit)]


def safe_line(text, limit=LINE_LIMIT):
    """One line of untrusted text, escaped and cut."""
    return cut(printable(text), limit)


def safe_block(text, limit=FEEDBACK_BYTES, line_limit=LINE_LIMIT, max_lines=FEEDBACK_LINES):
    """Several lines of untrusted text (feedback): each line escaped and cut at
    line_limit characters, at most max_lines lines and limit bytes (UTF-8) in
    all, each cut saying how much it left out. Safe text stays as it is (a line
    already cut is under line_limit + MARKER_ROOM), so renderers may apply it
    again to whatever they show."""
    lines = [piece for line in str(text).split("\n") for piece in fold(printable(line), line_limit)]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"… [{len(lines) - max_lines} more lines]"]
    block = "\n".join(lines)
    encoded = block.encode()
    if len(encoded) > limit:
        kept = encoded[:limit].decode(errors="ignore")
        block = kept + f"\n… [{len(encoded) - len(kept.encode())} more bytes of feedback]"
    return block


def safe_text(text):
    """Text a renderer shows from the results model, whatever wrote it: made
    safe again (a no-op on text that already is), with room for cut markers."""
    return safe_block(text, limit=FEEDBACK_BYTES + MARKER_ROOM,
                      line_limit=LINE_LIMIT + MARKER_ROOM, max_lines=FEEDBACK_LINES + 1)
