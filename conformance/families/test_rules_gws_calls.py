"""Rule family: GWS call control — the capabilities of a call in each state, the refusal of an operation a
call does not offer, and the notifications of the basic call operations (003 Voice API > Calls).

Every call is made between the configured agents (agent A dials agent B), so the family runs on any GWS;
the few rules that need an external caller or the voice service going down take them from the event source.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from conformance.advisory import advise
from conformance.checks import expect_notification
from conformance.config import TargetConfig
from conformance.events import EventSource
from conformance.outcomes import not_run
from conformance.support.gws import DEVICES, SERVICES, GwsAgent
from conformance.support.gws_checks import (
    DIALING,
    DOC,
    ESTABLISHED,
    HELD,
    call_caps,
    check_capabilities,
    expect_ok,
    expect_refused,
    optional_members,
    require,
)
from conformance.support.gws_line import Line, connect, establish, open_line

PROFILE = "gws-voice-core"
#: A number of the switch's numbering plan that no device has (the mock: any unused number of ≤ 6 digits).


# ---- capabilities per call state ------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CAP-001",
    document=DOC,
    lines=(1206, 1228),
    title="A ringing call offers Answer and the user-data operations only",
)
@pytest.mark.vk_operations("gws.Dial", "gws.cometd.CallStateChangeMessage", "gws.getMyCall")
@pytest.mark.vk_severity("critical")
def test_ringing_call_capabilities(line_a: Line, line_b: Line) -> None:
    _, ringing = connect(line_a, line_b)
    check_capabilities(ringing, call_caps("Ringing"), f"{line_b.name}'s ringing call (notification)")
    check_capabilities(line_b.call(ringing["id"]), call_caps("Ringing"), f"{line_b.name}'s ringing call (GET)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CAP-002",
    document=DOC,
    lines=(4937, 4946),
    title="A dialing call offers Hangup, SendDtmf and the user-data operations",
)
@pytest.mark.vk_operations("gws.Dial", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_severity("critical")
def test_dialing_call_capabilities(line_a: Line, line_b: Line) -> None:
    dialing, _ = connect(line_a, line_b)
    check_capabilities(dialing, DIALING, f"{line_a.name}'s dialing call (notification)")
    check_capabilities(line_a.call(dialing["id"]), DIALING, f"{line_a.name}'s dialing call (GET)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CAP-003",
    document=DOC,
    lines=(1230, 1293),
    title="An established call offers the expanded set of 11 operations",
)
@pytest.mark.vk_operations("gws.Answer", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_severity("critical")
def test_established_call_capabilities(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    check_capabilities(answered, ESTABLISHED, f"{line_b.name}'s answered call")
    check_capabilities(connected, ESTABLISHED, f"{line_a.name}'s connected call")
    check_capabilities(line_a.call(connected["id"]), ESTABLISHED, f"{line_a.name}'s call (GET)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CAP-004", document=DOC, lines=(5302, 5315), title="A held call offers Retrieve instead of Hold and SendDtmf"
)
@pytest.mark.vk_operations("gws.Hold", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_severity("critical")
def test_held_call_capabilities(line_a: Line, line_b: Line) -> None:
    connected, _ = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hold"))
    held = line_a.call_message(connected["id"], "Held")
    check_capabilities(held, HELD, f"{line_a.name}'s held call (notification)")
    check_capabilities(line_a.call(connected["id"]), HELD, f"{line_a.name}'s held call (GET)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule("GWS-CAP-005", document=DOC, lines=(5465, 5488), title="A released call offers no operation")
@pytest.mark.vk_operations("gws.Hangup", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_severity("critical")
def test_released_call_has_no_capabilities(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hangup"))
    check_capabilities(line_a.call_message(connected["id"], "Released"), (), f"{line_a.name}'s released call")
    check_capabilities(line_b.call_message(answered["id"], "Released"), (), f"{line_b.name}'s released call")


REFUSALS = [
    # (which side and state, operation, extra members) — none of these is in the call's capabilities
    ("ringing", "Hold", {}),
    ("ringing", "Hangup", {}),
    ("dialing", "Answer", {}),
    ("dialing", "Hold", {}),
    ("established", "Retrieve", {}),
    ("established", "Answer", {}),
    ("established", "CompleteTransfer", {}),
    ("established", "MuteCall", {}),
    ("held", "Hold", {}),
    ("held", "SendDtmf", {"digits": "1"}),
]


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CAP-006",
    document=DOC,
    lines=(1053, 1062),
    title="An operation absent from the call's capabilities is refused (HTTP 400, statusCode 2) and changes nothing",
)
@pytest.mark.vk_operations(
    "gws.Answer", "gws.Hold", "gws.Retrieve", "gws.Hangup", "gws.SendDtmf", "gws.CompleteTransfer", "gws.MuteCall"
)
@pytest.mark.vk_severity("critical")
@pytest.mark.parametrize(("situation", "operation", "members"), REFUSALS, ids=[f"{s}-{o}" for s, o, _ in REFUSALS])
def test_operation_not_in_capabilities_is_refused(
    line_a: Line, line_b: Line, situation: str, operation: str, members: dict[str, Any]
) -> None:
    """003 l.1053-1062: capabilities list the operations valid in the call's state; l.3544: statusCode 2 is
    "not valid for the current state"; l.3578-3579: a failed request modifies nothing; E001: HTTP 400."""
    if situation in ("ringing", "dialing"):
        dialing, ringing = connect(line_a, line_b)
        line, call = (line_b, ringing) if situation == "ringing" else (line_a, dialing)
    else:
        connected, _ = establish(line_a, line_b)
        line, call = line_a, connected
        if situation == "held":
            expect_ok(line_a.op(connected["id"], "Hold"))
            call = line_a.call_message(connected["id"], "Held")
    if operation in (call.get("capabilities") or []) and operation in optional_members(call):
        not_run(
            f"{operation} is offered on this {situation} call, a reading the documents allow "
            f"({optional_members(call)[operation]}): nothing to refuse"
        )
    require(
        operation not in (call.get("capabilities") or []),
        f"precondition: {operation} is listed on the {situation} call",
        title="Unexpected capability",
    )
    before = line.call(call["id"])
    expect_refused(line.op(call["id"], operation, **members), 2, 400)
    line_a.no_call_messages(0.5, f"no notification after the refused {operation}")
    line_b.no_call_messages(0.1, f"no notification after the refused {operation}")
    after = line.call(call["id"])
    require(
        after.get("state") == before.get("state"),
        f"the refused {operation} changed the call's state from {before.get('state')} to {after.get('state')}",
        title="A refused operation changed the call",
    )
    require(
        set(after.get("capabilities") or []) == set(before.get("capabilities") or []),
        f"the refused {operation} changed the call's capabilities",
        title="A refused operation changed the call",
    )


# ---- the call operations ---------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-001",
    document=DOC,
    lines=(4820, 4965),
    title="Dial creates a dialing call for the caller and a ringing call for the callee",
)
@pytest.mark.vk_operations("gws.Dial", "gws.cometd.CallStateChangeMessage", "gws.listMyCalls")
@pytest.mark.vk_fixture_id("gws.calls.dial.sample-1")
def test_dial_notifies_both_parties(line_a: Line, line_b: Line) -> None:
    dialing, ringing = connect(line_a, line_b)
    require(
        line_b.number in {str(p) for p in dialing.get("participants") or []},
        f"the dialing call's participants {dialing.get('participants')} do not include the callee {line_b.number}",
    )
    require(
        str(dialing.get("dnis")) == line_b.number,
        f"the dialing call's dnis is {dialing.get('dnis')!r}, not the dialed number {line_b.number}",
    )
    require(
        line_a.number in {str(p) for p in ringing.get("participants") or []},
        f"the ringing call's participants {ringing.get('participants')} do not include the caller",
    )
    require(
        dialing.get("callUuid") == ringing.get("callUuid"),
        "caller and callee see different callUuids for one call",
        title="Parties disagree",
    )
    listed = {str(c.get("id")): c for c in line_a.calls()}
    require(
        str(dialing["id"]) in listed and listed[str(dialing["id"])].get("state") == "Dialing",
        f"GET /api/v2/me/calls of {line_a.name} does not show the dialing call",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-002", document=DOC, lines=(5054, 5150), title="Answer establishes the call for both parties"
)
@pytest.mark.vk_operations("gws.Answer", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.answer.sample")
def test_answer_establishes_both_parties(line_a: Line, line_b: Line) -> None:
    dialing, ringing = connect(line_a, line_b)
    expect_ok(line_b.op(ringing["id"], "Answer"))
    answered = line_b.call_message(ringing["id"], "Established", "StatusChange")
    connected = line_a.call_message(dialing["id"], "Established", "StatusChange")
    for call, line in ((answered, line_b), (connected, line_a)):
        require(
            line.call(call["id"]).get("state") == "Established",
            f"GET shows {line.name}'s answered call in another state than Established",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-003",
    document=DOC,
    lines=(5236, 5326),
    title="Hold places the call on hold (StatusChange Held) for the holding agent",
)
@pytest.mark.vk_operations("gws.Hold", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.hold.sample")
def test_hold_notifies_held(line_a: Line, line_b: Line) -> None:
    connected, _ = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hold"))
    held = line_a.call_message(connected["id"], notification_type="StatusChange")
    require(held.get("state") == "Held", f"after Hold the call is notified {held.get('state')!r}, not Held")
    require(line_a.call(connected["id"]).get("state") == "Held", "GET does not show the call Held")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-004",
    document=DOC,
    lines=(5328, 5420),
    title="Retrieve takes the call off hold (StatusChange Established)",
)
@pytest.mark.vk_operations("gws.Retrieve", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.retrieve.sample")
def test_retrieve_notifies_established(line_a: Line, line_b: Line) -> None:
    connected, _ = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hold"))
    line_a.call_message(connected["id"], "Held")
    expect_ok(line_a.op(connected["id"], "Retrieve"))
    retrieved = line_a.call_message(connected["id"], notification_type="StatusChange")
    require(
        retrieved.get("state") == "Established",
        f"after Retrieve the call is notified {retrieved.get('state')!r}, not Established",
    )
    check_capabilities(retrieved, ESTABLISHED, f"{line_a.name}'s retrieved call")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-005",
    document=DOC,
    lines=(5422, 5499),
    title="Hangup releases the call for both parties and it leaves /me/calls",
)
@pytest.mark.vk_operations("gws.Hangup", "gws.cometd.CallStateChangeMessage", "gws.listMyCalls")
@pytest.mark.vk_fixture_id("gws.calls.hangup.sample")
def test_hangup_releases_both_parties(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hangup"))
    line_a.call_message(connected["id"], "Released", "StatusChange")
    line_b.call_message(answered["id"], "Released", "StatusChange")
    for line, call in ((line_a, connected), (line_b, answered)):
        ids = {str(c.get("id")) for c in line.calls()}
        require(
            str(call["id"]) not in ids,
            f"the released call {call['id']} is still in {line.name}'s GET /api/v2/me/calls",
            title="Released call still listed",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-006", document=DOC, lines=(1658, 1659), title="SendDtmf is confirmed by a DtmfSent notification"
)
@pytest.mark.vk_operations("gws.SendDtmf", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.send-dtmf.sample")
def test_send_dtmf_is_confirmed(line_a: Line, line_b: Line) -> None:
    connected, _ = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "SendDtmf", digits="12#"))
    confirmed = line_a.call_message(connected["id"], notification_type="DtmfSent")
    require(
        confirmed.get("state") == "Established",
        f"the DtmfSent notification shows the call {confirmed.get('state')!r}, not Established",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-007",
    document=DOC,
    lines=(5061, 5064),
    title="A ringing call on a Public-network device does not offer Answer",
)
@pytest.mark.vk_operations("gws.Answer", "gws.cometd.CallStateChangeMessage")
def test_public_network_device_hides_answer(
    line_a: Line, vk_gws_client: Any, vk_gws_notifications: Any, vk_cleanup: Any
) -> None:
    public: GwsAgent = vk_gws_client("public_network_agent", "public-network agent")
    if str(public.device.get("telephonyNetwork")) != "Public":
        not_run(
            f"gws.users.public_network_agent's device is on the {public.device.get('telephonyNetwork')} "
            "network, not Public"
        )
    line_p = open_line(public, vk_gws_notifications, vk_cleanup)
    _, ringing = connect(line_a, line_p)
    check_capabilities(ringing, call_caps("Ringing", public=True), "the Public device's ringing call")
    expect_refused(line_p.op(ringing["id"], "Answer"), 2, 400)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule("GWS-CALL-008", document=DOC, lines=(5161, 5162), title="Reject is not possible on a direct call")
@pytest.mark.vk_operations("gws.Reject")
def test_reject_not_offered_on_direct_call(line_a: Line, line_b: Line) -> None:
    _, ringing = connect(line_a, line_b)
    check_capabilities(ringing, (), "a directly dialed ringing call", absent=["Reject"])
    expect_refused(line_b.op(ringing["id"], "Reject"), 2, 400)
    require(line_b.call(ringing["id"]).get("state") == "Ringing", "the refused Reject changed the call")


def _voice_queue(agent: GwsAgent, configured: str | None) -> str:
    """The queue to deliver through: ``gws.queue``, else the first voice queue of the target."""
    if configured:
        return configured
    response = agent.get("/api/v2/queues", params={"fields": "*"})
    queues = (response.json_or_none() or {}).get("queues") or [] if response.status == 200 else []
    for queue in queues:
        if (
            isinstance(queue, dict)
            and queue.get("channel", "voice") == "voice"
            and (queue.get("number") or queue.get("name"))
        ):
            return str(queue.get("number") or queue.get("name"))
    not_run("no voice queue to deliver a call through (set gws.queue)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-CALL-009",
    document=DOC,
    lines=(5157, 5162),
    title="A call delivered via a queue offers Reject; Reject redirects it back to the queue",
)
@pytest.mark.vk_operations("gws.Reject", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_needs_event("inbound-call")
@pytest.mark.vk_fixture_id("gws.calls.reject.sample")
def test_reject_on_queue_delivered_call(
    line_a: Line, vk_events: EventSource, vk_cleanup: Any, vk_config: TargetConfig
) -> None:
    queue = _voice_queue(line_a.agent, vk_config.gws.queue)
    external = vk_events.inbound_call(
        line_a.number, queue=queue, expect=lambda t: line_a.call_message(state="Ringing", timeout=t)
    )
    if external.call_id and vk_events.source_for("remote-hangup"):
        vk_cleanup(_quietly, vk_events.remote_hangup, external, description="the external caller hangs up")
    ringing = external.observed
    check_capabilities(ringing, (), "a ringing call delivered via a queue", present=["Reject", "Answer"])
    expect_ok(line_a.op(ringing["id"], "Reject"))
    line_a.call_message(ringing["id"], "Released", "StatusChange")
    require(
        str(ringing["id"]) not in {str(c.get("id")) for c in line_a.calls()},
        "the rejected call is still in the agent's GET /api/v2/me/calls",
    )


def _quietly(func: Any, *args: Any) -> None:
    with contextlib.suppress(Exception):  # the call may already be gone
        func(*args)


# ---- errors ------------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-ERR-001",
    document=DOC,
    lines=(1750, 1762),
    title="Dialing an unknown DN is accepted, then refused asynchronously with an ErrorMessage on /v2/me/devices",
)
@pytest.mark.vk_operations("gws.Dial", "gws.cometd.ErrorMessage")
@pytest.mark.vk_fixture_id("gws.general.async-events.error-message-device")
def test_unknown_dn_gives_error_message(line_a: Line, vk_config: TargetConfig) -> None:
    """l.1876-1882: T-Server's errors come asynchronously as CometD messages; l.1750-1762 is the example for
    an invalid called DN."""
    expect_ok(line_a.agent.dial(vk_config.gws.unknown_dn))
    message = line_a.cometd.await_message(
        lambda m: m["channel"] == DEVICES and m["data"].get("messageType") == "ErrorMessage",
        description=f"{line_a.name}: ErrorMessage on /v2/me/devices",
    )
    expect_notification(message, system="gws")
    data = message["data"]
    require(
        str(data.get("deviceUri", "")).rstrip("/").endswith(line_a.device_id),
        f"the ErrorMessage names device {data.get('deviceUri')!r}, not {line_a.device_id}",
    )
    if "errorMessage" in data and str(data["errorMessage"]).lower() != "invalid called dn":
        advise(
            f"errorMessage is {data['errorMessage']!r}; the example words it 'Invalid Called Dn'",
            basis="003 l.1750-1762: T-Server's errorMessage is human-readable text, shown as an example",
        )
    require(
        not [c for c in line_a.calls() if c.get("state") != "Released"], "a call exists after dialing an unknown DN"
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-ERR-002",
    document=DOC,
    lines=(1866, 1875),
    title="While the voice service is down, voice requests get HTTP 503 statusCode 4 and a "
    "ServiceStateChangeMessage is published",
)
@pytest.mark.vk_operations("gws.Dial", "gws.Ready", "gws.cometd.ServiceStateChangeMessage")
@pytest.mark.vk_needs_event("voice-service")
@pytest.mark.vk_fixture_id("gws.general.error-handling.http-503-voice-unavailable")
def test_voice_service_down(
    vk_gws_agent: GwsAgent, vk_gws_agent_b: GwsAgent, vk_gws_notifications: Any, vk_events: EventSource, vk_cleanup: Any
) -> None:
    """l.1812-1847: Inactive when T-Server is lost, Active when it is back; E001/E122: 503 with 4."""
    cometd = vk_gws_notifications(vk_gws_agent, ("/v2/me/*", SERVICES))

    def service(state: str) -> Any:
        return lambda timeout: cometd.await_message(
            lambda m: (
                m["channel"] == SERVICES
                and m["data"].get("service", {}).get("type") == "Voice"
                and m["data"]["service"].get("state") == state
            ),
            timeout,
            description=f"Voice service {state}",
        )

    vk_cleanup(vk_events.voice_service, "Active", description="voice service back to Active")
    down = vk_events.voice_service("Inactive", expect=service("Inactive"))
    expect_notification(down, system="gws")
    body = expect_refused(vk_gws_agent.dial(vk_gws_agent_b.phone_number), 4, 503)
    require(isinstance(body.get("statusMessage"), str), "the 503 answer has no statusMessage")
    expect_refused(vk_gws_agent.post("/api/v2/me/channels/voice", json={"operationName": "NotReady"}), 4, 503)
    up = vk_events.voice_service("Active", expect=service("Active"))
    expect_notification(up, system="gws")
    expect_ok(vk_gws_agent.post("/api/v2/me/channels/voice", json={"operationName": "NotReady"}))


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-RET-001", document=DOC, lines=(3543, 3543), title="A missing required parameter gives statusCode 1 (HTTP 400)"
)
@pytest.mark.vk_operations("gws.Dial", "gws.SendDtmf")
def test_missing_parameter_status_code(line_a: Line, line_b: Line) -> None:
    expect_refused(
        line_a.agent.post(f"/api/v2/me/devices/{line_a.device_id}/calls", json={"operationName": "Dial"}), 1, 400
    )
    line_a.no_call_messages(0.3, "no call after a Dial without destination")
    connected, _ = establish(line_a, line_b)
    expect_refused(line_a.op(connected["id"], "SendDtmf"), 1, 400)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-RET-002", document=DOC, lines=(3553, 3553), title="An unknown call gives statusCode 6 (HTTP 404)"
)
@pytest.mark.vk_operations("gws.getMyCall", "gws.Hangup")
def test_unknown_call_status_code(vk_gws_agent: GwsAgent) -> None:
    unknown = "00ffffffffff0000"
    expect_refused(vk_gws_agent.get(f"/api/v2/me/calls/{unknown}"), 6, 404)
    expect_refused(vk_gws_agent.call_operation(unknown, "Hangup"), 6, 404)
