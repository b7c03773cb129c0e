"""The command line: the only code that prints a harness error and picks an exit
status. Library code (everything outside harness/commands/) raises
harness.errors exceptions instead."""
import os
import sys

from harness.errors import HarnessError, UsageError


def entry_point(name, main, argv):
    """Run main(argv) as the command `name`; its errors become one line on stderr,
    `NAME: message`, with exit 2 for a usage error and 1 for any other."""
    try:
        return main(argv)
    except UsageError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except HarnessError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 1


def with_option(argv, name, value):
    """argv with every `NAME VALUE` or `NAME=VALUE` of option name (--impl, say)
    replaced by one `NAME VALUE` at the end: for re-executing a command with a
    setting of our own."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            kept.append(arg)
    return kept + [name, value]


def with_absolute_impl(argv, impl):
    """argv with any --impl option replaced by `--impl IMPL`, IMPL made absolute
    unless it is labs or solutions (a re-executed command may start elsewhere)."""
    return with_option(argv, "--impl",
                       impl if impl in ("labs", "solutions") else os.path.abspath(impl))
