"""The grader in a hosted autograder's container (tests/container/run reproduces
Docker's default profile): namespaces refused, so the lab network runs inside a
user-mode Linux kernel, with the same verdicts; and where even that cannot start,
the loopback mode with the reason, at once."""
import os
import subprocess
import sys

import pytest

from gradeapi import ROOT, failures, grade

sys.path.insert(0, ROOT)
from harness.network import uml  # noqa: E402  (after the path is set)

LAUNCHER = os.path.join(ROOT, "tests", "container", "run")
# Docker's default capabilities (CAP_CHOWN … CAP_AUDIT_WRITE) as /proc shows them.
DOCKER_CAPABILITY_MASK = 0xa80425fb


def contained(*command, also_refuse=()):
    prefix = [LAUNCHER]
    for call in also_refuse:
        prefix += ["--also-refuse", call]
    return [*prefix, *command]


def uml_unusable_reason():
    """Why user-mode Linux cannot run on this machine at all (not a grader bug):
    no kernel for this architecture, or a host that refuses what it needs."""
    reason = uml.unavailable_reason()
    if reason:
        return reason
    boot = uml.Boot(["true"], "self-test probe")
    try:
        why_not = boot.wait_until_booted(uml.BOOT_SECONDS)
        return f"{why_not}: {boot.last_console_lines()}" if why_not else None
    finally:
        boot.stop()
        boot.remove()


@pytest.fixture(scope="module")
def uml_runs_here():
    reason = uml_unusable_reason()
    if reason:
        pytest.skip(f"user-mode Linux cannot run on this machine: {reason}")


def test_launcher_refuses_namespaces_and_mounts_as_docker_does():
    script = ("unshare -Ur true 2>&1; echo unshare=$?; "
              "grep CapBnd /proc/self/status")
    shown = subprocess.run(contained("sh", "-c", script), capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "Operation not permitted" in shown.stdout and "unshare=1" in shown.stdout, shown.stdout
    bounding = int(shown.stdout.split("CapBnd:")[1].split()[0], 16)
    assert bounding == DOCKER_CAPABILITY_MASK & bounding_here(), \
        f"bounding set {bounding:#x}, expected Docker's {DOCKER_CAPABILITY_MASK:#x}"


def bounding_here():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0


@pytest.mark.needs_solutions
def test_lan_and_routed_labs_get_full_marks_inside_user_mode_linux(uml_runs_here):
    report, _, stderr = grade("--lab", "03", "--lab", "04", "--impl", "solutions",
                              user=contained(), timeout=3600)
    assert report["backend"] == "user-mode-linux", stderr[-2000:]
    notes = [line for line in stderr.splitlines() if line.startswith("grade: note:")]
    assert len(notes) == 1 and "user-mode Linux" in notes[0] and "unshare" in notes[0], \
        f"grade must say once which backend runs and why: {notes}"
    assert sorted(report["labs"]) == ["03", "04"]
    for number, lab in report["labs"].items():
        skipped = [test["name"] for test in lab["tests"] if test["outcome"] == "skipped"]
        assert not skipped, f"lab {number} skipped {skipped}"
        assert lab["score"] == lab["max"] == 100, failures(lab) or lab["problem"]


def test_loopback_with_the_reason_when_user_mode_linux_cannot_start():
    # ptrace refused: user-mode Linux cannot run its processes, and says so at once.
    report, _, stderr = grade("--lab", "01", "--impl", "labs",
                                    user=contained(also_refuse=["ptrace"]), timeout=600)
    assert report["backend"] == "loopback", stderr[-2000:]
    notes = [line for line in stderr.splitlines() if line.startswith("grade: note:")]
    assert len(notes) == 1 and "loopback" in notes[0], f"one note, saying why: {notes}"
    assert "user-mode Linux" in report["backend_note"], report["backend_note"]
    assert "unshare" in report["backend_note"], report["backend_note"]
