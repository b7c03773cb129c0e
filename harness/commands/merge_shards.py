"""Joining the shards of a class: `grade --class DIR --shard K/N` on N machines (or
N jobs of one), then

    python3 -m harness.commands.merge_shards [--csv FILE] [--reports DIR]
                                             [--class DIR] [--similarity P] INPUT...

where each INPUT is a shard's CSV file or its --reports directory. The result is
what one unsharded run writes: the CSV with the same rows in the same order
(by student name), and DIR/NAME.json per student plus DIR/similar.txt.

Similar submissions are looked for here, across the whole class, not in each
shard (a pair split between two shards would go unseen): give --class DIR, the
same submissions the shards graded. --class also proves the shards complete:
every submission graded exactly once, none missing.
"""
import argparse
import csv
import os
import shutil
import sys

from harness import catalog
from harness.commands import class_grading, entry_point
from harness.errors import UsageError

FIXED_COLUMNS = ("student", "total", "max", "reason", "similar")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="merge_shards", description="Join the results of `grade --class DIR --shard K/N` "
        "runs into what one run over the whole class writes.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="a shard's CSV file, or its --reports directory")
    parser.add_argument("--csv", metavar="FILE", help="the class's scores (default: stdout)")
    parser.add_argument("--reports", metavar="DIR",
                        help="DIR/NAME.json for every student, and DIR/similar.txt")
    parser.add_argument("--class", dest="class_dir", metavar="DIR",
                        help="the submissions the shards graded: checks that every one was "
                             "graded exactly once, and looks for similar submissions")
    parser.add_argument("--similarity", type=float, default=60, metavar="P",
                        help="with --class: as grade --similarity (default 60, 0: off)")
    args = parser.parse_args(argv)
    if not 0 <= args.similarity <= 100:
        parser.error("--similarity must be a percentage from 0 (off) to 100")
    return args


def read_shard(path):
    """(columns, rows) of one shard's CSV."""
    try:
        with open(path, newline="") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
            return tuple(reader.fieldnames or ()), rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"cannot read the shard {path}: {error}")


def labs_of(columns, path):
    """The labs whose columns a shard's CSV has, checked against the fixed ones."""
    keys = [column for column in columns if column not in FIXED_COLUMNS]
    if columns[:1] != ("student",) or not set(FIXED_COLUMNS) <= set(columns) or \
            not all(key.startswith("lab") and key[3:].isdigit() for key in keys):
        raise UsageError(f"{path} is not a class CSV of grade --class (columns: "
                         f"{', '.join(columns) or 'none'})")
    return catalog.select([key[3:] for key in keys])


def merged_rows(csv_paths):
    """(labs, rows) of all shards, one row per student in the order one run writes."""
    columns, rows, seen = None, [], {}
    for path in csv_paths:
        found_columns, found_rows = read_shard(path)
        if columns is None:
            columns, labs = found_columns, labs_of(found_columns, path)
        elif found_columns != columns:
            raise UsageError(f"{path} graded other labs than {csv_paths[0]} "
                             "(every shard must be run with the same --lab options)")
        for row in found_rows:
            if row["student"] in seen:
                raise UsageError(f"{row['student']} was graded in two shards ({seen[row['student']]} "
                                 f"and {path}): were they run with the same N of --shard K/N?")
            seen[row["student"]] = path
            rows.append(row)
    # The order of class_grading.submissions(): by name.
    return labs, sorted(rows, key=lambda row: row["student"])


def check_complete(rows, found):
    """Every submission of the class graded, and no one else."""
    graded = {row["student"] for row in rows}
    names = {name for name, _ in found}
    missing, unknown = sorted(names - graded), sorted(graded - names)
    if missing:
        raise UsageError(f"{len(missing)} submissions are in no shard: "
                         f"{', '.join(missing[:10])}{' …' if len(missing) > 10 else ''} "
                         "(is a shard's CSV missing?)")
    if unknown:
        raise UsageError(f"the shards graded students not under the class directory: "
                         f"{', '.join(unknown[:10])}")


def copy_reports(folders, rows, destination):
    """Each student's NAME.json from the shards' report folders into destination."""
    os.makedirs(destination, exist_ok=True)
    for row in rows:
        name = f"{row['student']}.json"
        for folder in folders:
            source = os.path.join(folder, name)
            if os.path.isfile(source):
                if not os.path.exists(os.path.join(destination, name)) or \
                        not os.path.samefile(source, os.path.join(destination, name)):
                    shutil.copyfile(source, os.path.join(destination, name))
                break


def run(argv):
    args = parse_args(argv)
    csv_paths = [path for path in args.inputs if not os.path.isdir(path)]
    folders = [path for path in args.inputs if os.path.isdir(path)]
    if not csv_paths:
        raise UsageError("no shard CSV among the inputs")
    labs, rows = merged_rows(csv_paths)
    if args.reports:
        copy_reports(folders, rows, args.reports)
    if args.class_dir:
        found = class_grading.submissions(args.class_dir)
        check_complete(rows, found)
        class_grading.flag_similar(args, labs, found, rows)
    elif args.similarity:
        print("merge_shards: note: similar submissions were not looked for: give --class DIR",
              file=sys.stderr)
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            class_grading.write_csv(rows, labs, out)
    else:
        class_grading.write_csv(rows, labs, sys.stdout)
    print(f"merge_shards: {len(rows)} submissions from {len(csv_paths)} shards", file=sys.stderr)
    return 0


def main(argv):
    return entry_point("merge_shards", run, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
