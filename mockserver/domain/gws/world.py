"""The GWS world: every piece of state behind one lock, plus the notifications it publishes.

Operations (calls.py, devices.py, session.py, settings.py, provisioning.py) run inside
``with world.lock:`` and call ``world.notify_*``; the bus preserves the order of those calls, so the
notifications of one operation are delivered in the order the documents show.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from mockserver.domain.bounded import BoundedDict
from mockserver.domain.clock import RealScheduler, Scheduler
from mockserver.domain.errors import NotFound, ServiceUnavailable
from mockserver.domain.events import EventBus, Notification
from mockserver.domain.gws.model import (
    AgentStateOperation,
    Call,
    Device,
    Monitoring,
    Party,
    User,
    UserState,
)

DEVICE_CALLS_PRUNE = 64  # a device's joined calls past which calls gone are pruned
VIEW_MEMO = 4096  # view ids remembered by find_view
USER_NAME_MEMO = 4096  # names remembered by user_by_name (bounded: the names come from clients)
VOICE_SERVICE_ID = "370ef5e6-9e3c-4d91-9588-7f4dfe67e011"

# The system agent-state operations with the ids the documents show (003 l.1320-1420).
SYSTEM_AGENT_STATES = [
    AgentStateOperation(
        "D3663509-3D82-4DD3-A82E-2EA8EFA02AEF",
        "AfterCallWork",
        "AfterCallWork",
        "NotReady",
        "AfterCallWork",
        system=True,
    ),
    AgentStateOperation(
        "2B36138D-C564-4562-A8CB-3C32D564F296", "AuxWork", "AuxWork", "NotReady", "AuxWork", system=True
    ),
    AgentStateOperation("900D55CC-2BB0-431F-8BF9-D3525B383BE6", "NotReady", "Not Ready", "NotReady", system=True),
    AgentStateOperation("0F7F5003-EF26-4D13-A6Ef-D0C7EC819BEB", "Offline", "Offline", "Logout", system=True),
    AgentStateOperation("9430250E-0A1B-421F-B372-F29E69366DED", "Ready", "Ready", "Ready", system=True),
]

# Features of 003 l.4563-4590, plus the two that operations require but the table omits.
DEFAULT_FEATURES = [
    ("api-provisioning-read", "General provisioning read", True),
    ("api-provisioning-write", "General provisioning write", True),
    ("api-voice", "API for the voice channel", True),
    ("ui-supervisor-provisioning-routing", "Supervisor UI to provision routing", True),
    ("ui-supervisor-provisioning-skill", "UI to provision skills", True),
    ("ui-supervisor-provisioning-user", "Supervisor UI to display 'Agents' tab", True),
    ("ui-supervisor-edit-user", "Supervisor UI to allow editing of users", True),
    ("api-supervisor-monitoring", "Supervisor monitoring of agents' calls", False),
    ("api-mobile-push-notifications", "Push notifications to mobile devices", False),
]


@dataclass
class Feature:
    id: str
    display_name: str
    default: bool
    assigned: bool = True
    description: str = ""


@dataclass
class Service:
    id: str
    name: str
    type: str
    state: str = "Active"


@dataclass
class SettingsGroup:
    """A keyed settings group; ``general-settings`` keeps an object in ``values`` instead."""

    name: str
    display_name: str
    key: str
    settings: list[dict[str, Any]] = field(default_factory=list)
    system: bool = False
    read_only: bool = False
    admin_only: bool = False
    feature: str | None = None
    values: dict[str, Any] | None = None


@dataclass
class DispositionGroup:
    id: str
    name: str
    parent_id: str | None = None
    default: bool = False
    dispositions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Fault:
    """A one-shot fault injected through the control API into the next matching operation."""

    kind: str  # "error" (T-Server ErrorMessage) or "latency"
    operation: str | None = None  # operationName, or None for any
    user_id: str | None = None
    message: str = "Incorrect object state"
    delay: float = 0.0


def _started_then_made(pair: tuple[Call, Party]) -> tuple[float, int, str]:
    """Sort key of ``calls_of``: when the party started, then the call's ConnID (fixed-width hex, counting up)."""
    return pair[1].started, len(pair[0].id), pair[0].id


class World:
    """All GWS state. Every mutation happens under ``lock`` (an RLock; greenlet-aware once patched)."""

    def __init__(self, scheduler: Scheduler | None = None, bus: EventBus | None = None) -> None:
        self.lock = threading.RLock()
        self.scheduler: Scheduler = scheduler or RealScheduler()
        self.bus = bus or EventBus()
        self.users: dict[str, User] = {}
        self._user_ids_by_name: dict[str, str] = {}  # lower-case userName → id, a memo (see user_by_name)
        self._call_of_view: dict[str, str] = {}  # view id → call id, a memo (see find_view)
        # device id → ids of the calls it joined (a superset of its live calls; see calls_of), built for self.calls
        self._calls_by_device: dict[str, dict[str, None]] = {}
        self._indexed_calls: dict[str, Call] | None = None
        self.devices: dict[str, Device] = {}
        self.calls: dict[str, Call] = {}
        self.released: dict[str, tuple[Call, Party]] = {}  # "party key:view id" → last state, for dispositions
        self.agent_states: list[AgentStateOperation] = copy.deepcopy(SYSTEM_AGENT_STATES)
        self.settings: dict[str, SettingsGroup] = {}
        self.features: dict[str, Feature] = {
            fid: Feature(fid, name, default) for fid, name, default in DEFAULT_FEATURES
        }
        self.services: dict[str, Service] = {
            VOICE_SERVICE_ID: Service(VOICE_SERVICE_ID, "SIPS", "Voice"),
            "d1f0c1b8-6a1e-4c38-9d3c-5b2f6f4e0c11": Service(
                "d1f0c1b8-6a1e-4c38-9d3c-5b2f6f4e0c11", "Provisioning", "Provisioning"
            ),
        }
        self.skills: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.routing_templates: list[dict[str, Any]] = []
        self.phone_numbers: dict[str, dict[str, Any]] = {}
        self.places: dict[str, str] = {}  # place name → device id
        self.groups: dict[str, DispositionGroup] = {}
        self.reporting_events: list[dict[str, Any]] = []  # EventUserEvent for released-call dispositions
        self.push_outbox: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.settings_defaults = {"disposition-key": "DispositionCode", "max-body-bytes": 1_000_000}
        self.queued_calls: dict[str, list[str]] = {}  # queue number → waiting call ids
        self._conn = itertools.count(0x0071023821AEC100)
        self._uuid = itertools.count(1)
        self.version = "8.5.200.23"
        #: Documented alternatives the mock is switched to (names of mockserver/variants.py), as plain data: not
        #: part of the snapshot, so a reset keeps them.
        self.variants: frozenset[str] = frozenset()

    # ---- identifiers ----------------------------------------------------------------------------
    def new_conn_id(self) -> str:
        return f"{next(self._conn):016x}"

    def new_call_uuid(self) -> str:
        return f"013V08JRL498H1OI04000VTAES{next(self._uuid):06X}"

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(24)

    # ---- lookups ----------------------------------------------------------------------------------
    def user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise NotFound(f"User {user_id} not found") from None

    def user_by_name(self, user_name: str) -> User | None:
        """Case-insensitive. Every Basic request asks: the last answer per name is remembered, and trusted only
        while that user is still in the world under that name (users come, go and are renamed)."""
        wanted = user_name.lower()
        known = self._user_ids_by_name.get(wanted)
        user = self.users.get(known) if known is not None else None
        if user is not None and user.user_name.lower() == wanted:
            return user
        for user in self.users.values():
            if user.user_name.lower() == wanted:
                if len(self._user_ids_by_name) >= USER_NAME_MEMO:
                    self._user_ids_by_name.clear()
                self._user_ids_by_name[wanted] = user.id
                return user
        return None

    def device(self, device_id: str) -> Device:
        try:
            return self.devices[device_id]
        except KeyError:
            raise NotFound(f"Device {device_id} not found") from None

    def device_by_number(self, number: str) -> Device | None:
        digits = number.lstrip("+")
        for device in self.devices.values():
            if device.phone_number == number or device.phone_number == digits:
                return device
        return None

    def user_of(self, device: Device) -> User | None:
        return self.users.get(device.user_id) if device.user_id else None

    def own_device(self, user: User, device_id: str) -> Device:
        """A device of ``user``; another agent's device is not found (agent isolation, E001)."""
        if device_id not in user.device_ids or device_id not in self.devices:
            raise NotFound(f"Device {device_id} not found")
        return self.devices[device_id]

    def calls_of(self, device_id: str) -> list[tuple[Call, Party]]:
        """The device's calls with its active party in each (``Call.party`` of the device, when active), oldest
        first (then in the order the calls were made: their ConnIDs count up). Every call operation asks, several
        times: the calls come from an index of the calls each device joined (see :meth:`joined`), checked here,
        instead of a scan of every call in the contact center."""
        if self._indexed_calls is not self.calls:  # first use, or the calls were restored
            self._reindex_calls()
        out = []
        joined = self._calls_by_device.get(device_id)
        if joined:
            for call_id in list(joined):
                call = self.calls.get(call_id)
                if call is None:  # released and gone: forget it
                    del joined[call_id]
                    continue
                for party in call.parties:
                    if party.key == device_id and party.state != "Released":
                        out.append((call, party))
                        break
        out.sort(key=_started_then_made)
        return out

    def joined(self, call: Call, party: Party) -> None:
        """``party`` was added to ``call`` (the one place parties join calls tells the index of ``calls_of``)."""
        if party.device_id is None or self._indexed_calls is not self.calls:
            return  # an external party; or the index is rebuilt at its next use anyway
        joined = self._calls_by_device.setdefault(party.device_id, {})
        joined[call.id] = None
        if len(joined) > DEVICE_CALLS_PRUNE:  # keep a device's list to its live calls
            for call_id in [c for c in joined if c not in self.calls]:
                del joined[call_id]

    def _reindex_calls(self) -> None:
        self._calls_by_device = {}
        for call in self.calls.values():
            for party in call.parties:
                if party.device_id is not None:
                    self._calls_by_device.setdefault(party.device_id, {})[call.id] = None
        self._indexed_calls = self.calls

    def find_view(self, user: User, view_id: str) -> tuple[Call, Party]:
        """The call ``view_id`` as one of the user's devices sees it. The call last found for a view id is
        remembered and used while it still holds an active party of one of the user's devices with that view id,
        so operations on a call do not scan every call of the contact center."""
        known = self.calls.get(self._call_of_view.get(view_id, ""))
        if known is not None:
            for device_id in user.device_ids:
                for party in known.parties:
                    if party.key == device_id and party.state != "Released":  # the device's party in that call
                        if party.view_id == view_id:
                            return known, party
                        break
        for device_id in user.device_ids:
            for call, party in self.calls_of(device_id):
                if party.view_id == view_id:
                    if len(self._call_of_view) >= VIEW_MEMO:
                        self._call_of_view.clear()
                    self._call_of_view[view_id] = call.id
                    return call, party
        raise NotFound(f"Call {view_id} not found")

    def agent_state_op(self, name: str) -> AgentStateOperation | None:
        for op in self.agent_states:
            if op.operation_name == name:
                return op
        return None

    def display_name(self, op: AgentStateOperation) -> str:
        """The operation's displayName; the ``notready-display-name`` variant spells the system NotReady as the
        table does (003 l.1326) instead of the samples' "Not Ready" (E102)."""
        if op.system and op.operation_name == "NotReady" and "notready-display-name" in self.variants:
            return "NotReady"
        return op.display_name

    def match_agent_state(self, state: UserState) -> AgentStateOperation | None:
        """003 l.1475-1492: the operation whose state, workMode and reason match the device's."""
        wanted = "Logout" if state.state == "LoggedOut" else state.state
        for op in self.agent_states:
            if op.state == wanted and op.work_mode == state.work_mode and op.reason == state.reason:
                return op
        return None

    # ---- features and services ------------------------------------------------------------------
    def feature_enabled(self, feature_id: str) -> bool:
        feature = self.features.get(feature_id)
        return bool(feature and feature.assigned)

    @property
    def voice_service(self) -> Service:
        return self.services[VOICE_SERVICE_ID]

    def require_voice(self) -> None:
        if self.voice_service.state != "Active":
            raise ServiceUnavailable("Voice service is not available at this time")

    # ---- notifications ------------------------------------------------------------------------------
    def publish(self, channel: str, data: dict[str, Any], audience: str | None) -> None:
        self.bus.publish(Notification("gws", channel, data, audience))

    def take_fault(self, user_id: str, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation in (None, operation) and fault.user_id in (None, user_id):
                self.faults.remove(fault)
                return fault
        return None

    # ---- snapshots ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """A change of several steps under the lock: if a step fails, the state of the snapshot is restored.
        For the control API's composite operations (a snapshot costs a few milliseconds, so the REST routes
        validate everything first instead)."""
        with self.lock:
            before = self.snapshot()
            try:
                yield
            except BaseException:
                self.restore(before)
                raise

    def mark_initial(self) -> None:
        """Remember the current state as the one :meth:`reset` returns to (the seed's, after start-up)."""
        self._initial = copy.deepcopy(self.snapshot())

    def reset(self) -> None:
        """Back to the state :meth:`mark_initial` remembered: the seed's world, no calls, faults, queued calls,
        reporting events, released calls or push messages, every service Active."""
        with self.lock:
            self.restore(copy.deepcopy(self._initial))
            self.faults.clear()
            self.reporting_events.clear()
            self.released.clear()
            self.queued_calls.clear()
            self.push_outbox.clear()
            for service in self.services.values():
                service.state = "Active"

    def bound_history(self, limit: int) -> None:
        """Keep only the newest ``limit`` released parties and reporting events (0: unbounded)."""
        released: BoundedDict[str, tuple[Call, Party]] = BoundedDict(limit)
        released.update(self.released)
        self.released = released
        self.reporting_events = deque(self.reporting_events, maxlen=limit or None)  # type: ignore[assignment]

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to restore this world (control API export)."""
        return {
            "users": [asdict(u) for u in self.users.values()],
            "devices": [asdict(d) for d in self.devices.values()],
            "calls": [asdict(c) for c in self.calls.values()],
            "agent_states": [asdict(a) for a in self.agent_states],
            "settings": [asdict(s) for s in self.settings.values()],
            "features": [asdict(f) for f in self.features.values()],
            "services": [asdict(s) for s in self.services.values()],
            "skills": list(self.skills.values()),
            "queues": list(self.queues.values()),
            "routing_templates": self.routing_templates,
            "phone_numbers": list(self.phone_numbers.values()),
            "places": self.places,
            "groups": [asdict(g) for g in self.groups.values()],
            "counters": self._peek_counters(),
        }

    def _peek_counters(self) -> dict[str, int]:
        """The next values of the id counters, without consuming them: reading the state changes nothing."""
        conn, uuid_ = next(self._conn), next(self._uuid)
        self._conn, self._uuid = itertools.count(conn), itertools.count(uuid_)
        return {"conn": conn, "uuid": uuid_}

    def restore(self, data: dict[str, Any]) -> None:
        self.users = {u["id"]: User(**u) for u in data["users"]}
        self.devices = {}
        for raw in data["devices"]:
            raw = dict(raw)
            raw["user_state"] = UserState(**raw["user_state"])
            raw["monitoring"] = Monitoring(**raw["monitoring"]) if raw.get("monitoring") else None
            self.devices[raw["id"]] = Device(**raw)
        self.calls = {}
        for raw in data["calls"]:
            raw = dict(raw)
            raw["parties"] = [Party(**p) for p in raw["parties"]]
            self.calls[raw["id"]] = Call(**raw)
        self.agent_states = [AgentStateOperation(**a) for a in data["agent_states"]]
        self.settings = {s["name"]: SettingsGroup(**s) for s in data["settings"]}
        self.features = {f["id"]: Feature(**f) for f in data["features"]}
        self.services = {s["id"]: Service(**s) for s in data["services"]}
        self.skills = {s["id"]: s for s in data["skills"]}
        self.queues = {q["id"]: q for q in data["queues"]}
        self.routing_templates = list(data["routing_templates"])
        self.phone_numbers = {p["id"]: p for p in data["phone_numbers"]}
        self.places = dict(data["places"])
        self.groups = {g["id"]: DispositionGroup(**g) for g in data["groups"]}
        counters = data.get("counters", {})
        self._conn = itertools.count(counters.get("conn", 0x0071023821AEC100))
        self._uuid = itertools.count(counters.get("uuid", 1))
