"""The feedback helpers every grader shares: expected lines shown as readable text,
the generic diagnoses (errno, byte order, stderr), a grader-side socket error told
as the exchange's failure, and folding of failures that differ only in numbers."""
import errno
import io
import types

from harness.grading.contract import ADDRESS, line
from harness.grading.diagnoses import errno_hint, port_hint, stderr_hint, swapped
from harness.grading.plugin import peer_socket_failure
from harness.programs.readable import readable_pattern
from harness.results import model
from harness.results.terminal import render_terminal


def test_a_regex_reads_as_the_line_it_expects():
    assert readable_pattern(r"Waiting up to (?P<delay>\S+) seconds") == "Waiting up to <delay> seconds"
    assert readable_pattern(r"Client socket name is .*") == "Client socket name is …"
    assert readable_pattern(r"It\'s 1\.5 \\ x") == "It's 1.5 \\ x"
    assert readable_pattern(r"(?:0\.0\.0\.0|127\.0\.0\.1):(?P<port>\d+)") == \
        "(0.0.0.0 or 127.0.0.1):<port>"
    assert line("Listening at {addr}", addr=ADDRESS).readable == "Listening at <addr>"


def test_a_byte_swapped_port_is_recognised():
    assert swapped(1060) == 9220 and swapped(swapped(40123)) == 40123
    assert "getsockname" in port_hint(0)
    assert port_hint(1060) == ""  # without a program to ask, nothing is claimed


def test_errno_and_stderr_hints_name_the_cause():
    assert "ICMP port unreachable" in errno_hint(ConnectionRefusedError(errno.ECONNREFUSED, "x"))
    assert "SO_BROADCAST" in errno_hint(errno.EACCES)
    assert "SO_BROADCAST" in stderr_hint(["udp_broadcast: sendto: Permission denied"])
    assert stderr_hint(["all fine"]) == ""


def test_a_socket_error_of_a_peer_is_told_as_the_exchange_failing():
    item = types.SimpleNamespace()
    told = peer_socket_failure(item, ConnectionRefusedError(errno.ECONNREFUSED,
                                                            "Connection refused"))
    assert "internal error" not in told and "ECONNREFUSED" in told and "ICMP" in told


def test_failures_that_differ_only_in_a_port_fold():
    tests = [model.TestResult(nodeid=f"t{n}", name=f"test_server_x{n}", lab="01", index=n, max=5,
                        outcome="failed",
                        feedback=f"udp_local server -p 0 printed port {port}\nmore detail")
             for n, port in enumerate((40123, 51234))]
    lab = model.LabResult(number="01", name="udp_local", programs=["udp_local"], tests=tests)
    out = io.StringIO()
    render_terminal(model.Report(implementation="x", labs=[lab]), out)
    assert out.getvalue().count("more detail") == 1
    assert "printed port 51234  (as above)" in out.getvalue()
