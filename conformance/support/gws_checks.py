"""What GWS answers must be, as the families judge them: the capability sets of the errata, the response
envelope (``expect_ok`` / ``expect_refused``) and ``require``.

Capability sets: 003 shows them per state and context; the errata fix them as sets (E208, E209, E311, E312,
E207, E211, E330), written once as data in ``specs/tables/gws-capabilities.yaml`` (each set cites the sample that
prints it), read by the mock and by the suite alike. What the documents leave open is advisory (below).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conformance.advisory import advise
from conformance.checks import DEFAULT_GWS_CHECKS, ConformanceFailure, expect
from conformance.transport.http import HttpResponse
from voicekit.tables import gws_call_capabilities, gws_capability_table

__all__ = [
    "AGENT_STATE_OPERATIONS",
    "DIALING",
    "DND_ON_OPTIONAL",
    "DOC",
    "ESTABLISHED",
    "HELD",
    "MUTE_OPTIONAL",
    "RINGING",
    "SECOND_CALL",
    "USER_DATA_OPS",
    "call_caps",
    "check_capabilities",
    "expect_ok",
    "expect_refused",
    "optional_members",
    "other_party_numbers",
    "require",
]

DOC = "003_ca6f4272dc604134.txt"

# ---- capability sets (003 samples, as the errata read them: specs/tables/gws-capabilities.yaml) ----------------
_TABLE = gws_capability_table()
USER_DATA_OPS = frozenset(_TABLE["userData"])
RINGING = frozenset(gws_call_capabilities("Ringing"))  # l.1206-1214
DIALING = frozenset(gws_call_capabilities("Dialing"))  # l.4937-4946
ESTABLISHED = frozenset(gws_call_capabilities("Established"))  # l.1264-1277, 5125-5139
HELD = frozenset(gws_call_capabilities("Held"))  # l.5302-5315
SECOND_CALL = {state: frozenset(ops) for state, ops in _TABLE["secondCall"].items()}  # E311, E312
AGENT_STATE_OPERATIONS = frozenset(_TABLE["agentStateOperations"])


def call_caps(
    state: str,
    *,
    public: bool = False,
    via_queue: bool = False,
    conference: bool = False,
    muted: bool = False,
    second_call: bool = False,
    consult: str | None = None,
) -> frozenset[str]:
    """The capability set of a call, by the errata's table (E209, E207, E211, E311, E312) — the table the mock
    reads too (:func:`voicekit.tables.gws_call_capabilities`; an unknown state raises ``ValueError``).

    Args:
        state: The call's state as the agent sees it.
        public: The agent's device is on the Public network (no Answer, l.5061-5064).
        via_queue: The ringing call was delivered through a queue (Reject, l.5159-5162).
        conference: Three or more parties are on the call (RemoveParticipantFromConference, MuteCall).
        muted: The agent muted the conference call (UnmuteCall instead of MuteCall, E211).
        second_call: The agent's other call makes a pair (one held, this one active; or this one held).
        consult: ``conference`` for the consult call of InitiateConference (CompleteConference, E207).
    """
    return frozenset(
        gws_call_capabilities(
            state,
            public=public,
            via_queue=via_queue,
            conference=conference,
            muted=muted,
            second_call=second_call,
            consult=consult,
        )
    )
    base = {"Dialing": DIALING, "Established": ESTABLISHED, "Held": HELD}.get(state)
    if base is None:
        raise ValueError(f"no capability set for state {state!r}")
    caps = set(base)
    if state == "Established" and conference:
        caps |= {"RemoveParticipantFromConference", "UnmuteCall" if muted else "MuteCall"}
    if second_call:
        caps |= SECOND_CALL[state]
        if state == "Dialing" and consult == "conference":
            caps.add("CompleteConference")
    return frozenset(caps)


#: Members whose presence the documents leave open, with why: a difference in them is advisory, never a failure.
DND_ON_OPTIONAL = (
    "003 l.9218-9221, 9290-9293, 9363-9366, 1932-1935 and 2043-2046 print a device with "
    "doNotDisturb Off without DoNotDisturbOn; l.1095-1100 and 9663-9671 with it (E105, E303)"
)
MUTE_OPTIONAL = (
    "the MuteCall sample mutes call e014 (003 l.5625-5629), whose printed capabilities lack MuteCall "
    "(l.5574-5588); no text restricts muting to conferences, and UnmuteCall is in no printed list (E211)"
)


def optional_members(resource: Mapping[str, Any]) -> dict[str, str]:
    """The capabilities of ``resource`` the documents neither require nor exclude, each with its basis."""
    if "doNotDisturb" in resource:  # a device
        return {"DoNotDisturbOn": DND_ON_OPTIONAL} if resource.get("doNotDisturb") == "Off" else {}
    if resource.get("state") == "Established" and len(resource.get("participants") or []) < 2:
        return {"MuteCall": MUTE_OPTIONAL, "UnmuteCall": MUTE_OPTIONAL}
    return {}


def check_capabilities(
    resource: Mapping[str, Any],
    expected: Iterable[str],
    what: str,
    *,
    rule: str | None = None,
    present: Iterable[str] = (),
    absent: Iterable[str] = (),
) -> None:
    """``resource["capabilities"]`` is ``expected`` as a set without duplicates (E330); or, when ``expected``
    is empty and ``present``/``absent`` are given, holds/lacks those members. A difference only in members the
    documents leave open (:func:`optional_members`) is an advisory finding.

    Raises:
        ConformanceFailure: the set differs (missing and extra members listed).
    """
    actual = resource.get("capabilities")
    if not isinstance(actual, list):
        raise ConformanceFailure(
            f"{what}: capabilities is not an array ({actual!r})", rule=rule, title="Capabilities missing"
        )
    if len(actual) != len(set(actual)):
        dupes = sorted({c for c in actual if actual.count(c) > 1})
        raise ConformanceFailure(
            f"{what}: capabilities list {dupes} more than once (E330: a set)", rule=rule, title="Duplicate capabilities"
        )
    want = set(expected)
    have = set(actual)
    optional = set(optional_members(resource))
    exact = (want or not (present or absent)) and have != want
    missing, unexpected = (want - have, have - want) if exact else (set(), set())
    present_missing, listed_absent = set(present) - have, set(absent) & have
    for member in sorted((missing | unexpected | present_missing | listed_absent) & optional):
        listed = member in have
        advise(
            f"{what}: {'lists' if listed else 'does not list'} {member}",
            rule=rule,
            basis=optional_members(resource)[member],
        )
    missing, unexpected = missing - optional, unexpected - optional
    present_missing, listed_absent = present_missing - optional, listed_absent - optional
    problems = []
    if missing or unexpected:
        problems.append(f"missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    if present_missing:
        problems.append(f"missing {sorted(present_missing)}")
    if listed_absent:
        problems.append(f"must not list {sorted(listed_absent)}")
    if problems:
        raise ConformanceFailure(
            f"{what} (state {resource.get('state', '?')}): capabilities "
            + "; ".join(problems)
            + f" (got {sorted(have)})",
            rule=rule,
            title="Wrong capabilities",
        )


# ---- responses --------------------------------------------------------------------------------------------------
def expect_ok(response: HttpResponse) -> Any:
    """HTTP 200 with ``statusCode`` 0 (l.1857-1864, 3542), schema-checked; returns the body."""
    body = expect(response, status=200)
    if not isinstance(body, dict) or body.get("statusCode") != 0:
        raise ConformanceFailure(
            f"{response.method} {response.path}: HTTP 200 but statusCode "
            f"{body.get('statusCode') if isinstance(body, dict) else body!r}, not 0",
            title="Request not accepted",
        )
    return body


def expect_refused(response: HttpResponse, codes: int | Iterable[int], http: int | Iterable[int] | str) -> Any:
    """An error answer: the HTTP status of E001 and one of ``codes`` as statusCode (l.3539-3576); the body is
    exactly ``{statusCode, statusMessage}`` (checked by ``gws_envelope``). Returns the body."""
    wanted = {codes} if isinstance(codes, int) else set(codes)
    statuses = list(http) if isinstance(http, list | tuple | set | frozenset) else http
    server_side = any(int(str(s)[0]) == 5 for s in (statuses if isinstance(statuses, list) else [statuses]))
    names = [n for n in DEFAULT_GWS_CHECKS if not (server_side and n == "not_server_error")]
    body = expect(response, *names, status=statuses)
    code = body.get("statusCode") if isinstance(body, dict) else None
    if code not in wanted:
        raise ConformanceFailure(
            f"{response.method} {response.path} → {response.status}: statusCode {code!r}, "
            f"expected {' or '.join(str(c) for c in sorted(wanted))} "
            f"({(body or {}).get('statusMessage')!r})",
            title="Wrong statusCode",
        )
    return body


def require(condition: bool, message: str, *, title: str = "Rule violated", rule: str | None = None) -> None:
    """Raise a :class:`ConformanceFailure` unless ``condition``."""
    if not condition:
        raise ConformanceFailure(message, rule=rule, title=title)


def other_party_numbers(call: Mapping[str, Any]) -> set[str]:
    return {str(p) for p in call.get("participants") or []}
