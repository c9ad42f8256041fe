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
    base = TargetConfig.for_mock(fresh_mock)
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
    base = TargetConfig.for_mock(fresh_mock)
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
