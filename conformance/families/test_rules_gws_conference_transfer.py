"""Rule family: GWS conferences, transfers and two calls — the order of the notifications of each two-step
operation (E217, E310), the capabilities of consult calls, held parents, call pairs and conference calls
(E207, E209, E211, E311, E312, E315), and the owner rule of RemoveParticipantFromConference.

Agent A talks to agent B; agent C (``gws.agents[2]``) is the transfer or conference target. Consult calls
are completed while still dialing, as in every sample (E218), unless a rule needs C to answer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from conformance.advisory import advise, lenient
from conformance.checks import ConformanceFailure, expect_notification
from conformance.support.gws import CALLS
from conformance.support.gws_checks import (
    DOC,
    ESTABLISHED,
    HELD,
    MUTE_OPTIONAL,
    call_caps,
    check_capabilities,
    expect_ok,
    expect_refused,
    other_party_numbers,
    require,
)
from conformance.support.gws_line import Line, await_in_order, call_predicate, establish

PROFILE = "gws-conference-transfer"

CONSULT_DIALING = call_caps("Dialing", second_call=True)  # l.6930-6940
MUTE_SILENT_BASIS = (
    "the MuteCall and UnmuteCall samples print no notification (003 l.5638-5640, 5673-5675); "
    "E210's StatusChange is the reference mock's choice"
)
SWAP_ORDER_BASIS = (
    "003 l.7983-7984 name the two notifications without an order; the sample prints the retrieved "
    "call first (l.7986-8105), the scenario the held one (l.8446-8567) — E310"
)
MERGE_BASIS = (
    "003 l.8594-8604 print no notification for MergeWithOtherCall; E314's Released then "
    "ParticipantsUpdated is the reference mock's choice"
)


def _optional_call_message(
    line: Line, call_id: str, predicate: Any, description: str, basis: str
) -> dict[str, Any] | None:
    """A notification the documents do not show: awaited briefly (it is advisory), None when it does not come."""
    try:
        message = line.cometd.await_message(
            lambda m: m.get("channel") == CALLS and predicate(m),
            min(2.0, line.cometd.inbox.timeout),
            description=description,
        )
    except (TimeoutError, ConformanceFailure):
        advise(f"{line.name}: no {description} for call {call_id}", basis=basis)
        return None
    expect_notification(message, system="gws")  # a notification that does come must still be a valid one
    call: dict[str, Any] = message["data"]["call"]
    return call


def _until(fetch: Any, test: Any, timeout: float) -> Any:
    """``fetch()`` again until ``test(value)`` holds or ``timeout`` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not test(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = fetch()
    return value


CONFERENCE = call_caps("Established", conference=True)  # l.6550-6566


def _is_new_call(known: str, state: str) -> Any:
    def match(message: dict[str, Any]) -> bool:
        call = message["data"]["call"]
        return (
            str(call["id"]) != known
            and call["state"] == state
            and message["data"]["notificationType"] == "StatusChange"
        )

    match.__name__ = f"a new call {state}"
    return match


def _initiate(
    line_a: Line, line_b: Line, line_c: Line, operation: str, rule: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A↔B established, then A initiates a transfer or conference to C. Returns (A's held call, A's consult
    call, B's call, C's ringing call), checking the documented order of A's two notifications."""
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], operation, destination={"phoneNumber": line_c.number}))
    held_msg, consult_msg = await_in_order(
        line_a,
        [
            ("the original call Held", call_predicate(connected["id"], "Held", "StatusChange")),
            ("the consult call Dialing", _is_new_call(connected["id"], "Dialing")),
        ],
        rule=rule,
    )
    ringing = line_c.call_message(state="Ringing", notification_type="StatusChange")
    return held_msg["data"]["call"], consult_msg["data"]["call"], answered, ringing


def _check_consult(consult: dict[str, Any], parent_id: str) -> None:
    require(
        consult.get("callType") == "Consult",
        f"the consult call's callType is {consult.get('callType')!r}, not Consult (l.6919)",
    )
    parent = str(consult.get("parentCallUri") or "")
    require(
        parent.rstrip("/").endswith(f"/me/calls/{parent_id}"),
        f"the consult call's parentCallUri {parent!r} does not name the held call {parent_id} (l.6930-6942)",
    )


# ---- two-step transfer -----------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-XFER-001",
    document=DOC,
    lines=(6826, 6942),
    title="InitiateTransfer: the original call is held, then the consult call dials",
)
@pytest.mark.vk_operations("gws.InitiateTransfer", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.transfers.initiate-transfer.sample")
@pytest.mark.vk_severity("critical")
def test_initiate_transfer_holds_then_dials(line_a: Line, line_b: Line, line_c: Line) -> None:
    held, consult, _, ringing = _initiate(line_a, line_b, line_c, "InitiateTransfer", "GWS-XFER-001")
    check_capabilities(held, HELD, "the held original call (l.6863-6883, E209)")
    check_capabilities(consult, CONSULT_DIALING, "the dialing consult call (l.6930-6940)")
    _check_consult(consult, held["id"])
    require(line_a.number in other_party_numbers(ringing), "the target's ringing call does not show the agent")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-XFER-002",
    document=DOC,
    lines=(7366, 7449),
    title="CompleteTransfer: the original call is released, then the consult call; the other "
    "party now talks to the target",
)
@pytest.mark.vk_operations("gws.CompleteTransfer", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.transfers.complete-transfer.sample")
@pytest.mark.vk_severity("critical")
def test_complete_transfer_releases_original_then_consult(line_a: Line, line_b: Line, line_c: Line) -> None:
    held, consult, b_call, c_call = _initiate(line_a, line_b, line_c, "InitiateTransfer", "GWS-XFER-002")
    expect_ok(line_a.op(consult["id"], "CompleteTransfer"))
    await_in_order(
        line_a,
        [
            ("the original call Released", call_predicate(held["id"], "Released", "StatusChange")),
            ("the consult call Released", call_predicate(consult["id"], "Released", "StatusChange")),
        ],
        rule="GWS-XFER-002",
    )
    updated = line_b.call_message(b_call["id"], notification_type="ParticipantsUpdated")
    require(
        other_party_numbers(updated) == {line_c.number},
        f"after the transfer {line_b.name}'s call shows participants {sorted(other_party_numbers(updated))}, "
        f"expected only the target {line_c.number}",
    )
    require(not line_a.calls(), f"{line_a.name} still has calls after completing the transfer")
    b_now, c_now = line_b.call(b_call["id"]), line_c.call(c_call["id"])
    require(
        b_now.get("callUuid") == c_now.get("callUuid"),
        "the transferred party and the target are not on the same call (different callUuids)",
        title="Parties disagree",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-XFER-003",
    document=DOC,
    lines=(6579, 6680),
    title="SingleStepTransfer releases the agent's call and rings the target for the other party",
)
@pytest.mark.vk_operations("gws.SingleStepTransfer", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.transfers.single-step-transfer.sample-1")
def test_single_step_transfer(line_a: Line, line_b: Line, line_c: Line) -> None:
    connected, b_call = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "SingleStepTransfer", destination={"phoneNumber": line_c.number}))
    released = line_a.call_message(connected["id"], "Released", "StatusChange")
    check_capabilities(released, (), "the transferred call")
    ringing = line_c.call_message(state="Ringing", notification_type="StatusChange")
    require(
        line_b.number in other_party_numbers(ringing),
        f"the target's ringing call shows {sorted(other_party_numbers(ringing))}, not {line_b.number}",
    )
    updated = line_b.call_message(b_call["id"], notification_type="ParticipantsUpdated")
    require(
        other_party_numbers(updated) == {line_c.number},
        f"{line_b.name}'s call shows {sorted(other_party_numbers(updated))} after the transfer",
    )
    expect_ok(line_c.op(ringing["id"], "Answer"))
    line_c.call_message(ringing["id"], "Established")


# ---- two-step conference ---------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-001",
    document=DOC,
    lines=(6286, 6392),
    title="InitiateConference: the original call is held, then the consult call dials and offers CompleteConference",
)
@pytest.mark.vk_operations("gws.InitiateConference", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.initiate-conference.sample")
@pytest.mark.vk_severity("critical")
def test_initiate_conference_holds_then_dials(line_a: Line, line_b: Line, line_c: Line) -> None:
    held, consult, _, _ = _initiate(line_a, line_b, line_c, "InitiateConference", "GWS-CONF-001")
    check_capabilities(held, HELD, "the held original call")
    # E207: the documented eight must be there; CompleteConference is the one extra member allowed.
    check_capabilities(consult, (), "the conference consult call", present=CONSULT_DIALING)
    extra = set(consult["capabilities"]) - CONSULT_DIALING - {"CompleteConference"}
    require(
        not extra,
        f"the conference consult call lists unexpected capabilities {sorted(extra)}",
        title="Wrong capabilities",
    )
    _check_consult(consult, held["id"])
    expect_ok(line_a.op(consult["id"], "CompleteConference"))  # E207: accepted on the consult call
    line_a.call_message(consult["id"], "Released")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-002",
    document=DOC,
    lines=(6456, 6566),
    title="CompleteConference: the consult call is released, then the original call is updated to "
    "three parties with the conference capabilities",
)
@pytest.mark.vk_operations("gws.CompleteConference", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.complete-conference.sample")
@pytest.mark.vk_severity("critical")
def test_complete_conference_releases_consult_then_updates(line_a: Line, line_b: Line, line_c: Line) -> None:
    held, consult, b_call, _ = _initiate(line_a, line_b, line_c, "InitiateConference", "GWS-CONF-002")
    expect_ok(line_a.op(consult["id"], "CompleteConference"))
    _, updated_msg = await_in_order(
        line_a,
        [
            ("the consult call Released", call_predicate(consult["id"], "Released", "StatusChange")),
            ("the original call ParticipantsUpdated", call_predicate(held["id"], None, "ParticipantsUpdated")),
        ],
        rule="GWS-CONF-002",
    )
    updated = updated_msg["data"]["call"]
    require(
        updated.get("state") == "Established",
        f"the conference call is {updated.get('state')!r}, not Established (E217)",
    )
    require(
        other_party_numbers(updated) == {line_b.number, line_c.number},
        f"the conference call shows participants {sorted(other_party_numbers(updated))}",
    )
    check_capabilities(updated, CONFERENCE, "the conference call (l.6550-6566, E206, E211)")
    require(
        "FirstConferencePartyDN" not in (updated.get("userData") or {}),
        "CompleteConference added FirstConferencePartyDN (E214: only SingleStepConference does)",
    )
    b_updated = line_b.call_message(b_call["id"], notification_type="ParticipantsUpdated")
    require(
        other_party_numbers(b_updated) == {line_a.number, line_c.number},
        f"{line_b.name}'s call shows {sorted(other_party_numbers(b_updated))} after the conference",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-003",
    document=DOC,
    lines=(5993, 6121),
    title="SingleStepConference adds the participant to the call (ParticipantsUpdated)",
)
@pytest.mark.vk_operations("gws.SingleStepConference", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.single-step-conference.sample-1")
def test_single_step_conference(line_a: Line, line_b: Line, line_c: Line) -> None:
    connected, b_call = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "SingleStepConference", destination={"phoneNumber": line_c.number}))
    updated = line_a.call_message(connected["id"], notification_type="ParticipantsUpdated")
    require(
        other_party_numbers(updated) == {line_b.number, line_c.number},
        f"the conference shows participants {sorted(other_party_numbers(updated))}",
    )
    data = updated.get("userData") or {}
    require(
        str(data.get("FirstConferencePartyDN")) == line_a.number,
        f"userData FirstConferencePartyDN is {data.get('FirstConferencePartyDN')!r}, expected the "
        f"conferencing DN {line_a.number} (l.6106-6109, E214)",
    )
    line_c.call_message(state="Ringing", notification_type="StatusChange")
    b_updated = line_b.call_message(b_call["id"], notification_type="ParticipantsUpdated")
    require(line_c.number in other_party_numbers(b_updated), f"{line_b.name} is not told of the new participant")


def _conference(line_a: Line, line_b: Line, line_c: Line) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A three-party conference made by A with SingleStepConference, C answered; every notification consumed.
    Returns (A's, B's, C's call) as GET shows them."""
    connected, b_call = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "SingleStepConference", destination={"phoneNumber": line_c.number}))
    line_a.call_message(connected["id"], notification_type="ParticipantsUpdated")
    ringing = line_c.call_message(state="Ringing", notification_type="StatusChange")
    line_b.call_message(b_call["id"], notification_type="ParticipantsUpdated")
    expect_ok(line_c.op(ringing["id"], "Answer"))
    line_c.call_message(ringing["id"], "Established")
    for line in (line_a, line_b, line_c):
        line.drain()
    return line_a.call(connected["id"]), line_b.call(b_call["id"]), line_c.call(ringing["id"])


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-004",
    document=DOC,
    lines=(7837, 7935),
    title="RemoveParticipantFromConference releases the participant; two parties fall back to the "
    "ordinary established capabilities",
)
@pytest.mark.vk_operations("gws.RemoveParticipantFromConference", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.remove-participant.sample")
def test_remove_participant(line_a: Line, line_b: Line, line_c: Line) -> None:
    a_call, _, c_call = _conference(line_a, line_b, line_c)
    check_capabilities(a_call, CONFERENCE, "the conference call before the removal")
    expect_ok(line_a.op(a_call["id"], "RemoveParticipantFromConference", participant=line_c.number))
    line_c.call_message(c_call["id"], "Released", "StatusChange")
    updated = line_a.call_message(a_call["id"], notification_type="ParticipantsUpdated")
    require(
        other_party_numbers(updated) == {line_b.number},
        f"after the removal the call shows {sorted(other_party_numbers(updated))}",
    )
    check_capabilities(updated, ESTABLISHED, "the two-party call after the removal (E315)")
    require(
        (updated.get("userData") or {}).get("FirstConferencePartyDN") is not None,
        "the removal deleted the call's userData (E315: it is kept)",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-005", document=DOC, lines=(7844, 7845), title="Only the owner of the conference can remove a participant"
)
@pytest.mark.vk_operations("gws.RemoveParticipantFromConference")
def test_remove_participant_only_by_owner(line_a: Line, line_b: Line, line_c: Line) -> None:
    """E315: another party is refused as invalid for the current state (statusCode 2, E001 HTTP 400)."""
    _, b_call, c_call = _conference(line_a, line_b, line_c)
    expect_refused(line_b.op(b_call["id"], "RemoveParticipantFromConference", participant=line_c.number), 2, 400)
    line_c.no_call_messages(0.5, "no notification after the refused removal")
    require(line_c.call(c_call["id"]).get("state") == "Established", "the refused removal released the participant")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-006",
    document=DOC,
    lines=(5602, 5673),
    title="MuteCall and UnmuteCall on a conference call: one StatusChange each, the opposite operation offered",
)
@pytest.mark.vk_operations("gws.MuteCall", "gws.UnmuteCall", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.mute-call.sample")
def test_mute_and_unmute_conference_call(line_a: Line, line_b: Line, line_c: Line) -> None:
    """l.5602-5673: MuteCall mutes, UnmuteCall unmutes — seen in the call's ``mute`` (GET, and the notification
    when one comes). E210's one StatusChange and E211's UnmuteCall in place of MuteCall are the reference mock's
    readings of samples that print neither: advisory."""
    a_call, _, _ = _conference(line_a, line_b, line_c)
    for operation, value in (("MuteCall", "On"), ("UnmuteCall", "Off")):
        expect_ok(line_a.op(a_call["id"], operation))
        notified = _optional_call_message(
            line_a,
            a_call["id"],
            lambda m, v=value: call_predicate(a_call["id"], "Established")(m) and m["data"]["call"].get("mute") == v,
            f"CallStateChangeMessage with mute {value}",
            MUTE_SILENT_BASIS,
        )
        now = _until(
            lambda: line_a.call(a_call["id"]), lambda c, v=value: c.get("mute") == v, line_a.cometd.inbox.timeout
        )
        require(now.get("mute") == value, f"after {operation} GET shows mute {now.get('mute')!r}, not {value}")
        with lenient(basis=MUTE_OPTIONAL):
            check_capabilities(
                now,
                call_caps("Established", conference=True, muted=value == "On"),
                f"the conference call after {operation}",
            )
        if notified is not None:
            require(
                notified.get("mute") == value, f"the notification after {operation} shows mute {notified.get('mute')!r}"
            )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-007",
    document=DOC,
    lines=(1053, 1062),
    title="MuteCall on a two-party call is accepted exactly when the call offers it",
)
@pytest.mark.vk_operations("gws.MuteCall")
def test_mute_on_two_party_call_follows_capabilities(line_a: Line, line_b: Line) -> None:
    """l.1053-1062 and l.3544: an operation the call offers is valid, one it does not is refused (statusCode 2,
    E001 HTTP 400). Whether a two-party call offers MuteCall the documents leave open (E211): the reference mock
    does not, the MuteCall sample (l.5625-5629) mutes a call whose printed capabilities lack it."""
    connected, _ = establish(line_a, line_b)
    offered = "MuteCall" in (connected.get("capabilities") or [])
    if not offered:
        expect_refused(line_a.op(connected["id"], "MuteCall"), 2, 400)
        return
    advise(
        "a two-party call offers MuteCall (the reference mock offers it on conferences only)",
        basis=MUTE_OPTIONAL,
    )
    expect_ok(line_a.op(connected["id"], "MuteCall"))
    now = _until(lambda: line_a.call(connected["id"]), lambda c: c.get("mute") == "On", line_a.cometd.inbox.timeout)
    require(now.get("mute") == "On", f"the offered MuteCall was accepted but GET shows mute {now.get('mute')!r}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CONF-008",
    document=DOC,
    lines=(8569, 8604),
    title="MergeWithOtherCall: the call in the URL is released, then the other call holds every party",
)
@pytest.mark.vk_operations("gws.MergeWithOtherCall", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.merge-with-other-call.sample")
def test_merge_with_other_call(line_a: Line, line_b: Line, line_c: Line) -> None:
    """l.8580-8581: the call in the URL is merged into the otherCallUri call — GET shows one call, Established,
    with both remote parties. E314's notifications (Released, then ParticipantsUpdated) are advisory: the sample
    prints none."""
    first, active = _two_calls(line_a, line_b, line_c)
    expect_ok(line_a.op(active["id"], "MergeWithOtherCall", otherCallUri=first["uri"]))
    with lenient(basis=MERGE_BASIS):
        await_in_order(
            line_a,
            [
                ("the URL's call Released", call_predicate(active["id"], "Released", "StatusChange")),
                ("the other call ParticipantsUpdated", call_predicate(first["id"], None, "ParticipantsUpdated")),
            ],
            rule="GWS-CONF-008",
            timeout=min(2.0, line_a.cometd.inbox.timeout),
        )

    def merged_view() -> list[dict[str, Any]]:
        return [c for c in line_a.calls() if c.get("state") != "Released"]

    calls = _until(
        merged_view,
        lambda cs: len(cs) == 1 and other_party_numbers(cs[0]) == {line_b.number, line_c.number},
        line_a.cometd.inbox.timeout,
    )
    require(
        len(calls) == 1,
        f"after the merge {line_a.name} has {len(calls)} calls: {[(c.get('id'), c.get('state')) for c in calls]}",
    )
    merged = calls[0]
    require(merged.get("state") == "Established", f"the merged call is {merged.get('state')!r}")
    require(
        other_party_numbers(merged) == {line_b.number, line_c.number},
        f"the merged call shows {sorted(other_party_numbers(merged))}",
    )


# ---- two calls -------------------------------------------------------------------------------------------------------
def _two_calls(line_a: Line, line_b: Line, line_c: Line) -> tuple[dict[str, Any], dict[str, Any]]:
    """A↔B held by A, then A↔C established (a Dial-ed second call). Returns (held call, active call)."""
    first, _ = establish(line_a, line_b)
    expect_ok(line_a.op(first["id"], "Hold"))
    held = line_a.call_message(first["id"], "Held")
    second, _ = establish(line_a, line_c)
    for line in (line_a, line_b, line_c):
        line.drain()
    return held, second


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SWAP-001",
    document=DOC,
    lines=(7981, 7984),
    title="SwapCalls: the active call is notified held and the held call retrieved (either order)",
)
@pytest.mark.vk_operations("gws.SwapCalls", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.conferences.swap-calls.scenario")
@pytest.mark.vk_severity("critical")
def test_swap_calls_holds_first(line_a: Line, line_b: Line, line_c: Line) -> None:
    """l.7983-7984: one notification for the call placed on hold, one for the call retrieved; E310's order (held
    first) is advisory, the documents print both orders."""
    held, active = _two_calls(line_a, line_b, line_c)
    expect_ok(line_a.op(active["id"], "SwapCalls", otherCallUri=held["uri"]))
    await_in_order(
        line_a,
        [
            ("the active call Held", call_predicate(active["id"], "Held", "StatusChange")),
            ("the held call Established", call_predicate(held["id"], "Established", "StatusChange")),
        ],
        rule="GWS-SWAP-001",
        order_basis=SWAP_ORDER_BASIS,
    )
    check_capabilities(line_a.call(active["id"]), call_caps("Held", second_call=True), "the newly held call (E311)")
    check_capabilities(line_a.call(held["id"]), call_caps("Established", second_call=True), "the retrieved call (E312)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SWAP-002",
    document=DOC,
    lines=(8303, 8357),
    title="A call dialed while another is held offers SwapCalls and CompleteTransfer (and "
    "CompleteConference once established); the held call of the pair too",
)
@pytest.mark.vk_operations("gws.Dial", "gws.SwapCalls", "gws.CompleteTransfer", "gws.CompleteConference")
@pytest.mark.vk_fixture_id("gws.conferences.swap-calls.sample")
def test_second_call_capabilities(line_a: Line, line_b: Line, line_c: Line) -> None:
    """E311, E312 (l.8077-8093, 8303-8311, 8344-8357)."""
    first, _ = establish(line_a, line_b)
    expect_ok(line_a.op(first["id"], "Hold"))
    line_a.call_message(first["id"], "Held")
    expect_ok(line_a.agent.dial(line_c.number))
    dialing = line_a.call_message(state="Dialing", notification_type="StatusChange")
    check_capabilities(dialing, call_caps("Dialing", second_call=True), "the second call while dialing (E312)")
    check_capabilities(line_a.call(first["id"]), call_caps("Held", second_call=True), "the held call of the pair")
    ringing = line_c.call_message(state="Ringing")
    expect_ok(line_c.op(ringing["id"], "Answer"))
    established = line_a.call_message(dialing["id"], "Established")
    check_capabilities(
        established, call_caps("Established", second_call=True), "the second call once established (E312)"
    )
