"""The fast header parser of the mock's WSGI server reads every header block as the e-mail parser does."""

from __future__ import annotations

import io
from http import client

from gevent.pywsgi import OldMessage
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.wsgi_headers import PLAIN, request_headers


def _reference(block: bytes) -> OldMessage:
    """What pywsgi's own factory makes of ``block``."""
    return client.parse_headers(io.BytesIO(block), _class=OldMessage)


def _same(block: bytes) -> None:
    ours, theirs = request_headers(io.BytesIO(block)), _reference(block)
    assert list(ours.items()) == list(theirs.items())
    assert list(ours.headers) == list(theirs.headers)
    assert ours.status == theirs.status
    for name in ("content-length", "Transfer-Encoding", "connection", "content-type", "x-missing"):
        assert ours.get(name) == theirs.get(name)
        assert ours.get_all(name) == theirs.get_all(name)


def test_a_plain_request_is_read_without_the_email_parser() -> None:
    block = b"Host: localhost:8090\r\nAuthorization: Basic eDp5\r\nContent-Length: 25\r\n\r\n"
    assert all(PLAIN.fullmatch(line) for line in block.splitlines(keepends=True)[:-1])
    _same(block)
    message = request_headers(io.BytesIO(block + b'{"operationName":"Ready"}'))
    assert message.get("content-length") == "25" and message.get("authorization") == "Basic eDp5"


def test_unusual_blocks_are_read_as_before() -> None:
    for block in (
        b"X-Folded: one\r\n two\r\nHost: h\r\n\r\n",  # obsolete line folding
        b"Bad Name: x\r\nHost: h\r\n\r\n",  # not a header: the rest is a body to the e-mail parser
        b":empty name\r\n\r\n",
        b"Host:   spaced   \r\nA:\r\nB:\tx\r\n\r\n",
        b"Host: a\rb\r\n\r\n",  # a lone CR
        b"Host: h\r\n",  # no blank line: the connection ended
        b"",
        b"Host: \xff\xfe\r\nX: \x00\r\n\r\n",
    ):
        _same(block)


def test_an_over_long_line_is_refused_as_pywsgi_refuses_it() -> None:
    message = request_headers(io.BytesIO(b"X: " + b"a" * 70_000 + b"\r\n\r\n"))
    assert message.status == "Line too long"


HEADER_BYTES = st.binary(max_size=40) | st.sampled_from(
    [b"Host", b"Content-Length", b" ", b"\t", b":", b"\r", b"\n", b"\r\n", b"From ", b"a: b", b"\xe9"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(HEADER_BYTES, max_size=6).map(b"".join), max_size=8))
def test_any_block_is_read_as_the_email_parser_reads_it(lines: list[bytes]) -> None:
    _same(b"".join(line + b"\r\n" for line in lines) + b"\r\n")
