"""Staging: taking one lab's C sources out of a submission, which is untrusted from
the moment its file names are read (docs/SECURITY.md, "Staging, file names and
reports").

Only regular files whose names a person writes (letters, digits, `_` and `-`, then
`.c` or `.h`) are taken. The walk follows no link: every folder is opened relative
to its parent's descriptor with O_NOFOLLOW, so a link to solutions/, to another
student's folder or to itself is named and never entered, and no loop can form;
every file is opened the same way, without blocking (a FIFO named x.c is not even
opened), and its descriptor is checked to be a regular file inside the submission,
with no other name (a hard link), before a byte is read. The walk is bounded in depth, entries, bytes and time.
Everything not taken that a student may have meant as a source is named back to
them, with the reason, as safe text (LabResult.ignored).

Accepted layouts: a copy of the repository (labs/NN-name/*.c), the lab folders
themselves (NN-name/*.c), or loose files (PROG.c anywhere, as Gradescope delivers
them: the folder of the first PROG.c found is the lab's).
"""
import errno
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass, field

from harness.results.text import cut, printable
from harness.timeouts import scaled

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\.[ch]")
NAME_RULE = "not a name a person writes (letters, digits, _ and - then .c or .h)"
MAX_SOURCE_BYTES = 1024 * 1024   # one source file
MAX_LAB_FILES = 64               # sources taken for one lab (the largest lab has a dozen)
MAX_LAB_BYTES = 4 * 1024 * 1024  # sources taken for one lab, together
MAX_DEPTH = 8                    # folders below the submission's root that are looked into
MAX_ENTRIES = 20000              # names looked at while finding one lab's sources
WALK_SECONDS = 10                # a walk stops here whatever it found (scaled)
MAX_NOTES = 20                   # ignored entries named one by one; the rest are counted

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass
class Staged:
    """What staging took and what it left, for the student."""
    taken: list = field(default_factory=list)    # file names copied into the lab's folder
    ignored: list = field(default_factory=list)  # safe sentences: "ignored `x.c`: a link …"
    _more: int = 0                               # ignored entries past MAX_NOTES

    def ignore(self, path, reason):
        note = f"ignored {shown(path)}: {reason}"
        if note in self.ignored:
            return  # met twice: a layout's folder, then the search for loose files
        if len(self.ignored) < MAX_NOTES:
            self.ignored.append(note)
        else:
            self._more += 1

    def notes(self):
        """The ignored entries, the ones past MAX_NOTES counted in one line."""
        if self._more:
            return self.ignored + [f"… and {self._more} more ignored entries"]
        return list(self.ignored)


def shown(path):
    """A submission's path, as safe text between backquotes; anything but ASCII
    escaped too (a name that looks right may hold a Cyrillic letter)."""
    text = printable(path).replace("`", "\\`").encode("ascii", "backslashreplace")
    return "`" + cut(text.decode("ascii"), 120) + "`"


class Walk:
    """The bounds of one walk over a submission: entries, time; and where it is."""

    def __init__(self, root, staged, seconds=None):
        self.staged = staged
        self.deadline = time.monotonic() + (seconds if seconds is not None
                                            else scaled(WALK_SECONDS))
        self.entries = 0
        self.stopped = ""  # why the walk stopped early
        self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.root_real = os.path.realpath(_fd_path(self.root_fd) or root)

    def close(self):
        os.close(self.root_fd)

    def over(self):
        """True once a bound is reached (and the reason is noted once)."""
        if self.stopped:
            return True
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            self.stopped = f"more than {MAX_ENTRIES} entries"
        elif time.monotonic() > self.deadline:
            self.stopped = "looking through it took too long"
        if self.stopped:
            self.staged.ignored.append(f"the rest of the submission was not looked at: "
                                       f"{self.stopped}")
        return bool(self.stopped)

    def inside(self, fd):
        """Is what fd refers to inside the submission? (The walk's own structure
        already keeps it inside; this proves it on the descriptor.)"""
        where = _fd_path(fd)
        if where is None:
            return True  # no /proc: the O_NOFOLLOW walk from root_fd is the proof
        real = os.path.realpath(where)
        return os.path.commonpath([real, self.root_real]) == self.root_real

    def open_folder(self, parent_fd, name, path):
        """A descriptor of folder name in parent_fd, or None (the reason noted)."""
        try:
            fd = os.open(name, _DIRECTORY, dir_fd=parent_fd)
        except OSError as error:
            self.staged.ignore(path, _why_not_opened(error, "folder"))
            return None
        if not stat.S_ISDIR(os.fstat(fd).st_mode) or not self.inside(fd):
            os.close(fd)
            self.staged.ignore(path, "not a folder inside the submission")
            return None
        return fd

    def folder_at(self, parts):
        """A descriptor of root/parts[0]/parts[1]…, each a real folder, or None."""
        fd = os.dup(self.root_fd)
        for depth, part in enumerate(parts):
            try:
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except OSError:
                os.close(fd)
                return None
            path = "/".join(parts[:depth + 1])
            if stat.S_ISLNK(info.st_mode):
                self.staged.ignore(path, "a link (links are never followed)")
            if not stat.S_ISDIR(info.st_mode):
                os.close(fd)
                return None
            child = self.open_folder(fd, part, path)
            os.close(fd)
            if child is None:
                return None
            fd = child
        return fd

    def find(self, fd, wanted, prefix="", depth=0):
        """(descriptor of the first folder, in sorted order, holding a file named
        wanted; its path) or None; links and special files met are noted."""
        if depth > MAX_DEPTH:
            self.staged.ignore(prefix.rstrip("/"), f"deeper than {MAX_DEPTH} folders")
            return None
        entries = self.list(fd, prefix)
        if any(entry.name == wanted and entry.is_file(follow_symlinks=False)
               for entry in entries):
            return os.dup(fd), prefix.rstrip("/")
        for entry in entries:
            if self.stopped:
                return None
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                child = self.open_folder(fd, entry.name, prefix + entry.name)
                if child is None:
                    continue
                try:
                    found = self.find(child, wanted, prefix + entry.name + "/", depth + 1)
                finally:
                    os.close(child)
                if found:
                    return found
        return None

    def list(self, fd, prefix, note=True):
        """The entries of the folder fd, sorted by name, within the bounds; links
        among them are noted as ignored (or, with note=False, listed), and so are
        special files."""
        entries = []
        with os.scandir(fd) as scan:
            for entry in scan:
                if self.over():
                    break
                if entry.is_symlink():
                    if note:
                        self.staged.ignore(prefix + entry.name,
                                           "a link (links are never followed)")
                    else:
                        entries.append(entry)
                elif not (entry.is_dir(follow_symlinks=False)
                          or entry.is_file(follow_symlinks=False)):
                    self.staged.ignore(prefix + entry.name, "not a regular file")
                else:
                    entries.append(entry)
        return sorted(entries, key=lambda entry: entry.name)


def _fd_path(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _why_not_opened(error, what):
    if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return "a link (links are never followed)"
    if error.errno == errno.ENOTDIR:
        return f"not a {what}"
    return f"could not be read ({os.strerror(error.errno)})"


def stage_sources(source, tree, lab, seconds=None):
    """Copy the C sources of one lab from the submission in source into
    tree/NN-name/ (emptied first); a Staged saying what was taken and ignored."""
    destination = os.path.join(tree, lab.directory)
    shutil.rmtree(destination, ignore_errors=True)
    os.makedirs(destination)
    staged = Staged()
    walk = Walk(source, staged, seconds)
    try:
        folder = _lab_folder(walk, lab)
        if folder is not None:
            fd, where = folder
            try:
                _copy_folder(walk, fd, where, destination)
            finally:
                os.close(fd)
    finally:
        walk.close()
    staged.ignored = staged.notes()
    return staged


def _lab_folder(walk, lab):
    """(descriptor, path) of the submission's folder of lab, or None."""
    for parts in (["labs", lab.directory], [lab.directory]):
        fd = walk.folder_at(parts)
        if fd is not None:
            return fd, "/".join(parts)
    for program in lab.programs:
        found = walk.find(walk.root_fd, program + ".c")
        if found or walk.stopped:
            return found
    return None


def _copy_folder(walk, fd, where, destination):
    """Copy the sources of the folder fd (the submission's where) into destination."""
    staged, prefix = walk.staged, (where + "/" if where else "")
    others, total = [], 0
    for entry in walk.list(fd, prefix):
        path = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            continue
        if not entry.name.lower().endswith((".c", ".h")):
            others.append(path)
        elif not NAME.fullmatch(entry.name):
            staged.ignore(path, NAME_RULE)
        elif len(staged.taken) >= MAX_LAB_FILES:
            staged.ignore(path, f"more than {MAX_LAB_FILES} sources in one lab")
        else:
            data, why = _read_source(walk, fd, entry.name)
            if data is not None and total + len(data) > MAX_LAB_BYTES:
                data, why = None, f"the lab's sources pass {MAX_LAB_BYTES >> 20} MiB together"
            if data is None:
                staged.ignore(path, why)
                continue
            total += len(data)
            _write_new(os.path.join(destination, entry.name), data)
            staged.taken.append(entry.name)
    if others:
        names = ", ".join(shown(name) for name in others[:3])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        staged.ignored.append(f"ignored {names}{more}: only .c and .h files are built")


def _read_source(walk, folder_fd, name):
    """(bytes of the regular file name in folder_fd, "") or (None, why not)."""
    try:
        fd = os.open(name, _FILE, dir_fd=folder_fd)
    except OSError as error:
        return None, _why_not_opened(error, "regular file")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file"
        if not walk.inside(fd):
            return None, "not inside the submission"
        if info.st_nlink > 1:  # the same file under another name, maybe outside
            return None, "a hard link (its other names may be anywhere)"
        if info.st_size > MAX_SOURCE_BYTES:
            return None, f"larger than {MAX_SOURCE_BYTES >> 20} MiB"
        chunks, size = [], 0
        while size <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SOURCE_BYTES:  # it grew while being read
            return None, f"larger than {MAX_SOURCE_BYTES >> 20} MiB"
        return b"".join(chunks), ""
    finally:
        os.close(fd)


def _write_new(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


# -- the platforms' first copy ---------------------------------------------------------------

MAX_TREE_BYTES = 64 * 1024 * 1024  # sources copied out of one whole submission


def copy_sources_tree(source, dest, seconds=None):
    """The platforms' first step (Gradescope, PrairieLearn): every regular file
    named *.c or *.h under source into dest, in its folders, and every link as a
    link (its target is never opened: staging then names it to the student), within
    the bounds of staging. A Staged: what was copied, and what the bounds left out."""
    staged = Staged()
    walk = Walk(source, staged, seconds)
    budget = [MAX_TREE_BYTES]
    try:
        _copy_tree(walk, walk.root_fd, dest, "", 0, budget)
    finally:
        walk.close()
    staged.ignored = staged.notes()
    return staged


def _copy_tree(walk, fd, dest, prefix, depth, budget):
    os.makedirs(dest, exist_ok=True)
    for entry in walk.list(fd, prefix, note=False):
        path, target = prefix + entry.name, os.path.join(dest, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.name, dir_fd=fd), target)
        elif entry.is_dir(follow_symlinks=False):
            if entry.name.startswith("."):
                continue
            if depth >= MAX_DEPTH:
                walk.staged.ignore(path, f"deeper than {MAX_DEPTH} folders")
                continue
            child = walk.open_folder(fd, entry.name, path)
            if child is not None:
                try:
                    _copy_tree(walk, child, target, path + "/", depth + 1, budget)
                finally:
                    os.close(child)
        elif entry.name.lower().endswith((".c", ".h")):
            data, why = _read_source(walk, fd, entry.name)
            if data is not None and len(data) > budget[0]:
                data, why = None, f"the sources pass {MAX_TREE_BYTES >> 20} MiB together"
            if data is None:
                walk.staged.ignore(path, why)
                continue
            budget[0] -= len(data)
            _write_new(target, data)
            walk.staged.taken.append(path)
