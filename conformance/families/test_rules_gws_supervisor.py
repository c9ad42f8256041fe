"""Rule family: GWS supervisor monitoring — the supervisor's device capabilities, ListenIn / BargeIn / cancel,
the supervisor's call while monitoring (mute follows the mode, the switch operation offered, the
monitored-user operations accepted but not listed) (003 Voice API > Supervisor; E303, E304, E307, E309).

The supervisor monitors agent A; agent B calls A. Monitoring is cancelled after every test.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.advisory import advise
from conformance.outcomes import not_run
from conformance.support.gws import CALLS, GwsAgent
from conformance.support.gws_checks import DOC, check_capabilities, expect_ok, expect_refused, require
from conformance.support.gws_line import Line, connect, open_line

PROFILE = "gws-supervisor"
MONITORING = ("ListenIn", "Coach", "BargeIn")


@pytest.fixture
def line_s(vk_gws_supervisor: GwsAgent, vk_gws_notifications: Any, vk_cleanup: Any) -> Line:
    """The supervisor with notifications; monitoring cancelled afterwards. Not run when the target does not
    offer monitoring (the api-supervisor-monitoring feature, l.9699)."""
    line = open_line(vk_gws_supervisor, vk_gws_notifications, vk_cleanup)
    caps = set(line.device().get("capabilities") or [])
    if not set(MONITORING) & caps:
        features = vk_gws_supervisor.get("/api/v2/features").json_or_none() or {}
        listed = " ".join(str(u) for u in features.get("uris") or [])
        if "api-supervisor-monitoring" not in listed:
            not_run("supervisor monitoring is not offered (the api-supervisor-monitoring feature is not assigned)")
    vk_cleanup(_cancel, line, description="cancel supervisor monitoring")
    return line


def _cancel(line: Line) -> None:
    if "CancelSupervisorMonitoring" in (line.device().get("capabilities") or []):
        line.device_op("CancelSupervisorMonitoring")


def _monitor(line_s: Line, target: Line, mode: str, **members: Any) -> dict[str, Any]:
    """Configure monitoring of ``target``; returns the supervisor's device as notified."""
    line_s.drain()
    uri = f"{line_s.agent.base_url}/api/v2/devices/{target.device_id}"
    expect_ok(line_s.device_op(mode, targetDeviceUri=uri, **members))
    return line_s.device_message(
        lambda d: (d.get("supervisorMonitoringState") or {}).get("state") == mode, f"supervisorMonitoringState {mode}"
    )


def _monitored_call(line_s: Line, line_a: Line, line_b: Line) -> tuple[dict[str, Any], dict[str, Any]]:
    """B calls A, A answers while the supervisor monitors A: returns (A's call, the supervisor's call)."""
    _, ringing = connect(line_b, line_a)
    expect_ok(line_a.op(ringing["id"], "Answer"))
    line_a.call_message(ringing["id"], "Established")
    supervisor_call = line_s.call_message(state="Established", notification_type="StatusChange")
    return ringing, supervisor_call


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-001",
    document=DOC,
    lines=(1613, 1621),
    title="A supervisor's device offers ListenIn, Coach and BargeIn; an agent's does not",
)
@pytest.mark.vk_operations("gws.listMyDevices", "gws.ListenIn", "gws.Coach", "gws.BargeIn")
@pytest.mark.vk_fixture_id("gws.general.async-events.device-state-change")
def test_supervisor_device_capabilities(line_s: Line, line_a: Line) -> None:
    """E303: capabilities follow the device and the user."""
    check_capabilities(
        line_s.device(), (), "the supervisor's device", present=MONITORING, absent=["CancelSupervisorMonitoring"]
    )
    check_capabilities(line_a.device(), (), "an agent's device", absent=[*MONITORING, "CancelSupervisorMonitoring"])


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-002",
    document=DOC,
    lines=(9689, 9692),
    title="ListenIn is confirmed by a DeviceStateChangeMessage with the monitoring state and "
    "CancelSupervisorMonitoring",
)
@pytest.mark.vk_operations("gws.ListenIn", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.supervisor.listen-in.sample")
def test_listen_in_configures_monitoring(line_s: Line, line_a: Line) -> None:
    device = _monitor(line_s, line_a, "ListenIn")
    state = device["supervisorMonitoringState"]
    require(
        state.get("mode", "AllCalls") == "AllCalls" and state.get("scope", "Call") == "Call",
        f"monitoring defaults are mode {state.get('mode')!r}, scope {state.get('scope')!r} (l.9720-9736: Call, "
        "AllCalls)",
    )
    require(
        str(state.get("targetDeviceUri", "")).rstrip("/").endswith(line_a.device_id),
        f"targetDeviceUri {state.get('targetDeviceUri')!r} is not agent A's device",
    )
    check_capabilities(
        device, (), "the monitoring supervisor's device", present=[*MONITORING, "CancelSupervisorMonitoring"]
    )
    require(device.get("userState") is not None, "the device lost its userState")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-003",
    document=DOC,
    lines=(9694, 9695),
    title="Listening in, the supervisor is delivered the agent's call, muted, offered SwitchToBargeIn",
)
@pytest.mark.vk_operations("gws.ListenIn", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.supervisor.switch-to-barge-in.sample")
def test_listen_in_delivers_the_call(line_s: Line, line_a: Line, line_b: Line) -> None:
    """E307: mute On in ListenIn mode, supervisorListeningIn false on the supervisor's call; E309: the
    monitored-user operations are not listed."""
    _monitor(line_s, line_a, "ListenIn")
    _, supervisor_call = _monitored_call(line_s, line_a, line_b)
    require(
        supervisor_call.get("mute") == "On",
        f"the listening supervisor's call has mute {supervisor_call.get('mute')!r}, not On (E307)",
    )
    require(
        supervisor_call.get("supervisorListeningIn") is False,
        "supervisorListeningIn is not false on the supervisor's own call (E307)",
    )
    check_capabilities(
        supervisor_call,
        (),
        "the supervisor's call in ListenIn mode",
        present=["SwitchToBargeIn"],
        absent=["SwitchToListenIn", "MuteMonitoredUser", "UnmuteMonitoredUser", "MuteCall"],
    )
    b_call = line_b.calls()[0]
    require(
        line_s.number not in {str(p) for p in b_call.get("participants") or []},
        "the silently listening supervisor is shown to the other party",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-004",
    document=DOC,
    lines=(10174, 10284),
    title="SwitchToBargeIn unmutes the supervisor and offers SwitchToListenIn",
)
@pytest.mark.vk_operations("gws.SwitchToBargeIn", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.supervisor.switch-to-barge-in.sample")
def test_switch_to_barge_in(line_s: Line, line_a: Line, line_b: Line) -> None:
    _monitor(line_s, line_a, "ListenIn")
    _, supervisor_call = _monitored_call(line_s, line_a, line_b)
    expect_ok(line_s.op(supervisor_call["id"], "SwitchToBargeIn"))
    switched = line_s.call_message(supervisor_call["id"], notification_type="StatusChange")
    require(
        switched.get("mute") == "Off", f"after SwitchToBargeIn mute is {switched.get('mute')!r} (l.10215-10216: Off)"
    )
    check_capabilities(
        switched, (), "the supervisor's call in BargeIn mode", present=["SwitchToListenIn"], absent=["SwitchToBargeIn"]
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-005",
    document=DOC,
    lines=(10397, 10617),
    title="MuteMonitoredUser and UnmuteMonitoredUser are accepted on the monitored call and "
    "announced by MonitoredUserMutedStateChange",
)
@pytest.mark.vk_operations("gws.MuteMonitoredUser", "gws.UnmuteMonitoredUser", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.supervisor.mute-monitored-user.sample")
def test_mute_monitored_user(line_s: Line, line_a: Line, line_b: Line) -> None:
    """E309: accepted though not listed in the call's capabilities."""
    _monitor(line_s, line_a, "ListenIn")
    _, supervisor_call = _monitored_call(line_s, line_a, line_b)
    for operation, muted in (("MuteMonitoredUser", True), ("UnmuteMonitoredUser", False)):
        expect_ok(line_s.op(supervisor_call["id"], operation))
        changed = line_s.call_message(supervisor_call["id"], notification_type="MonitoredUserMutedStateChange")
        require(
            changed.get("monitoredUserMuted") is muted,
            f"after {operation} monitoredUserMuted is {changed.get('monitoredUserMuted')!r}, not {muted}",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-006",
    document=DOC,
    lines=(10100, 10101),
    title="CancelSupervisorMonitoring ends monitoring and is offered only while it is active",
)
@pytest.mark.vk_operations("gws.CancelSupervisorMonitoring", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.supervisor.cancel-supervisor-monitoring.sample")
def test_cancel_supervisor_monitoring(line_s: Line, line_a: Line) -> None:
    _monitor(line_s, line_a, "ListenIn")
    expect_ok(line_s.device_op("CancelSupervisorMonitoring"))
    device = line_s.device_message(
        lambda d: "supervisorMonitoringState" not in d, "DeviceStateChangeMessage without supervisorMonitoringState"
    )
    check_capabilities(
        device,
        (),
        "the supervisor's device after cancelling",
        present=MONITORING,
        absent=["CancelSupervisorMonitoring"],
    )
    expect_refused(line_s.device_op("CancelSupervisorMonitoring"), 2, 400)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SUP-008",
    document=DOC,
    lines=(9743, 9752),
    title="supervisorMonitoringMode NextCall monitors the agent's next call only",
)
@pytest.mark.vk_operations("gws.ListenIn", "gws.Hangup", "gws.cometd.CallStateChangeMessage")
def test_next_call_mode_monitors_one_call(line_s: Line, line_a: Line, line_b: Line) -> None:
    """l.9747-9748: "Monitor only the next call the agent receives, then stop monitoring": the supervisor is
    on the first call, not on the second. How the device shows the end is not documented (advisory)."""
    _monitor(line_s, line_a, "ListenIn", supervisorMonitoringMode="NextCall")
    first, supervisor_call = _monitored_call(line_s, line_a, line_b)
    expect_ok(line_a.op(first["id"], "Hangup"))
    line_a.call_message(first["id"], "Released")
    _, ringing = connect(line_b, line_a)
    expect_ok(line_a.op(ringing["id"], "Answer"))
    line_a.call_message(ringing["id"], "Established")
    line_s.cometd.expect_none(
        lambda m: (
            m.get("channel") == CALLS
            and m["data"]["call"]["id"] != supervisor_call["id"]
            and m["data"]["call"].get("state") != "Released"
        ),
        1.5,
        "NextCall: the supervisor is not delivered the agent's second call",
    )
    joined = [c for c in line_s.calls() if c.get("state") not in ("Released", None)]
    require(
        not joined,
        f"NextCall: the supervisor is on {[c.get('id') for c in joined]} after the monitored call "
        "ended (l.9747-9748: then stop monitoring)",
    )
    state = line_s.device().get("supervisorMonitoringState") or {}
    if state.get("state") in MONITORING:
        advise(
            f"after the NextCall call the supervisor's device still shows supervisorMonitoringState {state}",
            rule="GWS-SUP-008",
            basis="l.9747-9748 say monitoring stops, not how the device shows it",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule("GWS-SUP-007", document=DOC, lines=(1613, 1621), title="An agent cannot configure monitoring")
@pytest.mark.vk_operations("gws.ListenIn")
def test_agent_cannot_monitor(line_a: Line, line_b: Line) -> None:
    """ListenIn is not among an agent's device capabilities (E303): refused, as not valid in the state (2, HTTP
    400) or as not permitted (5, HTTP 403)."""
    uri = f"{line_a.agent.base_url}/api/v2/devices/{line_b.device_id}"
    expect_refused(line_a.device_op("ListenIn", targetDeviceUri=uri), (2, 5), [400, 403])
    line_a.no_device_messages(0.3, "no notification after a refused ListenIn")
