"""`harness/grade`: build an implementation of the labs and grade it.

    harness/grade [--lab NN]... [--impl labs|solutions|DIR] [--format terminal|json]
                  [--jobs N] [--sanitize] [--hidden] [--output FILE]
"""
import argparse
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from harness import catalog, namespaces, report
from harness.build import Implementation
from harness.runner import grade_labs


# Tests spend most of their time waiting for packets and timeouts.
DEFAULT_JOBS = 2 * (os.cpu_count() or 1) + 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="grade", description="Build and grade socklab labs in private lab networks.")
    parser.add_argument("--lab", action="append", default=[], metavar="NN",
                        help="grade this lab (repeat for several; default: every lab)")
    parser.add_argument("--impl", default="labs", metavar="labs|solutions|DIR",
                        help="what to grade: labs/ (your work, the default), solutions/, "
                             "or a submission directory (only its C sources are used)")
    parser.add_argument("--format", choices=("terminal", "json"), default="terminal")
    parser.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                        help=f"tests run at once (default {DEFAULT_JOBS}: they mostly wait "
                             "on the network, so more than one per CPU)")
    parser.add_argument("--sanitize", action="store_true",
                        help="build with AddressSanitizer and UBSan; a finding fails the test")
    parser.add_argument("--wrapper", default="", metavar="CMD",
                        help="run each program under CMD (e.g. 'valgrind -q --error-exitcode=99')")
    parser.add_argument("--test", metavar="NAME",
                        help="run only the tests whose names contain NAME")
    parser.add_argument("--hidden", action="store_true",
                        help="also run the instructors' hidden tests")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.impl not in ("labs", "solutions"):
        args.impl = os.path.abspath(args.impl)  # before any re-exec changes nothing, but be sure
    return args


def enter_lab_root(argv):
    """Re-run inside a lab root if possible; otherwise note once why not."""
    if namespaces.in_lab_root():
        # PID 1 of the lab root ignores SIGTERM unless it asks for it.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return
    reason = namespaces.unavailable_reason()
    if reason is None:
        namespaces.reexec_in_lab_root(argv)
    os.environ[namespaces.ENV_NO_NETNS] = reason
    print(f"grade: note: {reason}; grading on the loopback only, and tests that need a "
          "lab network are reported as skipped.", file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    labs = catalog.select(args.lab)
    impl = Implementation(args.impl, sanitize=args.sanitize)
    enter_lab_root([*argv_without_impl(argv), "--impl", args.impl])

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(impl.build_lab, labs))
    results = grade_labs(labs, impl.bin_dir, jobs=args.jobs, hidden=args.hidden,
                         wrapper=args.wrapper, extra_args=["-k", args.test] if args.test else [])

    out = open(args.output, "w") if args.output else sys.stdout
    try:
        if args.format == "json":
            report.render_json(results, out)
        else:
            report.render_terminal(results, impl.describe(), out)
    finally:
        if out is not sys.stdout:
            out.close()
    complete = all(r.max and r.score == r.max and not r.problem for r in results)
    return 0 if complete else 1


def argv_without_impl(argv):
    """argv less any --impl option (re-added with an absolute path)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--impl":
            skip = True
        elif not arg.startswith("--impl="):
            kept.append(arg)
    return kept
