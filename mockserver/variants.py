"""Documented alternatives the mock can switch to: each variant is another reading the documents support.

Why: "the mock chooses; the suite judges". The mock makes one choice per ambiguity (specs/errata), and the suite
must accept every reading the documents allow. A variant makes the mock behave like a server that made the
*other* documented choice, so ``voicekit certify --target mock --set mock.variants=NAME`` proves that the
suite tolerates it (tests/conformance/test_variants.py certifies the mock under every variant).

Variants are plain names. The adapters read them from ``MockConfig.variants`` and hand them to the domain as
data (``World.variants``, a frozenset of names); the domain never imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["VARIANTS", "Variant", "describe", "parse"]


@dataclass(frozen=True)
class Variant:
    """One documented alternative.

    Args:
        name: What ``--variant`` takes.
        description: What the mock does differently, with the document lines that allow it.
        errata: The errata entries whose decision the variant reverses or leaves open.
        system: ``gws``, ``platform`` or ``connect``.
        profiles: The required profiles of that system whose tests see the difference.
    """

    name: str
    description: str
    errata: tuple[str, ...]
    system: str
    profiles: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "errata": list(self.errata),
            "system": self.system,
            "profiles": list(self.profiles),
        }


_ALL = (
    Variant(
        "device-capabilities-as-printed",
        "A device with do-not-disturb Off lists only ForwardCallsOn while Ready, NotReady or AuxWork, as the "
        "printed samples do (003 l.9218-9221, 9290-9293, 9363-9366, 1932-1935, 2043-2046); DoNotDisturbOn is "
        "still accepted. AfterCallWork and Offline list it, as their samples do (l.9437-9442, 9511-9516).",
        ("E105", "E303"),
        "gws",
        ("gws-agent-state",),
    ),
    Variant(
        "mute-silent",
        "MuteCall and UnmuteCall change the call's mute without a call notification: their samples show none "
        "(003 l.5638-5640, 5673-5675); the new value is seen with GET.",
        ("E210",),
        "gws",
        ("gws-voice-core", "gws-conference-transfer"),
    ),
    Variant(
        "merge-as-printed",
        "MergeWithOtherCall answers {statusCode: 0} and sends the merging agent no notification, as printed "
        "(003 l.8594-8604 show none); the merged call is seen with GET, the other parties are still told.",
        ("E314",),
        "gws",
        ("gws-conference-transfer",),
    ),
    Variant(
        "swap-retrieved-first",
        "SwapCalls notifies the retrieved call (Established) first, then the held one, as the stand-alone "
        "sample prints them (003 l.7986-8105; the overview l.7983-7984 names both without an order).",
        ("E310",),
        "gws",
        ("gws-voice-core", "gws-conference-transfer"),
    ),
    Variant(
        "notready-display-name",
        'The NotReady operation\'s displayName is "NotReady", as the system agent-state table spells it '
        '(003 l.1326), instead of the samples\' "Not Ready".',
        ("E102", "E302"),
        "gws",
        ("gws-agent-state",),
    ),
    Variant(
        "mute-on-two-party",
        "MuteCall (UnmuteCall while muted) is offered and accepted on an established two-party call too: the "
        "MuteCall sample mutes call e014 (003 l.5625-5629), whose printed capabilities have no MuteCall "
        "(l.5574-5588); nothing restricts muting to conferences.",
        ("E211",),
        "gws",
        ("gws-voice-core", "gws-conference-transfer"),
    ),
    Variant(
        "offline-logout",
        'A logged-out device reports userState.state "Logout", the state name of the agent-state '
        'definitions (003 l.1329, 1396), instead of "LoggedOut" (l.9501).',
        ("E101",),
        "gws",
        ("gws-agent-state",),
    ),
    Variant(
        "no-me-agent-states",
        "GET /api/v2/me/settings/agent-states (003 l.1308) is not served (404); the agent-state list is read "
        "at GET /api/v2/settings/agent-states, as the sample sends it (l.1356-1358).",
        ("E100",),
        "gws",
        ("gws-agent-state",),
    ),
    Variant(
        "platform-error-texts",
        "Platform errors keep their status and code but carry other human-readable message texts: 000 "
        "l.96-98 give the HTTP status only, 001 l.303-314 show texts as examples.",
        ("E400", "E406", "E408", "E413", "E414"),
        "platform",
        ("platform-calls", "platform-auth-rules", "platform-notifications"),
    ),
)

VARIANTS: dict[str, Variant] = {v.name: v for v in _ALL}


def parse(values: Iterable[str] | str | None) -> frozenset[str]:
    """Variant names from ``--variant`` values, ``VOICEKIT_VARIANTS`` or a control request: repeatable and
    comma-separated; blanks ignored.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if values is None:
        return frozenset()
    items = [values] if isinstance(values, str) else list(values)
    names = {part.strip() for item in items for part in str(item).split(",") if part.strip()}
    unknown = sorted(names - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    return frozenset(names)


def describe(names: Iterable[str]) -> list[dict[str, object]]:
    """The registry entries of ``names``, in registry order (for the control API)."""
    wanted = set(names)
    return [v.as_dict() for v in _ALL if v.name in wanted]
