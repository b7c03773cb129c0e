"""Running one pytest session's tests in several processes, forked after collection.

Tests mostly wait on the network, so a grade runs several at once. Starting a pytest
process per worker would import and collect every lab's grader in each (about a
third of a CPU-second apiece, paid again for every submission of a class); forking
one collected session costs a few milliseconds and shares its memory. The tests are
handed out through a pipe, longest first (schedule.longest_first ordered them), and
each worker takes the next one when it is free: no worker idles while another has a
queue, whatever the durations turn out to be.

Each worker records its results itself (the plugin appends each finished test to
the results file in one write), so the parent only waits. A worker that dies leaves
its test unfinished, and the runner reports that test as not run because the
grader failed, never as the student's failure.
"""
import os
import struct
import sys

TICKET = struct.Struct("!I")  # one test's index in session.items


def run_forked(session, workers):
    """The pytest_runtestloop of a session whose tests run in `workers` forked
    processes. Returns True (the loop ran) once every worker has ended."""
    readable, writable = os.pipe()
    # Every ticket is in the pipe before any worker reads, so a read of one ticket
    # always gets a whole one (readers of a pipe are served one at a time), and the
    # end of the pipe tells a worker that no test is left.
    tickets = b"".join(TICKET.pack(index) for index in range(len(session.items)))
    if len(tickets) > 65536:  # a pipe's default capacity: more would block us here
        os.close(readable)
        os.close(writable)
        return None  # pytest's own loop, one test after another
    os.write(writable, tickets)
    os.close(writable)
    sys.stdout.flush()
    sys.stderr.flush()
    children = []
    for number in range(workers):
        pid = os.fork()
        if pid == 0:
            status = 3
            try:
                status = _work(session, readable)
            finally:
                os._exit(status)
        children.append(pid)
    os.close(readable)
    failed = 0
    for number, pid in enumerate(children):
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == 1:
            failed += 1
        elif code != 0:
            print(f"\nsocklab: test worker {number} ended abnormally "
                  f"({'signal ' + str(-code) if code < 0 else 'exit ' + str(code)})",
                  flush=True)
            session.shouldfail = "a test worker ended abnormally"
    # Only the count matters for pytest's exit status: 1 when some test failed.
    session.testsfailed = failed
    if session.shouldfail:
        raise session.Failed(session.shouldfail)
    return True


def _work(session, tickets):
    """One worker: run the next test until none is left; 0, or 1 if any failed."""
    _capture_of_my_own(session.config)
    while True:
        ticket = os.read(tickets, TICKET.size)
        if len(ticket) < TICKET.size:
            break
        item = session.items[TICKET.unpack(ticket)[0]]
        # nextitem=None: every fixture is torn down after each test, as no two tests
        # share a process's state in any order a worker might run them.
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=None)
    sys.stdout.flush()
    return 1 if session.testsfailed else 0


def _capture_of_my_own(config):
    """A forked worker shares the parent's capture files (and their offsets); give
    it files of its own, so workers never read or truncate each other's output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None or not capture.is_globally_capturing():
        return
    capture.stop_global_capturing()
    capture.start_global_capturing()

