"""One knob for every deadline the grader uses, for slow or loaded machines.

SOCKLAB_TIMEOUT_SCALE=3 makes every wait three times as long. Waits that are part
of a lab's contract (lab 02's backoff delays) are measured, not scaled; only how
long the grader is willing to wait for them grows.
"""
import functools
import os

from harness.errors import UsageError


@functools.lru_cache(maxsize=None)
def scale():
    """The factor from SOCKLAB_TIMEOUT_SCALE (read once; a bad value is a UsageError)."""
    text = os.environ.get("SOCKLAB_TIMEOUT_SCALE", "1")
    try:
        factor = float(text)
    except ValueError:
        raise UsageError(f"SOCKLAB_TIMEOUT_SCALE must be a number, not {text!r}") from None
    if not 0.1 <= factor <= 100:
        raise UsageError(f"SOCKLAB_TIMEOUT_SCALE must be between 0.1 and 100, not {factor}")
    return factor


def scaled(seconds):
    """A deadline of `seconds` on a normal machine, stretched by the scale."""
    return seconds * scale()
