"""Hostile submissions that git cannot hold, or that point at this machine's own
files: links (to solutions/, to another student's folder, to a grader file, in
loops), a hard link, a FIFO named like a source, a huge file, thousands of files,
deep nesting, and names with control characters. Each attack lays out one submission
folder for lab 01; tests/selftest/test_hostile_staging.py grades them.

    python3 tests/hostile/staging_attacks.py DIR    lays out every one in DIR/NAME
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = "01-udp-local"
PROGRAM = "udp_local.c"
# A source that must never be built: it says so the moment it runs.
NEVER_BUILT = ('#include <stdio.h>\n__attribute__((constructor)) static void\n'
               'announce(void)\n{\n\tputs("BAD NAME WAS BUILT");\n}\n')
NOT_IMPLEMENTED = "int main(void) { return 3; }\n"  # a skeleton's exit status
HUGE_BYTES = 8 << 30       # a sparse file: costs no disk, but no grader may read it
MANY_FILES = 2000          # sources of good names, in one lab folder
DEEP = 200                 # folders nested, with the program at the bottom


def links_to_solutions(folder):
    """The lab folder, in both layouts, is a link to the reference solution."""
    os.makedirs(os.path.join(folder, "labs"))
    target = os.path.join(ROOT, "solutions", LAB)
    os.symlink(target, os.path.join(folder, "labs", LAB))
    os.symlink(target, os.path.join(folder, LAB))
    os.symlink(os.path.join(ROOT, "solutions"), os.path.join(folder, "solutions"))


def links_to_another_student(folder):
    """A class: alice's honest work, and mallory's lab folder a link to alice's."""
    alice = os.path.join(os.path.dirname(folder), "alice", LAB)
    os.makedirs(alice, exist_ok=True)
    with open(os.path.join(ROOT, "solutions", LAB, PROGRAM), "rb") as source, \
            open(os.path.join(alice, PROGRAM), "wb") as copy:
        copy.write(source.read())
    os.makedirs(folder)
    os.symlink(os.path.join("..", "alice", LAB), os.path.join(folder, LAB))


def links_to_grader_files(folder):
    """Real folder, but its sources are links to the solution and a hidden test."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    os.symlink(os.path.join(ROOT, "solutions", LAB, PROGRAM), os.path.join(lab, PROGRAM))
    hidden = os.path.join(ROOT, "harness", "labs", "lab01_udp_local", "test_hidden.py")
    os.symlink(hidden, os.path.join(lab, "hidden.h"))


def hard_link_to_a_grader_file(folder):
    """The program is a hard link to a grader file (where one can be made: the
    same file system, and a kernel that lets this user link to it)."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    try:
        os.link(os.path.join(ROOT, "solutions", LAB, PROGRAM), os.path.join(lab, PROGRAM))
    except OSError:  # another file system: a hard link between two of its own files
        with open(os.path.join(lab, "copy.c"), "w") as source:
            source.write(NEVER_BUILT)
        os.link(os.path.join(lab, "copy.c"), os.path.join(lab, PROGRAM))


def link_loops(folder):
    """Links that point at themselves, at each other and at their parents, met
    while the grader looks for loose files (the program is in work/)."""
    work = os.path.join(folder, "work")
    os.makedirs(work)
    with open(os.path.join(work, PROGRAM), "w") as program:
        program.write(NOT_IMPLEMENTED)
    os.symlink(".", os.path.join(folder, "here"))
    os.symlink("..", os.path.join(work, "up"))
    os.symlink("loop", os.path.join(folder, "loop"))
    os.symlink("pong", os.path.join(folder, "ping"))
    os.symlink("ping", os.path.join(folder, "pong"))
    os.symlink("self.c", os.path.join(work, "self.c"))


def fifo_sources(folder):
    """The program and a helper are FIFOs: opening one to read blocks for ever."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    os.mkfifo(os.path.join(lab, PROGRAM))
    os.mkfifo(os.path.join(lab, "x.c"))


def huge_source(folder):
    """The program is an 8 GiB (sparse) file."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    with open(os.path.join(lab, PROGRAM), "wb") as huge:
        huge.truncate(HUGE_BYTES)


def many_files(folder):
    """Thousands of sources with good names in the lab folder."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    for number in range(MANY_FILES):
        with open(os.path.join(lab, f"part{number:05d}.c"), "w") as part:
            part.write(NEVER_BUILT)


def deep_nesting(folder):
    """The program at the bottom of a few hundred nested folders (loose layout)."""
    path = os.path.join(folder, *(["d"] * DEEP))
    os.makedirs(path)
    with open(os.path.join(path, PROGRAM), "w") as program:
        program.write(NOT_IMPLEMENTED)


def control_names(folder):
    """Names with escape sequences, a newline, bidi overrides and a homoglyph."""
    lab = os.path.join(folder, LAB)
    os.makedirs(lab)
    for name in ("\x1b[2J\x1b[HTotal 100 of 100.c", "new\nline.c", "\u202eevil\u202c.c",
                 "udp_l\u043ecal.c", "\x7f.h"):
        with open(os.path.join(lab, name), "w") as source:
            source.write(NEVER_BUILT)


ATTACKS = {function.__name__.replace("_", "-"): function for function in (
    links_to_solutions, links_to_another_student, links_to_grader_files,
    hard_link_to_a_grader_file, link_loops,
    fifo_sources, huge_source, many_files, deep_nesting, control_names)}


def lay_out(base, names=None):
    """Each attack (or those named) in base/NAME; their paths by name."""
    made = {}
    for name in names or ATTACKS:
        ATTACKS[name](os.path.join(base, name))
        made[name] = os.path.join(base, name)
    return made


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for name, path in lay_out(sys.argv[1]).items():
        print(f"{name}: {path}")
