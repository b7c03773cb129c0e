#!/usr/bin/env python3
"""Lab 06 benchmark: poll-mode echo throughput through the C server, against
iperf3's single-stream loopback rate measured in the same run, both inside a
private network namespace. A measurement to read, not a test: it always exits 0
unless something could not run.

    tests/bench/lab06_throughput.py [--impl solutions|labs] [--bytes N] [--runs R]

Throughput is BYTECOUNT divided by the client's wall time: every byte crosses
the loopback twice (there and back, upper-cased) and is checked by the client.
iperf3 moves bytes one way and checks nothing, so the ratio is a conservative one.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOAL = 0.25
INSIDE = "SOCKLAB_BENCH_INSIDE"


def in_private_namespace(argv):
    """Re-run this script as root of a fresh user+network namespace (loopback only)."""
    if os.environ.get(INSIDE) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if shutil.which("unshare") is None:
        sys.exit("lab06 bench: unshare (util-linux) is needed for a private network")
    os.environ[INSIDE] = "1"
    command = ["unshare", "--user", "--map-root-user", "--net", sys.executable,
               os.path.abspath(__file__), *argv]
    os.execvp(command[0], command)


def iperf3_rate(seconds):
    """iperf3's single-stream loopback rate in bytes per second (receiver side)."""
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # the server needs a moment to listen; retry the client
            result = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", "5201", "-t",
                                     str(seconds), "-J"], capture_output=True, text=True,
                                    timeout=seconds + 30)
            report = json.loads(result.stdout or "{}")
            if "error" not in report and "end" in report:
                return report["end"]["sum_received"]["bits_per_second"] / 8
            time.sleep(0.1)
        raise SystemExit(f"lab06 bench: iperf3 failed: {report.get('error', result.stderr)}")
    finally:
        server.kill()
        server.wait()


def echo_rate(program, count):
    """tcp_deadlock client --mode poll through tcp_deadlock server: bytes per second."""
    server = subprocess.Popen([program, "server", "127.0.0.1", "-p", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        match = re.fullmatch(r"Listening at 127\.0\.0\.1:(\d+)\n", first)
        if not match:
            raise SystemExit(f"lab06 bench: the server said {first!r}")
        started = time.monotonic()
        client = subprocess.run([program, "client", "127.0.0.1", str(count), "-p",
                                 match[1], "--mode", "poll"], capture_output=True, text=True,
                                timeout=600)
        took = time.monotonic() - started
        if client.returncode != 0 or f"  {count} bytes received" not in client.stdout:
            raise SystemExit(f"lab06 bench: the client failed: {client.stderr.strip()}")
        return count / took
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default="solutions", help="labs or solutions")
    parser.add_argument("--bytes", type=int, default=1 << 30, help="BYTECOUNT per run")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args()
    target = f"build/{args.impl}/06-tcp-deadlock/tcp_deadlock"
    if os.environ.get(INSIDE) != "1":
        subprocess.run(["make", "-s", "-C", ROOT, "all"], check=True)
    in_private_namespace(sys.argv[1:])
    program = os.path.join(ROOT, target)

    # Interleaved, so that both see the same machine load.
    iperf = echo = 0.0
    for _ in range(args.runs):
        iperf = max(iperf, iperf3_rate(3))
        echo = max(echo, echo_rate(program, args.bytes))
    ratio = echo / iperf
    print(f"iperf3 single stream, loopback:  {iperf / 1e6:9.0f} MB/s")
    print(f"tcp_deadlock poll echo ({args.impl}): {echo / 1e6:9.0f} MB/s "
          f"({args.bytes} bytes, best of {args.runs})")
    print(f"ratio: {ratio:.1%} (goal {GOAL:.0%}: {'met' if ratio >= GOAL else 'not met'})")


if __name__ == "__main__":
    main()
