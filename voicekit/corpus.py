"""The documented corpus: fixtures, the operation catalog and the errata, as loaded data.

The conformance suite replays the fixtures; the coverage report and the project's tests check them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from voicekit.contracts import load_document
from voicekit.paths import fixtures_dir, specs_dir

SYSTEMS = ("gws", "platform", "connect")
EXTRA_FIXTURES = "VOICEKIT_EXTRA_FIXTURES"


def extra_fixture_dirs() -> tuple[Path, ...]:
    """Fixture folders added to the documented corpus (``voicekit validate --fixtures``, ``certify --replay``)."""
    return tuple(Path(p) for p in os.environ.get(EXTRA_FIXTURES, "").split(os.pathsep) if p)


@dataclass(frozen=True)
class Fixture:
    """One documented sample (see fixtures/README.md)."""

    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def __repr__(self) -> str:
        # Compact on purpose: test reports record parameters by repr, and the data holds documented headers.
        return f"Fixture({self.id})"

    @property
    def system(self) -> str:
        return str(self.data["system"])

    @property
    def recorded(self) -> dict[str, Any] | None:
        """Where a recorded fixture comes from (``voicekit proxy --record``); None for a documented one."""
        recorded: dict[str, Any] | None = self.data["source"].get("recorded")
        return recorded

    @property
    def document(self) -> str:
        return str(self.data["source"].get("document", "recorded"))

    @property
    def lines(self) -> tuple[int, int]:
        first, last = self.data["source"].get("lines", (0, 0))
        return first, last

    @property
    def operations(self) -> list[str]:
        return list(self.data.get("operations", []))

    @property
    def errata(self) -> list[str]:
        return list(self.data.get("errata", []))

    def exchanges(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(label, step) for the top-level exchange and each scenario step."""
        if "steps" in self.data:
            for index, step in enumerate(self.data["steps"], 1):
                yield f"step {index}", step
        else:
            yield "sample", self.data


@dataclass(frozen=True)
class CatalogEntry:
    """One documented operation."""

    system: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def documented(self) -> bool:
        return self.data.get("documented", True) not in (False, "false")

    @property
    def document(self) -> str | None:
        return self.data.get("document")


@dataclass
class Corpus:
    """Fixtures, catalog and errata under a specs folder and a fixtures folder."""

    specs: Path = field(default_factory=specs_dir)
    fixtures_root: Path = field(default_factory=fixtures_dir)
    #: More fixture folders (recordings): by default those of ``VOICEKIT_EXTRA_FIXTURES`` (os.pathsep-separated).
    extra: tuple[Path, ...] = field(default_factory=extra_fixture_dirs)

    @cached_property
    def fixtures(self) -> list[Fixture]:
        paths = sorted(self.fixtures_root.rglob("*.yaml"))
        for folder in self.extra:
            paths += sorted(folder.rglob("*.yaml"))
        return [Fixture(path, load_document(path)) for path in paths]

    @cached_property
    def fixtures_by_id(self) -> dict[str, Fixture]:
        return {f.id: f for f in self.fixtures}

    @cached_property
    def catalog(self) -> list[CatalogEntry]:
        entries = []
        for path in sorted((self.specs / "catalog").glob("*.yaml")):
            doc = load_document(path)
            for op in doc.get("operations", []):
                op.setdefault("document", doc.get("document"))
                entries.append(CatalogEntry(doc["system"], op))
        return entries

    @cached_property
    def catalog_by_id(self) -> dict[str, CatalogEntry]:
        return {e.id: e for e in self.catalog}

    @cached_property
    def errata(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for path in sorted((self.specs / "errata").glob("*.yaml")):
            entries.extend(load_document(path) or [])
        return sorted(entries, key=lambda e: e["id"])

    @cached_property
    def errata_by_id(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.errata}

    def fixtures_for(self, operation_id: str) -> list[Fixture]:
        return [f for f in self.fixtures if operation_id in f.operations]

    def errata_for_operation(self, operation_id: str) -> list[dict[str, Any]]:
        return [e for e in self.errata if operation_id in e.get("operations", [])]
