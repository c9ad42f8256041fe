"""Read the ``connect:`` section of a seed file into agent states, agents and call defaults.

Kept apart from the state machine so a malformed seed fails at start-up with a message naming the
offending entry, not later on the first request that touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.domain.connect.model import NOT_ROUTABLE, OFFLINE, ROUTABLE, STATE_TYPES, Agent, AgentState

# E510: the mock's states when a seed configures none — the three rows of 004 l.64-96 (E500).
DEFAULT_STATES = (
    AgentState("Available", "Available", ROUTABLE),
    AgentState("Not Ready", "Not Ready", NOT_ROUTABLE),
    AgentState("Offline", "Offline", OFFLINE),
)


@dataclass
class Setup:
    states: list[AgentState]
    agents: list[Agent]
    ring_timeout: float | None = 30.0
    default_dnis: str = "+16013261548"
    default_queue: str = "InboundTest"


def parse(section: dict[str, Any] | None) -> Setup:
    """Validate and convert the seed section; raises ValueError on the first inconsistency."""
    section = section or {}
    raw_states = section.get("agentStates") or []
    states = [_state(raw, i) for i, raw in enumerate(raw_states)] or list(DEFAULT_STATES)
    _unique([s.code for s in states], "agentStates code")
    _unique([s.reason_code_id for s in states if s.reason_code_id is not None], "agentStates reasonCodeId")
    by_code = {s.code: s for s in states}
    agents = []
    for i, raw in enumerate(section.get("agents") or []):
        if not isinstance(raw, dict) or not raw.get("id"):
            raise ValueError(f"connect.agents[{i}]: an agent needs an id")
        code = str(raw.get("state", OFFLINE))
        if code not in by_code:
            raise ValueError(f"connect.agents[{i}]: state {code!r} is not one of the agentStates codes")
        token = raw.get("token")
        if token is not None and (not isinstance(token, str) or not token):
            raise ValueError(f"connect.agents[{i}].token must be a non-empty string")
        agents.append(Agent(id=str(raw["id"]), name=str(raw.get("name", raw["id"])), state=by_code[code], token=token))
    _unique([a.id for a in agents], "agents id")
    timeout = section.get("ringTimeoutSeconds", 30)
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError("connect.ringTimeoutSeconds must be a positive number or null (never missed)")
    return Setup(
        states=states,
        agents=agents,
        ring_timeout=None if timeout is None else float(timeout),
        default_dnis=str(section.get("defaultDnis", "+16013261548")),
        default_queue=str(section.get("defaultQueue", "InboundTest")),
    )


def _state(raw: Any, index: int) -> AgentState:
    fields = ("label", "code", "type")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) and raw[k] for k in fields):
        raise ValueError(f"connect.agentStates[{index}]: label, code and type are required strings")
    if raw["type"] not in STATE_TYPES:
        raise ValueError(f"connect.agentStates[{index}]: type must be one of {', '.join(STATE_TYPES)}")
    reason = raw.get("reasonCodeId")
    if reason is not None and raw["type"] != NOT_ROUTABLE:
        raise ValueError(f"connect.agentStates[{index}]: only Not Routable states carry a reasonCodeId")
    return AgentState(raw["label"], raw["code"], raw["type"], None if reason is None else str(reason))


def _unique(values: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"connect.{what} {value!r} is not unique")
        seen.add(value)
