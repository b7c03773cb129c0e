"""Markdown for the platforms that render it (Gradescope's "md" output): feedback
is safe text already (results/text.py); here it is only kept from being read as
Markdown."""
import re

# Characters CommonMark (and GitHub's tables and strikethrough) may read as markup
# anywhere in a line, and the HTML ones.
_INLINE = re.compile(r"([\\`*_\[\]<>&|~])")
# What starts a heading, list, quote or rule only at the start of a line.
_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+(?=[.)]))", re.M)


def escape(text):
    """text shown as it is, not as Markdown or HTML."""
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m[1] + (m[2] + "\\" if m[2][0].isdigit() else "\\" + m[2]),
                           text)


def code_block(text, info="text"):
    """text as a fenced code block, with a fence longer than any run of
    backticks inside it, so nothing in it can close the block."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"
