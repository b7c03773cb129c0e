"""A regex shown as text a student can read: what an expected output line looks
like, not the regex itself. `Waiting up to (?P<d>\\S+) seconds` reads as
`Waiting up to <d> seconds`, `Listening at \\d+\\.\\d+` as `Listening at <number>.<number>`."""
import re
import re._constants as sre
import re._parser as sre_parse

DIGIT = (sre.IN, [(sre.CATEGORY, sre.CATEGORY_DIGIT)])


def readable_pattern(pattern):
    """pattern (a regex string) as readable text; the pattern itself if it cannot be parsed."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return pattern
    names = {number: name for name, number in parsed.state.groupdict.items()}
    return _render(list(parsed), names)


def _render(items, names):
    return "".join(_item(op, value, names) for op, value in items)


def _item(op, value, names):
    if op == sre.LITERAL:
        return chr(value)
    if op == sre.SUBPATTERN:
        group, _, _, inner = value
        if group in names:
            return f"<{names[group]}>"
        return _render(list(inner), names)
    if op == sre.BRANCH:
        return "(" + " or ".join(_render(list(alt), names) for alt in value[1]) + ")"
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, high, inner = value
        inner = list(inner)
        if inner == [DIGIT] or [tuple(i) for i in inner] == [DIGIT]:
            return "<number>" if high != 1 else "<digit>"
        if len(inner) == 1 and inner[0][0] == sre.LITERAL and low == high:
            return chr(inner[0][1]) * low
        if low == 0 and high == 1:
            return "[" + _render(inner, names) + "]"
        return "…"
    if op == sre.IN:
        return "<digit>" if value == DIGIT[1] else "…"
    if op in (sre.ANY, sre.NOT_LITERAL, sre.CATEGORY):
        return "…"
    return ""  # anchors, look-arounds: nothing to show
