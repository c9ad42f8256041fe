"""Agents, agent states and contacts of the Connect bus, in amazon-connect-streams vocabulary.

An agent has a *configured* state (one of the seed's ``{label, code, type}`` states — the structure 004
prints on l.64-96, E500) and at most one contact. What the agent is doing right now (its availability,
streams' ``agent.getStatus().name``) follows from both: a contact ringing makes it PendingBusy, a
connected or held contact Busy, an ended one AfterCallWork; without a contact it is Available, NotReady
or Offline after the configured state's type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.clock import Handle

ROUTABLE = "Routable"
NOT_ROUTABLE = "Not Routable"
OFFLINE = "Offline"
STATE_TYPES = (ROUTABLE, NOT_ROUTABLE, OFFLINE)

# Agent availability names (amazon-connect-streams AgentAvailStates and state types).
AVAILABLE = "Available"
NOT_READY = "NotReady"
PENDING_BUSY = "PendingBusy"
BUSY = "Busy"
AFTER_CALL_WORK = "AfterCallWork"

# Connection states (amazon-connect-streams ConnectionStateType).
INIT = "init"
CONNECTING = "connecting"
CONNECTED = "connected"
HOLD = "hold"
DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class AgentState:
    """A configured agent state. Not Routable states may carry the ReasonCodeId of SetNotReady."""

    label: str
    code: str
    type: str
    reason_code_id: str | None = None

    def wire(self) -> dict[str, str]:
        """The AgentState object of Update's data and SetAgentState's message."""
        return {"label": self.label, "code": self.code, "type": self.type}


@dataclass
class Contact:
    """The agent's one voice contact, seen from the agent's connection (ResponseActual.type "agent").

    ``ended_by`` is None while the call is up, then "agent" (Disconnect), "remote" (far-end hang-up) or
    "timeout" (ring timeout). ``acw`` is set when a call that was up ends: the contact then stays with the
    agent, in after-call work, until the agent changes state. A call that ends while still ringing
    (missed, abandoned) leaves the agent at once.
    """

    contact_id: str
    connection_id: str
    ani: str
    dnis: str
    queue: str
    queued_at: float
    status: str = CONNECTING
    previous_status: str = INIT
    status_at: float = 0.0
    call_type: str = "agent"
    ended_by: str | None = None
    acw: bool = False
    ring_timer: Handle | None = field(default=None, repr=False, compare=False)

    @property
    def ringing(self) -> bool:
        return self.status == CONNECTING

    @property
    def live(self) -> bool:
        """Connected or on hold: the agent is talking (or holding) on it."""
        return self.status in (CONNECTED, HOLD)

    @property
    def in_acw(self) -> bool:
        return self.status == DISCONNECTED and self.acw


@dataclass
class Agent:
    id: str
    name: str
    state: AgentState
    contact: Contact | None = None
    #: The agent's bus credential (E516): a socket of this agent must present it. None: no credential needed.
    token: str | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """The agent's availability: what a client sees in streams' agent.getStatus().name."""
        if self.contact is not None:
            if self.contact.ringing:
                return PENDING_BUSY
            if self.contact.live:
                return BUSY
            return AFTER_CALL_WORK
        if self.state.type == ROUTABLE:
            return AVAILABLE
        if self.state.type == NOT_ROUTABLE:
            return NOT_READY
        return OFFLINE

    def view(self, iso: Callable[[float], str]) -> dict[str, Any]:
        """A JSON-ready snapshot for the read-only debug endpoint and the control API."""
        contact = None
        if self.contact is not None:
            c = self.contact
            contact = {
                "contactId": c.contact_id,
                "connectionId": c.connection_id,
                "status": c.status,
                "previousStatus": c.previous_status,
                "statusTimestamp": iso(c.status_at),
                "ani": c.ani,
                "dnis": c.dnis,
                "queue": c.queue,
                "endedBy": c.ended_by,
            }
        return {"id": self.id, "name": self.name, "status": self.status, "state": self.state.wire(), "contact": contact}
