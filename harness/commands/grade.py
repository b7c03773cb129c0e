"""`harness/grade`: build an implementation of the labs and grade it, or grade a
whole class of submissions (--class, see batch.py).

    harness/grade [--lab NN]... [--impl labs|solutions|DIR]
                  [--format terminal|json|gradescope|junit|autolab] [--output FILE]
                  [--jobs N] [--sanitize] [--hidden] [--test NAME] [--budget S]
    harness/grade --class DIR [--jobs N] [--csv FILE] [--reports DIR] [--lab NN]... [--hidden]
                  [--similarity P] [--shard K/N]
"""
import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness.machine import usable_cpus
from harness import catalog
from harness.commands import class_grading, entry_point, with_absolute_impl, with_option
from harness.grading.runner import grade_labs
from harness.network import namespaces, uml
from harness.programs import sandbox
from harness.programs.build import Implementation
from harness.results import RENDERERS
from harness.results.model import Report

# Tests spend most of their time waiting for packets and timeouts, and a worker
# costs a fork (grading/workers.py). Measured on 2 CPUs, grading every lab: 6 at
# once 11.9 s, 12 at once 7.0 s, 16 at once 5.8 s (250 MB at the peak). 6 per CPU
# keeps most of the gain with less contention for timing-sensitive tests on a
# machine that is busy with other work too.
DEFAULT_JOBS = min(32, 6 * usable_cpus())
FORMATS = tuple(RENDERERS)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="grade", description="Build and grade socklab labs in private lab networks.")
    parser.add_argument("--lab", action="append", default=[], metavar="NN",
                        help="grade this lab (repeat for several; default: every lab)")
    parser.add_argument("--impl", default="labs", metavar="labs|solutions|DIR",
                        help="what to grade: labs/ (your work, the default), solutions/, "
                             "or a submission directory (only its C sources are used)")
    parser.add_argument("--format", choices=FORMATS, default="terminal",
                        help="terminal table (default), the JSON object, Gradescope's "
                             "results.json, JUnit XML, or feedback ending in Autolab's score line")
    parser.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help=f"tests run at once (default {DEFAULT_JOBS}: they mostly wait "
                             "on the network, so more than one per CPU); with --class, "
                             "submissions graded at once (default "
                             f"{class_grading.default_jobs()}, each running "
                             f"{class_grading.TESTS_AT_ONCE} tests at once)")
    parser.add_argument("--sanitize", action="store_true",
                        help="build with AddressSanitizer and UBSan; a finding fails the test")
    parser.add_argument("--wrapper", default="", metavar="CMD",
                        help="run each program under CMD (e.g. 'valgrind -q --error-exitcode=99')")
    parser.add_argument("--test", metavar="NAME",
                        help="run only the tests whose names contain NAME")
    parser.add_argument("--hidden", action="store_true",
                        help="also run the instructors' hidden tests")
    parser.add_argument("--budget", type=float, metavar="S",
                        help="stop grading S seconds after the start (building included); "
                             "tests not finished by then are reported as not run, and every "
                             "finished one keeps its result (for platforms' time limits)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run programs without the sandbox (limits, read-only files, "
                             "own PID namespace); for debugging the grader only")
    group = parser.add_argument_group("grading a class")
    group.add_argument("--class", dest="class_dir", metavar="DIR",
                       help="grade every submission directory under DIR (one per student, "
                            "named after the student), each in its own lab network")
    group.add_argument("--csv", metavar="FILE",
                       help="with --class: write the class's scores here (default: stdout)")
    group.add_argument("--reports", metavar="DIR",
                       help="with --class: also keep each student's JSON report as DIR/NAME.json")
    group.add_argument("--similarity", type=float, default=60, metavar="P",
                       help="with --class: flag pairs of submissions whose own code of a lab "
                            "is at least P%% the same (sim_c, from similarity-tester; "
                            "default 60, 0: off), in the CSV and DIR/similar.txt")
    group.add_argument("--time-limit", type=float, metavar="S",
                       help="with --class: stop grading one submission after S seconds "
                            "(default: 600 per lab, scaled)")
    group.add_argument("--shard", metavar="K/N",
                       help="with --class: grade only shard K of N (a stable split by "
                            "name); python3 -m harness.commands.merge_shards joins the "
                            "shards' CSVs and reports (docs/INSTRUCTORS.md)")
    args = parser.parse_args(argv)
    if args.class_dir and args.impl != "labs":
        parser.error("--class grades the directories under DIR; do not give --impl too")
    if (args.csv or args.reports or args.time_limit or args.shard) and not args.class_dir:
        parser.error("--csv, --reports, --time-limit and --shard go with --class")
    if args.class_dir and (args.output or args.format != "terminal"):
        parser.error("with --class, results go to --csv FILE and --reports DIR "
                     "(not --output or --format)")
    if args.jobs is None:
        args.jobs = class_grading.default_jobs() if args.class_dir else DEFAULT_JOBS
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.budget is not None and args.budget <= 0:
        parser.error("--budget must be a positive number of seconds")
    if not 0 <= args.similarity <= 100:
        parser.error("--similarity must be a percentage from 0 (off) to 100")
    return args


def enter_lab_root(argv, build, budget_left=lambda: None):
    """Re-run inside a lab root if possible: namespaces here, else a user-mode Linux
    kernel (after build(), so the slower kernel finds the programs compiled);
    otherwise note once why not. Returns (backend, why not namespaces, exit status
    of a grade that ran inside user-mode Linux or None). budget_left() is how
    many seconds of --budget remain (None without one)."""
    reason = namespaces.enter_lab_root(argv)
    if reason is None:
        if uml.inside():
            return "user-mode-linux", os.environ[uml.ENV_INSIDE], None
        return "namespaces", "", None
    # SOCKLAB_NO_NETNS asks for the loopback itself: no kernel is booted then.
    if not os.environ.get(namespaces.ENV_NO_NETNS):
        why_not_uml = uml.unavailable_reason()
        if why_not_uml is None:
            build()
            left = budget_left()
            if left is not None:  # the kernel's grade stops when this one would have
                argv = with_budget(argv, max(1.0, left))
            status, why_not_uml = uml.run(
                [sys.executable, "-m", "harness", *argv], reason,
                None if left is None else left + uml.STOP_SECONDS,
                booted=lambda: print(f"grade: note: {reason}; grading inside user-mode "
                                     "Linux (a kernel run as an ordinary process, with "
                                     "namespaces of its own).", file=sys.stderr, flush=True))
            if status is not None:
                return "user-mode-linux", reason, status
        reason = f"{reason}; {why_not_uml}"
    os.environ[namespaces.ENV_NO_NETNS] = reason
    print(f"grade: note: {reason}; grading on the loopback only, and tests that need a "
          "lab network are reported as skipped.", file=sys.stderr)
    return "loopback", reason, None


def with_budget(argv, seconds):
    """argv with its --budget replaced by seconds."""
    return with_option(argv, "--budget", f"{seconds:.1f}")


def main(argv):
    return entry_point("grade", run, argv)


def run(argv):
    args = parse_args(argv)
    labs = catalog.select(args.lab)
    if args.class_dir:
        return class_grading.grade_class(args, labs, tests_at_once=class_grading.TESTS_AT_ONCE)
    started = time.monotonic()
    configure_sandbox(args)
    impl = Implementation(args.impl, sanitize=args.sanitize)

    def build():
        if not args.no_sandbox:
            sandbox.ensure_built()
        with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
            return list(pool.map(impl.build_lab, labs))
    backend, note, status = enter_lab_root(
        with_absolute_impl(argv, args.impl), build,
        lambda: args.budget - (time.monotonic() - started) if args.budget else None)
    if status is not None:
        return status  # the whole grade ran inside user-mode Linux and reported there
    builds = build()
    results = grade_labs(labs, impl.bin_dir, jobs=args.jobs, hidden=args.hidden,
                         wrapper=args.wrapper, extra_args=["-k", args.test] if args.test else [],
                         deadline=started + args.budget if args.budget else None)
    for lab, result, built in zip(labs, results, builds):
        result.built, result.ignored = built.ok, built.ignored
        result.submitted = impl.kind != "submission" or impl.submitted(lab)
    report = Report(results, impl.describe(), time.monotonic() - started, backend, note)
    write_report(args.format, report, args.output)
    return 0 if report.complete else 1


def configure_sandbox(args):
    """Tell sandbox.py (through the environment, which reaches every grader process)
    what the student programs may have."""
    if args.no_sandbox:
        os.environ[sandbox.ENV] = "off"
    elif args.sanitize or args.wrapper:
        os.environ[sandbox.ENV] = "no-memory-limit"  # shadow memory needs address space


def write_report(kind, report, path=None):
    """Render report in format kind to path (stdout if None)."""
    out = open(path, "w") if path else sys.stdout
    try:
        RENDERERS[kind](report, out)
    finally:
        if out is not sys.stdout:
            out.close()

