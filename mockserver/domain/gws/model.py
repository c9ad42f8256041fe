"""The GWS contact center's state: users, devices, calls and the parties on them.

A T-Server call (one ConnID) is shared by its parties; each party sees it as its own call resource
(``view_id``, state, callType, dnis, mute). Moving parties between calls (transfers, conferences,
supervision) keeps each party's ``view_id`` stable, so a client's call URI never changes under it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

CallState = Literal["Dialing", "Ringing", "Established", "Held", "Released"]
CallType = Literal["Internal", "Inbound", "Outbound", "Consult"]
MonitorMode = Literal["ListenIn", "Coach", "BargeIn"]

ROLE_AGENT = "ROLE_AGENT"
ROLE_SUPERVISOR = "ROLE_SUPERVISOR"
ROLE_ADMIN = "ROLE_ADMIN"
#: The Cloud Admin of 003 l.4549-4550 (who alone removes a feature); the documents name the role, not its value.
ROLE_CLOUD_ADMIN = "ROLE_CLOUD_ADMIN"


@dataclass
class AgentStateOperation:
    """A system or custom agent-state operation (003 l.1298-1420)."""

    id: str
    operation_name: str
    display_name: str
    state: Literal["Ready", "NotReady", "Logout"]
    work_mode: str | None = None
    reason: str | None = None
    system: bool = False

    def as_setting(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "operationName": self.operation_name,
            "displayName": self.display_name,
            "state": self.state,
        }
        if self.work_mode:
            out["workMode"] = self.work_mode
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class UserState:
    """The agent state of a device as T-Server reports it (LoggedOut, not Logout: E-decision)."""

    state: Literal["Ready", "NotReady", "LoggedOut"] = "LoggedOut"
    work_mode: str | None = None
    reason: str | None = None


@dataclass
class Monitoring:
    """A supervisor's monitoring configuration on the supervisor's own device."""

    mode: MonitorMode
    target_device_id: str
    scope: Literal["Agent", "Call"] = "Call"
    repeat: Literal["NextCall", "AllCalls"] = "AllCalls"


@dataclass
class Device:
    id: str
    phone_number: str
    user_id: str | None = None
    telephony_network: Literal["Private", "Public"] = "Private"
    device_state: str = "Active"
    user_state: UserState = field(default_factory=UserState)
    dnd: bool = False
    forward_to: str | None = None
    monitoring: Monitoring | None = None
    voice_environment_id: str = "370ef5e6-9e3c-4d91-9588-7f4dfe67e011"
    vendor: str | None = None
    queues: list[str] = field(default_factory=list)


@dataclass
class User:
    id: str
    user_name: str
    password: str
    first_name: str = ""
    last_name: str = ""
    roles: list[str] = field(default_factory=lambda: [ROLE_AGENT])
    enabled: bool = True
    device_ids: list[str] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)
    change_password_on_first_login: bool = False
    session: dict[str, Any] | None = None  # StartContactCenterSession parameters while a session is open
    # settings.provisioning_flags.modified_At (E130): a new UUID whenever the user is provisioned.
    provisioning_version: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def is_admin(self) -> bool:
        return ROLE_ADMIN in self.roles

    @property
    def is_cloud_admin(self) -> bool:
        return ROLE_CLOUD_ADMIN in self.roles

    @property
    def is_supervisor(self) -> bool:
        return ROLE_SUPERVISOR in self.roles or ROLE_ADMIN in self.roles


@dataclass
class Party:
    """One leg of a call, as its device (or an external number) sees it."""

    key: str  # the device id, or "ext:<number>" for parties outside the contact center
    number: str
    device_id: str | None
    view_id: str
    state: CallState
    call_type: CallType
    dnis: str
    started: float
    ani: str | None = None
    mute: bool = False
    parent_view_id: str | None = None  # the held call a consult call was initiated from
    consult: Literal["transfer", "conference"] | None = None
    supervisor_mode: MonitorMode | None = None
    supervised_device_id: str | None = None
    monitoring_scope: Literal["Agent", "Call"] | None = None
    via_queue: str | None = None
    final_participants: list[str] | None = None  # who was on the call when this party left it

    @property
    def internal(self) -> bool:
        return self.device_id is not None

    @property
    def active(self) -> bool:
        return self.state != "Released"

    @property
    def silent(self) -> bool:
        """A listening or coaching supervisor is not a participant the others see."""
        return self.supervisor_mode in ("ListenIn", "Coach")


@dataclass
class Call:
    """One T-Server call (ConnID) with its parties and its attached data."""

    id: str
    uuid: str
    created: float
    parties: list[Party] = field(default_factory=list)
    user_data: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    monitored_user_muted: bool = False
    conference_owner: str | None = None  # device id of the party that made the conference

    def party(self, key: str) -> Party | None:
        """The party of ``key`` (a device id): its active one when the device left the call earlier and was
        brought back (a single-step conference or transfer to it), else its last one."""
        found = [party for party in self.parties if party.key == key]
        return next((party for party in found if party.active), found[-1] if found else None)

    def active_parties(self) -> list[Party]:
        return [p for p in self.parties if p.active]

    def others(self, party: Party) -> list[Party]:
        """The parties ``party`` talks to; silent supervisors are hidden from everyone but themselves."""
        return [p for p in self.active_parties() if p is not party and not p.silent]

    @property
    def is_conference(self) -> bool:
        return len([p for p in self.active_parties() if not p.silent]) >= 3
