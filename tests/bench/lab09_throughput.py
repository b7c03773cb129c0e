#!/usr/bin/env python3
"""Lab 09 benchmark: how many chat lines per second chat_server fans out to 100
clients that all talk at once, inside a private network namespace, and the CPU
time the server used for it. A measurement to read, not a test: it always exits
0 unless something could not run.

    tests/bench/lab09_throughput.py [--impl solutions|labs] [--clients N]
                                    [--rounds R] [--burst K] [--runs N]

In each round every client sends K lines at once; the round ends when every
client has received the K lines of each of the others. A round moves
clients x K lines into the server and clients x (clients - 1) x K lines out,
and stays well below the 64 KiB each client may have queued, so no client is
ever dropped as too slow: a drop would be reported, and stops the run.
"""
import argparse
import os
import re
import selectors
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSIDE = "SOCKLAB_BENCH_INSIDE"
LINE = 32            # bytes of text per line, newline not counted
DEADLINE = 60.0      # seconds one round may take before the run is called stuck


def in_private_namespace(argv):
    """Re-run this script as root of a fresh user+network namespace (loopback only)."""
    if os.environ.get(INSIDE) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    os.environ[INSIDE] = "1"
    command = ["unshare", "--user", "--map-root-user", "--net", sys.executable,
               os.path.abspath(__file__), *argv]
    os.execvp(command[0], command)


def cpu_seconds(pid):
    """utime + stime of process pid, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Room:
    """clients connected to the server, each with its own count of lines received."""

    def __init__(self, port, clients):
        self.selector = selectors.DefaultSelector()
        self.socks = []
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setblocking(False)
            self.socks.append(sock)
            self.selector.register(sock, selectors.EVENT_READ)
        self.pending = {sock: b"" for sock in self.socks}
        self.lines = {sock: 0 for sock in self.socks}
        # Every client is welcomed and hears of each later one: wait for all that.
        self.wait_for({sock: 1 + len(self.socks) - 1 - i for i, sock in enumerate(self.socks)})

    def wait_for(self, wanted):
        """Read until each sock has received wanted[sock] more lines."""
        goal = {sock: self.lines[sock] + count for sock, count in wanted.items()}
        deadline = time.monotonic() + DEADLINE
        while any(self.lines[sock] < goal[sock] for sock in goal):
            if time.monotonic() > deadline:
                raise SystemExit("lab09 bench: a round took longer than "
                                 f"{DEADLINE:.0f} s; the server seems stuck")
            for key, _ in self.selector.select(1.0):
                data = key.fileobj.recv(1 << 16)
                if not data:
                    raise SystemExit("lab09 bench: the server closed a client's connection")
                if b"dropped: too slow" in data:
                    raise SystemExit("lab09 bench: the server dropped a client as too slow "
                                     "(the benchmark's clients could not keep up)")
                text = self.pending[key.fileobj] + data
                self.lines[key.fileobj] += text.count(b"\n")
                self.pending[key.fileobj] = text[text.rfind(b"\n") + 1:]

    def round(self, burst, number):
        """Every client sends burst lines at once; wait until all have heard all."""
        for index, sock in enumerate(self.socks):
            lines = b"".join(b"%04d %04d %04d " % (number, index, k) + b"." * (LINE - 15) + b"\n"
                             for k in range(burst))
            sock.setblocking(True)
            sock.sendall(lines)
            sock.setblocking(False)
        self.wait_for({sock: burst * (len(self.socks) - 1) for sock in self.socks})

    def close(self):
        self.selector.close()
        for sock in self.socks:
            sock.close()


def one_run(program, clients, rounds, burst):
    """(lines delivered per second, bytes delivered per second, server CPU seconds,
    seconds the rounds took)."""
    server = subprocess.Popen([program, "127.0.0.1", "-p", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    # The server logs a line per join and leave: cat keeps its pipe drained.
    drain = None
    try:
        first = server.stdout.readline().decode(errors="replace")
        match = re.fullmatch(r"Listening at 127\.0\.0\.1:(\d+)\n", first)
        if not match:
            raise SystemExit(f"lab09 bench: the server said {first!r}")
        drain = subprocess.Popen(["cat"], stdin=server.stdout, stdout=subprocess.DEVNULL)
        try:
            room = Room(int(match[1]), clients)
        except OSError as error:
            try:
                code = server.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
            raise SystemExit(f"lab09 bench: clients could not join: {error}"
                             + (f" (the server exited {code})" if code is not None else ""))
        cpu_before, started = cpu_seconds(server.pid), time.monotonic()
        for number in range(rounds):
            room.round(burst, number)
        took, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
        room.close()
    finally:
        server.kill()
        server.wait()
        if drain is not None:
            drain.wait()
    delivered = rounds * clients * (clients - 1) * burst
    prefix = len("127.0.0.1:12345: ")
    return delivered / took, delivered * (prefix + LINE + 1) / took, cpu, took


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default="solutions", help="labs or solutions")
    parser.add_argument("--clients", type=int, default=100, help="clients in the room")
    parser.add_argument("--rounds", type=int, default=50, help="rounds per run")
    parser.add_argument("--burst", type=int, default=10, help="lines per client per round")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    target = f"build/{args.impl}/09-chat-server/chat_server"
    if os.environ.get(INSIDE) != "1":
        subprocess.run(["make", "-s", "-C", ROOT, "all"], check=True)
    in_private_namespace(sys.argv[1:])
    program = os.path.join(ROOT, target)
    best = None
    for _ in range(args.runs):
        result = one_run(program, args.clients, args.rounds, args.burst)
        if best is None or result[0] > best[0]:
            best = result
    lines, rate, cpu, took = best
    print(f"chat_server ({args.impl}), {args.clients} clients talking at once, "
          f"{args.rounds} rounds of {args.burst} lines each (best of {args.runs}):")
    print(f"  {lines:12,.0f} lines delivered per second ({rate / 1e6:.1f} MB/s of chat)")
    print(f"  {took:12.2f} s for {args.rounds * args.clients * (args.clients - 1) * args.burst:,} "
          f"deliveries; server CPU {cpu:.2f} s ({cpu / took:.0%} of one core)")


if __name__ == "__main__":
    main()
