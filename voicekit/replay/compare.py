"""The one comparison of a documented body or message with what a target sent, under explicit, named rules.

``compare(expected, actual, *, match, bindings, rules, strategy) -> list[Mismatch]``; an empty list means
"matches". Each :class:`Mismatch` names the JSON path, the expected and actual values and the rule that failed.

Why here (``voicekit/``): the conformance suite (over the wire) and the mock's own tests (in process) both
replay the fixtures, and must agree on what "matches the document" means; ``voicekit`` is the layer both may
import. What differs between the systems is a :class:`Strategy` (``GWS``, ``PLATFORM``, ``connect(errata)`` in
:mod:`voicekit.replay.strategies`); the members/lists/subset/shape machinery and the errata rules are shared.

The rules of the GWS strategy (see ``conformance/replay/README.md`` for the full text and the errata behind each):

* **members** — every documented member must be present with an equal value; extra members are allowed
  unless an erratum lists them under ``absent``. Values compare with their JSON type (``"5"`` ≠ ``5``).
* **exact** lists — same length, element by element, in order; **subset** (``match: subset``, or an erratum's
  ``subset`` path) — each documented element must be matched by a distinct actual element, in any order,
  extra elements allowed; **shape** (``match: shape``, E127) — member names and JSON types only, placeholder
  values (``<queue_id>``, ``{id}``, ``..``, ``X``…) stand for any scalar, every documented list element must
  have the shape of some actual element.
* **capabilities** are sets (E208, E330): duplicates fail, missing members fail, extra members fail unless the
  mode is subset/shape or an erratum allows them (``allow_extra``).
* **participants / participantsInfo** — order-insensitive (the same parties, any order).
* **volatile values** — ``duration``: any digit string; documented ISO-8601 timestamps: any ISO-8601 value;
  formats an erratum decides (``formats``).
* **identities** — call ids, callUuids, device/user ids, other resource ids, userNames and phone numbers are
  compared through :class:`~voicekit.replay.bindings.Bindings` (bind on first sight, then consistent).
* **URIs** — by path only (E002), id segments by binding; ``uri_aliases`` of an erratum map path prefixes.
"""

from __future__ import annotations

from typing import Any

from voicekit.replay.bindings import Bindings
from voicekit.replay.engine import (
    ISO8601,
    MATCH_MODES,
    MISSING,
    Comparer,
    Mismatch,
    Strategy,
    describe_mismatches,
    is_placeholder,
    json_type,
    last_key,
)
from voicekit.replay.rules import CompareRules
from voicekit.replay.strategies import GWS

__all__ = [
    "ISO8601",
    "MATCH_MODES",
    "MISSING",
    "Comparer",
    "Mismatch",
    "Strategy",
    "compare",
    "describe_mismatches",
    "is_placeholder",
    "json_type",
    "last_key",
]


def compare(
    expected: Any,
    actual: Any,
    *,
    match: str = "exact",
    bindings: Bindings | None = None,
    rules: CompareRules | None = None,
    root: str | None = None,
    strategy: Strategy | None = None,
    closed: bool = False,
) -> list[Mismatch]:
    """Compare ``expected`` (documented) with ``actual`` (received).

    Args:
        match: ``exact``, ``subset`` or ``shape`` (see the module docstring).
        bindings: Identity bindings, extended in place with what this comparison learns.
        rules: Errata rules (paths relative to the compared document, starting with ``root`` when given).
        root: A name for the document root (``body`` for a response), prefixed to every path.
        strategy: The system's rules (default: GWS, :data:`voicekit.replay.strategies.GWS`).
        closed: In ``exact`` mode, members the document does not show fail too (the mock's own tests: the
            mock adds nothing; a vendor may, so the suite never sets it).
    """
    if match not in MATCH_MODES:
        raise ValueError(f"match is one of {MATCH_MODES}, not {match!r}")
    if root:
        expected, actual = {root: expected}, {root: actual}
    if strategy is None:
        strategy = GWS
    comparer = Comparer(
        bindings if bindings is not None else Bindings(), rules or CompareRules(), expected, strategy, closed
    )
    comparer.value(expected, actual, (), match)
    return comparer.mismatches
