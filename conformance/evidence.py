"""What the suite saw while a test ran: HTTP exchanges and notifications, recorded for the certificate and
reported as Allure steps — always redacted (see ``conformance.redact``).

The plugin opens one :class:`EvidenceLog` per test (:func:`begin`/:func:`end`); the transports append to
:func:`current`. Outside a test (a script using the transports directly) records go to a throw-away log.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conformance import safejson
from conformance.redact import redact_body, redact_headers, redact_json, redact_text, redact_url

__all__ = ["EvidenceLog", "Exchange", "Notification", "attach", "begin", "current", "end", "report_exchange", "step"]

_BODY_LIMIT = 20_000


@dataclass
class Exchange:
    """One HTTP request and its response (or the transport error that replaced it). Raw values: call
    :meth:`redacted` before showing it to anyone."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    elapsed: float = 0.0
    error: str | None = None
    started: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.response_headers.items() if k.lower() == lower), None)

    def json(self) -> Any:
        """The response body parsed as JSON (``ValueError`` when it is not JSON)."""
        return safejson.loads(self.response_body or "")

    def summary(self) -> str:
        """One redacted line: ``POST /api/v2/me → 200 (12 ms)``."""
        outcome = f"{self.status}" if self.status is not None else f"no response ({self.error})"
        return redact_text(f"{self.method} {redact_url(self.path)} → {outcome} ({self.elapsed * 1000:.0f} ms)")

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready copy with every secret replaced and long bodies cut."""
        req_type = next((v for k, v in self.request_headers.items() if k.lower() == "content-type"), None)
        res_type = self.header("content-type")
        return {
            "method": self.method,
            "url": redact_url(self.url),
            "request": {
                "headers": redact_headers(self.request_headers),
                "body": _cut(redact_body(self.request_body, req_type)) if self.request_body else None,
            },
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": redact_headers(self.response_headers),
                "body": _cut(redact_body(self.response_body, res_type)) if self.response_body else None,
            },
            "elapsed_ms": round(self.elapsed * 1000, 1),
            "error": redact_text(self.error) if self.error else None,
        }


@dataclass
class Notification:
    """One message received on a notification channel (CometD, WebSocket)."""

    transport: str
    channel: str | None
    message: Any
    received: float = field(default_factory=time.time)
    direction: str = "received"  # or "sent"

    def summary(self) -> str:
        text = json.dumps(redact_json(self.message), ensure_ascii=False, default=str)
        arrow = "→" if self.direction == "sent" else "←"
        return f"{self.transport} {self.channel or ''} {arrow} {_cut(text, 300)}".replace("  ", " ")


def _cut(text: str, limit: int = _BODY_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


class EvidenceLog:
    """The records of one test, appended from any thread."""

    def __init__(self, test: str = "") -> None:
        self.test = test
        self._lock = threading.Lock()
        self._records: list[Exchange | Notification] = []

    def add(self, record: Exchange | Notification) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[Exchange | Notification]:
        with self._lock:
            return list(self._records)

    @property
    def exchanges(self) -> list[Exchange]:
        return [r for r in self.records if isinstance(r, Exchange)]

    def summaries(self, last: int = 10) -> list[str]:
        """The last ``last`` records as redacted one-liners, oldest first."""
        return [r.summary() for r in self.records[-last:]]


_lock = threading.Lock()
_current: EvidenceLog | None = None
_orphans = EvidenceLog("(outside a test)")


def begin(test: str) -> EvidenceLog:
    """Start the evidence of a test; the previous one is dropped."""
    global _current
    with _lock:
        _current = EvidenceLog(test)
        return _current


def end() -> EvidenceLog | None:
    global _current
    with _lock:
        log, _current = _current, None
        return log


def current() -> EvidenceLog:
    with _lock:
        return _current if _current is not None else _orphans


# ---- Allure, optional at run time ------------------------------------------------------------------------
def _allure() -> Any:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return None
    return allure


@contextmanager
def step(title: str) -> Iterator[None]:
    """An Allure step (a no-op when Allure is not recording); the title is redacted."""
    allure = _allure()
    if allure is None:
        yield
        return
    with allure.step(redact_text(title)):
        yield


def attach(body: str, name: str, kind: str = "json") -> None:
    """Attach already-redacted text to the current Allure step or test."""
    allure = _allure()
    if allure is None:
        return
    types = {"json": allure.attachment_type.JSON, "text": allure.attachment_type.TEXT}
    allure.attach(body, name=name, attachment_type=types.get(kind, allure.attachment_type.TEXT))


def report_exchange(exchange: Exchange) -> None:
    """Record an exchange in the current test's evidence and as an Allure step with redacted attachments."""
    current().add(exchange)
    data = exchange.redacted()
    with step(exchange.summary()):
        attach(json.dumps(data["request"], indent=2, ensure_ascii=False), "request")
        if data["response"] is not None:
            attach(json.dumps(data["response"], indent=2, ensure_ascii=False), "response")
        if data["error"]:
            attach(data["error"], "transport error", "text")
