"""Markdown for the platforms that render it (Gradescope's "md" output, GitHub's
job summary): feedback is safe text already (results/text.py); here it is only
kept from being read as Markdown."""
import re

# Every character CommonMark may give a meaning to, and the HTML ones.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def escape(text):
    """text shown as it is, not as Markdown or HTML."""
    return _SPECIAL.sub(r"\\\1", text)


def code_block(text, info="text"):
    """text as a fenced code block, with a fence longer than any run of
    backticks inside it, so nothing in it can close the block."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"
