"""Bad input to any lab program gets a clear message and a non-zero exit: never a
crash, a hang or a sanitizer report. Every solution, built with ASan+UBSan, meets
command lines that are wrong in ways no graded test names."""
import glob
import os
import subprocess

import pytest

from gradeapi import ROOT

LONG = "x" * 5000
NOT_A_HOST = "no-such-host.invalid"
# Wrong for every program: nothing at all, unknown or incomplete options, bad ports.
COMMON = [[], ["--no-such-option"], ["-p"], ["-p", "65536", "server", "127.0.0.1"],
          ["-p", "-1", "client", "127.0.0.1"], ["-p", "1x", "127.0.0.1"],
          ["-p", "", "127.0.0.1"], ["-p", "99999999999999999999", "127.0.0.1"], [LONG]]
# Per program: arguments in the right places but with bad values.
SPECIFIC = {
    "udp_local": [["server", "extra"], ["client", LONG]],
    "udp_remote": [["server"], ["client", NOT_A_HOST], ["server", "127.0.0.1", "--drop", "1.5"],
                   ["server", "127.0.0.1", "--drop", "nan"], ["server", "127.0.0.1", "--seed", "-3"],
                   ["client", "127.0.0.1", "extra"], ["server", LONG]],
    "big_sender": [[NOT_A_HOST], ["127.0.0.1", "extra"], ["256.1.1.1"]],
    "udp_broadcast": [["server"], ["client", NOT_A_HOST], ["client", "127.0.0.1", "--group", "10.0.0.1"],
                      ["server", "0.0.0.0", "--group", "not-an-address"], ["bogus", "127.0.0.1"]],
    "tcp_sixteen": [["server"], ["client", NOT_A_HOST], ["client", "127.0.0.1", "extra"],
                    ["server", "::zz"]],
    "tcp_deadlock": [["client"], ["client", "127.0.0.1", "-5"], ["client", "127.0.0.1", "12ab"],
                     ["client", "127.0.0.1", "99999999999999999999999"],
                     ["client", "127.0.0.1", "16", "--mode", "fast"], ["server", "127.0.0.1", "16"],
                     ["client", NOT_A_HOST, "16"]],
    "sntp_client": [[NOT_A_HOST], ["127.0.0.1", "-t", "0"], ["127.0.0.1", "-t", "-1"],
                    ["127.0.0.1", "-t", "abc"], ["127.0.0.1", "-t", "1e9"], ["127.0.0.1", "extra"]],
}
SANITIZER_REPORT = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


def programs():
    found = []
    for lab_dir in sorted(glob.glob(os.path.join(ROOT, "solutions", "[0-9][0-9]-*"))):
        name = os.path.basename(lab_dir).split("-", 1)[1].replace("-", "_")
        found.append((os.path.basename(lab_dir), name))
    return found


@pytest.fixture(scope="module")
def sanitized():
    """Directory of the solutions built with ASan+UBSan."""
    build = os.path.join(ROOT, "build", "asan")
    targets = [os.path.join(build, "solutions", lab, prog) for lab, prog in programs()]
    subprocess.run(["make", "-s", "-C", ROOT, "SANITIZE=1", f"BUILD={build}", *targets],
                   check=True, capture_output=True)
    return os.path.join(build, "solutions")


def private_network():
    """A prefix that runs a command in an empty network namespace, if we can."""
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "true"],
                           capture_output=True)
    return ["unshare", "--user", "--map-root-user", "--net"] if probe.returncode == 0 else []


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "solutions")),
                    reason="needs solutions/ (not in a student copy)")
@pytest.mark.parametrize("lab,program", programs(), ids=[p for _, p in programs()])
def test_bad_command_lines_get_a_clear_error(sanitized, lab, program):
    binary = os.path.join(sanitized, lab, program)
    prefix = private_network()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # LSan cannot run in every namespace
    problems = []
    for args in COMMON + SPECIFIC.get(program, []):
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

