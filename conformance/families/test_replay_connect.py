"""Replay of the documented Connect bus samples (``fixtures/connect/``, seed 004), profile ``connect-samples``:
each fixture's messages are sent or awaited in documented order and what arrives is compared with what the
document prints.

Why a small replay of its own: the bus has three fixtures and no HTTP. The comparison is the one engine of
``voicekit.replay`` with the Connect strategy (shared with the mock's own replay test), which accepts a fixture's
``alternatives`` too; the rules are the Connect errata, each applied only when the fixture lists it:

* E501 — the answer to a request is found by content (topic, subtopic, call event and connection id), not by
  position; unrelated messages in between are ignored;
* E502/E503 — a failure is compared on topic, subtopic, ``message.errorType`` and ``message.message`` only, except
  on the voicekit mock, which must also send the documented ``code`` and ``description``;
* E504 — ``ButtonStates`` and ``ResponseActual.buttonStates`` are compared by rule (Enable/Hide items, ``count`` =
  number of items, booleans mirror Enable, the documented button names), never by value;
* E505 — ``ActionsAllowed``, ``phoneNumber``, ``ExtendedCallVariables`` and ``fromAddress`` may be null or not;
* E506 — ANI is compared verbatim, never checked as E.164;
* E507 — ``CallType``, ``ResponseFields.Type``, ``MediaProperties.callType`` and ``ResponseActual.type`` may be any
  of agent, inbound, outbound;
* E511 — events carry no top-level ``source`` (tolerated when present); ``message.source`` is "event";
* E514 — the connecting event is voicekit's construction: compared by shape (``match: shape``).

Timestamps (``statusTimestamp``, ``queueTimestamp``, ``CurrentStateTime``) are volatile: any ISO-8601 date-time.
The incoming call of the scenario is delivered through the control API with the documented connection and contact
ids, queue, ANI and DNIS, so the rest compares by value; without a control API the scenario is not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance.failures import ConformanceFailure, Evidence
from conformance.loading import default_corpus
from conformance.outcomes import not_run
from conformance.support.connect import (
    AMAZON,
    Bus,
    button_problems,
    call_event,
    clean_agent,
    connection_id,
    either,
    failure_of,
    short,
)
from conformance.support.lab import ConnectLab
from conformance.target import RunningTarget
from conformance.transport.ws import WsClient
from voicekit.corpus import Fixture
from voicekit.replay import Form, compare_forms, forms_of
from voicekit.replay.strategies import connect

FAILURE_MEMBERS = ("channel", "topic", "subtopic", "message/errorType", "message/message")  # E502


# ---- the fixtures --------------------------------------------------------------------------------------------------
def connect_fixtures() -> list[Fixture]:
    return [f for f in default_corpus().fixtures if f.system == "connect"]


def _params() -> list[Any]:
    params = []
    for fixture in connect_fixtures():
        marks = [
            pytest.mark.vk_fixture_id(fixture.id),
            pytest.mark.vk_rule(
                f"SAMPLE-{fixture.id}", document=fixture.document, lines=fixture.lines, title=fixture.data.get("title")
            ),
        ]
        if fixture.operations:
            marks.append(pytest.mark.vk_operations(*fixture.operations))
        if any("trigger" in step for _, step in fixture.exchanges()):
            marks.append(pytest.mark.vk_needs_event("inbound-call"))
        params.append(pytest.param(fixture, id=fixture.id, marks=marks))
    return params


def sent_by_app(message: Any) -> bool:
    """A request (E511: requests carry a top-level source and no ``message``); everything else is received."""
    return isinstance(message, dict) and "source" in message and "message" not in message and "topic" in message


# ---- comparison: the one engine (voicekit.replay, Connect strategy) -----------------------------------------
def compare(forms: list[Form], actual: Any, match: str, errata: set[str]) -> list[str]:
    """Differences between a documented message (or any of its forms) and the received one."""
    problems, _form = compare_forms(forms, actual, match=match, strategy=connect(errata))
    return [str(p) for p in problems]


def _pick(message: Any, paths: tuple[str, ...]) -> dict[str, Any]:
    """The members at ``paths`` (``message/errorType``), as a nested object."""
    out: dict[str, Any] = {}
    for path in paths:
        source: Any = message
        target = out
        keys = path.split("/")
        for key in keys[:-1]:
            source = source.get(key) if isinstance(source, dict) else None
            target = target.setdefault(key, {})
        if isinstance(source, dict) and keys[-1] in source:
            target[keys[-1]] = source[keys[-1]]
    return out


def identity(expected: dict[str, Any]) -> Callable[[Any], bool]:
    """How the received counterpart of a documented message is recognised (E501): topic and subtopic, and for a
    call event its event and connection."""
    call = expected.get("message", {}).get("call") if isinstance(expected.get("message"), dict) else None
    if expected.get("subtopic") == "InboundCallStateChange" and isinstance(call, dict):
        return call_event(str(call.get("event")), str(call.get("id")) if call.get("id") else None)

    def match(message: Any) -> bool:
        matched: bool = message.get("topic") == expected.get("topic") and message.get("subtopic") == expected.get(
            "subtopic"
        )
        return matched

    match.__name__ = f"{expected.get('topic')}/{expected.get('subtopic')}"
    return match


# ---- replay -------------------------------------------------------------------------------------------------------
class Replay:
    """Sends and awaits one fixture's messages, collecting differences."""

    def __init__(self, fixture: Fixture, bus: Bus, events: ConnectLab, is_mock: bool) -> None:
        self.fixture = fixture
        self.bus = bus
        self.events = events
        self.is_mock = is_mock
        self.errata = set(fixture.errata)
        self.differences: list[str] = []

    def run(self) -> None:
        for label, step in self.fixture.exchanges():
            trigger = step.get("trigger")
            if trigger:
                self.trigger(trigger)
            for index, note in enumerate(step.get("notifications") or [], 1):
                self.notification(f"{label}, message {index}", note)

    def trigger(self, trigger: dict[str, Any]) -> None:
        if trigger.get("event") != "incoming-call":
            raise ConformanceFailure(f"{self.fixture.id}: unknown trigger {trigger.get('event')!r}")
        self.events.require("an incoming call")
        extra = {k: trigger[k] for k in ("connectionId", "contactId", "queue") if trigger.get(k)}
        view = self.events.incoming_call(self.bus.agent, str(trigger.get("ani")), trigger.get("dnis"), **extra)
        offered = connection_id(view)
        if trigger.get("connectionId") and offered != trigger["connectionId"]:
            not_run(
                f"the target offered connection {offered}, not the documented {trigger['connectionId']}: the "
                "sample's ids cannot be reproduced here"
            )

    def notification(self, label: str, note: dict[str, Any]) -> None:
        expected: Any = note.get("message")  # a JSON value whose shape depends on the fixture's kind
        match = str(note.get("match") or "exact")
        if self.fixture.data.get("kind") == "fragment":
            self.fragment(label, expected)
        elif sent_by_app(expected):
            self.bus.send(expected)
        else:
            self.received(label, note, match)

    def received(self, label: str, note: dict[str, Any], match: str) -> None:
        expected = note["message"]
        wanted = identity(expected)
        failure = (
            failure_of(str(expected.get("topic")), str(expected.get("subtopic")).removesuffix("Failed"))
            if str(expected.get("subtopic")).endswith("Failed")
            else None
        )
        alternatives = [wanted]
        if failure is not None and expected.get("topic") == "InboundCall":
            alternatives.append(call_event(("connected", "hold", "ACW", "Dropped")))  # a success instead
        if failure is None and expected.get("subtopic") == "InboundCallStateChange":
            last = self.last_request()
            if last is not None:
                alternatives.append(failure_of(str(last.get("topic")), str(last.get("subtopic"))))
        actual = self.bus.await_(either(*alternatives), f"{label}: {wanted.__name__}")
        if not wanted(actual):
            self.differences.append(f"{label}: expected {wanted.__name__}, received {short(actual)}")
            return
        forms = forms_of(note, "message")
        if "E502" in self.errata and str(expected.get("subtopic")).endswith("Failed") and not self.is_mock:
            forms = [Form(_pick(f.value, FAILURE_MEMBERS), reading=f.reading) for f in forms]
            actual = _pick(actual, FAILURE_MEMBERS)
        self.differences += [f"{label}: {d}" for d in compare(forms, actual, match, self.errata)]
        call = actual.get("message", {}).get("call") if isinstance(actual.get("message"), dict) else None
        if "E504" in self.errata and isinstance(call, dict):
            documented = expected["message"]["call"]
            problems = button_problems(call)
            names = set((documented.get("ButtonStates") or {}).get("items") or {})
            received = set((call.get("ButtonStates") or {}).get("items") or {})
            if names and names != received:
                problems.append(f"button names {sorted(received)} differ from the documented {sorted(names)}")
            self.differences += [f"{label}: ButtonStates (E504): {p}" for p in problems]

    def fragment(self, label: str, state: dict[str, Any]) -> None:
        """A documented agent state {label, code, type} (E500): Agent Update with it is answered by SetAgentState
        whose message has the documented shape."""
        reply = self.bus.ask(
            {"channel": AMAZON, "topic": "Agent", "subtopic": "Update", "source": "voicekit", "data": dict(state)},
            lambda m: m.get("topic") == "Agent" and m.get("subtopic") in ("SetAgentState", "UpdateFailed"),
        )
        if reply.get("subtopic") != "SetAgentState":
            self.differences.append(f"{label}: Agent Update to {json.dumps(state)} was refused: {short(reply)}")
            return
        self.differences += [
            f"{label}: {d}" for d in compare([Form(state)], reply.get("message"), "shape", self.errata)
        ]

    def last_request(self) -> dict[str, Any] | None:
        sent = [
            m
            for _, step in self.fixture.exchanges()
            for n in step.get("notifications") or []
            if sent_by_app(m := n.get("message"))
        ]
        return sent[-1] if sent else None

    def verdict(self) -> None:
        if self.differences:
            raise ConformanceFailure(
                f"{self.fixture.id}: {len(self.differences)} difference(s) from the documented "
                f"sample — {self.differences[0]}",
                evidence=Evidence(
                    fixture=self.fixture.id,
                    document=self.fixture.document,
                    lines=self.fixture.lines,
                    details=self.differences[1:],
                ),
            )


# ---- fixtures and the test ------------------------------------------------------------------------------------
@pytest.fixture
def replay_events(vk_config: Any, vk_cleanup: Any) -> ConnectLab:
    """The Connect events (EventSource); closed after the agent's reset (cleanups run last-in, first-out)."""
    events = ConnectLab(vk_config)
    vk_cleanup(events.close, description="close the control API client")
    return events


@pytest.fixture
def replay_bus(vk_config: Any, replay_events: ConnectLab, vk_bus: Callable[..., WsClient], vk_cleanup: Any) -> Bus:
    """Agent A's bus, the agent clean (no contact, Available) before and after the replay."""
    if not vk_config.connect.agents:
        not_run("no Connect agent ids (connect.agents)")
    agent = vk_config.connect.agents[0]
    clean_agent(agent, replay_events, vk_bus)
    vk_cleanup(clean_agent, agent, replay_events, vk_bus, description=f"reset Connect agent {agent}")
    return Bus(vk_bus(agent), agent)


@pytest.mark.vk_profile("connect-samples")
@pytest.mark.parametrize("fixture", _params())
def test_replay(fixture: Fixture, replay_bus: Bus, replay_events: ConnectLab, vk_target: RunningTarget) -> None:
    """Replay one documented bus sample and compare what arrives with what 004 prints."""
    replay = Replay(fixture, replay_bus, replay_events, vk_target.is_mock)
    replay.run()
    replay.verdict()
