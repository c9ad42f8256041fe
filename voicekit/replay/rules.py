"""The machine-readable part of the errata: the optional ``replay:`` member of an erratum entry.

Why in the errata: a replay may only deviate from the documented text where an erratum decides so — every
tolerance (an ignored member, an allowed extra capability, a reordered notification sequence) and every
decided request or expectation must cite the decision that justifies it. The vocabulary is documented in
``conformance/replay/README.md`` and validated by ``specs/schemas/meta/erratum.schema.json``.

``replay`` is a mapping or a list of mappings; each applies to the erratum's fixtures, or to its own
``fixtures`` list, and (for scenarios) to one ``step`` or to all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AllowExtra",
    "CompareRules",
    "FixtureRules",
    "Path",
    "ReplayEntry",
    "parse_path",
    "path_matches",
    "render_path",
    "rules_for",
]

Path = tuple[str | int, ...]
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")
FORMATS = ("digits", "uuid", "iso8601", "string", "any")


def parse_path(text: str) -> tuple[str, ...]:
    """``data.devices[*].userState.reason`` → ``("data", "devices", "*", "userState", "reason")``."""
    tokens: list[str] = []
    for name, index in _TOKEN.findall(text):
        tokens.append(name if name else ("*" if index == "*" else f"#{index}"))
    return tuple(tokens)


def path_matches(pattern: Sequence[str], path: Path) -> bool:
    """Does the concrete ``path`` (keys and list indices) match ``pattern`` (from :func:`parse_path`)?"""
    if len(pattern) != len(path):
        return False
    for want, have in zip(pattern, path, strict=True):
        if want == "*":
            continue
        if want.startswith("#"):
            if not isinstance(have, int) or have != int(want[1:]):
                return False
        elif want != have:
            return False
    return True


def render_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(root)"


@dataclass(frozen=True)
class AllowExtra:
    """Extra elements allowed in a set-compared list at ``path`` (when ``where`` holds for the document)."""

    path: tuple[str, ...]
    values: frozenset[str]
    where: tuple[tuple[tuple[str, ...], Any], ...] = ()
    erratum: str = ""


@dataclass
class CompareRules:
    """What :func:`voicekit.replay.compare.compare` needs from the errata (paths relative to the compared
    document: ``data.…`` for a notification message, ``body.…`` for a response)."""

    ignore: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    absent: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    subset: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    unordered: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    allow_extra: list[AllowExtra] = field(default_factory=list)
    formats: list[tuple[tuple[str, ...], str, str]] = field(default_factory=list)
    uri_aliases: list[tuple[str, str, str]] = field(default_factory=list)
    elided: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    ordered_subset: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    def _find(self, entries: Iterable[tuple[Any, ...]], path: Path) -> tuple[Any, ...] | None:
        return next((e for e in entries if path_matches(e[0], path)), None)

    def ignored(self, path: Path) -> str | None:
        hit = self._find(self.ignore, path)
        return hit[1] if hit else None

    def subset_at(self, path: Path) -> str | None:
        hit = self._find(self.subset, path)
        return hit[1] if hit else None

    def unordered_at(self, path: Path) -> str | None:
        hit = self._find(self.unordered, path)
        return hit[1] if hit else None

    def ordered_subset_at(self, path: Path) -> str | None:
        hit = self._find(self.ordered_subset, path)
        return hit[1] if hit else None

    def elided_at(self, path: Path) -> str | None:
        hit = self._find(self.elided, path)
        return hit[1] if hit else None

    def format_at(self, path: Path) -> tuple[str, str] | None:
        hit = self._find(self.formats, path)
        return (hit[1], hit[2]) if hit else None

    def extras_at(self, path: Path, document: Any) -> tuple[set[str], list[str]]:
        """Allowed extra values at ``path`` and the errata allowing them (``where`` read from ``document``)."""
        values: set[str] = set()
        errata: list[str] = []
        for entry in self.allow_extra:
            if path_matches(entry.path, path) and all(_get(document, p) == v for p, v in entry.where):
                values |= entry.values
                errata.append(entry.erratum)
        return values, errata

    def merged(self, other: CompareRules) -> CompareRules:
        return CompareRules(
            self.ignore + other.ignore,
            self.absent + other.absent,
            self.subset + other.subset,
            self.unordered + other.unordered,
            self.allow_extra + other.allow_extra,
            self.formats + other.formats,
            self.uri_aliases + other.uri_aliases,
            self.elided + other.elided,
            self.ordered_subset + other.ordered_subset,
        )


def _get(document: Any, pattern: tuple[str, ...]) -> Any:
    node = document
    for token in pattern:
        if token.startswith("#"):
            index = int(token[1:])
            if not isinstance(node, list) or index >= len(node):
                return None
            node = node[index]
        elif isinstance(node, Mapping):
            node = node.get(token)
        else:
            return None
    return node


@dataclass
class ReplayEntry:
    """One ``replay`` mapping of one erratum (see the README for each member)."""

    erratum: str
    fixtures: frozenset[str]
    step: int | None
    data: dict[str, Any]

    def compare_rules(self) -> CompareRules:
        e = self.erratum
        d = self.data
        return CompareRules(
            ignore=[(parse_path(p), e) for p in d.get("ignore", [])],
            absent=[(parse_path(p), e) for p in d.get("absent", [])],
            subset=[(parse_path(p), e) for p in d.get("subset", [])],
            unordered=[(parse_path(p), e) for p in d.get("unordered", [])],
            allow_extra=[
                AllowExtra(
                    parse_path(a["path"]),
                    frozenset(a["values"]),
                    tuple((parse_path(k), v) for k, v in (a.get("where") or {}).items()),
                    e,
                )
                for a in d.get("allow_extra", [])
            ],
            formats=[(parse_path(p), str(f), e) for p, f in (d.get("formats") or {}).items()],
            uri_aliases=[(str(a), str(b), e) for a, b in (d.get("uri_aliases") or {}).items()],
            elided=[(parse_path(p), e) for p in d.get("elided", [])],
            ordered_subset=[(parse_path(p), e) for p in d.get("ordered_subset", [])],
        )


@dataclass
class FixtureRules:
    """Every replay entry that applies to one fixture, with the helpers the plan needs."""

    fixture_id: str
    entries: list[ReplayEntry] = field(default_factory=list)

    def for_step(self, step: int | None) -> list[ReplayEntry]:
        """Entries applying to scenario step ``step`` (1-based), or to the sample when None."""
        return [e for e in self.entries if e.step is None or e.step == step]

    def compare_rules(self, step: int | None = None) -> CompareRules:
        out = CompareRules()
        for entry in self.for_step(step):
            out = out.merged(entry.compare_rules())
        return out

    def value(self, name: str, step: int | None = None) -> tuple[Any, str] | None:
        """The last entry's ``name`` member with the erratum id that sets it."""
        found = None
        for entry in self.for_step(step):
            if name in entry.data:
                found = (entry.data[name], entry.erratum)
        return found

    def given(self) -> tuple[dict[str, Any], list[str]]:
        out: dict[str, Any] = {}
        errata: list[str] = []
        for entry in self.entries:
            if isinstance(entry.data.get("given"), Mapping):
                out.update(entry.data["given"])
                errata.append(entry.erratum)
        return out, errata

    @property
    def errata(self) -> list[str]:
        return sorted({e.erratum for e in self.entries})


def entries_of(erratum: Mapping[str, Any]) -> list[ReplayEntry]:
    raw = erratum.get("replay")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        fixtures = item.get("fixtures") or erratum.get("fixtures") or []
        out.append(
            ReplayEntry(
                str(erratum["id"]),
                frozenset(fixtures),
                item.get("step"),
                {k: v for k, v in item.items() if k not in ("fixtures", "step")},
            )
        )
    return out


def rules_for(fixture_id: str, errata: Iterable[Mapping[str, Any]]) -> FixtureRules:
    """The replay entries of ``errata`` that name ``fixture_id``."""
    rules = FixtureRules(fixture_id)
    for erratum in errata:
        rules.entries += [e for e in entries_of(erratum) if fixture_id in e.fixtures]
    return rules
