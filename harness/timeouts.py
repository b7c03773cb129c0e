"""One knob for every deadline the grader uses, for slow or loaded machines.

SOCKLAB_TIMEOUT_SCALE=3 makes every wait three times as long. Waits that are part
of a lab's contract (lab 02's backoff delays) are measured, not scaled; only how
long the grader is willing to wait for them grows.
"""
import os


def _read_scale():
    text = os.environ.get("SOCKLAB_TIMEOUT_SCALE", "1")
    try:
        scale = float(text)
    except ValueError:
        raise SystemExit(f"SOCKLAB_TIMEOUT_SCALE must be a number, not {text!r}")
    if not 0.1 <= scale <= 100:
        raise SystemExit(f"SOCKLAB_TIMEOUT_SCALE must be between 0.1 and 100, not {scale}")
    return scale


SCALE = _read_scale()


def scaled(seconds):
    """A deadline of `seconds` on a normal machine, stretched by the scale."""
    return seconds * SCALE
