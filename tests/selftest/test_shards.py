"""A class graded in shards (`grade --class DIR --shard K/N`, then merge_shards)
comes out exactly as one run over the whole class: the same CSV, byte for byte,
and the same files in --reports, each the same but for what differs from any
run to the next (RUN_SPECIFIC below)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from harness.commands.class_grading import in_shard, parse_shard, shard_of  # noqa: E402
from harness.errors import UsageError  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=ROOT, PYTHONDONTWRITEBYTECODE="1")
# What one run of the same submission may write differently from another:
# how long it took (the report's and each test's), and the ports the tests picked
# (a free port is asked of the kernel each time), which feedback names.
RUN_SPECIFIC = ("seconds", "duration")
PORT = re.compile(r"(-p |:)\d+\b")
# Three students, one in each of three shards (shard_of checks it below): two
# copies of the solution (a pair of similar submissions, in different shards)
# and an untouched skeleton.
CLASS = {"ada": "solutions", "cy": "labs", "dan": "solutions"}
LAB = "01-udp-local"


def test_shard_of_is_stable_and_covers_every_name():
    names = [f"student{i}" for i in range(300)]
    shards = [in_shard([(name, "") for name in names], (k, 4)) for k in range(1, 5)]
    assert sorted(name for shard in shards for name, _ in shard) == sorted(names)
    assert all(len(shard) > 30 for shard in shards)  # sha256 spreads them
    # Adding a student moves no one else: the shard depends on the name alone.
    assert [shard_of(name, 4) for name in names] == \
        [shard_of(name, 4) for name in names + ["newcomer"]][:300]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0", ""])
def test_a_bad_shard_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_shard(text)


def grade_class(class_dir, out, *extra):
    run = subprocess.run([sys.executable, "-m", "harness", "--class", str(class_dir),
                          "--lab", LAB[:2], "--csv", str(out / "class.csv"),
                          "--reports", str(out / "reports"), *extra],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def comparable(path):
    """A report as JSON with the RUN_SPECIFIC fields taken out and ports masked."""
    def clean(value):
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items() if key not in RUN_SPECIFIC}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return PORT.sub(r"\1PORT", value) if isinstance(value, str) else value
    with open(path) as report:
        return clean(json.load(report))


@pytest.mark.needs_solutions
def test_three_shards_merge_into_what_one_run_writes(tmp_path):
    assert sorted(shard_of(name, 3) for name in CLASS) == [1, 2, 3]
    class_dir = tmp_path / "class"
    for name, tree in CLASS.items():
        shutil.copytree(os.path.join(ROOT, tree, LAB), class_dir / name / LAB)
    grade_class(class_dir, tmp_path / "whole")
    shards = [subprocess.Popen([sys.executable, "-m", "harness", "--class", str(class_dir),
                                "--lab", LAB[:2], "--shard", f"{k}/3", "--jobs", "1",
                                "--csv", str(tmp_path / f"shard{k}.csv"),
                                "--reports", str(tmp_path / f"shard{k}")],
                               cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True) for k in (1, 2, 3)]
    for shard in shards:
        _, errors = shard.communicate(timeout=600)
        assert shard.returncode == 0, errors
    merge = subprocess.run([sys.executable, "-m", "harness.commands.merge_shards",
                            "--csv", str(tmp_path / "merged.csv"),
                            "--reports", str(tmp_path / "merged"), "--class", str(class_dir),
                            *[str(tmp_path / f"shard{k}.csv") for k in (1, 2, 3)],
                            *[str(tmp_path / f"shard{k}") for k in (1, 2, 3)]],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert merge.returncode == 0, merge.stderr

    whole = (tmp_path / "whole" / "class.csv").read_text()
    assert (tmp_path / "merged.csv").read_text() == whole
    assert whole.splitlines()[1:] and [line.split(",")[:3] for line in whole.splitlines()] == [
        ["student", "lab01", "total"], ["ada", "100", "100"], ["cy", "0", "0"],
        ["dan", "100", "100"]]
    reports = sorted(os.listdir(tmp_path / "whole" / "reports"))
    assert sorted(os.listdir(tmp_path / "merged")) == reports
    for name in reports:
        if name.endswith(".json"):
            assert comparable(tmp_path / "merged" / name) == \
                comparable(tmp_path / "whole" / "reports" / name), name
        else:  # similar.txt: the pair ada–dan, found across two shards
            assert (tmp_path / "merged" / name).read_text() == \
                (tmp_path / "whole" / "reports" / name).read_text()


def test_merge_names_a_missing_shard(tmp_path):
    class_dir = tmp_path / "class"
    for name in CLASS:
        (class_dir / name).mkdir(parents=True)
    shard = tmp_path / "shard1.csv"
    shard.write_text("student,lab01,total,max,reason,similar\ncy,0,0,100,,\n")
    merge = subprocess.run([sys.executable, "-m", "harness.commands.merge_shards",
                            "--class", str(class_dir), str(shard)],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert merge.returncode == 2
    assert "2 submissions are in no shard: ada, dan" in merge.stderr
