"""Compiling C: the lab programs of an implementation (the skeletons in labs/, the
solutions, or a staged submission), the labs' cmocka unit tests, and the harness's
own small tools. The one place the harness calls the compiler.

    python3 -m harness.programs.build [--tree labs|solutions]... [--out DIR]
                                      [--werror] [--sanitize] [--units [--run]]

(`make`, `make unit` and `make test` call it.) A lab's programs, units and tests are
named by the instructor's tree (harness/catalog.py); each program is built from
TREE/NN-name/PROG.c, the lab's unit sources found in TREE (or else labs/), and
labs/common. Headers come from TREE/NN-name, then labs/NN-name, then labs/common.
From a submission only staged C sources are used (never a Makefile).
"""
import argparse
import concurrent.futures
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from harness.machine import usable_cpus
from harness import catalog
from harness.catalog import ROOT
from harness.errors import HarnessError, SetupError
from harness.programs.staging import stage_sources

CC = os.environ.get("CC", "cc")
WARNINGS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic"]
CFLAGS = ["-O1", "-g"]
CPPFLAGS = ["-D_DEFAULT_SOURCE"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]
LIBS = ["-lm"]
COMMON = os.path.join(ROOT, "labs", "common")
COMMON_SOURCES = [os.path.join(COMMON, "socklab.c")]
# labs/common compiled once per flavour and kept (common_objects), not once per program.
COMMON_OBJECTS = os.path.join(ROOT, "build", "common")
# How long one compiler run may take before it is stopped (a submission can make
# the compiler work for ever: a huge include, a template of macros).
COMPILE_TIMEOUT = 60
# A submission's compiler runs in the sandbox with more memory than a program
# (cc1 maps a lot); `#include "/dev/zero"` still ends there, in a second or two.
COMPILE_MEMORY_MIB = 1024
# Where a sandboxed compile sees its inputs and writes its output: fixed paths, so
# that nothing the compiler says shows where the grader keeps its files.
VIEW_SOURCES, VIEW_LAB, VIEW_COMMON, VIEW_OUT = "/src", "/lab", "/common", "/out"
VIEW_COMMON_OBJECTS = "/common-objects"
FAILED_MARK = "build-failed"  # holds the compiler's output when a lab's build fails
TOOLS = os.path.join(ROOT, "build", "harness")


@dataclass(frozen=True)
class Flavour:
    """How to compile: warnings as errors, sanitizers."""
    werror: bool = False
    sanitize: bool = False

    def flags(self):
        return [*CPPFLAGS, *WARNINGS, *(["-Werror"] if self.werror else []), *CFLAGS,
                *(SANITIZE if self.sanitize else [])]


@dataclass
class LabBuild:
    ok: bool
    output: str = ""                         # what the compiler said
    programs: dict = field(default_factory=dict)  # name -> path of the binary
    ignored: list = field(default_factory=list)   # what staging left out, for the student


# -- one compiler run ------------------------------------------------------------------

def compile_into(output, argv, timeout=COMPILE_TIMEOUT, view=None):
    """Run the compiler command argv (without -o) so that it writes output: under a
    temporary name, renamed into place only on success, so that graders sharing
    build/ never run a half-written binary. Returns (ok, what the compiler said).

    view: for untrusted sources, [(host folder, folder in the view)]: the compiler
    then runs in the sandbox (harness/programs/sandbox.c) and sees only those
    folders (read-only), the system's headers and libraries, and /out; argv's
    paths are rewritten into the view. On timeout the whole process group dies
    (cc1 and as too, not just the driver)."""
    folder = os.path.dirname(output)
    os.makedirs(folder, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(output)}-")
    os.close(handle)
    scratch = None
    try:
        if view is None:
            command = [*argv, "-o", partial]
        else:
            scratch = tempfile.mkdtemp(dir=folder, prefix=".compile-")
            command = sandboxed_compile(argv, view, scratch, os.path.basename(output))
        ok, said = run_compiler(command, timeout)
        if ok and scratch is not None:
            # Copied into a file of the grader's own: what the sandboxed compiler
            # wrote (maybe as another user) is never what runs.
            shutil.copyfile(os.path.join(scratch, os.path.basename(output)), partial)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if ok:
        os.chmod(partial, 0o755)
        os.replace(partial, output)
    elif os.path.exists(partial):
        os.remove(partial)
    return ok, said


def run_compiler(command, timeout):
    """(ok, output) of command, its whole process group killed past timeout."""
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, f"the compiler took longer than {timeout} s and was stopped"
    return proc.returncode == 0, out.decode("utf-8", errors="replace")


def sandboxed_compile(argv, view, scratch, name):
    """The sandbox command that runs argv with view's folders at their places,
    scratch writable at /out, and the output in /out/NAME."""
    from harness.programs import sandbox  # sandbox.py builds itself with build_tool
    os.chmod(scratch, 0o777)  # the compiler may run as another user (nobody)

    def inside(arg):
        flag = "-I" if arg.startswith("-I") else ""
        path = arg[len(flag):]
        for host, mapped in view:
            if path == host or path.startswith(host + os.sep):
                return flag + mapped + path[len(host):]
        return arg

    fence = sandbox.command(binds=list(view), writable=[f"{scratch}:{VIEW_OUT}"],
                            chdir=VIEW_SOURCES, memory_mib=COMPILE_MEMORY_MIB,
                            env={"LC_ALL": "C"})
    if not fence:  # grade --no-sandbox: the instructor's choice, for every process
        return [*argv, "-o", os.path.join(scratch, name)]
    return [*fence, *map(inside, argv), "-o", f"{VIEW_OUT}/{name}"]


def submission_view(tree, lab, flavour):
    """The folders a submission's compiler sees: its staged sources, the lab's own
    skeleton folder (headers, units), labs/common and its compiled objects."""
    return [(os.path.join(tree, lab.directory), VIEW_SOURCES),
            (os.path.join(ROOT, "labs", lab.directory), VIEW_LAB), (COMMON, VIEW_COMMON),
            (os.path.dirname(common_objects(flavour)[0]), VIEW_COMMON_OBJECTS)]


def common_objects(flavour):
    """labs/common's sources compiled with flavour's flags, once: every program links
    the same objects (they are the grader's code, never a submission's). Kept under
    build/common/KEY/, KEY a digest of the compiler, the flags and the sources with
    their header, so a change to any of them compiles them anew. Their paths."""
    flags = [*flavour.flags(), f"-I{COMMON}"]
    digest = hashlib.sha256("\0".join([CC, *flags]).encode())
    for path in [*COMMON_SOURCES, *sorted(glob.glob(os.path.join(COMMON, "*.h")))]:
        with open(path, "rb") as source:
            digest.update(source.read())
    folder = os.path.join(COMMON_OBJECTS, digest.hexdigest()[:16])
    objects = []
    for source in COMMON_SOURCES:
        output = os.path.join(folder, os.path.basename(source)[:-2] + ".o")
        if not os.path.isfile(output):  # complete or absent: compile_into renames
            ok, said = compile_into(output, [CC, *flags, "-c", source])
            if not ok:
                raise SetupError(f"cannot compile {source}:\n{said}")
        objects.append(output)
    return objects


def up_to_date(output, inputs):
    """Is output newer than every one of inputs?"""
    try:
        built = os.path.getmtime(output)
        return all(os.path.getmtime(path) <= built for path in inputs)
    except OSError:
        return False


# -- the harness's own tools -------------------------------------------------------------

def build_tool(source, name, *flags):
    """Compile one of the harness's own C files into build/harness/NAME once (and
    again only when the source changes); its path."""
    output = os.path.join(TOOLS, name)
    if up_to_date(output, [source]):
        return output
    ok, said = compile_into(output, [CC, "-O2", source, *flags])
    if not ok:
        raise SetupError(f"cannot build {name} from {source}:\n{said}")
    return output


# -- lab programs ---------------------------------------------------------------------

def lab_sources(tree, lab):
    """(the lab's unit .c files in tree or else labs/, its header folders)."""
    here = os.path.join(tree, lab.directory)
    skeleton = os.path.join(ROOT, "labs", lab.directory)
    units = []
    for unit in lab.units:
        mine = os.path.join(here, unit + ".c")
        units.append(mine if os.path.isfile(mine) else os.path.join(skeleton, unit + ".c"))
    # A submission may add .c files of its own (helpers): they are units too.
    extra = sorted(path for path in glob.glob(os.path.join(here, "*.c"))
                   if os.path.basename(path)[:-2] not in (*lab.programs, *lab.units)
                   and not os.path.basename(path).startswith("test_"))
    return units + extra, [here, skeleton, COMMON]


def program_command(tree, lab, program, flavour):
    units, includes = lab_sources(tree, lab)
    main = os.path.join(tree, lab.directory, program + ".c")
    return [CC, *flavour.flags(), *(f"-I{folder}" for folder in includes),
            main, *units, *common_objects(flavour), *LIBS]


def inputs_of(command):
    """The files a compile command reads: its sources and objects, and every header
    it may see."""
    sources = [arg for arg in command if arg.endswith((".c", ".o"))]
    headers = [path for arg in command if arg.startswith("-I")
               for path in glob.glob(os.path.join(arg[2:], "*.h"))]
    return sources + headers


def build_lab_programs(tree, out, lab, flavour, force=False, sandboxed=False):
    """Compile every program of lab from tree into out/NN-name/; a LabBuild. A
    failure's compiler output is kept in out/NN-name/build-failed, so the graders
    (other processes) can quote it and never grade an older binary. sandboxed: the
    sources are untrusted (a submission): compile in the sandbox."""
    folder = os.path.join(out, lab.directory)
    built = LabBuild(ok=True)
    said = []
    for program in lab.programs:
        binary = os.path.join(folder, program)
        built.programs[program] = binary
        if not os.path.isfile(os.path.join(tree, lab.directory, program + ".c")):
            built.ok = False
            said.append(f"{program}.c is missing")
            continue
        command = program_command(tree, lab, program, flavour)
        if not force and up_to_date(binary, inputs_of(command)) and \
                not os.path.exists(os.path.join(folder, FAILED_MARK)):
            continue
        ok, text = compile_into(binary, command,
                                view=submission_view(tree, lab, flavour) if sandboxed else None)
        if text.strip():
            said.append(text.strip())
        built.ok = built.ok and ok
    built.output = "\n".join(said)
    mark = os.path.join(folder, FAILED_MARK)
    os.makedirs(folder, exist_ok=True)
    if built.ok:
        if os.path.exists(mark):
            os.remove(mark)
    else:
        with open(mark, "w") as log:
            log.write(built.output)
    return built


def build_failed(program):
    """Did the last build of this program's lab fail (or never happen)?"""
    return (os.path.exists(os.path.join(os.path.dirname(program), FAILED_MARK))
            or not os.access(program, os.X_OK))


def build_failure_text(lab_folder, limit=40):
    """The start of a failed build's compiler output, for feedback."""
    try:
        with open(os.path.join(lab_folder, FAILED_MARK), errors="replace") as log:
            lines = log.read().splitlines()
    except OSError:
        return "(no compiler output was kept)"
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"… {len(lines) - limit} more lines")
    return "\n".join(shown) or "(the compiler printed nothing)"


# -- unit tests ---------------------------------------------------------------------------

def unit_tests(tree, out, lab, flavour):
    """(binary, command) for each cmocka test of lab: the tree's own test_*.c, or
    else the skeleton's (a solution shares the skeleton's tests and headers)."""
    here = os.path.join(tree, lab.directory)
    tests = sorted(glob.glob(os.path.join(here, "test_*.c"))) or \
        sorted(glob.glob(os.path.join(ROOT, "labs", lab.directory, "test_*.c")))
    units, includes = lab_sources(tree, lab)
    found = []
    for test in tests:
        binary = os.path.join(out, lab.directory, os.path.basename(test)[:-2])
        found.append((binary, [CC, *flavour.flags(), *(f"-I{f}" for f in includes), test,
                               *units, *COMMON_SOURCES, "-lcmocka", *LIBS]))
    return found


def common_unit_tests(out, flavour):
    """The cmocka tests of labs/common (tests/unit/), built with read and write
    wrapped so the tests can make the kernel look stingy."""
    found = []
    for test in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "test_*.c"))):
        binary = os.path.join(out, "tests", "unit", os.path.basename(test)[:-2])
        found.append((binary, [CC, *flavour.flags(), f"-I{COMMON}", test, *COMMON_SOURCES,
                               "-Wl,--wrap=read,--wrap=write", "-lcmocka", *LIBS]))
    return found


# -- an implementation: what is graded -------------------------------------------------------

class Implementation:
    """Where a lab's sources are and where its binaries go: the skeletons (labs),
    the reference solutions, or a submission directory (staged first)."""

    def __init__(self, impl, sanitize=False, root=ROOT):
        self.root = root
        self.flavour = Flavour(sanitize=sanitize)
        build = os.path.join(root, "build", "asan") if sanitize else os.path.join(root, "build")
        if impl in ("labs", "solutions"):
            self.kind, self.tree = impl, os.path.join(root, impl)
            self.bin_dir = os.path.join(build, impl)
        else:
            source = os.path.abspath(impl)
            if not os.path.isdir(source):
                raise HarnessError(f"{impl} is not labs, solutions or a directory")
            key = hashlib.sha256(source.encode()).hexdigest()[:12]
            self.kind, self.source = "submission", source
            self.tree = os.path.join(build, "submissions", key, "src")
            self.bin_dir = os.path.join(build, "submissions", key, "bin")

    def describe(self):
        if self.kind == "submission":
            return f"the submission in {self.source}"
        return {"labs": "labs/ (your work)", "solutions": "solutions/ (reference)"}[self.kind]

    def submitted(self, lab):
        """Did the implementation bring any source of this lab's?"""
        return bool(glob.glob(os.path.join(self.tree, lab.directory, "*.c")))

    def build_lab(self, lab):
        """Stage (for a submission) and compile one lab; a LabBuild."""
        ignored = []
        if self.kind == "submission":
            ignored = stage_sources(self.source, self.tree, lab).ignored
        built = build_lab_programs(self.tree, self.bin_dir, lab, self.flavour,
                                   force=self.kind == "submission",
                                   sandboxed=self.kind == "submission")
        built.ignored = ignored
        return built


# -- the command line (make, make unit) ------------------------------------------------------

def main(argv):
    parser = argparse.ArgumentParser(prog="build", description="Compile the labs' programs "
                                     "and unit tests out of tree.")
    parser.add_argument("--tree", action="append", choices=("labs", "solutions"),
                        help="which tree (repeat; default both, where they exist)")
    parser.add_argument("--out", default=os.path.join(ROOT, "build"),
                        help="build folder (default build/): OUT/TREE/NN-name/PROG")
    parser.add_argument("--werror", action="store_true", help="warnings are errors")
    parser.add_argument("--sanitize", action="store_true", help="ASan and UBSan")
    parser.add_argument("--units", action="store_true", help="the cmocka unit tests instead")
    parser.add_argument("--run", action="store_true", help="with --units: run them too")
    args = parser.parse_args(argv)
    # A student copy has no solutions/: its trees are what exists.
    trees = [tree for tree in args.tree or ("labs", "solutions")
             if os.path.isdir(os.path.join(ROOT, tree))]
    flavour = Flavour(werror=args.werror, sanitize=args.sanitize)
    out = os.path.abspath(args.out)
    labs = catalog.all_labs()
    if args.units:
        jobs = common_unit_tests(out, flavour) + [
            job for tree in trees for lab in labs
            for job in unit_tests(os.path.join(ROOT, tree), os.path.join(out, tree), lab, flavour)]
        ok = build_all(jobs)
        if ok and args.run:
            for binary, _ in jobs:
                print(f"== {os.path.relpath(binary, ROOT)}", flush=True)
                if subprocess.run([binary]).returncode != 0:
                    return 1
        return 0 if ok else 1
    jobs = [(binary, program_command(os.path.join(ROOT, tree), lab, program, flavour))
            for tree in trees for lab in labs for program in lab.programs
            for binary in [os.path.join(out, tree, lab.directory, program)]]
    return 0 if build_all(jobs) else 1


def build_all(jobs):
    """Compile (binary, command) jobs in parallel, skipping those up to date;
    print what the compiler said; True if all succeeded."""
    def one(job):
        binary, command = job
        if up_to_date(binary, inputs_of(command)):
            return binary, True, ""
        ok, said = compile_into(binary, command)
        return binary, ok, said

    ok = True
    with concurrent.futures.ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
        for binary, built, said in pool.map(one, jobs):
            if said.strip():
                sys.stderr.write(said)
            if not built:
                print(f"build: {os.path.relpath(binary, ROOT)} failed", file=sys.stderr)
                ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
