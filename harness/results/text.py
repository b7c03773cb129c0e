"""Text that came from a program under test, made safe to show anywhere: on a
terminal, in JSON, in XML, on a web page. A student program may print anything
(escape sequences that move the cursor and redraw a forged total, NUL bytes,
bidirectional overrides, a megabyte on one line); what reaches a report is one
printable line per line, of bounded length, saying how much was cut."""
import unicodedata

LINE_LIMIT = 200     # characters of one line of feedback
FEEDBACK_LIMIT = 12000  # characters of one test's whole feedback

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
    """line, or its first limit characters and how many more there were."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]}… ({len(line) - limit} more characters)"


def safe_line(text, limit=LINE_LIMIT):
    """One line of untrusted text, escaped and cut."""
    return cut(printable(text), limit)


def safe_block(text, limit=FEEDBACK_LIMIT, line_limit=None):
    """Several lines of text (feedback), each escaped; long lines cut when
    line_limit is given, and the whole cut at limit characters."""
    lines = [printable(line) for line in str(text).split("\n")]
    if line_limit:
        lines = [cut(line, line_limit) for line in lines]
    block = "\n".join(lines)
    if len(block) > limit:
        block = block[:limit] + f"\n… ({len(block) - limit} more characters of feedback)"
    return block
