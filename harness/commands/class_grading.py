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
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness.machine import usable_cpus
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


def parse_shard(text):
    """`K/N` (1 <= K <= N) as (K, N); a UsageError names what is wrong."""
    match = re.fullmatch(r"(\d+)/(\d+)", text or "")
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard takes K/N with 1 <= K <= N (e.g. 2/8), not {text!r}")
    return int(match[1]), int(match[2])


def shard_of(name, shards):
    """The shard (1..shards) that grades the submission called name. It depends on
    the name alone, so adding or removing a student moves no one else, and every
    machine works it out alike."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def in_shard(found, shard):
    """The submissions of found that shard (K, N) grades; all of them if shard is None."""
    if shard is None:
        return found
    number, shards = shard
    return [(name, path) for name, path in found if shard_of(name, shards) == number]


# Tests mostly wait on the network, and a submission's own build and start-up are
# brief: several submissions are graded at once, each running several tests at
# once. Measured by `make bench` (its class section) on 2 CPUs.
TESTS_AT_ONCE = 6


def default_jobs():
    """How many submissions --class grades at once unless --jobs says."""
    return 2 * usable_cpus()


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


class Stopped(Exception):
    """The class grader was asked to stop (a signal): no new submission starts."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Children:
    """The child grade processes running now. On SIGTERM, SIGINT or SIGHUP every
    one is killed with its process group: that takes its lab root, and with it
    (PID namespace) every pytest worker, peer and student program inside; no
    submission starts after that. Without this, the children (each in a session
    of its own, so a terminal's ^C does not reach them) would outlive us."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()
        self.stopping = None

    def start(self, command, **options):
        with self.lock:  # a child starts before a stop (and is killed) or never
            if self.stopping:
                raise Stopped(self.stopping)
            proc = subprocess.Popen(command, start_new_session=True, **options)
            self.running.add(proc)
            return proc

    def finished(self, proc):
        with self.lock:
            self.running.discard(proc)

    def stop(self, signum, _frame=None):
        """The signal handler (main thread): kill every child, then unwind."""
        with self.lock:
            self.stopping = signum
            running = list(self.running)
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise Stopped(signum)

    def __enter__(self):
        self.previous = {signum: signal.signal(signum, self.stop) for signum in self.SIGNALS}
        return self

    def __exit__(self, *_):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def grade_submission(args, labs, name, path, scratch, limit, tests_at_once, children):
    """Grade one submission in a child grade process; a row dict for the CSV."""
    report_path = os.path.join(scratch, f"{name}.json")
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="1")
    proc = children.start(child_command(args, labs, os.path.abspath(path), report_path,
                                        tests_at_once, limit),
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, errors="replace")
    stopped = False
    try:
        _, errors = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        # The whole lab root goes: its unshare dies, and with it every namespace.
        os.killpg(proc.pid, signal.SIGKILL)
        _, errors = proc.communicate()
        stopped = True
    finally:
        children.finished(proc)
    if children.stopping:
        raise Stopped(children.stopping)
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
    """The --class command; returns the exit status (0 once every submission is graded,
    128 + the signal's number when a signal stopped it). Each submission's grader
    runs tests_at_once tests at a time. With --shard K/N only the submissions of
    shard K are graded (merge_shards.py joins the shards' results)."""
    shard = parse_shard(args.shard) if args.shard else None
    found = submissions(args.class_dir)
    mine = in_shard(found, shard)
    limit = args.time_limit or scaled(LAB_TIME_LIMIT * len(labs))
    if args.reports:
        os.makedirs(args.reports, exist_ok=True)
    part = f" (shard {shard[0]} of {shard[1]}, of {len(found)})" if shard else ""
    print(f"grade: {len(mine)} submissions{part}, {args.jobs} at a time, labs "
          f"{' '.join(lab.number for lab in labs)}", file=sys.stderr)
    reason = namespaces.unavailable_reason()
    if reason:
        print(f"grade: note: {reason}; every submission is graded on the loopback only, and "
              "tests that need a lab network are reported as skipped.", file=sys.stderr)
    progress = Progress(len(mine))
    started = time.monotonic()
    try:
        with Children() as children, \
                tempfile.TemporaryDirectory(prefix="socklab-class-") as scratch:
            def one(entry):
                row = grade_submission(args, labs, *entry, scratch, limit, tests_at_once,
                                       children)
                progress.finished(row)
                return row

            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                rows = list(pool.map(one, mine))
    except Stopped as stop:
        print(f"grade: stopped by {stop}: every submission's grader was killed; no CSV "
              "was written", file=sys.stderr)
        return 128 + stop.signum
    if shard:
        if args.similarity and similarity.available():
            print("grade: note: similar submissions are looked for across the whole class "
                  "when the shards are merged (merge_shards --class DIR)", file=sys.stderr)
    else:
        flag_similar(args, labs, found, rows)
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            write_csv(rows, labs, out)
    else:
        write_csv(rows, labs, sys.stdout)
    print(f"grade: graded {len(rows)} submissions in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0
