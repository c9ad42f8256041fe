"""Redaction of secrets before anything is written: Allure attachments, evidence in the certificate,
console messages.

Why: certificates and Allure results are shared with people who must not see the target's passwords,
session cookies or OAuth tokens. Every path that writes an exchange goes through this module.

What is redacted:

* headers ``Authorization``, ``Proxy-Authorization`` (the scheme word is kept: ``Basic ***``), ``Cookie``
  and ``Set-Cookie`` (cookie names and attributes are kept: ``JSESSIONID=***; Path=/``), ``X-CSRF-TOKEN``;
* the members :data:`SECRET_KEYS` (``access_token``, ``refresh_token``, ``id_token``, ``code``,
  ``code_verifier``, ``client_secret``, ``secret`` — an OAuth client's, as the control API takes it —,
  ``password``, ``assertion``) in JSON bodies at any depth, in
  ``application/x-www-form-urlencoded`` bodies, in URL query strings and fragments; the password of a URL's
  user-info (``user:***@host``);
* in free text, ``Basic``/``Bearer`` credentials, ``key=value`` and ``"key": "value"`` pairs of those keys.

``code`` is special: it is the OAuth authorization code in query strings and form bodies (always
redacted there), but in JSON it is usually an error code (Platform ``ErrorBody.code``, Connect errors),
which the evidence needs. In JSON it is redacted only inside an object that also carries an OAuth member
(:data:`OAUTH_CONTEXT_KEYS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit, urlunsplit

from conformance import safejson

__all__ = [
    "MASK",
    "OAUTH_CONTEXT_KEYS",
    "SECRET_HEADERS",
    "SECRET_KEYS",
    "redact_body",
    "redact_form",
    "redact_header",
    "redact_headers",
    "redact_json",
    "redact_text",
    "redact_url",
]

MASK = "***"

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrf-token"})
SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "client_secret",
        "secret",
        "password",
        "assertion",
    }
)
#: Members whose presence makes ``code`` in the same JSON object an OAuth authorization code.
OAUTH_CONTEXT_KEYS = frozenset(
    {"grant_type", "redirect_uri", "code_verifier", "client_id", "state", "response_type", "code_challenge"}
)

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s+\S")
_KEYS_RE = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
# key=value in text, query strings or forms (value up to the next separator).
_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_KEYS_RE})=)([^&\s;,\"'#]+)")
# "key": "value" or "key": 123 in JSON-looking text that could not be parsed.
_JSON_PAIR = re.compile(rf"(?i)(\"(?:{_KEYS_RE})\"\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|[^,}}\]\s]+)")
_CREDENTIALS = re.compile(r"(?i)\b(Basic|Bearer|Digest|Negotiate)\s+[A-Za-z0-9._~+/=:-]+")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@")
# A secret header written out in text or a repr: "X-CSRF-TOKEN: v", "'Cookie': 'v'", "cookie=v".
_HEADER_PAIR = re.compile(
    r"(?i)\b(x-csrf-token|set-cookie|cookie|proxy-authorization)(['\"]?\s*[:=]\s*['\"]?)"
    r"([^'\"\n,}]+)"
)
# Session cookies wherever they appear.
_SESSION_COOKIE = re.compile(r"(?i)\b(JSESSIONID=)([^;\s,'\"&]+)")


def redact_header(name: str, value: str) -> str:
    """One header value with its secret replaced (non-secret headers come back unchanged)."""
    lower = name.lower()
    if lower not in SECRET_HEADERS:
        return redact_text(value) if lower in ("location", "referer") else value
    if lower in ("authorization", "proxy-authorization"):
        match = _SCHEME.match(value)
        return f"{match.group(1)} {MASK}" if match else MASK
    if lower == "cookie":
        return "; ".join(_mask_cookie(part) for part in value.split(";") if part.strip())
    if lower == "set-cookie":
        first, _, attributes = value.partition(";")
        masked = _mask_cookie(first)
        return f"{masked};{attributes}" if attributes else masked
    return MASK


def _mask_cookie(pair: str) -> str:
    name, sep, _ = pair.strip().partition("=")
    return f"{name}={MASK}" if sep else MASK


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """A plain dict of the headers with secrets replaced; repeated headers are joined with ``, ``
    (``Set-Cookie`` values with a newline, since they contain commas)."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    if hasattr(headers, "multi_items"):
        items = headers.multi_items()  # httpx.Headers: keep every Set-Cookie
    out: dict[str, str] = {}
    for name, value in items:
        masked = redact_header(name, value)
        if name in out:
            out[name] += ("\n" if name.lower() == "set-cookie" else ", ") + masked
        else:
            out[name] = masked
    return out


def redact_url(url: str) -> str:
    """The URL with the user-info password and the secret query/fragment parameters replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else netloc
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query), _redact_query(parts.fragment)))


def _redact_query(query: str) -> str:
    if not query or "=" not in query:
        return query
    out = []
    for piece in query.split("&"):
        key, sep, _ = piece.partition("=")
        out.append(f"{key}={MASK}" if sep and unquote_plus(key).lower() in SECRET_KEYS else piece)
    return "&".join(out)


def redact_form(body: str) -> str:
    """An ``application/x-www-form-urlencoded`` body with secret fields replaced (order kept)."""
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return redact_text(body)
    return "&".join(f"{quote(k, safe='')}={MASK if k.lower() in SECRET_KEYS else quote(v, safe='')}" for k, v in pairs)


def redact_json(value: Any) -> Any:
    """A deep copy of a JSON value with secret members replaced, at any depth."""
    if isinstance(value, Mapping):
        oauth = any(str(k).lower() in OAUTH_CONTEXT_KEYS for k in value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            lower = str(key).lower()
            secret = lower in SECRET_KEYS and (lower != "code" or oauth)
            if secret and item is not None:
                out[key] = MASK
            elif isinstance(item, str):
                out[key] = redact_text(item)
            else:
                out[key] = redact_json(item)
        return out
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """Best effort over free text: credentials after a scheme word, URL passwords, ``key=value`` and
    JSON-looking ``"key": value`` pairs of secret keys (``code`` included: free text has no context)."""
    if not text:
        return text
    text = _CREDENTIALS.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _HEADER_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _SESSION_COOKIE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _JSON_PAIR.sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def redact_body(body: Any, content_type: str | None = None) -> str:
    """A request or response body (str, bytes, or a parsed JSON value) as redacted text.

    JSON (by content type or because it parses) is redacted member by member and re-serialised with
    indentation; form bodies field by field; anything else with :func:`redact_text`.
    """
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes of binary data>"
    if not isinstance(body, str):
        return json.dumps(redact_json(body), indent=2, ensure_ascii=False)
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return redact_form(body)
    stripped = body.lstrip()
    if "json" in kind or stripped[:1] in ("{", "["):
        try:
            parsed = safejson.loads(body)
        except ValueError:
            return redact_text(body)
        return json.dumps(redact_json(parsed), indent=2, ensure_ascii=False)
    return redact_text(body)
