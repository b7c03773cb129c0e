"""The output conventions every lab program follows (DESIGN §2), written again
in Python so the graders check the C programs against an independent version."""
import ipaddress
import re


def quote(data):
    """Bytes as the programs print them: printable ASCII as is, backslash and
    single quote escaped with a backslash, anything else as \\xNN (lower case)."""
    out = []
    for byte in data:
        if byte in (0x5C, 0x27):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def address(host, port):
    """'IP:PORT', or '[IPv6]:PORT'."""
    if ipaddress.ip_address(host).version == 6:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class Line(str):
    """A regex for one output line that also knows how to show itself to people."""
    readable = ""


def line(template, **parts):
    """A regex that fullmatches one output line: template's text literally, with
    {name} replaced by parts[name] (a regex). For example
    line("Listening at {addr}", addr=ADDRESS). Failure messages show the template
    with each {name} as <name>, or as the literal text when the part is one."""
    pieces = re.split(r"(\{\w+\})", template)
    regex, shown = [], []
    for piece in pieces:
        if re.fullmatch(r"\{\w+\}", piece):
            part = parts[piece[1:-1]]
            regex.append(part)
            literal = re.sub(r"\\(.)", r"\1", part)
            shown.append(literal if re.escape(literal) == part else f"<{piece[1:-1]}>")
        else:
            regex.append(re.escape(piece))
            shown.append(piece)
    result = Line("".join(regex))
    result.readable = "".join(shown)
    return result


# An IPv4 address and port as printed, with groups for each.
ADDRESS = r"(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d{1,5})"



# A zone 5 h 45 min east of UTC, in POSIX TZ syntax (no time zone files needed):
# run a program in it and its local time differs from UTC wherever the grader runs.
OTHER_ZONE = "SLT-5:45"
