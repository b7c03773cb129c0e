"""What one test costs before it tests anything: making a host (network
namespace, loopback up), starting a program up to its first line (bare, in the
sandbox, a Python peer process). Run inside a lab root by `make bench`
(tests/bench/bench.py); prints one line per figure: wall time and CPU time (this
process and its children, so the sandbox's and nsenter's too)."""
import resource
import statistics
import sys
import time

from harness.network.labnet import LabNet
from harness.programs import sandbox
from harness.programs.process import Program

SAMPLES = 20


def cpu_seconds():
    return sum(usage.ru_utime + usage.ru_stime
               for usage in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN)))


def milliseconds(action):
    """(median wall ms, worst wall ms, mean CPU ms) of SAMPLES runs of action."""
    times = []
    cpu = cpu_seconds()
    for _ in range(SAMPLES):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), (cpu_seconds() - cpu) * 1000 / SAMPLES


def make_host():
    net = LabNet(launch=None)
    net.host("h")
    net.close()


def first_line(argv):
    program = Program(argv)
    program.expect("ready", timeout=5)
    program.kill()


def main():
    shell = ["sh", "-c", "echo ready; exec sleep 5"]
    peer = [sys.executable, "-c", "print('ready', flush=True); import time; time.sleep(5)"]
    for label, action in (
            ("a host (netns + loopback up)", make_host),
            ("a shell program to its first line, then killed", lambda: first_line(shell)),
            ("the same in the sandbox", lambda: first_line(sandbox.command() + shell)),
            ("a Python peer process to its first line, then killed", lambda: first_line(peer))):
        median, worst, cpu = milliseconds(action)
        print(f"{label:<52} {median:6.1f} ms median, {worst:6.1f} ms worst, "
              f"{cpu:5.1f} ms CPU")


if __name__ == "__main__":
    main()
