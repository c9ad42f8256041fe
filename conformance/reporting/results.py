"""Result events: what the plugin emits and the reporters consume.

Why events: the certificate, the NDJSON log and anything a vendor adds are independent consumers of one
stream (``start``/``handle``/``shutdown``), so adding a reporter never touches the plugin.

Outcomes:

* ``passed``;
* ``failed`` — the target broke a rule (a :class:`ConformanceFailure`, a plain ``AssertionError``, or the
  target being unreachable/garbled);
* ``error`` — the kit could not do its job (a :class:`VoicekitError`, a bug in a family): counted against the
  score like a failure, since nothing was certified, but shown apart;
* ``not-run`` — skipped with a reason (``not-run:`` prefix; every skip counts as not run, never as passed);
* ``not-selected`` — deselected by ``--profile`` (listed, not counted).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "OUTCOMES",
    "Collector",
    "EventHandler",
    "NdjsonReporter",
    "SessionFinished",
    "SessionStarted",
    "TestFinished",
    "TestResult",
]

OUTCOMES = ("passed", "failed", "error", "not-run", "not-selected")


@dataclass
class TestResult:
    """The final outcome of one test, with what the certificate needs to explain it (already redacted)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    name: str
    profile: str | None
    outcome: str
    duration: float = 0.0
    reason: str | None = None
    rule: str | None = None
    title: str | None = None
    message: str | None = None
    severity: str | None = None
    check: str | None = None
    fixture: str | None = None
    document: str | None = None
    lines: list[int] | None = None
    operations: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    phase: str | None = None
    #: Advisory findings (see ``conformance.advisory``): reported, never scored.
    advisories: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class SessionStarted:
    target: dict[str, Any]
    selected: list[str] | None
    started: str


@dataclass
class TestFinished:
    __test__ = False

    result: TestResult


@dataclass
class SessionFinished:
    finished: str
    health: dict[str, Any] = field(default_factory=dict)
    interrupted: str | None = None
    notes: list[str] = field(default_factory=list)


Event = SessionStarted | TestFinished | SessionFinished


class EventHandler(Protocol):
    """A reporter."""

    def start(self, event: SessionStarted) -> None: ...

    def handle_event(self, event: TestFinished) -> None: ...

    def shutdown(self, event: SessionFinished) -> None: ...


class Collector:
    """Keeps every result and forwards events to the handlers."""

    def __init__(self, handlers: list[EventHandler] | None = None) -> None:
        self.handlers = list(handlers or [])
        self.results: list[TestResult] = []
        self.started: SessionStarted | None = None
        self.finished: SessionFinished | None = None

    def start(self, event: SessionStarted) -> None:
        self.started = event
        for handler in self.handlers:
            handler.start(event)

    def add(self, result: TestResult) -> None:
        self.results.append(result)
        event = TestFinished(result)
        for handler in self.handlers:
            handler.handle_event(event)

    def finish(self, event: SessionFinished) -> None:
        self.finished = event
        for handler in self.handlers:
            handler.shutdown(event)


class NdjsonReporter:
    """``results.ndjson``: one JSON object per event, for tools and for debugging a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")

    def _write(self, kind: str, data: dict[str, Any]) -> None:
        self._file.write(json.dumps({"event": kind, **data}, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def start(self, event: SessionStarted) -> None:
        self._write("session-started", asdict(event))

    def handle_event(self, event: TestFinished) -> None:
        self._write("test-finished", event.result.as_dict())

    def shutdown(self, event: SessionFinished) -> None:
        self._write("session-finished", asdict(event))
        self._file.close()
