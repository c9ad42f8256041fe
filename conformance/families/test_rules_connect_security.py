"""Rule family: the Connect bus over WebSocket admits only the agent's own application — a socket must present the
agent's credential, and a page of a foreign Origin is refused (E516).

Why this depends on ``connect.auth``: 004 describes the bus inside the agent workspace and says nothing of its
transport, so the protection is a decision (E516), not a documented rule. With ``connect.auth = on`` (the embedded
mock) the suite requires it; with ``auto`` (the default for other targets) it is required once the target is seen to
refuse an unauthenticated socket, and an unprotected bus is an advisory finding; ``off`` does not check it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.advisory import advise
from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run
from conformance.target import RunningTarget
from conformance.transport.ws import WsClient, WsRejected

PROFILE = "connect-bus"
DOC = "004_2c8d8f76980482e0.txt"
FOREIGN = "https://attacker.voicekit.invalid"
SET_NOT_READY = {
    "channel": "Amazon",
    "topic": "Agent",
    "subtopic": "SetNotReady",
    "source": "voicekit",
    "data": {"ReasonCodeId": "1"},
}


def _attempt(bus: Callable[..., WsClient], agent: str, headers: dict[str, str]) -> int | None:
    """The HTTP status the upgrade was refused with, or None when the socket opened."""
    client = bus(agent, open=False, headers=headers)
    try:
        client.open()
    except WsRejected as refused:
        return refused.status
    return None


def _mode(vk_target: RunningTarget) -> str:
    mode = vk_target.config.connect.auth
    if mode == "off":
        not_run("connect.auth is off: the bus's protection is not checked (E516)")
    if not vk_target.config.connect.agents:
        not_run("no Connect agent ids (connect.agents)")
    return mode


def _judge(mode: str, refused_plain: bool, what: str) -> None:
    """A bus that admits what it should refuse: a failure when protection is required (on, or auto on a target
    that protects itself elsewhere), an advisory finding otherwise."""
    if mode == "on" or refused_plain:
        raise ConformanceFailure(what, rule=None)
    advise(what, basis="004 does not describe the bus transport; E516 decides its protection (connect.auth=auto)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "CONNECT-SEC-001",
    document=DOC,
    lines=(1, 30),
    title="A bus socket without the agent's credential is refused (E516)",
)
@pytest.mark.vk_operations("connect.Agent.SetNotReady")
def test_a_socket_without_the_credential_is_refused(vk_target: RunningTarget, vk_bus: Callable[..., WsClient]) -> None:
    mode = _mode(vk_target)
    agent = vk_target.config.connect.agents[0]
    status = _attempt(vk_bus, agent, {"Authorization": ""})
    if status is None:
        _judge(mode, False, "the bus accepted a socket that presented no credential for the agent")
        return
    if status not in (401, 403):
        raise ConformanceFailure(
            f"the bus refused the unauthenticated socket with HTTP {status}; 401 or 403 is expected"
        )
    wrong = _attempt(vk_bus, agent, {"Authorization": "Bearer not-the-agents-credential"})
    if wrong is None:
        raise ConformanceFailure("the bus accepted a socket with a wrong credential")
    if vk_target.config.connect.tokens.get(agent):
        status = _attempt(vk_bus, agent, {})
        if status is not None:
            raise ConformanceFailure(f"the bus refused the agent's own credential (HTTP {status})")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "CONNECT-SEC-002",
    document=DOC,
    lines=(1, 30),
    title="A bus socket from a foreign Origin is refused, like GWS CORS (E516, 003 l.4336-4337)",
)
@pytest.mark.vk_operations("connect.Agent.SetNotReady")
def test_a_foreign_origin_is_refused(vk_target: RunningTarget, vk_bus: Callable[..., WsClient]) -> None:
    mode = _mode(vk_target)
    agent = vk_target.config.connect.agents[0]
    refused_plain = _attempt(vk_bus, agent, {"Authorization": ""}) is not None
    status = _attempt(vk_bus, agent, {"Origin": FOREIGN})
    if status is None:
        _judge(mode, refused_plain, f"the bus accepted a socket from the foreign Origin {FOREIGN}")
    elif status not in (401, 403):
        raise ConformanceFailure(f"the bus refused the foreign Origin with HTTP {status}; 403 is expected")
