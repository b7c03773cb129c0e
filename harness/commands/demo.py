"""`harness/demo` (behind `make demo`): run a lab's two sides in a fresh lab
network and show what happened: each program's output, then every packet that
crossed the network, decoded like tcpdump, then what to notice.

    harness/demo NN [EXPERIMENT] [--impl solutions|labs|DIR]
    harness/demo --list

The scenarios live in each lab's grader package, harness/labs/labNN_name/demo.py: a dict EXPERIMENTS of functions
taking a Demo, the default one under the name "". The lab network and the
programs are the grader's own (labnet.py, lab.py, process.py); like the grader,
the demo re-executes itself in a lab root, so it needs no privileges.
"""
import argparse
import importlib
import os
import sys
import textwrap

from harness import catalog
from harness.commands import entry_point, with_absolute_impl
from harness.errors import HarnessError, SetupError, UsageError
from harness.network import namespaces
from harness.programs.build import Implementation
from harness.network.capture import Capture
from harness.grading.lab import Lab
from harness.programs.process import NOT_IMPLEMENTED_EXIT, ProgramFailure, describe_exit
from harness.results.text import safe_line

LINE_LIMIT = 160  # longer output lines are cut, saying how long they were


class Demo:
    """One scenario's world: the lab network, the programs, the capture."""

    def __init__(self, programs):
        self.lab = Lab(programs)
        self.net = self.lab.net
        self.name = self.lab.name
        self.capture = None
        self._shown = []  # (program, host name), in start order

    # -- building and running ----------------------------------------------------

    @property
    def host(self):
        """The default host: a private loopback."""
        return self.lab.host

    def start_capture(self, hosts=None):
        """Capture from now on, on hosts (default: every host built so far but the
        switches; with none built yet, the default host)."""
        if hosts is None:
            if not self.net.hosts:
                self.host  # built on first use
            hosts = [h for h in self.net.hosts.values()
                     if not h.name.startswith(("switch-", "cable-"))]
        self.capture = Capture(hosts)

    def run(self, *args, host=None, lifetime=30, shown=True, **options):
        """Start the lab's program with args on host (default: the loopback host);
        unless shown is false, its output is printed at the end. options are
        Lab.run's (program= for a lab of several, sandbox needs)."""
        host = host or self.host
        program = self.lab.run(*args, host=host, lifetime=lifetime, **options)
        if shown:
            self._shown.append((program, host.name))
        return program

    def command(self, argv, host=None, label=None, lifetime=30):
        """Start any other command (nc, a shell line) on host, shown like a program."""
        host = host or self.host
        program = host.run(list(argv), label=label, lifetime=lifetime)
        self._shown.append((program, host.name))
        return program

    def expect(self, program, pattern, timeout=5, stream="stdout"):
        """Wait for program's line matching pattern; a clear stop if it never comes."""
        try:
            return program.expect(pattern, timeout=timeout, stream=stream)
        except ProgramFailure as failure:
            raise DemoFailure(str(failure)) from None

    def fail(self, text):
        """Stop the scenario: the program did not do its part."""
        raise DemoFailure(text)

    def say(self, text):
        """Narrate a step as it happens."""
        print(f"  * {text}", flush=True)

    # -- the report ------------------------------------------------------------

    def finish(self, notice, ip_details=False, packet_limit=60):
        """Stop everything; print outputs, packets (the first and last of them
        past packet_limit), and what to notice."""
        stopped = {id(program) for program, _ in self._shown if program.poll() is None}
        # Last started, first stopped: a client must not see its server die first.
        for program in reversed(self.lab.programs):
            program.kill()
        if self.capture:
            self.capture.stop()
        self.lab.teardown()
        self._print_outputs(stopped)
        if self.capture:
            self._print_packets(ip_details, packet_limit)
        unfinished = [program.label for program, _ in self._shown
                      if program.poll() == NOT_IMPLEMENTED_EXIT]
        if unfinished:
            print(f"\nNote: `{unfinished[0]}` is not implemented yet (it exited 3); what "
                  "follows describes what a finished program does.")
        print("\nWhat to notice:")
        print(textwrap.indent(textwrap.dedent(notice).strip(), "  "))

    def _print_outputs(self, stopped):
        if self._shown:
            print("\nWhat each program printed:")
        many_hosts = len({name for _, name in self._shown}) > 1
        for program, host in self._shown:
            where = f"   (on {host})" if many_hosts else ""
            print(f"\n  $ {program.label}{where}")
            lines = [f"    {safe_line(line, LINE_LIMIT)}" for line in program.stdout]
            lines += [f"    stderr: {safe_line(line, LINE_LIMIT)}" for line in program.stderr]
            print("\n".join(lines) if lines else "    (nothing)")
            ending = ("stopped by the demo" if id(program) in stopped
                      else describe_exit(program.poll()))
            print(f"    [{ending}]")

    def _print_packets(self, ip_details, packet_limit):
        lines, hidden = self.capture.lines(show_host=len(self.net.hosts) > 1,
                                           ip_details=ip_details)
        print(f"\nPackets, captured inside the lab network ({len(lines)}; "
              "seconds since the first):")
        if len(lines) > packet_limit:
            head, tail = packet_limit * 2 // 3, packet_limit // 3
            left_out = len(lines) - head - tail
            lines = lines[:head] + [f"… {left_out} packets not shown …"] + lines[-tail:]
        print("\n".join(f"  {line}" for line in lines) or "  (none)")
        if hidden:
            print(f"  (and {hidden} IPv6 neighbour-discovery packets, not shown)")


class DemoFailure(RuntimeError):
    """A scenario could not go on (the program did not do its part)."""


def scenarios(lab):
    """The demo module of a lab (demo.py in its grader package), or None if it has none."""
    try:
        return importlib.import_module(f"{lab.package}.demo")
    except ModuleNotFoundError as error:
        if error.name != f"{lab.package}.demo":
            raise
        return None


def list_demos():
    for lab in catalog.all_labs():
        module = scenarios(lab)
        if module is None:
            print(f"lab {lab.number} {lab.name}: no demo yet")
            continue
        for name, function in module.EXPERIMENTS.items():
            command = f"make demo LAB={lab.number}" + (f" EXPERIMENT={name}" if name else "")
            print(f"{command:<42} {first_line(function)}")


def first_line(function):
    return (function.__doc__ or "").strip().splitlines()[0]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="demo", description="Run a lab's two sides in a lab network and show the packets.")
    parser.add_argument("lab", nargs="?", metavar="NN", help="the lab, e.g. 01")
    parser.add_argument("experiment", nargs="?", default="", metavar="EXPERIMENT",
                        help="one of the lab's experiments (see --list); default: the exchange")
    parser.add_argument("--impl", default="solutions", metavar="solutions|labs|DIR",
                        help="whose programs to run: the reference solutions (default), "
                             "your labs/, or a submission directory")
    parser.add_argument("--list", action="store_true", help="list every demo and experiment")
    args = parser.parse_args(argv)
    if not args.list and not args.lab:
        parser.error("which lab? e.g. `harness/demo 01`, or --list")
    return args


def enter_lab_root(argv):
    reason = namespaces.enter_lab_root(argv, module="harness.commands.demo")
    if reason is not None:
        raise SetupError(f"{reason}; the demos need private lab networks")


def main(argv):
    return entry_point("demo", run, argv)


def run(argv):
    args = parse_args(argv)
    if args.list:
        list_demos()
        return 0
    lab = catalog.by_number(args.lab)
    module = scenarios(lab)
    if module is None:
        raise UsageError(f"lab {lab.number} has no demo yet")
    if args.experiment not in module.EXPERIMENTS:
        known = ", ".join(name for name in module.EXPERIMENTS if name)
        raise UsageError(f"lab {lab.number} has no experiment {args.experiment!r}; "
                         f"it has: {known}")
    impl = Implementation(args.impl)
    if not namespaces.in_lab_root():
        built = impl.build_lab(lab)
        if not built.ok:
            raise HarnessError(f"lab {lab.number} did not build:\n{built.output}")
        enter_lab_root(with_absolute_impl(argv, args.impl))
    function = module.EXPERIMENTS[args.experiment]
    title = f"make demo LAB={lab.number}" + (f" EXPERIMENT={args.experiment}"
                                           if args.experiment else "")
    print(f"== {title}: {first_line(function)}  [{impl.describe()}]", flush=True)
    demo = Demo({program: os.path.join(impl.bin_dir, lab.directory, program)
                 for program in lab.programs})
    try:
        function(demo)
    except DemoFailure as failure:
        demo.lab.teardown()
        print(f"\ndemo: the scenario stopped: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # `harness/demo 01 | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
