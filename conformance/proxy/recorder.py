"""``voicekit proxy --record DIR``: each observed REST exchange saved as a fixture in the project's format (with
``source: {recorded: …}`` instead of document lines), redacted, so a real deployment's traffic becomes replayable
samples: ``voicekit validate --fixtures DIR`` checks them, ``voicekit certify --replay DIR`` replays them against
any target (``match: shape``: member names and types, since the values belong to the recorded deployment).
CometD notifications seen during the session are saved as ``notification`` fixtures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from conformance.redact import redact_json
from voicekit.corpus import Corpus

__all__ = ["Recorder"]

MAX_RECORDINGS = 10_000


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "exchange"


def _upstream(url: str) -> str:
    """The upstream without credentials in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Recorder:
    """Writes one YAML file per exchange under ``folder/<system>/``; ids are unique within a session."""

    def __init__(self, folder: Path, upstream: str) -> None:
        self.folder = folder
        self.upstream = _upstream(upstream)
        self.session = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.written = 0
        self.skipped = 0
        catalog = Corpus(extra=()).catalog_by_id
        self._catalog = set(catalog)

    def _operations(self, system: str, *names: str | None) -> list[str]:
        for name in names:
            if name and f"{system}.{name}" in self._catalog:
                return [f"{system}.{name}"]
        return []

    def _write(self, system: str, label: str, data: dict[str, Any]) -> Path | None:
        with self._lock:
            if self.written >= MAX_RECORDINGS:
                return None
            number = next(self._numbers)
            self.written += 1
        data = {"id": f"recorded.{system}.s{self.session}-{number:05d}-{_slug(label)}", **data}
        folder = self.folder / system
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{number:05d}-{_slug(label)}.yaml"
        header = f"# Recorded by voicekit proxy from {self.upstream}; secrets redacted.\n"
        path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def _source(self, exchange: int) -> dict[str, Any]:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return {"recorded": {"at": at, "upstream": self.upstream, "exchange": exchange}}

    def http(
        self,
        *,
        exchange: int,
        system: str,
        method: str,
        path: str,
        query: str,
        request_body: Any,
        status: int,
        response_body: Any,
        operation_id: str | None,
        operation_name: str | None,
    ) -> Path | None:
        """Record one REST exchange (bodies already parsed; None when there was none or it was not JSON)."""
        operations = self._operations(system, operation_name, operation_id)
        if not operations:
            self.skipped += 1  # not a documented operation: nothing a replay could check it against
            return None
        request: dict[str, Any] = {"method": method, "path": path + (f"?{query}" if query else "")}
        if request_body is not None:
            request["body"] = redact_json(request_body)
        # A recording's values belong to the deployment it was made on (its users, ids, names): a replay on another
        # target compares member names and types.
        response: dict[str, Any] = {"status": status, "match": "shape"}
        if response_body is not None:
            response["body"] = redact_json(response_body)
        data: dict[str, Any] = {
            "title": f"{method} {path} — recorded ({operation_name or operation_id or 'unknown operation'})",
            "system": system,
            "kind": "sample",
            "source": self._source(exchange),
            "operations": operations,
            "request": request,
            "response": response,
        }
        return self._write(system, operation_name or operation_id or method, data)

    def notification(self, *, exchange: int, system: str, channel: str, message: Any) -> Path | None:
        data = message.get("data") if isinstance(message, dict) else None
        kind = data.get("messageType") if isinstance(data, dict) else None
        operations = self._operations(system, f"cometd.{kind}" if kind else None)
        if not operations:
            self.skipped += 1
            return None
        record = {
            "title": f"{kind or 'message'} on {channel} — recorded",
            "system": system,
            "kind": "notification",
            "source": self._source(exchange),
            "operations": operations,
            "notifications": [{"transport": "cometd", "channel": channel, "message": redact_json(message)}],
        }
        return self._write(system, f"{kind or 'message'}", record)
