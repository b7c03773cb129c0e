"""Self-tests in a student copy (make student-dist): there is no solutions/ there,
so every self-test that grades or patches the reference solutions is skipped,
with that reason, and the rest run as usual."""
import inspect
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_SOLUTIONS = not os.path.isdir(os.path.join(ROOT, "solutions"))


def needs_solutions(item):
    """Does the test (or a fixture it uses) work with the reference solutions?"""
    if any("solution" in name for name in item.fixturenames):
        return True
    try:
        return "solutions" in inspect.getsource(item.function)
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    if not NO_SOLUTIONS:
        return
    skip = pytest.mark.skip(reason="no solutions/ here (a student copy)")
    for item in items:
        if needs_solutions(item):
            item.add_marker(skip)
