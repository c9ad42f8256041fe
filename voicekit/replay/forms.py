"""The forms a documented response or notification may take: the fixture's own, and its ``alternatives``.

Why: a fixture records a sample as the errata read it; where that reading changed a value the server sends
(not a plain extraction defect), the document's printed value is still a reading the documents support, so the
replay accepts either (fixtures/README.md, "alternatives"). An alternative is a complete form (``body`` of a
response, ``message`` of a notification, optionally a response ``status``) or ``patch`` edits of the fixture's
form (``[{set: path, value} | {remove: path}]``, paths as in the errata: ``body.…``, ``data.…``).

``compare_forms`` tries each form with the one comparison (:func:`voicekit.replay.compare.compare`): the first
that matches wins (and its bindings are kept); when none does, the fixture's own form's mismatches are reported
with a note of the alternatives tried.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicekit.replay.bindings import Bindings
from voicekit.replay.compare import Mismatch, Strategy, compare
from voicekit.replay.rules import CompareRules, parse_path

__all__ = ["Form", "apply_patch", "compare_forms", "forms_of"]


@dataclass(frozen=True)
class Form:
    """One acceptable form: ``reading`` says whose (``None`` for the fixture's own)."""

    value: Any
    status: int | None = None
    reading: str | None = None


def apply_patch(document: Any, patches: Sequence[Mapping[str, Any]], *, root: str | None = None) -> Any:
    """A copy of ``document`` with ``patches`` applied; ``root`` names the document in the paths (``body``).
    A path that does not exist in the document is skipped."""
    out = copy.deepcopy({root: document} if root else document)
    for patch in patches:
        tokens = parse_path(str(patch.get("set") or patch.get("remove")))
        node: Any = out
        for token in tokens[:-1]:
            if token.startswith("#"):
                index = int(token[1:])
                node = node[index] if isinstance(node, list) and index < len(node) else None
            else:
                node = node.get(token) if isinstance(node, Mapping) else None
            if node is None:
                break
        if node is None:
            continue
        last = tokens[-1]
        key: Any = int(last[1:]) if last.startswith("#") else last
        if "set" in patch:
            node[key] = copy.deepcopy(patch["value"])
        elif isinstance(node, dict):
            node.pop(key, None)
    return out[root] if root else out


def forms_of(entry: Mapping[str, Any], member: str) -> list[Form]:
    """The forms of a fixture's ``response`` (``member="body"``) or notification (``member="message"``)."""
    own = Form(entry.get(member), entry.get("status") if member == "body" else None)
    found = [own]
    for alt in entry.get("alternatives") or []:
        if "patch" in alt:
            value = apply_patch(own.value, alt["patch"], root=member if member == "body" else None)
        else:
            value = copy.deepcopy(alt.get(member, own.value))
        found.append(Form(value, alt.get("status", own.status), str(alt.get("reading") or "alternative")))
    return found


def compare_forms(
    forms: Sequence[Form],
    actual: Any,
    *,
    match: str = "exact",
    bindings: Bindings | None = None,
    rules: CompareRules | None = None,
    root: str | None = None,
    strategy: Strategy | None = None,
    closed: bool = False,
) -> tuple[list[Mismatch], Form]:
    """Compare ``actual`` with each form; the first that matches (its bindings kept), else the fixture's own
    form's mismatches (bindings as before: what a form that does not match taught is not trusted)."""
    bindings = bindings if bindings is not None else Bindings()
    saved = bindings.snapshot()
    first: list[Mismatch] | None = None
    for form in forms:
        found = compare(
            form.value, actual, match=match, bindings=bindings, rules=rules, root=root, strategy=strategy, closed=closed
        )
        if not found:
            return [], form
        bindings.restore(saved)
        if first is None:
            first = found
    assert first is not None, "no form to compare with"
    if len(forms) > 1:
        readings = "; ".join(str(f.reading) for f in forms[1:])
        first = [
            Mismatch(
                m.path,
                m.expected,
                m.actual,
                m.rule,
                f"{m.message or 'differs'} (nor the other reading: {readings})" if i == 0 else m.message,
                m.where,
            )
            for i, m in enumerate(first)
        ]
    return first, forms[0]
