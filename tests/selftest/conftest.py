"""Self-tests in a student copy (make student-dist): there is no solutions/ there,
so every self-test that grades or patches the reference solutions is skipped,
with that reason, and the rest run as usual. A test needs the solutions when it
(or a fixture it uses) names them, or when it is marked `needs_solutions`
(a demo runs them; a slide is cut from them)."""
import inspect
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_SOLUTIONS = not os.path.isdir(os.path.join(ROOT, "solutions"))


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_solutions: uses solutions/ (skipped in a "
                            "student copy, which has none)")


def needs_solutions(item):
    """Does the test (or a fixture it uses) work with the reference solutions?"""
    if item.get_closest_marker("needs_solutions"):
        return True
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
