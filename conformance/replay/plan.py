"""A fixture as a replay plan: who the documented actor and partners are, which precondition the operation
needs, the exchanges to send and expect (after the errata's replay rules), or why it cannot be replayed.

Why separate from the execution (``gws.py``): the plan is pure data derived from the fixture and the errata,
so it can be inspected and unit-tested without a target, and the family test can name, mark and skip
fixtures from it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicekit.corpus import Fixture
from voicekit.replay.bindings import is_placeholder_token
from voicekit.replay.forms import apply_patch
from voicekit.replay.rules import CompareRules, FixtureRules, parse_path, rules_for

__all__ = ["CONFIG_OPERATIONS", "DocCall", "Plan", "Step", "build_plan", "main_operation"]

#: Operations that change configuration (settings, provisioning, dispositions): their replays are destructive.
CONFIG_OPERATIONS = frozenset(
    {
        "createSetting",
        "updateSetting",
        "deleteSetting",
        "createSettingsGroup",
        "deleteSettingsGroup",
        "createUser",
        "deleteUsers",
        "assignUserSkills",
        "createUserDevice",
        "createGroup",
        "createSubGroup",
        "deleteGroup",
        "createGroupDisposition",
        "deleteGroupDisposition",
    }
)
SUPERVISOR_DEVICE_CAPABILITIES = frozenset({"ListenIn", "Coach", "BargeIn", "CancelSupervisorMonitoring"})
SUPERVISOR_CALL_CAPABILITIES = frozenset({"SwitchToListenIn", "SwitchToBargeIn"})
ADMIN_PREFIXES = (
    "/api/v2/users",
    "/api/v2/devices",
    "/api/v2/skills",
    "/api/v2/queues",
    "/api/v2/system",
    "/api/v2/settings",
    "/api/v2/groups",
    "/api/v2/services",
    "/api/v2/features",
)


@dataclass
class DocCall:
    """Everything the fixture documents about one call id, in the order it is shown."""

    id: str
    views: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.views[0]

    @property
    def last(self) -> dict[str, Any]:
        return self.views[-1]

    @property
    def dnis(self) -> str | None:
        return next((str(v["dnis"]) for v in self.views if v.get("dnis")), None)

    @property
    def uuid(self) -> str | None:
        return next((str(v["callUuid"]) for v in self.views if v.get("callUuid")), None)

    @property
    def call_type(self) -> str | None:
        return next((str(v["callType"]) for v in self.views if v.get("callType")), None)

    @property
    def parent_id(self) -> str | None:
        uri = next((v["parentCallUri"] for v in self.views if v.get("parentCallUri")), None)
        return str(uri).rstrip("/").rsplit("/", 1)[-1] if uri else None

    @property
    def participants(self) -> list[str]:
        return [str(p) for p in self.first.get("participants") or []]

    @property
    def direction(self) -> str:
        """``out`` when the actor dialed (the dnis is one of the other parties), else ``in``."""
        return "out" if self.dnis and self.dnis in self.participants else "in"

    @property
    def user_data(self) -> dict[str, Any]:
        return dict(self.first.get("userData") or {})


@dataclass
class Step:
    """One exchange: a trigger, a request, the documented response and notifications (rules applied)."""

    index: int | None  # 1-based scenario step; None for a sample
    label: str
    lines: tuple[int, int] | None
    trigger: dict[str, Any] | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    notifications: list[dict[str, Any]]
    rules: CompareRules
    decided: list[str] = field(default_factory=list)  # errata that replaced parts of this exchange
    also_paths: list[str] = field(default_factory=list)
    unwrap: tuple[str, str] | None = None  # (member, erratum)
    any_order: bool = False  # the documents do not fix the notifications' order (an erratum says so)


@dataclass
class Plan:
    fixture: Fixture
    rules: FixtureRules
    operation: str | None
    actor_role: str
    actor_number: str | None
    actor_device: str | None
    partner_numbers: list[str]
    other_devices: list[str]
    calls: dict[str, DocCall]
    steps: list[Step]
    given: dict[str, Any]
    given_errata: list[str]
    not_run: str | None = None
    destructive: bool = False
    needs: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.fixture.id

    @property
    def kind(self) -> str:
        return str(self.fixture.data["kind"])

    def call(self, call_id: str | None) -> DocCall | None:
        return self.calls.get(call_id or "")

    def request_call_id(self, step: Step | None = None) -> str | None:
        """The documented call id of the (first) request path /api/v2/me/calls/{id}."""
        steps = [step] if step else self.steps
        for s in steps:
            if s.request:
                parts = str(s.request["path"]).strip("/").split("/")
                if len(parts) >= 5 and parts[:4] == ["api", "v2", "me", "calls"]:
                    return parts[4]
        return None


def main_operation(fixture: Fixture) -> str | None:
    """The first catalog operation that is not a notification (``gws.Hold`` → ``Hold``)."""
    for op in fixture.operations:
        if op.startswith(("gws.cometd.", "gws.push.")):
            continue
        return op.removeprefix("gws.")
    return None


def _notifications_of(step: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(n) for n in step.get("notifications") or []]


def _call_views(node: Any) -> Iterable[dict[str, Any]]:
    """Documented call resources anywhere in a message or body (data.call, calls[], user.calls[])."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "call" and isinstance(value, Mapping) and value.get("id"):
                yield dict(value)
            elif key == "calls" and isinstance(value, list):
                yield from (dict(v) for v in value if isinstance(v, Mapping) and v.get("id"))
            else:
                yield from _call_views(value)
    elif isinstance(node, list):
        for value in node:
            yield from _call_views(value)


def _devices(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "devices" and isinstance(value, list):
                yield from (dict(v) for v in value if isinstance(v, Mapping) and v.get("id"))
            else:
                yield from _devices(value)
    elif isinstance(node, list):
        for value in node:
            yield from _devices(value)


def _apply_patch(messages: list[dict[str, Any]], patches: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**note, "message": apply_patch(note["message"], patches)} for note in messages]


def _complete(request: dict[str, Any], members: Mapping[str, Mapping[str, Any]]) -> None:
    """Add members the API requires to template request objects (``complete`` of an erratum)."""
    for pattern, extra in members.items():
        tokens = parse_path(pattern)
        nodes: list[Any] = [request]
        for token in tokens:
            nxt: list[Any] = []
            for node in nodes:
                if token == "*" and isinstance(node, list):
                    nxt += node
                elif token.startswith("#") and isinstance(node, list) and int(token[1:]) < len(node):
                    nxt.append(node[int(token[1:])])
                elif isinstance(node, dict) and token in node:
                    nxt.append(node[token])
            nodes = nxt
        for node in nodes:
            if isinstance(node, dict):
                for key, value in extra.items():
                    node.setdefault(key, copy.deepcopy(value))


def build_plan(fixture: Fixture, errata: Iterable[Mapping[str, Any]]) -> Plan:
    """The replay plan of ``fixture`` under the ``replay`` members of ``errata``."""
    rules = rules_for(fixture.id, errata)
    data = fixture.data
    raw_steps = list(fixture.exchanges())
    steps: list[Step] = []
    for number, (label, raw) in enumerate(raw_steps, 1):
        index = number if "steps" in data else None
        steps.append(_step(index, label, raw, rules))
    given, given_errata = rules.given()
    plan = Plan(
        fixture=fixture,
        rules=rules,
        operation=main_operation(fixture),
        actor_role="agent",
        actor_number=None,
        actor_device=None,
        partner_numbers=[],
        other_devices=[],
        calls={},
        steps=steps,
        given=given,
        given_errata=given_errata,
    )
    _analyse(plan)
    plan.not_run = _not_run(plan)
    plan.destructive = _destructive(plan)
    return plan


def _step(index: int | None, label: str, raw: Mapping[str, Any], rules: FixtureRules) -> Step:
    request = copy.deepcopy(raw.get("request")) if raw.get("request") else None
    response = copy.deepcopy(raw.get("response")) if raw.get("response") else None
    notifications = _notifications_of(raw)
    decided: list[str] = []
    override = rules.value("request", index)
    if override is not None:
        base = request or {}
        base.update(copy.deepcopy(override[0]))
        request = base
        decided.append(override[1])
    complete = rules.value("complete", index)
    if complete is not None and request is not None:
        _complete(request, complete[0])
        decided.append(complete[1])
    response_override = rules.value("response", index)
    if response_override is not None:
        response = copy.deepcopy(response_override[0])
        decided.append(response_override[1])
    expect = rules.value("notifications", index)
    if expect is not None:
        notifications = [dict(n) for n in copy.deepcopy(expect[0])]
        decided.append(expect[1])
    for entry in rules.for_step(index):
        if entry.data.get("patch"):
            notifications = _apply_patch(notifications, entry.data["patch"])
            decided.append(entry.erratum)
    order = rules.value("order", index)
    if order is not None and notifications:
        positions = [int(p) - 1 for p in order[0]]
        notifications = [notifications[p] for p in positions] + [
            n for i, n in enumerate(notifications) if i not in positions
        ]
        decided.append(order[1])
    any_order = rules.value("any_order", index)
    if any_order is not None and any_order[0]:
        decided.append(any_order[1])
    also = rules.value("also", index)
    unwrap = rules.value("unwrap", index)
    lines = tuple(raw["lines"]) if raw.get("lines") else None
    return Step(
        index=index,
        label=label,
        lines=lines,
        trigger=dict(raw["trigger"]) if raw.get("trigger") else None,
        request=request,
        response=response,
        notifications=notifications,
        rules=rules.compare_rules(index),
        decided=sorted(set(decided)),
        also_paths=[str(a["path"]) for a in also[0]] if also else [],
        unwrap=(str(unwrap[0]), unwrap[1]) if unwrap else None,
        any_order=bool(any_order and any_order[0]),
    )


def _analyse(plan: Plan) -> None:
    """Actor role, documented actor number/device, partners and the documented calls."""
    documents: list[Any] = []
    for step in plan.steps:
        documents += [n["message"] for n in step.notifications]
        if step.response and step.response.get("body") is not None:
            documents.append(step.response["body"])
    for doc in documents:
        for view in _call_views(doc):
            plan.calls.setdefault(str(view["id"]), DocCall(str(view["id"]))).views.append(view)
    # The actor: phoneNumber of call messages, the device of device messages, the device in the request path.
    numbers: list[str] = []
    for doc in documents:
        data = doc.get("data") if isinstance(doc, Mapping) else None
        is_call = isinstance(data, Mapping) and data.get("messageType") == "CallStateChangeMessage"
        if is_call and isinstance(data, Mapping) and data.get("phoneNumber"):
            plan.actor_number = plan.actor_number or str(data["phoneNumber"])
        for device in _devices(doc):
            plan.actor_device = plan.actor_device or str(device["id"])
            if device.get("phoneNumber"):
                plan.actor_number = plan.actor_number or str(device["phoneNumber"])
    for step in plan.steps:
        path = str((step.request or {}).get("path", ""))
        parts = path.strip("/").split("/")
        if len(parts) >= 5 and parts[:4] == ["api", "v2", "me", "devices"] and not is_placeholder_token(parts[4]):
            plan.actor_device = plan.actor_device or parts[4]
    for call in plan.calls.values():
        device_uri = next((v.get("deviceUri") for v in call.views if v.get("deviceUri")), None)
        if device_uri and not plan.actor_device:
            plan.actor_device = str(device_uri).rstrip("/").rsplit("/", 1)[-1]
        # A call the actor received has the actor's number as dnis (not one of the other parties).
        if not plan.actor_number and call.dnis and call.dnis not in call.participants:
            plan.actor_number = call.dnis
    # Partners: every documented number that is not the actor's (and not a queue the call came through).
    for call in plan.calls.values():
        for view in call.views:
            numbers += [str(p) for p in view.get("participants") or []]
        if call.dnis:
            numbers.append(call.dnis)
    for step in plan.steps:
        body = (step.request or {}).get("body")
        if isinstance(body, Mapping):
            destination = body.get("destination")
            if isinstance(destination, Mapping) and destination.get("phoneNumber"):
                numbers.append(str(destination["phoneNumber"]))
            elif isinstance(destination, str):
                numbers.append(destination)
            if body.get("participant"):
                numbers.append(str(body["participant"]))
            for key in ("targetDeviceUri",):
                if isinstance(body.get(key), str):
                    plan.other_devices.append(str(body[key]).rstrip("/").rsplit("/", 1)[-1])
        if step.trigger:
            for key in ("from", "to", "party"):
                if step.trigger.get(key):
                    numbers.append(str(step.trigger[key]))
    for value in plan.given.get("conference") or []:
        numbers.append(str(value))
    if plan.given.get("forwardTo"):
        numbers.append(str(plan.given["forwardTo"]))
    if plan.given.get("actor"):
        plan.actor_number = str(plan.given["actor"])
    for doc in documents:
        for device in _devices(doc):
            state = device.get("supervisorMonitoringState")
            if isinstance(state, Mapping) and state.get("targetDeviceUri"):
                target = str(state["targetDeviceUri"]).rstrip("/").rsplit("/", 1)[-1]
                if target not in plan.other_devices:
                    plan.other_devices.append(target)
            if device.get("forwardTo"):
                numbers.append(str(device["forwardTo"]))
    queue = _queue_number(plan)
    for number in numbers:
        if number != plan.actor_number and number != queue and number not in plan.partner_numbers:
            plan.partner_numbers.append(number)
    plan.actor_role = _actor_role(plan, documents)


def _queue_number(plan: Plan) -> str | None:
    """Reject: the call came through a queue whose DN is the documented dnis (E213)."""
    if plan.operation != "Reject":
        return None
    call = plan.call(plan.request_call_id())
    return call.dnis if call else None


def _actor_role(plan: Plan, documents: list[Any]) -> str:
    declared = plan.fixture.data.get("actor")
    if declared in ("supervisor", "admin"):
        return str(declared)
    for doc in documents:
        for device in _devices(doc):
            if SUPERVISOR_DEVICE_CAPABILITIES & set(device.get("capabilities") or []):
                return "supervisor"
        for view in _call_views(doc):
            if SUPERVISOR_CALL_CAPABILITIES & set(view.get("capabilities") or []):
                return "supervisor"
    if plan.given.get("monitoring"):
        return "supervisor"
    paths = [str(s.request["path"]) for s in plan.steps if s.request]
    if paths and all(p.startswith("/api/v2/diagnostics/version") for p in paths) and declared is None:
        return "anonymous"
    if declared != "agent" and paths and all(p.startswith(ADMIN_PREFIXES) for p in paths):
        return "admin"
    return "agent"


def _not_run(plan: Plan) -> str | None:
    fixture = plan.fixture
    explicit = plan.rules.value("not_run")
    if explicit is not None:
        return f"{explicit[0]} ({explicit[1]})"
    kind = plan.kind
    if kind == "fragment":
        return "fragment: a partial body, not a whole request or message that can be sent or awaited"
    if kind == "code-listing" and "steps" in fixture.data:
        return None  # decided at run time (CSRF walk-throughs need a target with CSRF protection)
    if not any(s.request or s.notifications or s.trigger or s.response for s in plan.steps):
        return "nothing to replay: the fixture holds neither a request nor a message"
    return None


def _destructive(plan: Plan) -> bool:
    if plan.operation in CONFIG_OPERATIONS:
        return True
    for step in plan.steps:
        method = str((step.request or {}).get("method", "GET"))
        path = str((step.request or {}).get("path", ""))
        if method != "GET" and path.startswith(ADMIN_PREFIXES):
            return True
    return False
