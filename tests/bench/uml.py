#!/usr/bin/env python3
"""make bench, the container part: grading where namespaces are refused.

    tests/bench/uml.py [--boots N] [--no-grade]

Under tests/container/run (Docker's default profile) the grader boots a user-mode
Linux kernel and grades inside it. Prints the kernel's boot time (median of
--boots), a full grade of the solutions and of the skeletons there against the same
grade with namespaces (the ratio; goal 5 x), and the peak memory of the kernel and
its processes (proportional set size summed over them, sampled; goal 384 MB).
A measurement to read, not a test: it exits 0 unless something could not run.
"""
import argparse
import os
import statistics
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftest"))
from gradeapi import ROOT, grade  # noqa: E402

sys.path.insert(0, ROOT)
from harness.network import uml  # noqa: E402

LAUNCHER = os.path.join(ROOT, "tests", "container", "run")
BOOT_GOAL = 3.0
RATIO_GOAL = 5.0
MEMORY_GOAL_MB = 384


def boot_seconds(boots):
    """Median seconds from starting the kernel to its init running our command."""
    times = []
    for _ in range(boots):
        boot = uml.Boot(["true"], "bench")
        try:
            why_not = boot.wait_until_booted(uml.BOOT_SECONDS)
            if why_not:
                raise SystemExit(f"uml bench: {why_not}: {boot.last_console_lines()}")
            times.append(boot.boot_seconds)
            boot.wait(uml.BOOT_SECONDS)
        finally:
            boot.remove()
    return statistics.median(times)


def descendants(pid):
    """pid and every process below it (from /proc's parent links)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def proportional_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakMemory:
    """Samples the summed PSS of this process's descendants until stopped. PSS
    shares each page among the processes that map it, so the kernel's memory
    file, mapped by every process of the kernel, counts once."""

    def __init__(self, interval=0.5):
        self.peak_kb, self.interval = 0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        me = os.getpid()
        while not self._stop.wait(self.interval):
            total = sum(proportional_kb(pid) for pid in descendants(me) if pid != me)
            self.peak_kb = max(self.peak_kb, total)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def scores(report):
    skipped = sum(1 for lab in report["labs"].values() for test in lab["tests"]
                  if test["outcome"] == "skipped")
    per_lab = " ".join(f"{number}:{lab['score']}" for number, lab in report["labs"].items())
    return f"{report['score']}/{report['max']}, {skipped} tests skipped, backend " \
           f"{report['backend']} [{per_lab}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--no-grade", action="store_true", help="measure the boot only")
    args = parser.parse_args()
    reason = uml.unavailable_reason()
    print(f"\nsocklab bench, user-mode Linux (load {os.getloadavg()[0]:.1f}):")
    if reason:
        print(f"  not measured: {reason}")
        return 0
    boot = boot_seconds(args.boots)
    print(f"  boot       {boot:6.2f} s  (median of {args.boots}; goal {BOOT_GOAL} s: "
          f"{'met' if boot <= BOOT_GOAL else 'missed'})")
    if args.no_grade:
        return 0
    _, native, _ = grade("--impl", "solutions", timeout=3600)
    memory = PeakMemory()
    inside, contained, _ = grade("--impl", "solutions", user=[LAUNCHER], timeout=7200)
    peak_mb = memory.stop()
    skeletons, contained_skeletons, _ = grade("--impl", "labs", user=[LAUNCHER], timeout=7200)
    ratio = contained / native
    print(f"  solutions with namespaces          {native:7.1f} s")
    print(f"  solutions in the container (UML)   {contained:7.1f} s  = {ratio:.2f} x "
          f"(goal {RATIO_GOAL} x: {'met' if ratio <= RATIO_GOAL else 'missed'})")
    print(f"    {scores(inside)}")
    print(f"  skeletons in the container (UML)   {contained_skeletons:7.1f} s")
    print(f"    {scores(skeletons)}")
    print(f"  peak memory of the grade in the container: {peak_mb:.0f} MB (goal under "
          f"{MEMORY_GOAL_MB} MB: {'met' if peak_mb < MEMORY_GOAL_MB else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
