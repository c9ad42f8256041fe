"""Rule family: GWS agent state and device operations — the system and custom agent-state operations, their
DeviceStateChangeMessage, duplicates ignored, Offline reported LoggedOut, and the device capabilities of
do-not-disturb and call forwarding (003 General > Agent State Operations, What Are Capabilities; Voice API >
Agent State, Call Forwarding).

Every test puts the agent back NotReady with do-not-disturb and forwarding off.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.advisory import advise
from conformance.outcomes import not_run
from conformance.support.gws import GwsAgent
from conformance.support.gws_checks import (
    AGENT_STATE_OPERATIONS,
    DND_ON_OPTIONAL,
    DOC,
    check_capabilities,
    expect_ok,
    expect_refused,
    require,
)
from conformance.support.gws_line import Line, establish, restore

PROFILE = "gws-agent-state"

#: The system operations (l.1320-1329) with the displayName and state of the settings sample (E101, E302).
SYSTEM = {
    "Ready": ("Ready", "Ready", None),
    "NotReady": ("Not Ready", "NotReady", None),
    "AuxWork": ("AuxWork", "NotReady", "AuxWork"),
    "AfterCallWork": ("AfterCallWork", "NotReady", "AfterCallWork"),
    "Offline": ("Offline", "Logout", None),
}


#: Both spellings of NotReady's displayName are the documents' own: the table's (l.1326) and the samples' (l.1387).
DISPLAY_NAMES = {"NotReady": ("Not Ready", "NotReady")}
#: A logged-out device's state: LoggedOut (l.9501) or the definitions' Logout (l.1329, 1396) — E101.
LOGGED_OUT = ("LoggedOut", "Logout")
AGENT_STATES_BASIS = (
    "003 l.1307-1309 name GET /api/v2/me/settings/agent-states, the sample l.1356-1358 sends GET "
    "/api/v2/settings/agent-states for the current user (E100): either serves the list"
)


def _operations(agent: GwsAgent) -> dict[str, dict[str, Any]]:
    """The agent-state operations of the user, by operationName (l.1307-1309, E100): the me path, else the
    settings-group path the sample uses."""
    response = agent.get("/api/v2/me/settings/agent-states")
    body = response.json_or_none() if response.status == 200 else None
    if not isinstance(body, dict) or body.get("statusCode") != 0:
        advise(
            f"GET /api/v2/me/settings/agent-states answered {response.status}; read "
            "/api/v2/settings/agent-states instead",
            basis=AGENT_STATES_BASIS,
        )
        body = expect_ok(agent.get("/api/v2/settings/agent-states"))
    else:
        body = expect_ok(response)
    return {str(s.get("operationName")): s for s in body.get("settings") or [] if isinstance(s, dict)}


def _is_state(actual: Any, state: str) -> bool:
    """``actual`` names ``state``; LoggedOut also as Logout (E101)."""
    return actual in LOGGED_OUT if state in LOGGED_OUT else actual == state


def _start_from(line: Line, operation: str, vk_cleanup: Any) -> None:
    """Put the agent in a known state first (waiting for its notification when it changes), and back NotReady
    afterwards."""
    vk_cleanup(restore, line, description=f"{line.name} back to NotReady")
    _, state, work_mode = SYSTEM[operation]
    current = line.device()["userState"]
    if not _is_state(current.get("state"), state) or current.get("workMode") != work_mode:
        expect_ok(line.agent_state(operation))
        line.device_message(
            lambda d: _is_state(d["userState"]["state"], state) and d["userState"].get("workMode") == work_mode,
            f"userState {state} (precondition)",
        )
    line.drain()


def _state_change(line: Line, state: str, work_mode: str | None = None) -> dict[str, Any]:
    device = line.device_message(
        lambda d: _is_state(d["userState"]["state"], state) and d["userState"].get("workMode") == work_mode,
        f"DeviceStateChangeMessage with userState {state}" + (f"/{work_mode}" if work_mode else ""),
    )
    line.no_device_messages(0.5, "exactly one DeviceStateChangeMessage")
    return device


def _matches(user_state: dict[str, Any], operation: dict[str, Any], what: str) -> None:
    """l.1475-1480: the matched operation's id and displayName are in userState."""
    for member in ("id", "displayName"):
        if member in user_state:  # l.1489-1492: they may be absent
            require(
                str(user_state[member]).lower() == str(operation.get(member)).lower(),
                f"{what}: userState.{member} is {user_state[member]!r}, the operation's is {operation.get(member)!r}",
            )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-AGENT-001",
    document=DOC,
    lines=(1320, 1420),
    title="The system agent-state operations are listed with their state and work mode",
)
@pytest.mark.vk_operations("gws.getMyAgentStates")
@pytest.mark.vk_fixture_id("gws.general.agent-states.list")
def test_system_agent_state_operations_listed(vk_gws_agent: GwsAgent) -> None:
    operations = _operations(vk_gws_agent)
    ids = [str(op.get("id")) for op in operations.values()]
    require(len(ids) == len(set(ids)), f"agent-state operation ids are not unique: {ids} (l.1317-1318)")
    for name, (display, state, work_mode) in SYSTEM.items():
        op = operations.get(name)
        require(op is not None, f"the system operation {name} is not listed (l.1320-1322: always available)")
        assert op is not None
        require(
            op.get("state") == state and op.get("workMode") == work_mode,
            f"{name}: state {op.get('state')!r}, workMode {op.get('workMode')!r}; expected {state!r}, {work_mode!r}",
        )
        spellings = DISPLAY_NAMES.get(name, (display,))
        require(
            str(op.get("displayName")) in spellings,
            f"{name}: displayName {op.get('displayName')!r}, "
            f"expected {' or '.join(map(repr, spellings))} (l.1326, 1387; E102, E302)",
        )
        require(bool(op.get("id")), f"{name} has no id (l.1317-1318)")


STATE_CHANGES = [
    # (rule id, lines, from, operation, state, workMode)
    ("GWS-AGENT-002", (9148, 9228), "NotReady", "Ready", "Ready", None),
    ("GWS-AGENT-003", (9230, 9301), "Ready", "NotReady", "NotReady", None),
    ("GWS-AGENT-004", (9303, 9374), "Ready", "AuxWork", "NotReady", "AuxWork"),
    ("GWS-AGENT-005", (9376, 9449), "Ready", "AfterCallWork", "NotReady", "AfterCallWork"),
]


def _state_test(
    rule: str, lines: tuple[int, int], start: str, operation: str, state: str, work_mode: str | None
) -> Any:
    @pytest.mark.vk_profile(PROFILE)
    @pytest.mark.vk_rule(
        rule,
        document=DOC,
        lines=lines,
        title=f"{operation} changes the agent state to {state}"
        + (f" with workMode {work_mode}" if work_mode else "")
        + " (one DeviceStateChangeMessage)",
    )
    @pytest.mark.vk_operations(f"gws.{operation}", "gws.cometd.DeviceStateChangeMessage")
    @pytest.mark.vk_fixture_id(f"gws.agentstate.{_kebab(operation)}.sample")
    def test(line_a: Line, vk_cleanup: Any) -> None:
        _start_from(line_a, start, vk_cleanup)
        expect_ok(line_a.agent_state(operation))
        device = _state_change(line_a, state, work_mode)
        _matches(device["userState"], _operations(line_a.agent)[operation], f"after {operation}")

    test.__name__ = f"test_{_snake(operation)}_changes_agent_state"
    test.__doc__ = f"003 l.{lines[0]}-{lines[1]}: {operation}; l.1475-1480: id/displayName of the operation."
    return test


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _snake(name: str) -> str:
    return _kebab(name).replace("-", "_")


test_ready_changes_agent_state = _state_test(*STATE_CHANGES[0])
test_not_ready_changes_agent_state = _state_test(*STATE_CHANGES[1])
test_aux_work_changes_agent_state = _state_test(*STATE_CHANGES[2])
test_after_call_work_changes_agent_state = _state_test(*STATE_CHANGES[3])


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-AGENT-006",
    document=DOC,
    lines=(9451, 9522),
    title="Offline logs the agent out: userState.state LoggedOut with the Offline operation",
)
@pytest.mark.vk_operations("gws.Offline", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.agentstate.offline.sample")
def test_offline_reports_logged_out(line_a: Line, vk_cleanup: Any) -> None:
    """E101/E301: the device's userState.state is LoggedOut (l.9501) — or Logout, the state name of the
    definitions (l.1329, 1396), which a server may report as well; any other state fails."""
    _start_from(line_a, "NotReady", vk_cleanup)
    expect_ok(line_a.agent_state("Offline"))
    device = _state_change(line_a, "LoggedOut")
    if device["userState"].get("state") != "LoggedOut":
        advise(
            f"userState.state is {device['userState'].get('state')!r}; the Offline sample shows LoggedOut",
            basis="E101: the agent-state definitions name the state Logout (003 l.1329, 1396)",
        )
    require(
        device["userState"].get("displayName", "Offline") == "Offline",
        f"userState.displayName is {device['userState'].get('displayName')!r}, not Offline",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-AGENT-007",
    document=DOC,
    lines=(1165, 1169),
    title="A duplicate agent-state request is ignored: accepted, no notification",
)
@pytest.mark.vk_operations("gws.NotReady", "gws.Ready")
def test_duplicate_agent_state_is_ignored(line_a: Line, vk_cleanup: Any) -> None:
    for operation in ("NotReady", "Ready"):
        _start_from(line_a, operation, vk_cleanup)
        expect_ok(line_a.agent_state(operation))
        line_a.no_device_messages(1.0, f"no notification for a duplicate {operation}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-AGENT-008",
    document=DOC,
    lines=(1422, 1473),
    title="A custom agent-state operation is invoked like a system one and matched in userState",
)
@pytest.mark.vk_operations("gws.CustomAgentState", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.general.agent-states.invoke-custom")
def test_custom_agent_state_operation(line_a: Line, vk_cleanup: Any) -> None:
    """E104: state, workMode, id and displayName are compared; reason is not."""
    custom = [op for name, op in _operations(line_a.agent).items() if name not in SYSTEM]
    if not custom:
        not_run("the target defines no custom agent-state operation (e.g. Training, l.1334-1343)")
    op = custom[0]
    _start_from(line_a, "Ready" if op.get("state") != "Ready" else "NotReady", vk_cleanup)
    expect_ok(line_a.agent_state(str(op["operationName"])))
    device = _state_change(line_a, str(op.get("state")), op.get("workMode"))
    _matches(device["userState"], op, f"after {op['operationName']}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-AGENT-009",
    document=DOC,
    lines=(1165, 1167),
    title="Agent-state operations are not governed by capabilities: never listed, accepted at any time",
)
@pytest.mark.vk_operations("gws.AuxWork", "gws.listMyDevices")
def test_agent_state_not_in_capabilities(line_a: Line, line_b: Line, vk_cleanup: Any) -> None:
    listed = set(line_a.device().get("capabilities") or []) & AGENT_STATE_OPERATIONS
    require(not listed, f"the device lists agent-state operations {sorted(listed)} as capabilities")
    _start_from(line_a, "NotReady", vk_cleanup)
    establish(line_a, line_b)
    expect_ok(line_a.agent_state("AuxWork"))  # while on a call
    _state_change(line_a, "NotReady", "AuxWork")


# ---- device operations -----------------------------------------------------------------------------------------
def _dnd_off(line: Line) -> None:
    if line.device().get("doNotDisturb") == "On":
        line.device_op("DoNotDisturbOff")


def _forwarding_off(line: Line) -> None:
    if line.device().get("forwardTo"):
        line.device_op("ForwardCallsOff")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-001",
    document=DOC,
    lines=(1095, 1115),
    title="A device without do-not-disturb or forwarding offers DoNotDisturbOn and ForwardCallsOn",
)
@pytest.mark.vk_operations("gws.listMyDevices", "gws.getMyDevice")
@pytest.mark.vk_fixture_id("gws.general.capabilities.device-dnd-off")
def test_device_capabilities_when_dnd_off(line_a: Line, vk_cleanup: Any) -> None:
    """E105/E303: the opposite toggle of each device setting is offered."""
    _dnd_off(line_a)
    _forwarding_off(line_a)
    device = line_a.device()
    require(device.get("doNotDisturb") == "Off", "precondition: do-not-disturb could not be turned off")
    check_capabilities(
        device,
        (),
        "a device with do-not-disturb Off",
        present=["DoNotDisturbOn", "ForwardCallsOn"],
        absent=["DoNotDisturbOff", "ForwardCallsOff"],
    )
    single = expect_ok(line_a.agent.get(f"/api/v2/me/devices/{line_a.device_id}")).get("device") or {}
    check_capabilities(
        single, (), "GET /api/v2/me/devices/{id}", present=["DoNotDisturbOn"], absent=["DoNotDisturbOff"]
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-002",
    document=DOC,
    lines=(1117, 1163),
    title="DoNotDisturbOn: doNotDisturb On, and DoNotDisturbOff replaces DoNotDisturbOn",
)
@pytest.mark.vk_operations("gws.DoNotDisturbOn", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.general.capabilities.device-dnd-on")
def test_do_not_disturb_on(line_a: Line, vk_cleanup: Any) -> None:
    _dnd_off(line_a)
    line_a.drain()
    vk_cleanup(_dnd_off, line_a, description="do-not-disturb off")
    expect_ok(line_a.device_op("DoNotDisturbOn"))
    device = line_a.device_message(
        lambda d: d.get("doNotDisturb") == "On", "DeviceStateChangeMessage with doNotDisturb On"
    )
    check_capabilities(
        device, (), "the device after DoNotDisturbOn", present=["DoNotDisturbOff"], absent=["DoNotDisturbOn"]
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-003",
    document=DOC,
    lines=(9605, 9678),
    title="DoNotDisturbOff: doNotDisturb Off, and DoNotDisturbOn is offered again",
)
@pytest.mark.vk_operations("gws.DoNotDisturbOff", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.agentstate.do-not-disturb-off.sample")
def test_do_not_disturb_off(line_a: Line, vk_cleanup: Any) -> None:
    vk_cleanup(_dnd_off, line_a, description="do-not-disturb off")
    if line_a.device().get("doNotDisturb") != "On":
        expect_ok(line_a.device_op("DoNotDisturbOn"))
        line_a.device_message(lambda d: d.get("doNotDisturb") == "On", "doNotDisturb On")
    expect_ok(line_a.device_op("DoNotDisturbOff"))
    device = line_a.device_message(
        lambda d: d.get("doNotDisturb") == "Off", "DeviceStateChangeMessage with doNotDisturb Off"
    )
    check_capabilities(
        device, (), "the device after DoNotDisturbOff", present=["DoNotDisturbOn"], absent=["DoNotDisturbOff"]
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-004",
    document=DOC,
    lines=(1109, 1115),
    title="A device operation absent from the device's capabilities is refused (HTTP 400, "
    "statusCode 2) and changes nothing",
)
@pytest.mark.vk_operations("gws.DoNotDisturbOff", "gws.ForwardCallsOff")
def test_device_operation_not_in_capabilities_is_refused(line_a: Line) -> None:
    """l.1109-1115: the client disables DoNotDisturbOff while only DoNotDisturbOn is offered; l.3544 and E001:
    such a request is invalid for the current state."""
    _dnd_off(line_a)
    _forwarding_off(line_a)
    line_a.drain()
    for operation in ("DoNotDisturbOff", "ForwardCallsOff"):
        expect_refused(line_a.device_op(operation), 2, 400)
    line_a.no_device_messages(0.5, "no notification after refused device operations")
    device = line_a.device()
    require(
        device.get("doNotDisturb") == "Off" and not device.get("forwardTo"),
        "a refused device operation changed the device",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-005",
    document=DOC,
    lines=(5812, 5971),
    title="ForwardCallsOn sets forwardTo and offers ForwardCallsOff; ForwardCallsOff clears it",
)
@pytest.mark.vk_operations("gws.ForwardCallsOn", "gws.ForwardCallsOff", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.forwarding.forward-calls-on.sample")
def test_call_forwarding(line_a: Line, vk_gws_agent_b: GwsAgent, vk_cleanup: Any) -> None:
    """E201-E203: both posted to the device; ForwardCallsOff takes no destination."""
    _forwarding_off(line_a)
    line_a.drain()
    vk_cleanup(_forwarding_off, line_a, description="forwarding off")
    target = vk_gws_agent_b.phone_number
    expect_ok(line_a.device_op("ForwardCallsOn", destination=target))
    on = line_a.device_message(lambda d: d.get("forwardTo") is not None, "DeviceStateChangeMessage with forwardTo")
    require(str(on.get("forwardTo")) == target, f"forwardTo is {on.get('forwardTo')!r}, not {target}")
    check_capabilities(on, (), "the forwarding device", present=["ForwardCallsOff"], absent=["ForwardCallsOn"])
    expect_ok(line_a.device_op("ForwardCallsOff"))
    off = line_a.device_message(lambda d: "forwardTo" not in d, "DeviceStateChangeMessage without forwardTo")
    check_capabilities(
        off, (), "the device after ForwardCallsOff", present=["ForwardCallsOn"], absent=["ForwardCallsOff"]
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DEV-006", document=DOC, lines=(9218, 9221), title="Device capabilities follow the device, not the agent state"
)
@pytest.mark.vk_operations("gws.Ready", "gws.NotReady", "gws.AfterCallWork", "gws.cometd.DeviceStateChangeMessage")
def test_device_capabilities_independent_of_agent_state(line_a: Line, vk_cleanup: Any) -> None:
    """E303: the same device offers the same set in Ready, NotReady and AfterCallWork."""
    _dnd_off(line_a)
    _start_from(line_a, "NotReady", vk_cleanup)
    seen: dict[str, set[str]] = {"NotReady": set(line_a.device().get("capabilities") or [])}
    for operation, state, work_mode in (("Ready", "Ready", None), ("AfterCallWork", "NotReady", "AfterCallWork")):
        expect_ok(line_a.agent_state(operation))

        def reached(d: dict[str, Any], s: str = state, w: str | None = work_mode) -> bool:
            return bool(d["userState"]["state"] == s and d["userState"].get("workMode") == w)

        device = line_a.device_message(reached, f"userState after {operation}")
        seen[operation] = set(device.get("capabilities") or [])
    distinct = {frozenset(v - {"DoNotDisturbOn"}) for v in seen.values()}
    require(
        len(distinct) == 1,
        f"the device's capabilities change with the agent state: { {k: sorted(v) for k, v in seen.items()} }",
    )
    if len({frozenset(v) for v in seen.values()}) > 1:  # the samples themselves differ in DoNotDisturbOn alone
        advise(
            f"DoNotDisturbOn comes and goes with the agent state: { {k: sorted(v) for k, v in seen.items()} }",
            basis=DND_ON_OPTIONAL,
        )
