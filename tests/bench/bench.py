#!/usr/bin/env python3
"""make bench: how fast grading is, all figures measured in one run.

    tests/bench/bench.py [--runs N] [--class-size N] [--no-lab06] [--only SECTION]...

Prints: wall time to grade every lab for the solutions and for the untouched
skeletons (median of --runs); each lab's share; the floor (the longest test,
which a lab's contract forces, plus the build) and how far above it grading is;
the sandboxed compile's cost per lab (a submission's compiler runs in the
sandbox; goal: at most 100 ms more per lab); each lab graded alone (goal: under LAB_GOAL s); the per-test overhead
(namespace set-up, program start to first line, a pytest worker, wall and CPU);
where a submission's CPU time goes (breakdown.py); class throughput with --jobs
1 and 2 (goal: CLASS_GOAL a minute); lab 06's ratio against iperf3.
--only runs some sections: grade, labs, overhead, breakdown, class, lab06.
A measurement to read, not a test: it exits 0 unless something could not run.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "selftest"))
from gradeapi import GRADE, ROOT, grade, verdicts  # noqa: E402

sys.path.insert(0, ROOT)
from harness import catalog  # noqa: E402
from harness.commands import class_grading  # noqa: E402
from harness.programs import build, sandbox  # noqa: E402
from breakdown import print_breakdown  # noqa: E402

SPEED_GOAL = 1.3  # grading a correct submission within this many times the floor
LAB_GOAL = 3.0  # seconds to grade any one lab of a correct program (make grade LAB=NN)
CLASS_GOAL = 10  # submissions a minute, copies of the solutions, on 2 CPUs
# Submissions graded at once; None: the class grader's own default.
CLASS_JOBS = (1, None)
SANDBOXED_COMPILE_GOAL = 0.100  # seconds more per lab for compiling in the sandbox
SECTIONS = ("compile", "grade", "labs", "overhead", "breakdown", "class", "lab06")


def median_grade(runs, *args):
    """(median wall seconds, the last report) of `runs` grade runs."""
    times, report = [], None
    for _ in range(runs):
        report, seconds, _ = grade(*args)
        times.append(seconds)
    return statistics.median(times), report


def build_seconds():
    """A fresh parallel build of every solution program, as grading does it."""
    with tempfile.TemporaryDirectory(prefix="socklab-bench-") as scratch:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "harness.programs.build", "--tree", "solutions",
                        "--out", scratch], check=True, capture_output=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=ROOT))
        return time.monotonic() - started


def overhead():
    """Per-test costs measured inside a lab root (see tests/bench/overhead.py)."""
    result = subprocess.run([GRADE.replace("grade", "python")], capture_output=True, text=True)
    python = result.stdout.strip() or sys.executable
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid",
                            "--fork", "--mount-proc", python, "-m", "overhead"],
                           capture_output=True, text=True, cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=f"{ROOT}:{HERE}", SOCKLAB_LAB_ROOT="1"))
    return probe.stdout.strip() or f"(could not measure: {probe.stderr.strip()[-200:]})"


def compile_seconds(lab, sandboxed, runs):
    """Median seconds to compile lab's solution programs as a submission is compiled
    (sandboxed) or as labs/ and solutions/ are (directly)."""
    times, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="socklab-bench-") as scratch:
            started, used = time.monotonic(), children_cpu()
            built = build.build_lab_programs(os.path.join(ROOT, "solutions"), scratch, lab,
                                             build.Flavour(), force=True, sandboxed=sandboxed)
            times.append(time.monotonic() - started)
            cpu.append(children_cpu() - used)
            if not built.ok:
                raise SystemExit(f"bench: lab {lab.number} did not compile:\n{built.output}")
    return statistics.median(times), statistics.median(cpu)


def children_cpu():
    """CPU seconds (user + system) used so far by the processes this one waited for:
    a figure a loaded machine does not inflate the way it does wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def compile_cost(labs, runs):
    """Lines: per lab, the compile with and without the sandbox, and the difference."""
    sandbox.ensure_built()
    lines, extra = [], []
    for lab in labs:
        direct, direct_cpu = compile_seconds(lab, False, runs)
        fenced, fenced_cpu = compile_seconds(lab, True, runs)
        extra.append((fenced - direct, fenced_cpu - direct_cpu))
        lines.append(f"{lab.number} {', '.join(lab.programs):<34} wall {direct * 1000:5.0f} -> "
                     f"{fenced * 1000:5.0f} ms ({(fenced - direct) * 1000:+5.0f} ms, "
                     f"x{fenced / direct:.2f})   CPU {direct_cpu * 1000:5.0f} -> "
                     f"{fenced_cpu * 1000:5.0f} ms ({(fenced_cpu - direct_cpu) * 1000:+4.0f} ms)")
    wall = statistics.mean(wall for wall, _ in extra)
    cpu = statistics.mean(cpu for _, cpu in extra)
    verdict = "met" if wall <= SANDBOXED_COMPILE_GOAL else "NOT met"
    lines.append(f"mean per lab: wall {wall * 1000:+.0f} ms, CPU {cpu * 1000:+.0f} ms "
                 f"(goal +{SANDBOXED_COMPILE_GOAL * 1000:.0f} ms wall: {verdict}; "
                 f"load {os.getloadavg()[0]:.1f} makes wall figures noisy)")
    return lines


def class_throughput(size, jobs, reference):
    """(submissions graded per minute, seconds, verdicts that differ from reference's)
    for `size` copies of the solutions graded with --class --jobs jobs."""
    with tempfile.TemporaryDirectory(prefix="socklab-class-") as scratch:
        students, reports = os.path.join(scratch, "class"), os.path.join(scratch, "reports")
        for number in range(size):
            shutil.copytree(os.path.join(ROOT, "solutions"),
                            os.path.join(students, f"student{number:02d}"))
        started = time.monotonic()
        subprocess.run([GRADE, "--class", students, *(["--jobs", str(jobs)] if jobs else []),
                        "--csv", os.devnull, "--reports", reports],
                       capture_output=True, text=True, timeout=3600)
        seconds = time.monotonic() - started
        differ = []
        for number in range(size):
            try:
                with open(os.path.join(reports, f"student{number:02d}.json")) as file:
                    mine = verdicts(json.load(file))
            except (OSError, ValueError):
                mine = {}
            differ += [f"student{number:02d} lab {lab} {test}: {mine.get((lab, test))}"
                       for (lab, test), outcome in reference.items()
                       if mine.get((lab, test)) != outcome]
    return size / seconds * 60, seconds, differ


def lab06_ratio():
    run = subprocess.run([sys.executable, os.path.join(HERE, "lab06_throughput.py"), "--runs", "2"],
                         capture_output=True, text=True, timeout=900)
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    return lines[-3:] if lines else [f"(could not run: {run.stderr.strip()[-200:]})"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="grade runs per figure (median)")
    parser.add_argument("--class-size", type=int, default=6, help="submissions in the class")
    parser.add_argument("--no-lab06", action="store_true", help="skip the iperf3 comparison")
    parser.add_argument("--only", action="append", choices=SECTIONS, default=[],
                        help="run only this section (repeat for several)")
    args = parser.parse_args()
    sections = set(args.only or SECTIONS) - ({"lab06"} if args.no_lab06 else set())
    labs = catalog.all_labs()
    print(f"socklab bench: {len(labs)} labs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if "compile" in sections:
        print(f"\nCompiling a lab's programs in the sandbox (median of {args.runs}):")
        for line in compile_cost(labs, args.runs):
            print("  " + line)

    report = None
    if "grade" in sections:
        report = whole_grade(args.runs)
    if "labs" in sections:
        lab_shares(report)
    if "overhead" in sections:
        print("\nPer-test overhead (inside a lab root):")
        print("  " + overhead().replace("\n", "\n  "))
    if "breakdown" in sections:
        print("\nWhere a submission's CPU time goes (CPU of everything it starts; each "
              "phase alone):")
        print_breakdown(labs)
    if "class" in sections:
        print(f"\nClass throughput ({args.class_size} copies of the solutions; goal "
              f"{CLASS_GOAL} a minute on 2 CPUs, every verdict as in one grade alone):")
        reference, _, _ = grade("--impl", "solutions")
        reference = verdicts(reference)
        for jobs in CLASS_JOBS:
            per_minute, seconds, differ = class_throughput(args.class_size, jobs, reference)
            verdict = "met" if per_minute >= CLASS_GOAL and not differ else "NOT met"
            default = " (the default)" if jobs is None else ""
            print(f"  --jobs {jobs or class_grading.default_jobs()}{default}: {per_minute:5.1f} "
                  f"submissions/minute ({seconds:.0f} s), {len(differ)} verdicts differ "
                  f"({verdict})")
            for line in differ[:5]:
                print(f"    differs: {line}")
    if "lab06" in sections:
        print("\nLab 06 poll-mode echo against iperf3:")
        for line in lab06_ratio():
            print("  " + line.strip())
    return 0


def whole_grade(runs):
    """Every lab, for a fresh copy of the solutions graded as a submission (staged,
    built, graded, as a student's work is) and for the skeletons, against the
    floors; the last report."""
    times, cpu, report = [], [], None
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="socklab-bench-") as scratch:
            submission = os.path.join(scratch, "student")
            shutil.copytree(os.path.join(ROOT, "solutions"), submission)
            used = children_cpu()
            report, seconds, _ = grade("--impl", submission)
            cpu.append(children_cpu() - used)
            times.append(seconds)
    solutions_wall, solutions_cpu = statistics.median(times), statistics.median(cpu)
    skeletons_wall, _ = median_grade(runs, "--impl", "labs")
    built = build_seconds()
    tests = [(t["duration"], number, t["name"]) for number, lab in report["labs"].items()
             for t in lab["tests"]]
    longest = max(tests)
    floor = longest[0] + built
    cpus = os.cpu_count() or 1
    cpu_floor = solutions_cpu / cpus
    score = f"{report['score']}/{report['max']}"
    print(f"\nGrading every lab (median of {runs}):")
    print(f"  solutions  {solutions_wall:6.1f} s   ({score}, a fresh copy graded as a "
          f"submission: staged, built, graded; {solutions_cpu:.1f} CPU-s)")
    print(f"  skeletons  {skeletons_wall:6.1f} s")
    print(f"\nThe floor: the longest test, lab {longest[1]} {longest[2]} ({longest[0]:.1f} s), "
          f"plus the build ({built:.1f} s) = {floor:.1f} s")
    ratio = solutions_wall / floor
    verdict = "met" if ratio <= SPEED_GOAL else "NOT met"
    print(f"  solutions take {ratio:.2f} x the floor (goal {SPEED_GOAL} x: {verdict})")
    print(f"  the CPU floor: {solutions_cpu:.1f} CPU-s of work on {cpus} CPUs = "
          f"{cpu_floor:.1f} s; solutions take {solutions_wall / max(floor, cpu_floor):.2f} x "
          f"the higher of the two floors")
    return report


def lab_shares(report):
    """Each lab graded alone (make grade LAB=NN), and its share of the whole grade."""
    if report is None:
        report, _, _ = grade("--impl", "solutions")
    print(f"\nEach lab's share (test time summed; alone: that lab graded by itself, "
          f"goal under {LAB_GOAL:.0f} s):")
    tests = [t["duration"] for lab in report["labs"].values() for t in lab["tests"]]
    total = sum(tests)
    for number, lab in sorted(report["labs"].items()):
        spent = sum(t["duration"] for t in lab["tests"])
        alone, _ = median_grade(1, "--impl", "solutions", "--lab", number)
        print(f"  {number} {lab['name']:<18} {spent:6.1f} s  {100 * spent / total:5.1f} %"
              f"   alone {alone:5.1f} s{'' if alone < LAB_GOAL else ' (over)'}"
              f"   ({len(lab['tests'])} tests)")


if __name__ == "__main__":
    sys.exit(main())
