"""The Connect bus state machine: agents, their one contact each, and the bus requests that move them.

Every operation runs under ``lock``, checks all its preconditions first and only then mutates and
publishes, so a refused request changes nothing and the events of one operation reach the transport in
the order they happened. Events are :class:`Notification`s with system ``connect`` and the agent id as
audience; the adapter delivers them to every socket of that agent's bus.

Preconditions (004 l.16, E508, E510):

- Answer: an incoming call and the agent PendingBusy — else ANSWER_CALL_FAILED.
- Hold (data = connection id): that connection, connected — else HOLD_CALL_FAILED.
- Resume: a held call — else RESUME_CALL_FAILED.
- Disconnect: a connected or held call — else DISCONNECT_CALL_FAILED.
- SetNotReady / Update: the state must exist (else AGENT_STATE_NOT_FOUND) and the agent must not be
  PendingBusy or Busy (else UPDATE_AGENT_STATE_FAILED); in AfterCallWork the change clears the contact.
"""

from __future__ import annotations

import copy
import hmac
import threading
import uuid
from collections.abc import Callable
from typing import Any

from mockserver.domain.clock import RealScheduler, Scheduler
from mockserver.domain.connect import messages
from mockserver.domain.connect.errors import (
    AgentStateNotFound,
    AnswerCallFailed,
    BusRefusal,
    Conflict,
    DisconnectCallFailed,
    HoldCallFailed,
    InvalidArgument,
    ResumeCallFailed,
    UnknownAgent,
    UnknownState,
    UpdateAgentStateFailed,
)
from mockserver.domain.connect.model import (
    BUSY,
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    HOLD,
    INIT,
    OFFLINE,
    PENDING_BUSY,
    ROUTABLE,
    Agent,
    AgentState,
    Contact,
)
from mockserver.domain.connect.seed import Setup, parse
from mockserver.domain.events import EventBus, Notification

SYSTEM = "connect"
BUS_CHANNEL = "bus"

# The bus requests the domain handles, by (topic, subtopic): the `send` operations of the contract.
REQUESTS = frozenset(
    {
        ("InboundCall", "Answer"),
        ("InboundCall", "Hold"),
        ("InboundCall", "Resume"),
        ("InboundCall", "Disconnect"),
        ("Agent", "SetNotReady"),
        ("Agent", "Update"),
    }
)

# Which refusal a request gets when the agent itself is unknown (a socket outliving a reset).
_REQUEST_REFUSAL: dict[tuple[str, str], type[BusRefusal]] = {
    ("InboundCall", "Answer"): AnswerCallFailed,
    ("InboundCall", "Hold"): HoldCallFailed,
    ("InboundCall", "Resume"): ResumeCallFailed,
    ("InboundCall", "Disconnect"): DisconnectCallFailed,
    ("Agent", "SetNotReady"): UpdateAgentStateFailed,
    ("Agent", "Update"): UpdateAgentStateFailed,
}

_UNSET: Any = object()


class ConnectCenter:
    """All state of the Connect bus mock. ``lock`` is an RLock (greenlet-aware once gevent patches)."""

    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        scheduler: Scheduler | None = None,
        bus: EventBus | None = None,
        *,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.scheduler: Scheduler = scheduler or RealScheduler()
        self.bus = bus or EventBus()
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._seed = copy.deepcopy(seed or {})
        self.setup: Setup = parse(self._seed)
        self.agents: dict[str, Agent] = {}
        self.reset()

    # ---- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seed: seeded agents only, in their seeded states, with no contacts."""
        with self.lock:
            for agent in self.agents.values():
                if agent.contact is not None:
                    self._cancel_ring(agent.contact)
            self.setup = parse(self._seed)
            self.agents = {a.id: copy.copy(a) for a in self.setup.agents}

    # ---- queries --------------------------------------------------------------------------------
    @property
    def states(self) -> list[AgentState]:
        return list(self.setup.states)

    def view(self, agent_id: str) -> dict[str, Any]:
        with self.lock:
            return self._known(agent_id).view(messages.iso)

    def views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [agent.view(messages.iso) for agent in self.agents.values()]

    def status(self, agent_id: str) -> str:
        with self.lock:
            return self._known(agent_id).status

    def credential_ok(self, agent_id: str, given: str | None) -> bool:
        """Whether ``given`` is the agent's bus credential (constant time, on bytes); an agent without one needs
        none."""
        with self.lock:
            agent = self.agents.get(agent_id)
            expected = agent.token if agent is not None else None
        if expected is None:
            return agent is not None
        return given is not None and hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")
        )

    def has_agent(self, agent_id: str) -> bool:
        with self.lock:
            return agent_id in self.agents

    # ---- bus requests ---------------------------------------------------------------------------
    def request(self, agent_id: str, topic: str, subtopic: str, data: Any = None) -> BusRefusal | None:
        """Carry out one bus request; on refusal publish the failure event (E502) and return the refusal.

        ``data`` is the request's ``data`` member as sent; the adapter has validated it against the
        request's payload schema, but the domain re-checks what it relies on.
        """
        key = (topic, subtopic)
        if key not in REQUESTS:
            raise ValueError(f"{topic}/{subtopic} is not a bus request")
        with self.lock:
            try:
                if key == ("InboundCall", "Answer"):
                    self.answer(agent_id)
                elif key == ("InboundCall", "Hold"):
                    self.hold(agent_id, data if isinstance(data, str) else "")
                elif key == ("InboundCall", "Resume"):
                    self.resume(agent_id, data if isinstance(data, str) else None)
                elif key == ("InboundCall", "Disconnect"):
                    self.disconnect(agent_id, data if isinstance(data, str) else None)
                elif key == ("Agent", "SetNotReady"):
                    reason = data.get("ReasonCodeId") if isinstance(data, dict) else None
                    self.set_not_ready(agent_id, reason)
                else:
                    given = data if isinstance(data, dict) else {}
                    self.update_state(agent_id, given.get("label"), given.get("code"), given.get("type"))
            except BusRefusal as refusal:
                self._publish(agent_id, messages.failure(topic, subtopic, refusal))
                return refusal
        return None

    def answer(self, agent_id: str) -> None:
        """InboundCall Answer (004): connecting → connected, agent PendingBusy → Busy; event connected."""
        with self.lock:
            agent = self._agent(agent_id, AnswerCallFailed)
            contact = agent.contact
            if contact is None or agent.status != PENDING_BUSY or not contact.ringing:
                raise AnswerCallFailed(f"agent {agent_id} has no incoming call (agent {agent.status})")
            self._cancel_ring(contact)
            self._move(contact, CONNECTED)
            self._publish(agent.id, messages.call_event(contact, "connected"))

    def hold(self, agent_id: str, connection_id: str) -> None:
        """InboundCall Hold (family): the connected call named by its connection id → hold; event hold."""
        with self.lock:
            agent = self._agent(agent_id, HoldCallFailed)
            contact = agent.contact
            if contact is None or contact.connection_id != connection_id:
                raise HoldCallFailed(f"agent {agent_id} has no call with connection id {connection_id!r}")
            if contact.status != CONNECTED:
                raise HoldCallFailed(f"connection {connection_id} is {contact.status}, not connected")
            self._move(contact, HOLD)
            self._publish(agent.id, messages.call_event(contact, "hold"))

    def resume(self, agent_id: str, connection_id: str | None = None) -> None:
        """InboundCall Resume (family): the held call → connected; event connected.

        No data is documented; a connection id, when given as data, must name the held call.
        """
        with self.lock:
            agent = self._agent(agent_id, ResumeCallFailed)
            contact = agent.contact
            if contact is None or contact.status != HOLD:
                raise ResumeCallFailed(f"agent {agent_id} has no call on hold")
            if connection_id is not None and connection_id != contact.connection_id:
                raise ResumeCallFailed(f"agent {agent_id} has no held call with connection id {connection_id!r}")
            self._move(contact, CONNECTED)
            self._publish(agent.id, messages.call_event(contact, "connected"))

    def disconnect(self, agent_id: str, connection_id: str | None = None) -> None:
        """InboundCall Disconnect (family): connected or held call → disconnected, agent AfterCallWork;
        event ACW (E510)."""
        with self.lock:
            agent = self._agent(agent_id, DisconnectCallFailed)
            contact = agent.contact
            if contact is None or not contact.live:
                state = "no call" if contact is None else f"a {contact.status} call"
                raise DisconnectCallFailed(f"agent {agent_id} has {state}, nothing connected or held")
            if connection_id is not None and connection_id != contact.connection_id:
                raise DisconnectCallFailed(f"agent {agent_id} has no call with connection id {connection_id!r}")
            self._end(contact, "agent", acw=True)
            self._publish(agent.id, messages.call_event(contact, "ACW"))

    def set_not_ready(self, agent_id: str, reason_code_id: Any) -> AgentState:
        """Agent SetNotReady {ReasonCodeId} (family): the Not Routable state with that reason code."""
        with self.lock:
            agent = self._agent(agent_id, UpdateAgentStateFailed)
            state = self._by_reason(reason_code_id)
            if state is None:
                raise AgentStateNotFound(f"no Not Ready state has ReasonCodeId {reason_code_id!r}")
            self._change_state(agent, state, UpdateAgentStateFailed)
            return state

    def update_state(self, agent_id: str, label: Any, code: Any, type_: Any) -> AgentState:
        """Agent Update {label, code, type} (family): the configured state equal in all three members."""
        with self.lock:
            agent = self._agent(agent_id, UpdateAgentStateFailed)
            state = next((s for s in self.setup.states if (s.label, s.code, s.type) == (label, code, type_)), None)
            if state is None:
                raise AgentStateNotFound(f"no agent state {{label: {label!r}, code: {code!r}, type: {type_!r}}}")
            self._change_state(agent, state, UpdateAgentStateFailed)
            return state

    # ---- control (what no bus client can cause) -------------------------------------------------
    def offer_call(
        self,
        agent_id: str,
        ani: str,
        dnis: str | None = None,
        queue: str | None = None,
        *,
        connection_id: str | None = None,
        contact_id: str | None = None,
        ring_timeout: float | None = _UNSET,
    ) -> dict[str, Any]:
        """An inbound call from ``ani`` reaches the agent: connection connecting, agent PendingBusy,
        event connecting (E514). Only a Routable agent without a contact is offered calls. Unless answered
        within ``ring_timeout`` seconds (the seed's by default; None = never) the call is missed."""
        if not isinstance(ani, str) or not ani:
            raise InvalidArgument("from (the caller's number, ANI) is required")
        for name, value in (("to", dnis), ("queue", queue), ("connectionId", connection_id), ("contactId", contact_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidArgument(f"{name} must be a non-empty string")
        timeout = self.setup.ring_timeout if ring_timeout is _UNSET else ring_timeout
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise InvalidArgument("ringTimeout must be a positive number of seconds, or null for never")
        with self.lock:
            agent = self._known(agent_id)
            if agent.contact is not None:
                raise Conflict(f"agent {agent_id} already has a contact (agent {agent.status})")
            if agent.state.type != ROUTABLE:
                raise Conflict(
                    f"agent {agent_id} is {agent.state.label} ({agent.state.type}); "
                    "only Routable agents are offered calls"
                )
            now = self.scheduler.wall()
            contact = Contact(
                contact_id=contact_id or self._new_id(),
                connection_id=connection_id or self._new_id(),
                ani=ani,
                dnis=dnis or self.setup.default_dnis,
                queue=queue or self.setup.default_queue,
                queued_at=now,
                status=CONNECTING,
                previous_status=INIT,
                status_at=now,
            )
            agent.contact = contact
            if timeout is not None:
                contact.ring_timer = self.scheduler.call_later(timeout, lambda: self._ring_expired(agent_id, contact))
            self._publish(agent.id, messages.call_event(contact, "connecting"))
            return agent.view(messages.iso)

    def remote_hangup(self, agent_id: str) -> dict[str, Any]:
        """The far end hangs up: event Dropped (E510). A call that was up leaves the agent in
        AfterCallWork; a call still ringing (abandoned) leaves the agent at once."""
        with self.lock:
            agent = self._known(agent_id)
            contact = agent.contact
            if contact is None or not (contact.ringing or contact.live):
                raise Conflict(f"agent {agent_id} has no call to hang up (agent {agent.status})")
            was_up = contact.live
            self._cancel_ring(contact)
            self._end(contact, "remote", acw=was_up)
            if not was_up:
                agent.contact = None
            self._publish(agent.id, messages.call_event(contact, "Dropped"))
            return agent.view(messages.iso)

    def set_state(self, agent_id: str, selector: dict[str, Any]) -> dict[str, Any]:
        """Set a configured state directly (as a supervisor or the CCP would); event SetAgentState.

        ``selector`` holds any of label, code, type, ReasonCodeId; together they must name exactly one
        state. The same rule as Update applies: refused while the agent is PendingBusy or Busy.
        """
        keys = {"label": "label", "code": "code", "type": "type", "ReasonCodeId": "reason_code_id"}
        given = {attr: selector[key] for key, attr in keys.items() if selector.get(key) is not None}
        if not given:
            raise InvalidArgument("name the state with label, code, type or ReasonCodeId")
        if "reason_code_id" in given:
            given["reason_code_id"] = str(given["reason_code_id"])
        with self.lock:
            agent = self._known(agent_id)
            found = [s for s in self.setup.states if all(getattr(s, k) == v for k, v in given.items())]
            if not found:
                raise UnknownState(f"no agent state matches {selector}")
            if len(found) > 1:
                raise InvalidArgument(f"{len(found)} agent states match {selector}; name one")
            self._change_state(agent, found[0], Conflict)
            return agent.view(messages.iso)

    def create_agent(
        self, agent_id: str, name: str | None = None, state_code: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Add an agent (Offline unless ``state_code`` names another configured state), with its bus credential."""
        if not isinstance(agent_id, str) or not agent_id or "/" in agent_id:
            raise InvalidArgument("id must be a non-empty string without '/'")
        if name is not None and not isinstance(name, str):
            raise InvalidArgument("name must be a string")
        if token is not None and (not isinstance(token, str) or not token):
            raise InvalidArgument("token must be a non-empty string")
        with self.lock:
            if agent_id in self.agents:
                raise Conflict(f"agent {agent_id} already exists")
            codes = {s.code: s for s in self.setup.states}
            if state_code is None:
                state = next((s for s in self.setup.states if s.type == OFFLINE), self.setup.states[0])
            elif state_code in codes:
                state = codes[state_code]
            else:
                raise InvalidArgument(f"state {state_code!r} is not the code of a configured agent state")
            agent = Agent(id=agent_id, name=name or agent_id, state=state, token=token)
            self.agents[agent_id] = agent
            return agent.view(messages.iso)

    # ---- internals ------------------------------------------------------------------------------
    def _known(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return agent

    def _agent(self, agent_id: str, refusal: type[BusRefusal]) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise refusal(f"no agent {agent_id!r}")
        return agent

    def _by_reason(self, reason_code_id: Any) -> AgentState | None:
        if isinstance(reason_code_id, bool) or not isinstance(reason_code_id, str | int):
            return None
        wanted = str(reason_code_id)
        return next((s for s in self.setup.states if s.reason_code_id == wanted), None)

    def _change_state(self, agent: Agent, state: AgentState, refusal: type[Exception]) -> None:
        if agent.status in (PENDING_BUSY, BUSY):
            raise refusal(f"agent {agent.id} is {agent.status}; its state cannot change during a call")
        if agent.contact is not None:  # after-call work ends with the state change (the contact is cleared)
            agent.contact = None
        agent.state = state
        self._publish(agent.id, messages.agent_state_event(state))

    def _move(self, contact: Contact, status: str) -> None:
        contact.previous_status = contact.status
        contact.status = status
        contact.status_at = self.scheduler.wall()

    def _end(self, contact: Contact, by: str, *, acw: bool) -> None:
        self._move(contact, DISCONNECTED)
        contact.ended_by = by
        contact.acw = acw

    def _cancel_ring(self, contact: Contact) -> None:
        if contact.ring_timer is not None:
            contact.ring_timer.cancel()
            contact.ring_timer = None

    def _ring_expired(self, agent_id: str, contact: Contact) -> None:
        """Ring timeout: if this very offer is still ringing, it is missed and leaves the agent."""
        with self.lock:
            agent = self.agents.get(agent_id)
            if agent is None or agent.contact is not contact or not contact.ringing:
                return
            contact.ring_timer = None
            self._end(contact, "timeout", acw=False)
            agent.contact = None
            self._publish(agent.id, messages.call_event(contact, "missed"))

    def _publish(self, agent_id: str, message: dict[str, Any]) -> None:
        self.bus.publish(Notification(SYSTEM, BUS_CHANNEL, message, agent_id))
