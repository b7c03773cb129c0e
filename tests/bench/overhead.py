"""What one test costs before it tests anything: making a host (network
namespace, loopback up) and starting a program up to its first line. Run inside
a lab root by `make bench` (tests/bench/bench.py); prints one line per figure."""
import statistics
import sys
import time

from harness.network.labnet import LabNet
from harness.programs.process import Program

SAMPLES = 20


def milliseconds(action):
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def make_host():
    net = LabNet(launch=None)
    net.host("h")
    net.close()


def start_program():
    program = Program([sys.executable, "-c", "print('ready', flush=True); import time; time.sleep(5)"])
    program.expect("ready", timeout=5)
    program.kill()


def start_c_program():
    program = Program(["sh", "-c", "echo ready; exec sleep 5"])
    program.expect("ready", timeout=5)
    program.kill()


def main():
    for label, action in (("a host (netns + loopback up)", make_host),
                          ("a shell program to its first line, then killed", start_c_program),
                          ("a Python peer process to its first line, then killed", start_program)):
        median, worst = milliseconds(action)
        print(f"{label:<52} {median:6.1f} ms median, {worst:6.1f} ms worst")


if __name__ == "__main__":
    main()
