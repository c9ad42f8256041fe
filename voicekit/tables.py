"""Rule tables that the mock and the suite must read from one place (``specs/tables/``), so they cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from voicekit.contracts import load_document
from voicekit.paths import specs_dir

__all__ = [
    "connect_buttons",
    "gws_call_capabilities",
    "gws_capability_table",
    "gws_documented_pairs",
    "gws_http_status",
]


@cache
def _gws_table() -> dict[str, Any]:
    table: dict[str, Any] = load_document(specs_dir() / "tables" / "gws-http-status.yaml")
    return table


def gws_http_status(status_code: int, *, unavailable: bool = False) -> int:
    """E001: the HTTP status that goes with a GWS statusCode (``unavailable``: the voice service is down)."""
    table = _gws_table()
    if status_code == 4 and unavailable:
        return int(table["unavailable"])
    return int(table["http"].get(status_code, table["default"]))


def gws_documented_pairs() -> list[dict[str, Any]]:
    """The (statusCode, HTTP status) pairs the documents themselves show — required of every target."""
    return list(_gws_table()["documented"])


@cache
def gws_capability_table() -> dict[str, Any]:
    """The capability sets of GWS calls (``specs/tables/gws-capabilities.yaml``)."""
    table: dict[str, Any] = load_document(specs_dir() / "tables" / "gws-capabilities.yaml")
    return table


def gws_call_capabilities(
    state: str,
    *,
    public: bool = False,
    via_queue: bool = False,
    conference: bool = False,
    muted: bool = False,
    mute_two_party: bool = False,
    second_call: bool = False,
    consult: str | None = None,
    supervisor_mode: str | None = None,
) -> list[str]:
    """The capabilities of a call, in the mock's order, by the table's rules (E207, E209, E211, E311, E312).

    Args:
        state: The call's state as the agent sees it (an unknown state raises ``ValueError``).
        public: The agent's device is on the Public network (no Answer).
        via_queue: The ringing call was delivered through a queue (Reject).
        conference: Three or more parties are on the established call (removal and the mute toggle).
        muted: The agent muted the call (UnmuteCall instead of MuteCall).
        mute_two_party: The ``mute-on-two-party`` reading: the mute toggle on every established call.
        second_call: The agent's other call makes a pair (one held, the other active or dialing).
        consult: ``conference`` for the consult call of InitiateConference (CompleteConference while dialing).
        supervisor_mode: ``BargeIn``/``ListenIn``/``Coach`` for a monitoring supervisor's party.
    """
    table = gws_capability_table()
    if state == "Released":
        return []
    if state not in table["states"]:
        raise ValueError(f"no capability set for state {state!r}")
    caps = list(table["userData"])
    if state == "Ringing":
        if not public:
            caps.append(table["ringing"]["answer"])
        if via_queue:
            caps.append(table["ringing"]["viaQueue"])
        return caps
    if supervisor_mode:
        supervisor = table["supervisor"]
        switch = supervisor.get(supervisor_mode, supervisor["other"])
        return [*caps, *table["states"]["Established"]["operations"], switch, *supervisor["operations"]]
    caps += table["states"][state]["operations"]
    if state == "Established" and (conference or mute_two_party):
        if conference:
            caps += table["conference"]["operations"]
        caps.append(table["conference"]["unmute" if muted else "mute"])
    if second_call:
        caps += table["secondCall"].get(state, [])
        if state == "Dialing" and consult == "conference":
            caps.append(table["conferenceConsultWhileDialing"])
    return caps


@cache
def connect_buttons() -> tuple[str, ...]:
    """The call buttons of a Connect bus call view, in the printed order (004 l.131-141)."""
    table: dict[str, Any] = load_document(specs_dir() / "tables" / "connect-buttons.yaml")
    return tuple(table["buttons"])
