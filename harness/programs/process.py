"""Programs under test: started with a deadline in their own process group,
output captured line by line, read with expect(), killed with their group.

A Program never blocks the grader for longer than the timeout it is given, and
notices at once when the program has exited, so a skeleton that exits 3 fails
its tests in milliseconds rather than at the end of each timeout.
"""
import os
import re
import select
import shlex
import signal
import subprocess
import threading
import time

from harness.network import namespaces
from harness.programs import activity, sandbox
from harness.programs.readable import readable_pattern
from harness.results.model import CPU_LIMIT, CRASHED, HUNG, NOT_IMPLEMENTED
from harness.results.text import safe_line
from harness.timeouts import scaled

# More output than this per stream is dropped (and said so): a program that
# prints without end must not eat the grader's memory.
OUTPUT_LIMIT = 4 * 1024 * 1024
# How long a program may live unless the test says otherwise.
DEFAULT_LIFETIME = 30.0
NOT_IMPLEMENTED_EXIT = 3


class ProgramFailure(AssertionError):
    """A program did not do what the test waited for (exited, or too slow)."""


class Program:
    """A running program; see the module docstring."""

    def __init__(self, argv, netns_path=None, label=None, lifetime=DEFAULT_LIFETIME,
                 env=None, wrapper=(), events=None, stdin=False):
        """events: the sandbox's events file, when wrapper is the sandbox; stdin:
        give the program a pipe as standard input (send_input, close_input)
        instead of /dev/null."""
        self.argv = list(argv)
        self.events = events
        self._killed = False  # by us: the end of a test is no crash
        self.label = label or shlex.join([os.path.basename(self.argv[0]), *self.argv[1:]])
        command = list(wrapper) + self.argv
        self.started = time.monotonic()
        self._lines = {"stdout": [], "stderr": []}
        self._log = []  # (stream, line) in arrival order, for tail()
        self.expired = False
        self._cursor = {"stdout": 0, "stderr": 0}
        self._dropped = {"stdout": 0, "stderr": 0}
        self._eof = {"stdout": False, "stderr": False}
        self._changed = threading.Condition()
        self._proc = namespaces.popen_in(
            netns_path, command, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
        if stdin:
            os.set_blocking(self._proc.stdin.fileno(), False)  # send_input has a deadline
        self._readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                         for name, stream in (("stdout", self._proc.stdout),
                                              ("stderr", self._proc.stderr))]
        for reader in self._readers:
            reader.start()
        # The deadline: past its lifetime the program is killed, whatever it does.
        self._reaper = threading.Timer(scaled(lifetime), self._expire)
        self._reaper.daemon = True
        self._reaper.start()

    # -- output -------------------------------------------------------------

    def _read(self, name, stream):
        kept = 0
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="backslashreplace").rstrip("\n")
            with self._changed:
                if kept + len(raw) <= OUTPUT_LIMIT:
                    kept += len(raw)
                    self._lines[name].append(line)
                    self._log.append((name, line))
                else:
                    self._dropped[name] += len(raw)
                self._changed.notify_all()
        with self._changed:
            self._eof[name] = True
            self._changed.notify_all()

    @property
    def stdout(self):
        with self._changed:
            return list(self._lines["stdout"])

    @property
    def stderr(self):
        with self._changed:
            return list(self._lines["stderr"])

    @property
    def pid(self):
        return self._proc.pid

    def cpu_seconds(self):
        """CPU time (seconds) used so far by the program and any children it forked,
        its sandbox left out (programs/activity.py)."""
        return activity.cpu_seconds(self._proc.pid)

    def runnable_seconds(self):
        """Seconds the program and its children have been running or waiting for a
        CPU: next to nothing while it is blocked, whatever the load
        (programs/activity.py)."""
        return activity.runnable_seconds(self._proc.pid)

    def expect(self, pattern, timeout=2.0, stream="stdout", hint=None):
        """Wait for the next line on stream matching pattern (a regex, fullmatch).

        Lines before the match are passed over; the search resumes after it next
        time. Raises ProgramFailure when the program ends first or timeout
        (scaled) runs out, saying which (and hint, if given, unless the program
        simply is not implemented yet).
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + scaled(timeout)
        passed_over = None  # the last line that came but did not match, for the story
        with self._changed:
            while True:
                lines = self._lines[stream]
                for index in range(self._cursor[stream], len(lines)):
                    match = regex.fullmatch(lines[index])
                    if match:
                        self._cursor[stream] = index + 1
                        return match
                    passed_over = lines[index]
                self._cursor[stream] = len(lines)
                if self._eof[stream]:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        why = self._why_no_line(pattern, timeout, stream)
        if passed_over is not None and not why.startswith("not implemented yet"):
            why += f"\nIts last line on {stream} was instead: '{safe_line(passed_over, 160)}'"
        if hint and not why.startswith("not implemented yet"):
            why += f"\nHint: {hint}"
        raise ProgramFailure(why)

    def printed(self, pattern, timeout=2.0, stream="stdout"):
        """Has the program printed a line matching pattern (fullmatch), waiting up
        to timeout (scaled) for one? Unlike expect(), nothing is consumed and no
        failure is raised: for a test that must know the program got that far."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + scaled(timeout)
        seen = 0
        with self._changed:
            while True:
                lines = self._lines[stream]
                if any(regex.fullmatch(text) for text in lines[seen:]):
                    return True
                seen = len(lines)
                remaining = deadline - time.monotonic()
                if self._eof[stream] or remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def _why_no_line(self, pattern, timeout, stream):
        readable = getattr(pattern, "readable", "") or readable_pattern(pattern)
        wanted = f"the line '{readable}' on {stream}" if readable else f"anything on {stream}"
        code = self.wait(timeout=0.5) if self._eof[stream] else None
        if self.expired:
            return f"{self.label} was stopped at the end of its lifetime before printing {wanted}"
        if code == NOT_IMPLEMENTED_EXIT:
            todo = [line for line in self.stderr if "TODO(" in line]
            said = f" ({todo[-1]})" if todo else ""
            return f"not implemented yet: {self.label} exited 3{said}"
        if code is not None:
            return f"{self.label} {describe_exit(code)} before printing {wanted}"
        return f"{self.label} did not print {wanted} within {scaled(timeout):.1f} s"

    # -- input ---------------------------------------------------------------

    def send_input(self, data, timeout=2.0):
        """Write data to the program's standard input (a Program started with
        stdin=True). Raises ProgramFailure if the program has not taken all of it
        within timeout (scaled): it is not reading its input, or has closed it."""
        pipe = self._proc.stdin.fileno()
        rest = memoryview(data)
        deadline = time.monotonic() + scaled(timeout)
        while rest:
            try:
                rest = rest[os.write(pipe, rest):]
                continue
            except BlockingIOError:
                pass
            except BrokenPipeError:
                raise ProgramFailure(f"{self.label} closed its standard input with "
                                     f"{len(rest)} of {len(data)} bytes still to read") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProgramFailure(f"{self.label} did not read its standard input: "
                                     f"{len(rest)} of {len(data)} bytes were still waiting "
                                     f"after {scaled(timeout):.1f} s")
            select.select([], [pipe], [], remaining)

    def close_input(self):
        """End of input: the program's next read() of standard input returns 0."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()

    # -- life cycle ----------------------------------------------------------

    def poll(self):
        """The exit status if the program has ended, else None."""
        return self._proc.poll()

    def wait(self, timeout=5.0):
        """Wait for the program to end by itself; its exit status, or None if it has not.
        Once it has ended, its output is complete too (read to the end of both pipes,
        unless a child it left behind still holds them open)."""
        code = self._wait_for_exit(scaled(timeout))
        if code is None:
            return None
        self._drain(timeout=1.0)
        return code

    def _wait_for_exit(self, timeout):
        """The exit status once the program ends within timeout seconds, else None.
        A pidfd wakes us the moment it ends: Popen.wait(timeout) polls, sleeping up
        to 50 ms at a time, which every test that waits for an exit paid."""
        code = self._proc.poll()
        if code is not None:
            return code
        try:
            pidfd = os.pidfd_open(self._proc.pid)
        except ProcessLookupError:  # ended and reaped meanwhile (by kill() elsewhere)
            return self._proc.poll()
        except (AttributeError, OSError):  # no pidfds (Linux before 5.3)
            try:
                return self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        try:
            ended = select.poll()
            ended.register(pidfd, select.POLLIN)
            ended.poll(max(0.0, timeout) * 1000)  # retried on EINTR with the time left
        finally:
            os.close(pidfd)
        return self._proc.poll()

    def _drain(self, timeout):
        deadline = time.monotonic() + scaled(timeout)
        for reader in self._readers:
            reader.join(timeout=max(0.0, deadline - time.monotonic()))

    def expect_exit(self, timeout=5.0):
        """Like wait(), but a program still running afterwards is a ProgramFailure."""
        code = self.wait(timeout)
        if code is None:
            raise ProgramFailure(f"{self.label} was still running after {scaled(timeout):.1f} s; "
                                 "it was expected to finish by itself")
        return code

    def _expire(self):
        self.expired = True
        self.kill()

    def kill(self):
        """Stop the program and everything in its process group: TERM, then KILL."""
        if self._proc.poll() is None:
            self._killed = True
        self._signal_group(signal.SIGTERM)
        if self.wait(timeout=0.5) is None:
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
        self._reaper.cancel()
        for reader in self._readers:
            reader.join(timeout=2)
        for stream in (self._proc.stdout, self._proc.stderr):
            stream.close()
        self.close_input()

    def _signal_group(self, signum):
        try:
            os.killpg(self._proc.pid, signum)
        except ProcessLookupError:
            pass

    @property
    def symptoms(self):
        """What went wrong with the program beyond wrong behaviour, as the results
        model names it: from how it ended, and from what its sandbox saw."""
        found = []
        code = self._proc.poll()
        if self.expired:
            found.append(HUNG)
        elif code is not None and code < 0 and not self._killed:
            found.append(CPU_LIMIT if -code == signal.SIGXCPU else CRASHED)
        elif code == NOT_IMPLEMENTED_EXIT:
            found.append(NOT_IMPLEMENTED)
        if self.events:
            found += [s for s in sandbox.read_events(self.events) if s not in found]
        return found

    # -- reporting -----------------------------------------------------------

    def tail(self, count=8):
        """The last lines of output, interleaved by stream, for a failure story."""
        with self._changed:
            shown = [f"  {stream}| {safe_line(line)}" for stream, line in self._log[-count:]]
            dropped = {k: v for k, v in self._dropped.items() if v}
        code = self._proc.poll()
        state = "still running" if code is None else describe_exit(code)
        lines = [f"Last output of `{self.label}` ({state}):"]
        lines += shown or ["  (no output)"]
        lines += [f"  ({n} further bytes on {name} were dropped)" for name, n in dropped.items()]
        return "\n".join(lines)


def describe_exit(code):
    """'exited 1', 'was killed by SIGSEGV', … for a subprocess return code."""
    if code is None:
        return "is still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    if code == NOT_IMPLEMENTED_EXIT:
        return "exited 3 (not implemented yet)"
    return f"exited {code}"

