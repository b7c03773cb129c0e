"""Bad input to any lab program gets a clear message and a non-zero exit: never a
crash, a hang or a sanitizer report. Every solution, built with ASan+UBSan, meets
command lines that are wrong in ways no graded test names."""
import importlib
import os
import subprocess
import sys

import pytest

from gradeapi import ROOT

sys.path.insert(0, ROOT)
from harness import catalog  # noqa: E402

LONG = "x" * 5000
NOT_A_HOST = "no-such-host.invalid"
# Wrong for every program: nothing at all, unknown or incomplete options, bad ports.
COMMON = [[], ["--no-such-option"], ["-p"], ["-p", "65536", "server", "127.0.0.1"],
          ["-p", "-1", "client", "127.0.0.1"], ["-p", "1x", "127.0.0.1"],
          ["-p", "", "127.0.0.1"], ["-p", "99999999999999999999", "127.0.0.1"], [LONG]]
SANITIZER_REPORT = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


def programs():
    """(lab directory, program, its bad command lines) of every lab program: the
    common ones but those its lab declares valid (VALID_COMMAND_LINES: a server
    whose every argument is optional runs with none), then its lab's own."""
    found = []
    for lab in catalog.all_labs(ROOT):
        package = importlib.import_module(lab.package)
        specific = getattr(package, "BAD_COMMAND_LINES", {})
        valid = getattr(package, "VALID_COMMAND_LINES", {})
        found += [(lab.directory, program,
                   [args for args in COMMON if args not in valid.get(program, [])] +
                   specific.get(program, []))
                  for program in lab.programs]
    return found


@pytest.fixture(scope="module")
def sanitized():
    """Directory of the solutions built with ASan+UBSan."""
    build = os.path.join(ROOT, "build", "asan")
    subprocess.run([sys.executable, "-m", "harness.programs.build", "--sanitize",
                    "--tree", "solutions", "--out", build], cwd=ROOT, check=True,
                   capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))
    return os.path.join(build, "solutions")


def private_network():
    """A prefix that runs a command in an empty network namespace, if we can."""
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "true"],
                           capture_output=True)
    return ["unshare", "--user", "--map-root-user", "--net"] if probe.returncode == 0 else []


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")),
                    reason="needs solutions/ (not in a student copy)")
@pytest.mark.parametrize("lab,program,lines", programs(), ids=[p for _, p, _ in programs()])
def test_bad_command_lines_get_a_clear_error(sanitized, lab, program, lines):
    binary = os.path.join(sanitized, lab, program)
    prefix = private_network()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # LSan cannot run in every namespace
    problems = []
    for args in lines:
        shown = " ".join(a if len(a) < 40 else a[:20] + "…" for a in args) or "(no arguments)"
        try:
            run = subprocess.run([*prefix, binary, *args], capture_output=True, text=True,
                                 timeout=5, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            problems.append(f"`{program} {shown}` was still running after 5 s")
            continue
        if run.returncode not in (1, 2):
            problems.append(f"`{program} {shown}` exited {run.returncode}, not 1 or 2")
        elif not run.stderr.strip():
            problems.append(f"`{program} {shown}` exited {run.returncode} without a message")
        if any(marker in run.stderr for marker in SANITIZER_REPORT):
            problems.append(f"`{program} {shown}`: {run.stderr.strip().splitlines()[0]}")
    assert not problems, "\n".join(problems)

