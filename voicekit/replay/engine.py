"""The comparison machinery behind :func:`voicekit.replay.compare.compare`: the :class:`Comparer` walk (members,
lists, subset, shape), :class:`Mismatch` and the :class:`Strategy` hooks each system's strategy fills in
(:mod:`voicekit.replay.strategies`). Kept apart from ``compare`` so the strategies build on it without a cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voicekit.replay.bindings import Bindings
from voicekit.replay.rules import CompareRules, Path, path_matches, render_path

__all__ = [
    "ISO8601",
    "MATCH_MODES",
    "MISSING",
    "Comparer",
    "Mismatch",
    "Strategy",
    "describe_mismatches",
    "is_placeholder",
    "json_type",
    "last_key",
]

MATCH_MODES = ("exact", "subset", "shape")
_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
_PLACEHOLDER = re.compile(r"^(<[^>]*>|\{[^}]*\}|\.\.\.?|X)$|\.\.\.|^http://\.\.|^\.\.")
_MISSING = object()
MISSING = _MISSING  # "absent" in a Mismatch


class Strategy:
    """What one system's documents mean beyond members, lists and the errata rules.

    The base strategy compares scalars by value and JSON type. A system's strategy overrides the hooks; each
    hook returns True when it has judged the value (recording any mismatch on the comparer), False to leave it
    to the shared rules.
    """

    name = "plain"
    #: Lists compared as sets of strings (duplicates, missing and undocumented members fail).
    set_keys: frozenset[str] = frozenset()
    #: Lists compared in any order (same elements).
    unordered_keys: frozenset[str] = frozenset()
    #: Every list compared in any order (each documented element matched by a distinct actual one).
    unordered_lists = False

    def special(self, c: Comparer, exp: Any, act: Any, path: Path, mode: str) -> bool:
        """Any value, before the shared rules (a whole subtree may be judged here)."""
        return False

    def scalar(self, c: Comparer, exp: Any, act: Any, path: Path) -> bool:
        """A documented scalar outside ``shape`` mode."""
        return False


@dataclass(frozen=True)
class Mismatch:
    """One difference: where (JSON path), what was documented, what came, and which rule says it is wrong."""

    path: str
    expected: Any
    actual: Any
    rule: str
    message: str = ""
    where: str = ""

    def located(self, where: str) -> Mismatch:
        return Mismatch(self.path, self.expected, self.actual, self.rule, self.message, where)

    def __str__(self) -> str:
        head = f"{self.where}: " if self.where else ""
        return (
            f"{head}{self.path}: {self.message or 'differs'} [{self.rule}]; "
            f"expected {_short(self.expected)}, actual {_short(self.actual)}"
        )


def _short(value: Any, limit: int = 160) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def describe_mismatches(mismatches: list[Mismatch], limit: int = 12) -> str:
    lines = [str(m) for m in mismatches[:limit]]
    if len(mismatches) > limit:
        lines.append(f"… and {len(mismatches) - limit} more")
    return "\n".join(lines)


def is_placeholder(value: Any) -> bool:
    """A template value (E127): ``<queue_id>``, ``{id}``, ``..``, ``...``, ``X``, ``http://...``."""
    return isinstance(value, str) and bool(_PLACEHOLDER.search(value))


class Comparer:
    """One comparison's state: bindings learned, mismatches found (strategies record theirs with :meth:`fail`)."""

    def __init__(
        self, bindings: Bindings, rules: CompareRules, document: Any, strategy: Strategy, closed: bool = False
    ) -> None:
        self.bindings = bindings
        self.rules = rules
        self.document = document
        self.strategy = strategy
        self.closed = closed
        self.mismatches: list[Mismatch] = []

    def fail(self, path: Path, expected: Any, actual: Any, rule: str, message: str = "") -> None:
        self.mismatches.append(Mismatch(render_path(path), expected, actual, rule, message))

    # ---- dispatch ------------------------------------------------------------------------------------------------
    def value(self, exp: Any, act: Any, path: Path, mode: str) -> None:
        if self.rules.ignored(path):
            return
        if mode == "exact" and self.rules.subset_at(path):
            mode = "subset"
        fmt = self.rules.format_at(path)
        if fmt is not None:
            self.format(act, path, *fmt)
            return
        if self.strategy.special(self, exp, act, path, mode):
            return
        if isinstance(exp, Mapping):
            self.mapping(exp, act, path, mode)
        elif isinstance(exp, list):
            self.sequence(exp, act, path, mode)
        elif mode == "shape":
            self.shape_scalar(exp, act, path)
        else:
            self.scalar(exp, act, path)

    # ---- objects ---------------------------------------------------------------------------------------------
    def mapping(self, exp: Mapping[str, Any], act: Any, path: Path, mode: str) -> None:
        if not isinstance(act, Mapping):
            self.fail(path, exp, act, "type", "an object was expected")
            return
        for key, value in exp.items():
            here = (*path, key)
            if self.rules.ignored(here):
                continue
            if key not in act:
                self.fail(here, value, _MISSING, "member", "documented member missing")
                continue
            self.value(value, act[key], here, mode)
        for key in act:
            here = (*path, key)
            hit = next((e for e in self.rules.absent if path_matches(e[0], here)), None)
            if hit is not None:
                self.fail(here, _MISSING, act[key], f"absent ({hit[1]})", "this member must not be present")
            elif self.closed and mode == "exact" and key not in exp:
                self.fail(here, _MISSING, act[key], "closed", "a member the document does not show")

    # ---- lists -----------------------------------------------------------------------------------------------
    def sequence(self, exp: list[Any], act: Any, path: Path, mode: str) -> None:
        if not isinstance(act, list):
            self.fail(path, exp, act, "type", "an array was expected")
            return
        key = _last_key(path)
        if key in self.strategy.set_keys and all(isinstance(x, str) for x in exp):
            self.capability_set(exp, act, path, mode)
        elif mode == "shape":
            self.shape_list(exp, act, path)
        elif self.rules.ordered_subset_at(path):
            self.ordered_subset(exp, act, path, mode, str(self.rules.ordered_subset_at(path)))
        elif key in self.strategy.unordered_keys or self.rules.unordered_at(path) or self.strategy.unordered_lists:
            self.unordered(exp, act, path, mode, exact_size=(mode == "exact"))
        elif mode == "subset":
            self.unordered(exp, act, path, mode, exact_size=False)
        else:
            if len(exp) != len(act):
                self.fail(path, len(exp), len(act), "length", "the array has a different number of elements")
            for index, (e, a) in enumerate(zip(exp, act, strict=False)):
                self.value(e, a, (*path, index), mode)

    def capability_set(self, exp: list[str], act: list[Any], path: Path, mode: str) -> None:
        """Capabilities are sets (E208, E330)."""
        duplicates = sorted({x for x in act if isinstance(x, str) and act.count(x) > 1})
        if duplicates:
            self.fail(path, exp, act, "set (E208/E330)", f"duplicate members {duplicates}")
        missing = [x for x in exp if x not in act]
        for name in missing:
            self.fail(path, name, _MISSING, "set (E208/E330)", f"capability {name} missing")
        if mode in ("subset", "shape"):
            return
        allowed, _errata = self.rules.extras_at(path, self.document)
        for name in act:
            if name not in exp and name not in allowed:
                self.fail(path, _MISSING, name, "set (E208/E330)", f"capability {name} not documented")

    def unordered(self, exp: list[Any], act: list[Any], path: Path, mode: str, *, exact_size: bool) -> None:
        """Each documented element matched by a distinct actual element, in any order."""
        used: set[int] = set()
        unmatched: list[tuple[int, Any]] = []
        for e_index, element in enumerate(exp):
            found = self._match_one(element, act, used, (*path, e_index), mode)
            if found is None:
                unmatched.append((e_index, element))
            else:
                used.add(found)
        for e_index, element in unmatched:
            # Report the closest candidate's differences, so the failure says what was wrong.
            candidates = [i for i in range(len(act)) if i not in used]
            if not candidates:
                self.fail((*path, e_index), element, _MISSING, "element", "documented element missing")
                continue
            best = min(candidates, key=lambda i: len(self._trial(element, act[i], (*path, e_index), mode)[0]))
            used.add(best)
            self.value(element, act[best], (*path, e_index), mode)
        if exact_size and len(act) != len(exp):
            extra = [act[i] for i in range(len(act)) if i not in used]
            self.fail(path, len(exp), len(act), "length", f"undocumented elements {_short(extra)}")

    def ordered_subset(self, exp: list[Any], act: list[Any], path: Path, mode: str, erratum: str) -> None:
        """The documented elements appear in the actual list in the documented relative order (others between)."""
        start = 0
        for e_index, element in enumerate(exp):
            found = None
            for index in range(start, len(act)):
                errors, state = self._trial(element, act[index], (*path, e_index), mode)
                if not errors:
                    self.bindings.restore(state)
                    found = index
                    break
            if found is None:
                self.fail(
                    (*path, e_index),
                    element,
                    _MISSING,
                    f"ordered subset ({erratum})",
                    "no later element matches this documented element (missing or out of order)",
                )
                continue
            start = found + 1

    def _match_one(self, element: Any, act: list[Any], used: set[int], path: Path, mode: str) -> int | None:
        # First without learning new bindings (prefer what is already known), then allowing it.
        # Equal values are tried first, so unbound identities pair up with themselves when they can.
        order = sorted(range(len(act)), key=lambda i: act[i] != element)
        for strict in (True, False):
            for index in order:
                candidate = act[index]
                if index in used:
                    continue
                errors, state = self._trial(element, candidate, path, mode)
                if errors:
                    continue
                now = self.bindings.snapshot()
                if strict and (len(state[0]), len(state[2])) != (len(now[0]), len(now[2])):
                    continue
                self.bindings.restore(state)
                return index
        return None

    def _trial(self, element: Any, candidate: Any, path: Path, mode: str) -> tuple[list[Mismatch], Any]:
        saved = self.bindings.snapshot()
        outer = self.mismatches
        self.mismatches = []
        try:
            self.value(element, candidate, path, mode)
            return self.mismatches, self.bindings.snapshot()
        finally:
            self.mismatches = outer
            self.bindings.restore(saved)

    def shape_list(self, exp: list[Any], act: list[Any], path: Path) -> None:
        """E127: every documented element must have the shape of some actual element."""
        if exp and not act:
            self.fail(path, exp, act, "shape (E127)", "documented elements but the array is empty")
            return
        for e_index, element in enumerate(exp):
            if not any(not self._trial(element, a, (*path, e_index), "shape")[0] for a in act):
                best = min(act, key=lambda a: len(self._trial(element, a, (*path, e_index), "shape")[0]))
                self.value(element, best, (*path, e_index), "shape")

    # ---- scalars ---------------------------------------------------------------------------------------------
    def shape_scalar(self, exp: Any, act: Any, path: Path) -> None:
        if isinstance(act, (Mapping, list)):
            self.fail(path, exp, act, "shape (E127)", "a scalar was expected")
            return
        if is_placeholder(exp) or exp is None:
            return
        if _json_type(exp) != _json_type(act):
            self.fail(path, exp, act, "shape (E127)", f"a {_json_type(exp)} was expected, not a {_json_type(act)}")

    def format(self, act: Any, path: Path, fmt: str, erratum: str) -> None:
        ok = {
            "digits": isinstance(act, str) and act.isdigit(),
            "uuid": isinstance(act, str) and bool(_UUID.match(act)),
            "iso8601": isinstance(act, str) and bool(_ISO8601.match(act)),
            "string": isinstance(act, str),
            "any": True,
        }.get(fmt, False)
        if not ok:
            self.fail(path, f"<{fmt}>", act, f"format ({erratum})", f"a {fmt} value was expected")

    def scalar(self, exp: Any, act: Any, path: Path) -> None:
        elided = self.rules.elided_at(path)
        if elided and isinstance(exp, str) and "..." in exp:
            prefix = exp.split("...", 1)[0].rstrip()
            if not (isinstance(act, str) and act.startswith(prefix)):
                self.fail(path, exp, act, f"elided ({elided})", f"the text shown before '...' is {prefix!r}")
            return
        if self.strategy.scalar(self, exp, act, path):
            return
        if _json_type(exp) != _json_type(act) or exp != act:
            self.fail(path, exp, act, "value")


def _last_key(path: Path) -> str | None:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


json_type = _json_type
last_key = _last_key
ISO8601 = _ISO8601
