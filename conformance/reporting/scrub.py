"""A last pass over the written reports: every string goes through the redaction once more.

Attachments are redacted when they are made; this pass catches what other plugins write on their own —
allure-pytest records each test parameter's repr, JUnit records failure texts — so no credential, cookie,
CSRF token or OAuth token reaches a report, whichever family produced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.redact import redact_text

__all__ = ["scrub_reports"]

TEXT_SUFFIXES = {".json", ".txt", ".xml", ".md", ".html", ".ndjson", ".log", ".csv"}


def _scrub_json(value: Any, seen: dict[str, str]) -> Any:
    """``seen`` remembers the redaction of each string of the run: the Allure results of a certification repeat
    the same labels, names, parameters and statuses in thousands of files (half a million strings)."""
    if isinstance(value, str):
        redacted = seen.get(value)
        if redacted is None:
            redacted = seen[value] = redact_text(value)
        return redacted
    if isinstance(value, list):
        return [_scrub_json(v, seen) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, seen) for k, v in value.items()}
    return value


def scrub_reports(*paths: Path) -> int:
    """Redact every text file under ``paths``; returns how many files changed."""
    changed = 0
    seen: dict[str, str] = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for path in files:
            if path.suffix not in TEXT_SUFFIXES:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if path.suffix == ".json":
                try:
                    new = json.dumps(_scrub_json(json.loads(text), seen), ensure_ascii=False)
                except ValueError:
                    new = redact_text(text)
            else:
                new = redact_text(text)
            if new != text:
                path.write_text(new, encoding="utf-8")
                changed += 1
    return changed
