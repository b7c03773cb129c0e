"""A real NTP server for the lab 07 grader: chronyd on a lab host, its clock shifted
with libfaketime, asked by python3-ntplib as an independent second client.

chronyd runs unprivileged in the lab root (root only inside the user namespace)
with a configuration of its own: it serves its (shifted) system clock as
`local stratum N`, never touches the real clock (-x), stays in the foreground (-d)
and writes nothing outside a private directory.
"""
import glob
import importlib.util
import os
import shutil
import time

from harness.programs.build import build_tool
from harness.timeouts import scaled

SHIM_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "no_kernel_timestamps.c")
LIBFAKETIME = "/usr/lib/*/faketime/libfaketime.so.1"
READY_TIMEOUT = 5.0

CONFIG = """\
local stratum {stratum}
allow all
port {port}
cmdport 0
bindcmdaddress /
pidfile {directory}/chronyd.pid
"""


def shift_text(shift):
    """+3600, -86400, +0.25: a clock shift as people write it."""
    return f"{shift:+.6f}".rstrip("0").rstrip(".")


def libfaketime():
    found = sorted(glob.glob(LIBFAKETIME))
    return found[0] if found else None


def unavailable_reason():
    """Why a shifted chronyd cannot run on this machine, or None if it can."""
    if importlib.util.find_spec("ntplib") is None:
        return "python3-ntplib is not installed (make deps)"
    if shutil.which("chronyd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
        return "chronyd is not installed (make deps: package chrony)"
    if libfaketime() is None:
        return "libfaketime is not installed (make deps: package faketime)"
    if shutil.which("cc") is None:
        return "no C compiler (cc) to build the timestamp shim"
    return None


def build_shim():
    """The preload library that keeps chronyd off kernel timestamps, compiled once
    into build/harness/ and shared by every grader process."""
    return build_tool(SHIM_SOURCE, "ntp_no_kernel_timestamps.so", "-shared", "-fPIC", "-ldl")


def ask_ntplib(host, address, port=123, timeout=0.5):
    """One ntplib request from host; its NTPStats (offset, delay, tx_time, ...)."""
    import ntplib
    return host.inside(lambda: ntplib.NTPClient().request(address, version=4, port=port,
                                                           timeout=timeout))


class Chronyd:
    """chronyd on host, its clock `shift` seconds ahead of the real one (negative:
    behind). Started by start(); ready() waits until it answers."""

    def __init__(self, host, directory, shim, shift=0.0, stratum=5, port=123):
        self.host, self.shift, self.stratum, self.port = host, shift, stratum, port
        with open(os.path.join(directory, "chrony.conf"), "w") as conf:
            conf.write(CONFIG.format(stratum=stratum, port=port, directory=directory))
        chronyd = shutil.which("chronyd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        argv = ["env", f"FAKETIME={shift:+.6f}", "FAKETIME_DONT_FAKE_MONOTONIC=1",
                f"LD_PRELOAD={libfaketime()} {shim}",
                chronyd, "-f", os.path.join(directory, "chrony.conf"), "-d", "-x", "-u", "root"]
        self.program = host.run(argv, label=f"chronyd (clock {shift_text(shift)} s)", lifetime=60)

    def ready(self, address="127.0.0.1"):
        """Wait until chronyd answers an ntplib probe; the answer (NTPStats)."""
        import ntplib
        deadline = time.monotonic() + scaled(READY_TIMEOUT)
        while time.monotonic() < deadline:
            if self.program.poll() is not None:
                break
            try:
                return ask_ntplib(self.host, address, self.port, timeout=0.2)
            except (ntplib.NTPException, OSError):
                continue
        raise RuntimeError("chronyd did not start answering within "
                           f"{scaled(READY_TIMEOUT):.0f} s\n{self.program.tail(12)}")
