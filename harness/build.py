"""Compiling an implementation: the skeletons (labs/), the solutions, or a
submission, one lab at a time so one lab that does not compile costs only itself.

From a submission only C sources are taken (never a Makefile, harness or test):
they are copied into a staging tree and built with the instructor's Makefile and
labs/common.
"""
import glob
import hashlib
import os
import shutil
import subprocess

from harness.catalog import ROOT

MAX_SOURCE_BYTES = 1024 * 1024
BUILD_TIMEOUT = 120
FAILED_MARK = "build-failed"  # holds the compiler's output when a build fails


class Implementation:
    """Where a lab's sources are and where its binaries go."""

    def __init__(self, impl, sanitize=False, root=ROOT):
        self.root = root
        self.build = os.path.join(root, "build", "asan" if sanitize else "")
        self.build = self.build.rstrip("/")
        self.sanitize = sanitize
        if impl in ("labs", "solutions"):
            self.kind, self.tree = impl, os.path.join(root, impl)
            self.bin_dir = os.path.join(self.build, impl)
        else:
            source = os.path.abspath(impl)
            if not os.path.isdir(source):
                raise SystemExit(f"grade: {impl} is not labs, solutions or a directory")
            key = hashlib.sha256(source.encode()).hexdigest()[:12]
            self.kind, self.source = "submission", source
            self.tree = os.path.join(self.build, "submissions", key, "src")
            self.bin_dir = os.path.join(self.build, "submissions", key, "bin")

    def describe(self):
        if self.kind == "submission":
            return f"the submission in {self.source}"
        return {"labs": "labs/ (your work)", "solutions": "solutions/ (reference)"}[self.kind]

    def program_path(self, lab):
        return os.path.join(self.bin_dir, lab.directory, lab.program)

    def build_lab(self, lab):
        """Compile one lab; returns (ok, compiler output). A failure's output is
        kept in BIN/NN-name/build-failed for the graders to quote."""
        if self.kind == "submission":
            stage_sources(self.source, self.tree, lab)
        target = self.program_path(lab)
        command = ["make", "-s", "--no-print-directory", "-C", self.root, target,
                   f"BUILD={self.build}"]
        if self.kind == "submission":
            command += [f"SRC={self.tree}", f"OUT={self.bin_dir}"]
        if self.sanitize:
            command.append("SANITIZE=1")
        try:
            result = subprocess.run(command, capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT)
            ok, output = result.returncode == 0, result.stdout + result.stderr
        except subprocess.TimeoutExpired:
            ok, output = False, f"the build took longer than {BUILD_TIMEOUT} s and was stopped"
        ok = ok and os.access(target, os.X_OK)
        # A failed build may leave an older binary behind: the mark says not to grade it.
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        mark = os.path.join(folder, FAILED_MARK)
        if ok:
            if os.path.exists(mark):
                os.remove(mark)
        else:
            with open(mark, "w") as log:
                log.write(output)
        return ok, output


def stage_sources(source, tree, lab):
    """Copy the C sources of one lab from a submission into tree/NN-name/.

    Accepted layouts: a copy of the repository (labs/NN-name/*.c), the lab
    directories themselves (NN-name/*.c), or loose files (PROG.c anywhere, as
    Gradescope delivers them). Symlinks and oversized files are never followed.
    """
    destination = os.path.join(tree, lab.directory)
    shutil.rmtree(destination, ignore_errors=True)
    os.makedirs(destination)
    for candidate in (os.path.join(source, "labs", lab.directory),
                      os.path.join(source, lab.directory)):
        if os.path.isdir(candidate) and not os.path.islink(candidate):
            _copy_sources(glob.glob(os.path.join(candidate, "*.[ch]")), destination)
            return
    main = sorted(glob.glob(os.path.join(source, "**", f"{lab.program}.c"), recursive=True))
    if main:
        folder = os.path.dirname(main[0])
        _copy_sources(glob.glob(os.path.join(folder, "*.[ch]")), destination)


def _copy_sources(paths, destination):
    for path in paths:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        if os.path.getsize(path) > MAX_SOURCE_BYTES:
            continue
        shutil.copyfile(path, os.path.join(destination, os.path.basename(path)))


def build_failed(program):
    """Did the last build of this program fail (or never happen)?"""
    return (os.path.exists(os.path.join(os.path.dirname(program), FAILED_MARK))
            or not os.access(program, os.X_OK))


def build_failure_text(bin_dir, lab_directory, limit=40):
    """The start of a failed build's compiler output, for feedback."""
    path = os.path.join(bin_dir, lab_directory, FAILED_MARK)
    try:
        with open(path) as log:
            lines = log.read().splitlines()
    except OSError:
        return "(no compiler output was kept)"
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"… {len(lines) - limit} more lines")
    return "\n".join(shown) or "(the compiler printed nothing)"
