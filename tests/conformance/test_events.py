"""EventSource: the control API of the real mock, a driver command, a person, or not run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.config import GwsUser, TargetConfig
from conformance.errors import VoicekitError
from conformance.events import EventFailed, EventSource
from conformance.outcomes import NOT_RUN_PREFIX, NotRunnable
from conformance.support.gws import GwsAgent
from conformance.target import mock_config

DRIVER = """
import json, sys
event, args = sys.argv[1], json.loads(sys.argv[2])
log = sys.argv[3]
with open(log, "a") as f:
    f.write(json.dumps({"event": event, "args": args}) + "\\n")
if event == "voice-service":
    sys.stderr.write("no T-Server control in this lab")
    sys.exit(3)
if event == "remote-hangup":
    sys.stderr.write("boom")
    sys.exit(1)
print(json.dumps({"callId": "drv-1"}))
"""


def config(**events: Any) -> TargetConfig:
    tree: dict[str, Any] = {
        "gws": {
            "url": "http://gws.example",
            "agents": [{"username": "a", "password": "p"}, {"username": "b", "password": "p"}],
        },
        "events": events,
        "timeouts": {"request": 5, "notification": 5},
    }
    return TargetConfig.from_mapping(tree)


def test_no_source_means_not_run() -> None:
    source = EventSource(config())
    assert source.source_for("inbound-call") is None
    with pytest.raises(NotRunnable) as caught:
        source.inbound_call("5001")
    assert str(caught.value.msg).startswith(NOT_RUN_PREFIX)
    assert "no event source for inbound-call" in caught.value.reason
    assert source.source_for("internal-call") == "gws"
    with pytest.raises(VoicekitError, match="unknown event"):
        source.source_for("earthquake")


def test_control_api_of_the_mock(fresh_mock: str) -> None:
    base = mock_config(fresh_mock)
    source = EventSource(base)
    assert source.source_for("inbound-call") == "control"
    with GwsAgent(fresh_mock, base.gws.agents[0], role="agent A") as agent:
        call = source.inbound_call(
            agent.phone_number,
            "+15550001111",
            expect=lambda timeout: agent.wait_for_call({"state": "Ringing"}, timeout),
        )
        assert call.source == "control" and call.call_id
        assert call.observed["participants"] == ["+15550001111"]
        agent.call_operation(call.observed["id"], "Answer")
        assert agent.wait_for_call({"state": "Established"}, 5)
        source.remote_hangup(call)  # the mock applies it before answering
        assert all(c["state"] != "Established" for c in agent.calls())
        source.voice_service("Inactive")
        with pytest.raises(EventFailed) as refused:
            source.inbound_call(agent.phone_number)
        assert refused.value.status and refused.value.status >= 400
        source.voice_service("Active")
    with pytest.raises(EventFailed, match="refused POST /gws/calls"):
        source.inbound_call("no-such-number")
    source.close()


def test_internal_call_on_any_gws(fresh_mock: str) -> None:
    base = mock_config(fresh_mock)
    source = EventSource(base)
    with (
        GwsAgent(fresh_mock, base.gws.agents[1], role="agent B") as b,
        GwsAgent(fresh_mock, base.gws.agents[0], role="agent A") as a,
    ):
        call = source.internal_call(b, a)
        assert call.callee_call["state"] == "Ringing" and call.callee_call["participants"] == [b.phone_number]
        assert call.caller_call["state"] in ("Dialing", "Established") and call.caller_call_id
        b.hang_up_all()


def test_driver_command(tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    log = tmp_path / "driver.log"
    source = EventSource(config(driver_command=f"{sys.executable} {script} {{event}} {{args_json}} {log}"))
    call = source.inbound_call("5001", "+1555", user_data={"k": "v w"})
    assert call.source == "driver" and call.call_id == "drv-1"
    source.remote_answer(call)
    with pytest.raises(NotRunnable, match="cannot cause voice-service: no T-Server control"):
        source.voice_service("Inactive")
    with pytest.raises(EventFailed, match=r"failed on remote-hangup \(exit 1\): boom"):
        source.remote_hangup(call)
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"event": "inbound-call", "args": {"from": "+1555", "to": "5001", "userData": {"k": "v w"}}}
    assert lines[1] == {"event": "remote-answer", "args": {"callId": "drv-1"}}


def test_missing_driver_is_a_kit_error() -> None:
    source = EventSource(config(driver_command="/no/such/driver {event} {args_json}"))
    with pytest.raises(EventFailed, match="not found"):
        source.remote_answer("x")


def test_manual_events_wait_for_the_condition() -> None:
    said: list[str] = []
    source = EventSource(config(manual_events=True, manual_timeout=3), announce=said.append)
    seen: list[float] = []
    call = source.inbound_call("5001", "+1555", expect=lambda timeout: seen.append(timeout) or "rang")
    assert call.source == "manual" and call.observed == "rang" and seen == [3.0]
    assert "Make an external call from +1555 to 5001" in said[0]
    with pytest.raises(NotRunnable, match="manual event without a condition"):
        source.remote_answer(call)


def test_agent_without_credentials_has_no_internal_calls() -> None:
    single = TargetConfig.from_mapping({"gws": {"url": "http://g", "agents": [{"username": "a", "password": "p"}]}})
    with pytest.raises(NotRunnable, match="two GWS agents"):
        EventSource(single).require("internal-call")
    assert GwsUser("a", "p") == single.gws.agents[0]


# ---- Platform and Connect: the same three sources ---------------------------------------------------------------
LAB_DRIVER = """
import json, sys
event, args = sys.argv[1], json.loads(sys.argv[2])
with open(sys.argv[3], "a") as f:
    f.write(json.dumps({"event": event, "args": args}) + "\\n")
answers = {
    "platform-inbound-call": {"conversationId": "conv-1", "participantId": "part-1"},
    "platform-client": {"id": "client-1"},
    "platform-token": {"access_token": "tok-1"},
    "platform-callback": {"conversationId": "cb-1"},
    "connect-incoming-call": {"contact": {"connectionId": "conn-1"}},
}
if event == "reset":
    sys.exit(3)
if event in answers:
    print(json.dumps(answers[event]))
"""


def test_driver_command_causes_platform_and_connect_events(tmp_path: Path) -> None:
    script = tmp_path / "lab.py"
    script.write_text(LAB_DRIVER, encoding="utf-8")
    log = tmp_path / "lab.log"
    source = EventSource(config(driver_command=f"{sys.executable} {script} {{event}} {{args_json}} {log}"))
    assert source.source_for("platform-phone") == "driver" and source.automated("connect-agent-state")
    call = source.platform_inbound_call("u-1", "+1555")
    assert (call.call_id, call.participant_id, call.source) == ("conv-1", "part-1", "driver")
    source.platform_remote_answer(call)
    source.platform_remote_hangup("conv-1")
    source.platform_phone_answer("u-1")
    assert source.platform_phone("u-1", "webrtc", persistent=True, active=True) == {}
    source.platform_settings({"rateLimit": 1})
    source.platform_login("u-1")
    assert source.platform_client({"name": "narrow", "grants": ["authorization_code"]})["id"] == "client-1"
    assert source.platform_token("client-1", user_id="u-1") == "tok-1"
    assert source.platform_callback("u-1", ["+1555"]) == "cb-1"
    source.platform_expire_channel("ch-1")
    offered = source.connect_incoming_call("agent-1", "+1555", "+1800", queue="Q")
    assert (offered.call_id, offered.to) == ("conn-1", "+1800")
    source.connect_remote_hangup("agent-1")
    source.connect_agent_state("agent-1", {"code": "Available"})
    assert source.changed
    source.restore()  # the driver's reset; exit 3 means nothing to undo
    assert not source.changed
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"event": "platform-inbound-call", "args": {"userId": "u-1", "from": "+1555"}},
        {"event": "platform-remote-answer", "args": {"conversationId": "conv-1"}},
        {"event": "platform-remote-hangup", "args": {"conversationId": "conv-1"}},
        {"event": "platform-phone-answer", "args": {"userId": "u-1"}},
        {
            "event": "platform-phone",
            "args": {"userId": "u-1", "type": "webrtc", "persistentConnection": True, "active": True},
        },
        {"event": "platform-settings", "args": {"rateLimit": 1}},
        {"event": "platform-login", "args": {"user": "u-1"}},
        {"event": "platform-client", "args": {"name": "narrow", "grants": ["authorization_code"]}},
        {"event": "platform-token", "args": {"clientId": "client-1", "userId": "u-1"}},
        {"event": "platform-callback", "args": {"userId": "u-1", "numbers": ["+1555"]}},
        {"event": "platform-channel-expire", "args": {"channelId": "ch-1"}},
        {"event": "connect-incoming-call", "args": {"agent": "agent-1", "from": "+1555", "to": "+1800", "queue": "Q"}},
        {"event": "connect-remote-hangup", "args": {"agent": "agent-1"}},
        {"event": "connect-agent-state", "args": {"agent": "agent-1", "code": "Available"}},
        {"event": "reset", "args": {}},
    ]


def test_a_driver_that_does_not_say_the_id_is_a_kit_error(tmp_path: Path) -> None:
    script = tmp_path / "quiet.py"
    script.write_text("import sys\n", encoding="utf-8")
    source = EventSource(config(driver_command=f"{sys.executable} {script} {{event}} {{args_json}}"))
    with pytest.raises(EventFailed, match="did not say which access token"):
        source.platform_token("client-1")
    with pytest.raises(EventFailed, match="did not say which client"):
        source.platform_client({"grants": ["implicit"]})
    call = source.platform_inbound_call("u-1")
    assert call.call_id is None
    source.platform_remote_hangup(call)  # the driver is told null: it may know its own call


def test_a_person_causes_platform_and_connect_events_at_the_console() -> None:
    said: list[str] = []
    source = EventSource(config(manual_events=True, manual_timeout=4), announce=said.append)
    call = source.platform_inbound_call("u-1", "+1555", expect=lambda timeout: {"seen": timeout})
    assert call.source == "manual" and call.observed == {"seen": 4.0} and call.call_id is None
    assert source.platform_phone_answer("u-1", expect=lambda timeout: "picked up") == "picked up"
    offered = source.connect_incoming_call("agent-1", "+1555", expect=lambda timeout: "offered")
    assert offered.observed == "offered"
    assert source.connect_remote_hangup("agent-1", expect=lambda timeout: "dropped") == "dropped"
    assert "Call Platform user u-1 directly from +1555" in said[0]
    assert "Pick up the ringing phone of Platform user u-1" in said[1]
    assert "offered to agent agent-1" in said[2] and "agent agent-1's call, hang up" in said[3]
    with pytest.raises(NotRunnable, match="manual event without a condition"):
        source.platform_settings({"rateLimit": 1})
    with pytest.raises(NotRunnable, match="manual event without a condition"):
        source.platform_token("client-1")
    assert not source.changed and not source.automated("platform-phone")
    source.restore()  # a person's changes are theirs to undo: nothing happens


def test_no_source_for_platform_or_connect_events_means_not_run() -> None:
    source = EventSource(config())
    for event in ("platform-inbound-call", "connect-incoming-call"):
        with pytest.raises(NotRunnable, match=f"no event source for {event}"):
            source.require(event)


def test_control_api_causes_platform_and_connect_events(fresh_mock: str) -> None:
    base = mock_config(fresh_mock)
    source = EventSource(base)
    user = base.platform.users[0].user_id
    assert user and source.source_for("platform-inbound-call") == "control"
    call = source.platform_inbound_call(user, "+15550002222")
    assert call.call_id and call.participant_id
    view = source.control.platform_conversation(call.call_id)
    assert view["conversationId"] == call.call_id
    source.platform_remote_hangup(call)
    assert source.platform_settings({"heartbeatSeconds": 7})["heartbeatSeconds"] == 7
    agent = base.connect.agents[0]
    offered = source.connect_incoming_call(agent, "+15550003333", "+16013261548")
    assert offered.call_id == offered.data["contact"]["connectionId"]
    source.connect_remote_hangup(agent)
    with pytest.raises(EventFailed, match=r"refused POST /connect/agents/.*/calls/current/hangup: 409"):
        source.connect_remote_hangup(agent)
    assert source.changed
    source.restore()  # the control API's reset: the settings are the seed's again
    assert source.control.call("GET", "/platform/settings")["heartbeatSeconds"] == 30
    assert not source.changed
    source.control.connect_reset_agent(agent, {"code": "Available"})  # a direct request counts as a change too
    assert source.changed
    source.restore()
    assert not source.changed
    source.close()


def test_the_families_labs_say_how_to_provide_their_events() -> None:
    from conformance.support.lab import ConnectLab, PlatformLab

    for lab in (PlatformLab(config()), ConnectLab(config())):
        assert not lab.available
        with pytest.raises(NotRunnable, match=r"events\.control_url, events\.driver_command or events\.manual_events"):
            lab.remote_hangup("x")
    manual = PlatformLab(config(manual_events=True))
    with pytest.raises(NotRunnable, match=r"only has a person as its source.*events\.driver_command"):
        manual.settings(rateLimit=1)
    assert not ConnectLab(config(driver_command="./driver {event}")).resettable  # the bus resets agents then
