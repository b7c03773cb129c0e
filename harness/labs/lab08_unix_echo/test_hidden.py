"""Lab 08 unix_echo, instructors' hidden tests: what the visible tests hold fixed,
varied within the handout's contract (names at the very limit of sun_path, named
clients, several and hostile descriptors, hundreds of them in a row, binary
replies, other message counts), so a program tuned to the visible tests loses
points. Points on top of the lab's 100."""
import os
import re
import socket
import uuid

import pytest

from harness.grading.contract import line, quote
from harness.labs.lab08_unix_echo.peers import (connect, listener, receive_until_close,
                                                shared_directory)
from harness.labs.lab08_unix_echo.test_grader import (ACT, SUN_PATH, accepted, converse, ended,
                                                      run_pair, start_server)

pytestmark = pytest.mark.hidden


@pytest.mark.points(4)
def test_server_accepts_names_of_exactly_107_bytes(lab):
    folder = shared_directory(lab)
    path = os.path.join(folder, "p" * (SUN_PATH - 1 - len(folder) - 1))
    name = "@" + "a" * (SUN_PATH - 1)
    for where, what in ((path, "a path"), (name, "an abstract name")):
        lab.step(f"the program was started on {what} of {SUN_PATH - 1} bytes, the most "
                 "sun_path holds")
        server, _ = start_server(lab, where)
        converse(lab, server, where, b"right at the limit")
        server.kill()


@pytest.mark.points(3)
def test_server_names_a_client_that_bound_an_address(lab):
    server, path = start_server(lab)
    named = [f"@socklab-08-client-{uuid.uuid4().hex[:8]}",
             os.path.join(shared_directory(lab), "client.sock")]
    for name in named:
        converse(lab, server, path, b"I have a name", who=f"a Python client bound to {name}",
                 bind_to=name)
        server.expect(line("Accepted a connection from {name}", name=re.escape(name)), timeout=ACT,
                      hint="print the address accept() filled in: a path, or '@' and the "
                           "bytes after sun_path's NUL for an abstract name, as long as "
                           "the returned length says")


def file_with(lab, name, content):
    path = os.path.join(lab.workdir, name)
    with open(path, "wb") as out:
        out.write(content)
    return path


def pass_descriptors(lab, server, path, label, fds):
    """A Python client passes fds with label and reads the answer until the close."""
    with lab.wire(f"a Python client passed {len(fds)} descriptor(s) with '{label}'"):
        sock = connect(lab.host, path)
        socket.send_fds(sock, [label.encode()], fds)
        sock.shutdown(socket.SHUT_WR)
        reply, closed = receive_until_close(sock, 5, watch=server)
        sock.close()
    return reply, closed


@pytest.mark.points(5)
@pytest.mark.time_limit(90)
def test_server_closes_every_descriptor_it_is_given(lab):
    server, path = start_server(lab)
    first = os.open(file_with(lab, "first.txt", b"the first file\n"), os.O_RDONLY)
    second = os.open(file_with(lab, "second.txt", b"the second file\n"), os.O_RDONLY)
    reading, writing = os.pipe()
    try:
        lab.step("a Python client passed three descriptors in one message: a file, another "
                 "file and a pipe's read end")
        reply, closed = pass_descriptors(lab, server, path, "three", [first, second, reading])
        lab.check(reply == b"the first file\n" and closed, "the server did not answer with the "
                  "first descriptor's file", expected="'the first file\\x0a'",
                  got=f"'{quote(reply)}'", hint="use the first descriptor of the message and "
                  "close() every other one")
    finally:
        for fd in (first, second, reading, writing):
            os.close(fd)
    count = 300
    lab.step(f"{count} Python clients in a row each passed one descriptor of a small file "
             "(more than the 256 descriptors the server may hold at once)")
    source = file_with(lab, "each.txt", b"one more\n")
    for number in range(1, count + 1):
        fd = os.open(source, os.O_RDONLY)
        try:
            reply, closed = pass_descriptors(lab, server, path, f"file {number}", [fd])
        finally:
            os.close(fd)
        if reply != b"one more\n" or not closed:
            lab.fail(f"client {number} of {count} was not answered with its file",
                     expected="'one more\\x0a', then the close", got=f"'{quote(reply)}'",
                     hint="close() every descriptor you receive once you are done with it: "
                          "each takes a slot in the descriptor table until then")
    converse(lab, server, path, b"still here", who="one more Python client")


@pytest.mark.points(4)
def test_server_does_not_read_a_descriptor_that_is_not_a_file(lab):
    server, path = start_server(lab)
    reading, writing = os.pipe()
    try:
        lab.step("a Python client passed the read end of a pipe whose write end it kept open "
                 "(reading it would wait forever)")
        reply, closed = pass_descriptors(lab, server, path, "a pipe", [reading])
    finally:
        os.close(reading)
        os.close(writing)
    lab.check(closed and reply == b"", "the server did not refuse to read a pipe",
              expected="nothing back, then the close (and a warning on stderr)",
              got=f"'{quote(reply)}'" + ("" if closed else ", and no close within 5 s"),
              hint="fstat() the descriptor and read it only if S_ISREG(st_mode)")
    converse(lab, server, path, b"the next one", who="the next Python client")


@pytest.mark.points(3)
def test_server_reads_a_passed_file_to_its_end(lab):
    server, path = start_server(lab)
    content = bytes(range(256)) * 160
    fd = os.open(file_with(lab, "large.bin", content), os.O_RDONLY)
    try:
        lab.step(f"a Python client passed a descriptor of a file of {len(content)} bytes "
                 "(every byte value, far more than one read() of 4096)")
        reply, closed = pass_descriptors(lab, server, path, "large.bin", [fd])
    finally:
        os.close(fd)
    lab.check(reply == content and closed, "the server did not send back the whole file",
              expected=f"all {len(content)} bytes, then the close",
              got=f"{len(reply)} bytes" + ("" if reply == content[:len(reply)] else
                                           ", not the file's"),
              hint="read() the descriptor in a loop until it returns 0 (at most 64 KiB), "
                   "sending each piece on")


@pytest.mark.points(3)
def test_client_quotes_every_byte_of_the_reply(lab):
    path = os.path.join(shared_directory(lab), "binary.sock")
    server_sock = listener(lab.host, path)
    reply = bytes(range(256))
    lab.step(f"a Python server at {path} answers the 256 byte values 0..255 and closes")
    client = lab.run("client", path, "bytes, please")
    conn = accepted(lab, server_sock, client, "the client")
    receive_until_close(conn, ACT, watch=client)
    conn.sendall(reply)
    conn.close()
    client.expect(line("The server echoed '{text}'", text=re.escape(quote(reply))), timeout=ACT,
                  hint="quote the reply with sl_quote() over its real length: it may hold NUL "
                       "bytes and newlines")
    lab.check(ended(client) == 0, "the client did not exit 0")
    server_sock.close()


@pytest.mark.points(3)
def test_pair_with_other_counts(lab):
    for args in (("1",), ("100", "--dgram")):
        lab.step(f"the program ran `unix_echo pair {' '.join(args)}`")
        count = int(args[0])
        _, kinds, messages = run_pair(lab, count, *args[1:])
        want = messages if "--dgram" in args else ["".join(messages)]
        lab.check(kinds["child"] == want, f"pair {' '.join(args)}: the child's reads were "
                  "not as expected", expected="; ".join(want)[:120],
                  got="; ".join(kinds["child"])[:120])
    lab.step("the program ran `unix_echo pair` (COUNT defaults to 3)")
    pair = lab.run("pair")
    ended(pair)
    sent = [l for l in pair.stdout if l.startswith("Parent sent")]
    lab.check(len(sent) == 3, "pair without COUNT did not send 3 messages",
              expected="3 'Parent sent' lines", got=f"{len(sent)}")
