"""Request headers for gevent's WSGI server, parsed without the e-mail parser when they are plain.

pywsgi parses every request's headers with ``http.client.parse_headers``, which hands them to ``email.parser``:
a tenth of a small request's cost. Plain header lines (a token, a colon, a value; no folding) are read here into
the same message class with the same values that parser gives them; anything else (folded lines, a line that is
not a header, a name with a space) goes to the e-mail parser as before, so unusual input is read exactly as it was.
``tests/mockserver/test_wsgi_headers.py`` holds the two to the same result on arbitrary input.
"""

from __future__ import annotations

import email.parser
import re
from http import client
from typing import Any

from gevent.pywsgi import OldMessage  # type: ignore[attr-defined]

# One plain header line: a field name of visible ASCII without the colon (what the e-mail parser reads as a name),
# the colon, then a value without line breaks, ending in CRLF or LF.
PLAIN = re.compile(rb"([!-9;-~]+):([^\r\n]*)\r?\n")


def request_headers(fp: Any, *_: Any) -> Any:
    """``WSGIHandler.MessageClass``: the headers of the request on ``fp``, up to and including the blank line."""
    try:
        lines = client._read_headers(fp)  # type: ignore[attr-defined]  # the line and count limits of http.client
    except client.LineTooLong:
        message = OldMessage()
        message.status = "Line too long"  # what pywsgi's own factory answers
        return message
    return parse(lines)


def parse(lines: list[bytes]) -> Any:
    """An ``OldMessage`` of the header ``lines`` (each with its line end; the last may be the blank line)."""
    message = OldMessage()
    fields = message._headers
    for line in lines:
        if line in (b"\r\n", b"\n", b""):
            break
        plain = PLAIN.fullmatch(line)
        if plain is None:
            return email.parser.Parser(_class=OldMessage).parsestr(b"".join(lines).decode("iso-8859-1"))
        # As the e-mail parser's compat32 policy: leading blanks of the value go, trailing ones stay.
        fields.append((plain[1].decode("iso-8859-1"), plain[2].decode("iso-8859-1").lstrip(" \t")))
    return message
