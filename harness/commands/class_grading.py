"""Grading a class: `grade --class DIR --jobs N --csv FILE`.

Every directory under DIR is one student's submission (the directory name is the
student's name). Each is graded by a grade process of its own, so each gets its
own lab root and lab networks, and a submission that does not compile, hangs,
crashes or floods its output costs only itself: it gets its score and a reason,
and the batch goes on. N submissions are graded at once; progress goes to stderr.
The result is a CSV with one row per student: a column per lab, the total, the
maximum, the reason for anything that went wrong, and the students whose code of
a lab is near-identical (similarity.py).
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness.catalog import ROOT
from harness.commands import similarity
from harness.errors import UsageError
from harness.grading.runner import LAB_TIME_LIMIT
from harness.network import namespaces
from harness.results.model import NOT_IMPLEMENTED, from_json
from harness.timeouts import scaled


def submissions(class_dir):
    """(name, path) of every submission directory, sorted by name."""
    if not os.path.isdir(class_dir):
        raise UsageError(f"{class_dir} is not a directory")
    found = [(name, os.path.join(class_dir, name)) for name in sorted(os.listdir(class_dir))
             if not name.startswith(".") and os.path.isdir(os.path.join(class_dir, name))
             and not os.path.islink(os.path.join(class_dir, name))]
    if not found:
        raise UsageError(f"no submission directories under {class_dir}")
    return found


# A submission's grader stops this long before it would be killed, so that every
# test it finished keeps its result and the rest are reported as not run.
BUDGET_MARGIN = 30


def child_command(args, labs, path, report_path, tests_at_once, limit):
    """The grade command for one submission: same options, JSON to report_path,
    a budget that ends grading before the limit kills it."""
    command = [sys.executable, "-m", "harness", "--impl", path, "--format", "json",
               "--output", report_path, "--jobs", str(tests_at_once),
               "--budget", f"{max(limit / 2, limit - BUDGET_MARGIN):.1f}"]
    for lab in labs:
        command += ["--lab", lab.number]
    for flag in ("hidden", "sanitize", "no_sandbox"):
        if getattr(args, flag):
            command.append("--" + flag.replace("_", "-"))
    if args.test:
        command += ["--test", args.test]
    if args.wrapper:
        command += ["--wrapper", args.wrapper]
    return command


def grade_submission(args, labs, name, path, scratch, limit, tests_at_once):
    """Grade one submission in a child grade process; a row dict for the CSV."""
    report_path = os.path.join(scratch, f"{name}.json")
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen(child_command(args, labs, os.path.abspath(path), report_path,
                                          tests_at_once, limit),
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, errors="replace", start_new_session=True)
    stopped = False
    try:
        _, errors = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        # The whole lab root goes: its unshare dies, and with it every namespace.
        os.killpg(proc.pid, signal.SIGKILL)
        _, errors = proc.communicate()
        stopped = True
    row = {"student": name, "seconds": time.monotonic() - started}
    try:
        with open(report_path) as file:
            report = from_json(json.load(file))
    except (OSError, ValueError, KeyError, TypeError):
        report = None
    if stopped:
        row["reason"] = f"stopped: grading took longer than {limit:.0f} s"
    elif report is None:
        tail = " / ".join(errors.strip().splitlines()[-3:]) or f"exit {proc.returncode}"
        row["reason"] = f"the grader failed: {tail}"
    scores = {lab.number: lab.score for lab in report.labs} if report else {}
    for lab in labs:
        row[lab.key] = scores.get(lab.number, 0)
    row["total"] = sum(row[lab.key] for lab in labs)
    row["max"] = (report.max if report else 0) or 100 * len(labs)
    if "reason" not in row:
        row["reason"] = "; ".join(filter(None, map(lab_reason, report.labs)))
    if args.reports and os.path.exists(report_path):
        shutil.copyfile(report_path, os.path.join(args.reports, f"{name}.json"))
    return row


def lab_reason(lab):
    """Why a lab (a LabResult) lost points for something other than wrong
    behaviour, or ''. Every reason is a field of the results model."""
    if not lab.submitted:
        return f"{lab.key}: not submitted"
    if not lab.built:
        return f"{lab.key}: did not compile"
    if lab.problem:
        return f"{lab.key}: the grader stopped: {lab.problem.splitlines()[0]}"
    found = [symptom for symptom in lab.symptoms() if symptom != NOT_IMPLEMENTED]
    return f"{lab.key}: {', '.join(found)}" if found else ""


class Progress:
    """One line on stderr per finished submission."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.lock = threading.Lock()

    def finished(self, row):
        with self.lock:
            self.done += 1
            reason = f"  {row['reason']}" if row["reason"] else ""
            self.stream.write(f"[{self.done:>{len(str(self.total))}}/{self.total}] "
                              f"{row['student']:<24} {row['total']:>4}/{row['max']:<4} "
                              f"{row['seconds']:6.1f} s{reason}\n")
            self.stream.flush()


def write_csv(rows, labs, stream):
    columns = ["student", *(lab.key for lab in labs), "total", "max", "reason", "similar"]
    writer = csv.DictWriter(stream, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def flag_similar(args, labs, found, rows):
    """Fill each row's `similar` column (and DIR/similar.txt with --reports)."""
    if not args.similarity:
        return
    if not similarity.available():
        print("grade: note: similar submissions were not looked for: sim_c is missing "
              "(apt-get install similarity-tester)", file=sys.stderr)
        return
    pairs = similarity.similar_pairs(found, labs, args.similarity)
    notes = similarity.by_student(pairs)
    for row in rows:
        row["similar"] = notes.get(row["student"], "")
    if args.reports:
        similarity.write_evidence(pairs, args.reports)
    print(f"grade: {len(pairs)} pairs of submissions are at least {args.similarity:g}% the "
          "same in a lab" + (f" (the code they share: {args.reports}/similar.txt)"
                             if args.reports and pairs else ""), file=sys.stderr)


def grade_class(args, labs, tests_at_once):
    """The --class command; returns the exit status (0 once every submission is graded).
    Each submission's grader runs tests_at_once tests at a time."""
    found = submissions(args.class_dir)
    limit = args.time_limit or scaled(LAB_TIME_LIMIT * len(labs))
    if args.reports:
        os.makedirs(args.reports, exist_ok=True)
    print(f"grade: {len(found)} submissions, {args.jobs} at a time, labs "
          f"{' '.join(lab.number for lab in labs)}", file=sys.stderr)
    reason = namespaces.unavailable_reason()
    if reason:
        print(f"grade: note: {reason}; every submission is graded on the loopback only, and "
              "tests that need a lab network are reported as skipped.", file=sys.stderr)
    progress = Progress(len(found))
    started = time.monotonic()

    def one(entry):
        row = grade_submission(args, labs, *entry, scratch, limit, tests_at_once)
        progress.finished(row)
        return row

    with tempfile.TemporaryDirectory(prefix="socklab-class-") as scratch:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            rows = list(pool.map(one, found))
    flag_similar(args, labs, found, rows)
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            write_csv(rows, labs, out)
    else:
        write_csv(rows, labs, sys.stdout)
    print(f"grade: graded {len(rows)} submissions in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0
