"""The request journal: every request the mock receives (GWS REST and Bayeux, Platform REST and OAuth, bus
frames), with its contract verdict — WireMock's request journal, for a developer asking "what did my app send,
and was it right?".

Why bounded and lazy: the journal sits on every request's path. Recording only appends a small entry to a ring
buffer (oldest dropped first) holding the bodies' bytes; they are parsed and redacted, and the verdict
(:mod:`voicekit.exchanges`, the same engine a validation proxy uses) computed, when someone reads the entry, then
kept. Bodies larger than ``MAX_KEPT_BODY`` are judged at once and kept truncated. A size of 0 turns the journal off
(load tests).

Secrets never enter it: no headers but ``Content-Type``/``Origin``, and values of secret-looking keys (passwords,
tokens, codes, verifiers, assertions) in bodies, forms and queries are replaced before anything is shown; a body
that may hold one (its bytes name one, or could hide one behind an escape or a form's encoding) is redacted at
once, so its raw bytes are not kept.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver import jsonsafe
from voicekit.exchanges import NO_BODY, ExchangeJudge, Verdict

__all__ = ["MAX_KEPT_BODY", "Entry", "Journal", "redact"]

#: Request or response bodies longer than this (bytes) are judged at once and kept truncated.
MAX_KEPT_BODY = 16_384
SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|verifier|assertion|authorization|cookie|^code$|csrf|credential", re.IGNORECASE
)
REDACTED = "***"


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with every secret-looking member's value replaced (bounded depth)."""
    if depth > 32:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _secret(k, v) else redact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, depth + 1) for v in value]
    return value


def _secret(key: Any, value: Any) -> bool:
    """A secret-looking member holding something that can be a secret: a flag (GWS's
    ``changePasswordOnFirstLogin: false``) is shown as it is; a number may be a PIN, and is not."""
    if value is None or value == "" or isinstance(value, bool):
        return False
    return SECRET_KEY.search(str(key)) is not None


@dataclass
class Entry:
    """One journaled exchange. ``judge`` computes the verdict on first read."""

    id: int
    time: float
    system: str
    kind: str  # http | bayeux | bus
    method: str
    path: str
    status: int | None
    duration_ms: float | None
    user: str | None
    operation: str | None
    query: dict[str, str] = field(default_factory=dict)
    request: Any = None
    response: Any = None
    truncated: bool = False
    judge: Callable[[], Verdict] | None = field(default=None, repr=False)
    _verdict: Verdict | None = field(default=None, repr=False)
    # Computes (request, response) as shown, on first read: parsing and redacting bodies is the journal's
    # main cost, and most entries are never read.
    bodies: Callable[[], tuple[Any, Any]] | None = field(default=None, repr=False)

    def shown(self) -> tuple[Any, Any]:
        """The request and response bodies as the journal shows them (redacted)."""
        bodies = self.bodies
        if bodies is not None:
            self.request, self.response = bodies()
            self.bodies = None
        return self.request, self.response

    @property
    def verdict(self) -> Verdict:
        if self._verdict is None:
            judge, self.judge = self.judge, None
            self._verdict = judge() if judge is not None else Verdict(self.system)
        return self._verdict

    def as_dict(self) -> dict[str, Any]:
        verdict = self.verdict
        request, response = self.shown()
        return {
            "id": self.id,
            "time": round(self.time, 3),
            "system": self.system,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "durationMs": self.duration_ms,
            "user": self.user,
            "operation": self.operation or verdict.operation,
            "operationName": verdict.operation_name,
            "request": request,
            "response": response,
            "truncated": self.truncated,
            "verdict": verdict.as_dict(),
        }


class Journal:
    """A bounded, thread-safe ring of entries, newest last."""

    def __init__(self, judge: ExchangeJudge, size: int = 1000) -> None:
        self.judge = judge
        self.size = max(0, size)
        self._entries: deque[Entry] = deque(maxlen=self.size or 1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.dropped = 0
        self.listeners: list[Callable[[Entry], None]] = []

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.dropped = 0

    def _add(self, entry: Entry) -> Entry:
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)
        for listener in list(self.listeners):
            listener(entry)
        return entry

    # ---- recording -----------------------------------------------------------------------------------------
    def record_http(
        self,
        *,
        system: str,
        method: str,
        path: str,
        api_path: str,
        query: Mapping[str, str],
        user: str | None,
        request_bytes: bytes,
        request_type: str,
        status: int,
        response_bytes: bytes | None,
        response_type: str,
        duration_ms: float,
        kind: str = "http",
        operation: str | None = None,
    ) -> Entry | None:
        """Journal one HTTP exchange (``api_path`` is the path the contracts know, without mount prefix)."""
        if not self.enabled:
            return None
        response_bytes = response_bytes or b""
        clean_query = {k: (REDACTED if SECRET_KEY.search(k) else v) for k, v in query.items()} if query else {}
        parsed: list[tuple[tuple[Any, bool], tuple[Any, bool]]] = []

        def bodies_parsed() -> tuple[tuple[Any, bool], tuple[Any, bool]]:
            # Parsed once, when the entry is first read (judged or shown); the bytes are immutable.
            if not parsed:
                parsed.append((_body(request_bytes, request_type), _body(response_bytes, response_type)))
            return parsed[0]

        def judge() -> Verdict:
            (request_body, request_json), (response_body, response_json) = bodies_parsed()
            return self.judge.http(
                system,
                method,
                api_path,
                query=query,
                request_body=request_body,
                request_is_json=request_json,
                request_type=request_type,
                status=status,
                response_body=response_body,
                response_is_json=response_json,
            )

        def shown() -> tuple[Any, Any]:
            (request_body, _), (response_body, _) = bodies_parsed()
            return _kept(request_body, request_bytes), _kept(response_body, response_bytes)

        big = len(request_bytes) > MAX_KEPT_BODY or len(response_bytes) > MAX_KEPT_BODY
        secret = _may_hold_secret(request_bytes, request_type) or _may_hold_secret(response_bytes, response_type)
        entry = Entry(
            next(self._ids),
            time.time(),
            system,
            kind,
            method,
            path,
            status,
            round(duration_ms, 2),
            user,
            operation,
            clean_query,
            truncated=big,
            judge=judge,
            bodies=shown,
        )
        if big:  # judge now: the full bodies are not kept
            _ = entry.verdict
        if big or secret:  # shape (redact) now: neither a full body nor a secret is kept
            entry.shown()
            parsed.clear()
        return self._add(entry)

    def record_message(
        self,
        *,
        system: str,
        channel: str | None,
        message: Any,
        user: str | None,
        operation: str | None,
        direction: str,
        path: str,
    ) -> Entry | None:
        """Journal one bus frame or notification (``direction``: ``in`` from the client, ``out`` to it)."""
        if not self.enabled:
            return None
        side = "request" if direction == "in" else "response"

        def judge() -> Verdict:
            return self.judge.message(system, channel, message, side=side, operation=operation)

        kept = redact(message)
        entry = Entry(
            next(self._ids),
            time.time(),
            system,
            "bus",
            "FRAME" if direction == "in" else "EVENT",
            path,
            None,
            None,
            user,
            operation,
            {},
            kept if direction == "in" else None,
            kept if direction == "out" else None,
            judge=judge,
        )
        return self._add(entry)

    # ---- reading -------------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def find(self, filters: Mapping[str, Any]) -> list[Entry]:
        """Entries matching every given filter (see :func:`matches`), oldest first."""
        return [e for e in self.entries() if matches(e, filters)]


FILTERS = (
    "system",
    "kind",
    "user",
    "operation",
    "operationName",
    "method",
    "path",
    "status",
    "verdict",
    "since",
    "until",
    "rule",
)


def matches(entry: Entry, filters: Mapping[str, Any]) -> bool:
    """``system``, ``kind``, ``user``, ``method``, ``status``: equal; ``operation``: the operationId, bus
    subtopic or Bayeux channel, or the GWS operationName; ``path``: a prefix; ``verdict``: ``ok`` or
    ``violation``; ``rule``: a violated rule; ``since``/``until``: epoch seconds."""
    for key, wanted in filters.items():
        if wanted is None or wanted == "":
            continue
        if key in ("system", "kind", "user", "method") and str(getattr(entry, key)) != str(wanted):
            return False
        if key == "status" and str(entry.status) != str(wanted):
            return False
        if key == "path" and not entry.path.startswith(str(wanted)):
            return False
        if key == "since" and entry.time < float(wanted):
            return False
        if key == "until" and entry.time > float(wanted):
            return False
        if key in ("operation", "operationName"):
            verdict = entry.verdict
            names = {entry.operation, verdict.operation, verdict.operation_name} - {None}
            if str(wanted) not in names:
                return False
        if key == "verdict" and (("ok" if entry.verdict.ok else "violation") != str(wanted)):
            return False
        if key == "rule" and str(wanted) not in {v.rule for v in entry.verdict.violations}:
            return False
    return True


def unknown_filters(filters: Iterable[str]) -> list[str]:
    return sorted(set(filters) - set(FILTERS) - {"limit"})


# A secret-looking member name followed by a value other than true, false or null (what ``redact`` replaces; a
# flag is shown as it is), or any escape (which could hide such a name).
SECRET_BYTES = re.compile(
    rb'(?:(?:pass|secret|token|verifier|assertion|authorization|cookie|csrf|credential)[^"]*|"code)"\s*:\s*[^\stfn]'
    rb"|\\u",
    re.IGNORECASE,
)


def _may_hold_secret(data: bytes, content_type: str) -> bool:
    """Whether a body may hold a secret-looking member (or hide one behind an escape or a form's encoding): such a
    body is redacted at once instead of being kept raw until first read."""
    return bool(data) and ("x-www-form-urlencoded" in content_type or SECRET_BYTES.search(data) is not None)


def _body(data: bytes, content_type: str) -> tuple[Any, bool]:
    """(parsed body or NO_BODY, whether it is JSON). Forms are kept as a dict (not judged as JSON)."""
    if not data:
        return NO_BODY, True
    if "x-www-form-urlencoded" in content_type:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(data.decode("utf-8", "replace"))), True
    try:
        from voicekit.exchanges import parse_json

        body = parse_json(data)
        if body is not NO_BODY:
            jsonsafe.check(body)  # what the mock refuses (1e999, too deep) is kept as text, never re-emitted
        return body, True
    except (ValueError, RecursionError):
        return NO_BODY, False


def _kept(body: Any, data: bytes) -> Any:
    """What the journal shows of a body: redacted JSON, or a truncated text."""
    if body is NO_BODY:
        return data[:512].decode("utf-8", "replace") if data else None
    if len(data) > MAX_KEPT_BODY:
        return data[:MAX_KEPT_BODY].decode("utf-8", "replace") + "…"
    try:
        return redact(body)
    except RecursionError:
        return "(too deeply nested to show)"
