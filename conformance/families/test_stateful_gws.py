"""Stateful family: random sequences of GWS operations between two or three configured agents, driven by
hypothesis ``RuleBasedStateMachine``s over the wire, with the documented invariants checked after every step.

Why: the rule families check each rule from one known starting point; real desktops reach states in orders
nobody wrote down (a transfer completed from the held side, a conference shrinking back to two parties, user
data on a consult call). A model of the documented behaviour — the capability table of the errata (E209,
E207, E211, E311, E312), the notification order of each operation (E217, E310), the agent-state rules — is
run beside the target; any difference fails the step, and hypothesis shrinks the sequence to a minimal
reproducer that is attached to the failure (evidence details and an Allure attachment).

Machines:

* :class:`CallMachine` — agents A, B (and C when configured): Dial, Answer, Hold, Retrieve, Hangup, SendDtmf,
  Attach/Update/DeleteUserData(Pair), Initiate/Complete Transfer and Conference, SwapCalls, single-step
  transfer and conference, Mute/Unmute, RemoveParticipantFromConference, agent-state changes, DND, and
  operations a call does not offer.
* :class:`DeviceMachine` — agent A alone: system and custom agent-state operations (duplicates included),
  do-not-disturb, call forwarding, and device operations the device does not offer.

Invariants (each failure carries the id of the invariant it broke):

* GWS-STATE-101 a call's (device's) capabilities are the errata's set for its state and context;
* GWS-STATE-102 every accepted operation is followed by exactly its notifications, in the documented order,
  within the notification timeout (and nothing else);
* GWS-STATE-103 an operation missing from capabilities is refused (HTTP 400, statusCode 2), notifies nothing
  and changes nothing;
* GWS-STATE-104 a released call leaves ``GET /api/v2/me/calls``;
* GWS-STATE-105 the parties of a call agree on it: one callUuid, each sees the others as participants;
* GWS-STATE-106 the agent state follows the documented transitions; a duplicate request notifies nothing;
* GWS-STATE-107 each call is in the state, with the participants, user data and mute the model predicts;
* GWS-STATE-108 an operation the call or device offers is accepted (HTTP 200, statusCode 0).

Budget (the ``[stateful]`` section of TargetConfig; ``VOICEKIT_STATEFUL_<KEY>`` or ``--set stateful.<key>=``):
``examples`` (default 20) sequences of up to ``steps`` (default 20) steps for the call machine; the device
machine runs the same number of examples. ``seed`` fixes hypothesis's seed; ``reproduce=<version>:<blob>``
replays a reported failure (the ``@reproduce_failure`` line of the report); ``shrink_seconds`` bounds shrinking
(default 60; hypothesis' own is 300, and every replay is on the wire); ``debug`` prints every sequence run
(with ``-s``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, reproduce_failure, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from conformance.advisory import advise
from conformance.checks import ConformanceFailure, expect_notification
from conformance.config import StatefulConfig, TargetConfig
from conformance.evidence import attach
from conformance.failures import Evidence
from conformance.outcomes import not_run
from conformance.support.cleanup import release_calls
from conformance.support.gws import CALLS, DEVICES
from conformance.support.gws_checks import DND_ON_OPTIONAL, DOC, MUTE_OPTIONAL, call_caps, expect_ok, expect_refused
from conformance.support.gws_line import Line, open_line

QUIET = 0.25  # seconds of silence that show a refused or duplicate request notified nothing

CAPS, NOTIFY, REFUSE, RELEASE, AGREE, AGENT, CALL, ACCEPT = (f"GWS-STATE-{n}" for n in range(101, 109))
INVARIANTS: dict[str, tuple[tuple[int, int], str]] = {
    CAPS: ((1053, 1062), "Capabilities match the state"),
    NOTIFY: ((1497, 1503), "Notifications follow each operation, in order"),
    REFUSE: ((3539, 3579), "An operation not offered is refused and changes nothing"),
    RELEASE: ((5422, 5499), "A released call leaves /me/calls"),
    AGREE: ((1942, 2000), "The parties of a call agree on it"),
    AGENT: ((1165, 1169), "Agent state follows the documented transitions"),
    CALL: ((1630, 1721), "The call is in the predicted state"),
    ACCEPT: ((1857, 1864), "An offered operation is accepted"),
}
SYSTEM_STATES = {
    "Ready": ("Ready", None),
    "NotReady": ("NotReady", None),
    "AuxWork": ("NotReady", "AuxWork"),
    "AfterCallWork": ("NotReady", "AfterCallWork"),
    "Offline": ("LoggedOut", None),
}
REFUSABLE = (
    "Answer",
    "Hold",
    "Retrieve",
    "Hangup",
    "SendDtmf",
    "SwapCalls",
    "CompleteTransfer",
    "CompleteConference",
    "MuteCall",
    "UnmuteCall",
    "RemoveParticipantFromConference",
    "Reject",
    "InitiateTransfer",
    "SingleStepConference",
)
KEYS = ("Segment", "Account", "Reason")
SCENARIOS = ("talking", "ringing", "consult-transfer", "consult-conference", "two-calls", "conference")
VALUES = ("Gold", "12345", "Escalation")
SWAP_ORDER_BASIS = (
    "003 l.7983-7984 name SwapCalls' two notifications without an order; the sample prints the "
    "retrieved call first (l.7986-8105), the scenario the held one (l.8446-8567) — E310"
)
MUTE_SILENT_BASIS = (
    "the MuteCall and UnmuteCall samples print no notification (003 l.5638-5640, 5673-5675); "
    "E210's StatusChange is the reference mock's choice"
)


def user_state(value: Any) -> Any:
    """A device's userState.state in the model's vocabulary: Logout (the definitions' name, l.1329) is LoggedOut
    (l.9501) — E101."""
    return "LoggedOut" if value == "Logout" else value


def device_caps_ok(listed: list[str], expected: frozenset[str], where: str) -> bool:
    """The device's list is the expected set, or lacks only DoNotDisturbOn (as printed samples do: advisory)."""
    if len(listed) != len(set(listed)):
        return False
    if frozenset(listed) == expected:
        return True
    if "DoNotDisturbOn" in expected and frozenset(listed) == expected - {"DoNotDisturbOn"}:
        advise(f"{where}: the device does not list DoNotDisturbOn", basis=DND_ON_OPTIONAL)
        return True
    return False


def _summary(message: dict[str, Any]) -> str:
    data = message.get("data") or {}
    call = data.get("call") or {}
    return f"{data.get('notificationType')} {call.get('id')} {call.get('state')}"


def failure(rule: str, message: str, title: str | None = None) -> ConformanceFailure:
    """A failure of one invariant, with its lines in 003."""
    lines, default_title = INVARIANTS[rule]
    return ConformanceFailure(
        message, rule=rule, title=title or default_title, evidence=Evidence(document=DOC, lines=lines)
    )


# ---- the model ---------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Leg:
    """One agent's view of a call (its own call id), as the model predicts it."""

    agent: str
    state: str
    call: CallModel = field(repr=False)
    view: str | None = None
    consult: str | None = None  # "transfer" / "conference" for the dialing side of Initiate*
    parent: Leg | None = field(default=None, repr=False)
    muted: bool = False


@dataclass(eq=False)
class CallModel:
    """One call (one callUuid) and the legs on it."""

    legs: list[Leg] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    owner: str | None = None

    @property
    def active(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.state != "Released"]


@dataclass
class Expect:
    """A notification the target must send, as the model saw the call when it was emitted."""

    leg: Leg
    kind: str
    state: str
    caps: list[frozenset[str]]
    participants: frozenset[str] | None
    data: dict[str, str] | None
    mute: str | None
    known: frozenset[str]  # call ids the agent already had, for a leg whose id is still unknown
    group: str | None = None  # consecutive expectations of one group may arrive in any order (advisory)

    def describe(self) -> str:
        return f"{self.kind} {self.leg.view or '(new call)'} {self.state}"


@dataclass
class World:
    """What the machines drive: the agents' lines by name, and what they learned."""

    lines: dict[str, Line]
    ready_allowed: bool = True
    custom: list[dict[str, Any]] = field(default_factory=list)
    logs: list[list[str]] = field(default_factory=list)

    @property
    def last_log(self) -> list[str]:
        return self.logs[-1] if self.logs else []


# ---- shared machinery --------------------------------------------------------------------------------------------
class WireMachine(RuleBasedStateMachine):
    """Steps, expectations and checks shared by both machines."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.lines = world.lines
        self.log: list[str] = []
        world.logs.append(self.log)
        self.call_expect: dict[str, list[Expect]] = {name: [] for name in self.lines}
        self.device_expect: dict[str, list[Callable[[dict[str, Any]], str | None]]] = {n: [] for n in self.lines}
        for line in self.lines.values():
            line.drain()

    def step(self, text: str) -> None:
        self.log.append(text)

    # -- requests
    def accepted(self, response: Any, what: str) -> None:
        try:
            expect_ok(response)
        except ConformanceFailure as exc:
            raise failure(
                ACCEPT,
                f"{what}: the model offers it, the target refused it: {exc.message}",
                "Offered operation refused",
            ) from None

    def refused(self, response: Any, what: str) -> None:
        try:
            expect_refused(response, 2, 400)
        except ConformanceFailure as exc:
            raise failure(
                REFUSE,
                f"{what} is not offered (absent from capabilities) and must be refused with "
                f"HTTP 400 statusCode 2: {exc.message}",
                "Operation not offered was not refused",
            ) from None

    # -- notification checks
    def await_devices(self) -> None:
        for name, checks in self.device_expect.items():
            if not checks:
                continue
            line = self.lines[name]
            messages = self._take(line, DEVICES, len(checks), "DeviceStateChangeMessage")
            for check, message in zip(checks, messages, strict=True):
                problem = check(message)
                if problem:
                    raise failure(AGENT if "userState" in problem else CAPS, f"{line.name}: {problem}")
            self.device_expect[name] = []

    def _take(self, line: Line, channel: str, count: int, what: str) -> list[dict[str, Any]]:
        try:
            messages = line.cometd.await_messages(
                count,
                lambda m: m.get("channel") == channel,
                description=f"{line.name}: {count} message(s) on {channel}",
            )
        except ConformanceFailure as exc:
            raise failure(
                NOTIFY,
                f"{line.name}: expected {count} {what} notification(s) on {channel}: {exc.message}",
                "Notification not received",
            ) from None
        for message in messages:
            try:
                expect_notification(message, system="gws")
            except ConformanceFailure as exc:
                raise failure(NOTIFY, f"{line.name}: {exc.message}", "Notification does not match") from None
        return messages

    def no_extra(self) -> None:
        """Nothing beyond the expected notifications (they came in the same batches, so they are here)."""
        for line in self.lines.values():
            extra = [m for m in line.cometd.inbox.pending if m.get("channel") in (CALLS, DEVICES)]
            if extra:
                text = json.dumps(extra[0], ensure_ascii=False)[:300]
                raise failure(
                    NOTIFY, f"{line.name}: unexpected notification after the step: {text}", "Unexpected notification"
                )

    def quiet(self, names: list[str], channel: str, what: str) -> None:
        """Nothing on ``channel`` for any of ``names`` during one quiet period (waited once, checked for all)."""
        for position, name in enumerate(names):
            line = self.lines[name]
            try:
                line.cometd.expect_none(
                    lambda m: m.get("channel") == channel, QUIET if position == 0 else 0.0, f"{line.name}: {what}"
                )
            except ConformanceFailure as exc:
                rule = AGENT if channel == DEVICES and "duplicate" in what else REFUSE
                raise failure(rule, exc.message, "Unexpected notification") from None

    def settle(self) -> None:
        """Teardown: wait until no line receives anything for a moment, then forget what came."""
        for line in self.lines.values():
            for _ in range(40):
                line.drain()
                try:
                    line.cometd.expect_none(None, 0.1, "settling")
                    break
                except ConformanceFailure:
                    continue


# ---- the call machine ---------------------------------------------------------------------------------------------
class CallMachine(WireMachine):
    """Calls between the configured agents; see the module docstring for the invariants."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.calls: list[CallModel] = []
        self.dnd = {name: False for name in self.lines}
        self.state: dict[str, tuple[str, str | None]] = {name: ("NotReady", None) for name in self.lines}
        self.step(f"agents: {', '.join(f'{n}={line.number}' for n, line in self.lines.items())}")

    # -- model queries
    def legs(self, agent: str | None = None) -> list[Leg]:
        return [leg for call in self.calls for leg in call.active if agent is None or leg.agent == agent]

    def free(self, agent: str) -> bool:
        return not self.legs(agent)

    def number(self, agent: str) -> str:
        return self.lines[agent].number

    def caps(self, leg: Leg) -> frozenset[str]:
        others = [o for o in self.legs(leg.agent) if o is not leg]
        if leg.state == "Held":
            second = any(o.state in ("Established", "Dialing") for o in others)
        else:
            second = any(o.state == "Held" for o in others)
        return call_caps(
            leg.state, conference=len(leg.call.active) >= 3, muted=leg.muted, second_call=second, consult=leg.consult
        )

    def alternatives(self, leg: Leg) -> list[frozenset[str]]:
        """The capability sets the documents allow for ``leg``: the model's, and on an established two-party call
        also with MuteCall (UnmuteCall while muted) — E211 leaves it open."""
        caps = self.caps(leg)
        if leg.state == "Established" and len(leg.call.active) < 3:
            return [caps, caps | {"UnmuteCall" if leg.muted else "MuteCall"}]
        return [caps]

    def caps_ok(self, leg: Leg, listed: list[str], sets: list[frozenset[str]], where: str) -> bool:
        """``listed`` is one of the allowed ``sets``; the documented alternative is an advisory finding."""
        if len(listed) != len(set(listed)) or frozenset(listed) not in sets:
            return False
        if frozenset(listed) != sets[0] and frozenset(listed) in self.alternatives(leg)[1:]:
            advise(
                f"{where}: a two-party call lists {sorted(set(listed) - sets[0])}",  # no ids: one finding
                basis=MUTE_OPTIONAL,
            )
        return True

    def name(self, leg: Leg) -> str:
        others = "+".join(o.agent for o in leg.call.active if o is not leg) or "-"
        return f"{leg.agent}:{leg.view or '?'}({leg.state} with {others})"

    def emit(
        self, leg: Leg, kind: str = "StatusChange", *, also: frozenset[str] | None = None, group: str | None = None
    ) -> None:
        released = leg.state == "Released"
        caps = [*self.alternatives(leg)] + ([also] if also is not None else [])
        known = frozenset(o.view for o in self.legs(leg.agent) if o.view) | frozenset(
            e.leg.view for e in self.call_expect[leg.agent] if e.leg.view
        )
        self.call_expect[leg.agent].append(
            Expect(
                leg,
                kind,
                leg.state,
                caps,
                None if released else frozenset(self.number(o.agent) for o in leg.call.active if o is not leg),
                None if released else dict(leg.call.data),
                None if released else ("On" if leg.muted else "Off"),
                known,
                group,
            )
        )

    def drop_if_finished(self, call: CallModel) -> None:
        if len(call.active) < 2:
            for leg in call.active:
                leg.state = "Released"
                self.emit(leg)
        if not call.active and call in self.calls:
            self.calls.remove(call)

    def leave(self, leg: Leg) -> None:
        call = leg.call
        leg.state = "Released"
        self.emit(leg)
        if len(call.active) >= 2:
            for other in call.active:
                self.emit(other, "ParticipantsUpdated")
        self.drop_if_finished(call)

    def pair(self, agent: str) -> tuple[Leg, Leg] | None:
        """(held, active) when the agent has exactly one held and one dialing/established call."""
        mine = self.legs(agent)
        held = [leg for leg in mine if leg.state == "Held"]
        active = [leg for leg in mine if leg.state in ("Dialing", "Established")]
        if len(mine) == 2 and len(held) == 1 and len(active) == 1:
            return held[0], active[0]
        return None

    def targets(self, agent: str) -> list[str]:
        """Agents ``agent`` may call: free and not in do-not-disturb."""
        return [n for n in self.lines if n != agent and self.free(n) and not self.dnd[n]]

    @staticmethod
    def pick(candidates: list[Any], index: int) -> Any:
        return candidates[index % len(candidates)]

    # -- checks after every step
    def verify(self) -> None:
        for name, expected in self.call_expect.items():
            if expected:
                self.match(name, expected)
            self.call_expect[name] = []
        self.await_devices()
        seen = {name: self.lines[name].calls() for name in self.lines}
        self.no_extra()
        self.compare(seen)

    def match(self, name: str, expected: list[Expect], received: list[dict[str, Any]] | None = None) -> None:
        line = self.lines[name]
        if received is None:
            received = self._take(line, CALLS, len(expected), "CallStateChangeMessage")
        messages = self._regroup(line, expected, received)
        got = [
            f"{m['data'].get('notificationType')} {m['data']['call'].get('id')} {m['data']['call'].get('state')}"
            for m in messages
        ]
        for index, (want, message) in enumerate(zip(expected, messages, strict=True)):
            data, call = message["data"], message["data"]["call"]
            same_call = str(call.get("id")) == want.leg.view if want.leg.view else str(call.get("id")) not in want.known
            if not same_call or data.get("notificationType") != want.kind:
                rest = expected[index + 1 :]
                if any(
                    r.kind == data.get("notificationType") and (str(call.get("id")) == r.leg.view or not r.leg.view)
                    for r in rest
                ):
                    raise failure(
                        NOTIFY,
                        f"{line.name}: expected {[e.describe() for e in expected]}, received {got}",
                        "Notifications out of order",
                    )
                raise failure(
                    NOTIFY,
                    f"{line.name}: notification {index + 1} should be {want.describe()}, got {got[index]} (all: {got})",
                    "Wrong notification",
                )
            if want.leg.view is None:
                want.leg.view = str(call["id"])
            if call.get("state") != want.state:
                raise failure(
                    CALL,
                    f"{line.name}: {want.kind} of call {want.leg.view} shows state "
                    f"{call.get('state')!r}; the model predicts {want.state}",
                    "Wrong call state",
                )
            caps = call.get("capabilities") or []
            if not self.caps_ok(want.leg, caps, want.caps, f"{line.name}: the {want.kind} notification"):
                expected_caps = sorted(want.caps[0])
                raise failure(
                    CAPS,
                    f"{line.name}: {want.kind} of call {want.leg.view} ({want.state}) lists "
                    f"{sorted(caps)}; expected {expected_caps} (missing {sorted(want.caps[0] - set(caps))},"
                    f" unexpected {sorted(set(caps) - want.caps[0])})",
                    "Wrong capabilities",
                )
            self.same_content(line.name, want, call, f"the {want.kind} notification")

    @staticmethod
    def _regroup(line: Line, expected: list[Expect], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Within a group of expectations (SwapCalls' two), take the messages in the expected order when they came
        in another one — an advisory finding, since the documents print both orders."""
        out = list(messages)
        start = 0
        while start < len(expected):
            group, end = expected[start].group, start + 1
            while group is not None and end < len(expected) and expected[end].group == group:
                end += 1
            block = out[start:end]
            ordered = [
                next((m for m in block if str(m["data"]["call"].get("id")) == w.leg.view), None)
                for w in expected[start:end]
            ]
            if (
                group is not None
                and None not in ordered
                and len({id(m) for m in ordered}) == len(block)
                and ordered != block
            ):
                advise(
                    f"{line.name}: {group} notified {[_summary(m).rsplit(' ', 1)[-1] for m in block]}, the "
                    f"reference mock {[w.state for w in expected[start:end]]}",
                    basis=SWAP_ORDER_BASIS,
                )
                out[start:end] = cast(list[dict[str, Any]], ordered)  # None not in ordered, checked above
            start = end
        return out

    def same_content(self, who: str, want: Expect, call: dict[str, Any], where: str) -> None:
        if want.participants is not None:
            parties = frozenset(str(p) for p in call.get("participants") or [])
            if parties != want.participants:
                raise failure(
                    AGREE,
                    f"{who}: {where} of call {want.leg.view} shows participants {sorted(parties)}; "
                    f"the parties are {sorted(want.participants)}",
                    "Parties disagree",
                )
        if want.data is not None:
            data = call.get("userData") if isinstance(call.get("userData"), dict) else {}
            if data != want.data or (not want.data and "userData" in call):
                raise failure(
                    CALL,
                    f"{who}: {where} of call {want.leg.view} has userData {call.get('userData')!r};"
                    f" the model has {want.data}",
                    "Wrong user data",
                )
        if want.mute is not None and call.get("mute") != want.mute:
            raise failure(
                CALL,
                f"{who}: {where} of call {want.leg.view} has mute {call.get('mute')!r}, expected {want.mute}",
                "Wrong mute",
            )

    def compare(self, seen: dict[str, list[dict[str, Any]]]) -> None:
        """GET /api/v2/me/calls of every agent against the model."""
        uuids: dict[int, set[str]] = {}
        for name, calls in seen.items():
            line = self.lines[name]
            model = {leg.view: leg for leg in self.legs(name)}
            listed = {str(c.get("id")): c for c in calls}
            gone = sorted(set(listed) - set(model))
            if gone:
                rule = RELEASE if any(v not in model for v in gone) else CALL
                raise failure(
                    rule,
                    f"{line.name}: GET /api/v2/me/calls lists {gone} (states "
                    f"{[listed[g].get('state') for g in gone]}); the model has {sorted(map(str, model))}",
                    "Released call still listed",
                )
            missing = sorted(str(v) for v in set(model) - set(listed))
            if missing:
                raise failure(CALL, f"{line.name}: GET /api/v2/me/calls lacks {missing}", "Call missing")
            for view, leg in model.items():
                call = listed[str(view)]
                if call.get("state") != leg.state:
                    raise failure(
                        CALL,
                        f"{line.name}: call {view} is {call.get('state')!r}; the model predicts {leg.state}",
                        "Wrong call state",
                    )
                caps = call.get("capabilities") or []
                want = self.caps(leg)
                if not self.caps_ok(leg, caps, self.alternatives(leg), f"{line.name}: GET"):
                    raise failure(
                        CAPS,
                        f"{line.name}: call {view} ({leg.state}) lists {sorted(caps)}; expected "
                        f"{sorted(want)} (missing {sorted(want - set(caps))}, unexpected "
                        f"{sorted(set(caps) - want)})",
                        "Wrong capabilities",
                    )
                expected = Expect(
                    leg,
                    "GET",
                    leg.state,
                    [want],
                    frozenset(self.number(o.agent) for o in leg.call.active if o is not leg),
                    dict(leg.call.data),
                    "On" if leg.muted else "Off",
                    frozenset(),
                )
                self.same_content(line.name, expected, call, "GET")
                uuids.setdefault(id(leg.call), set()).add(str(call.get("callUuid")))
        for values in uuids.values():
            if len(values) != 1:
                raise failure(
                    AGREE, f"the parties of one call report different callUuids {sorted(values)}", "Parties disagree"
                )
        flat = [next(iter(v)) for v in uuids.values()]
        if len(flat) != len(set(flat)):
            raise failure(AGREE, f"different calls share a callUuid: {sorted(flat)}", "Parties disagree")

    # -- the rules
    @initialize(scenario=st.sampled_from(SCENARIOS), index=st.integers(0, 5))
    def start(self, scenario: str, index: int) -> None:
        """Every sequence starts from a call scenario (ringing, talking, a consultation, two calls, a
        conference), so the random steps reach the two-call and three-party states often."""
        self.dial(index)
        if scenario == "ringing":
            return
        self.answer(0)
        if not self._transferable():
            return
        if scenario in ("consult-transfer", "consult-conference"):
            self.initiate(0, scenario.split("-")[1])
        elif scenario == "two-calls":
            self.hold(0)
            if any(self.targets(a) and self._can_dial(a) for a in self.lines):
                self.dial(0)
        elif scenario == "conference":
            self.single_step_conference(0)
            self.answer(0)

    @precondition(lambda self: any(self.targets(a) and self._can_dial(a) for a in self.lines))
    @rule(index=st.integers(0, 11))
    def dial(self, index: int) -> None:
        x, y = self.pick([(a, b) for a in self.lines if self._can_dial(a) for b in self.targets(a)], index)
        self.step(f"{x} dials {y}")
        call = CallModel()
        caller, callee = Leg(x, "Dialing", call), Leg(y, "Ringing", call)
        call.legs = [caller, callee]
        self.calls.append(call)
        self.accepted(self.lines[x].agent.dial(self.number(y)), f"{x} Dial {y}")
        self.emit(caller)
        self.emit(callee)
        self.verify()

    def _can_dial(self, agent: str) -> bool:
        mine = self.legs(agent)
        return not mine or (len(mine) == 1 and mine[0].state == "Held")

    def _legs(self, test: Callable[[Leg], bool]) -> list[Leg]:
        return [leg for leg in self.legs() if test(leg)]

    @precondition(lambda self: self._legs(lambda leg: leg.state == "Ringing"))
    @rule(index=st.integers(0, 5))
    def answer(self, index: int) -> None:
        leg = self.pick(self._legs(lambda g: g.state == "Ringing"), index)
        self.step(f"{self.name(leg)} Answer")
        self.accepted(self.lines[leg.agent].op(leg.view, "Answer"), "Answer")
        leg.state = "Established"
        self.emit(leg)
        for other in leg.call.active:
            if other is not leg and other.state == "Dialing":
                other.state = "Established"
                self.emit(other)
        self.verify()

    def _alone(self, state: str) -> list[Leg]:
        return self._legs(lambda g: g.state == state and len(self.legs(g.agent)) == 1)

    @precondition(lambda self: self._alone("Established"))
    @rule(index=st.integers(0, 5))
    def hold(self, index: int) -> None:
        leg = self.pick(self._alone("Established"), index)
        self.step(f"{self.name(leg)} Hold")
        self.accepted(self.lines[leg.agent].op(leg.view, "Hold"), "Hold")
        leg.state = "Held"
        self.emit(leg)
        self.verify()

    @precondition(lambda self: self._alone("Held"))
    @rule(index=st.integers(0, 5))
    def retrieve(self, index: int) -> None:
        leg = self.pick(self._alone("Held"), index)
        self.step(f"{self.name(leg)} Retrieve")
        self.accepted(self.lines[leg.agent].op(leg.view, "Retrieve"), "Retrieve")
        leg.state = "Established"
        self.emit(leg)
        self.verify()

    @precondition(lambda self: self._legs(lambda g: g.state in ("Dialing", "Established", "Held")))
    @rule(index=st.integers(0, 7))
    def hangup(self, index: int) -> None:
        leg = self.pick(self._legs(lambda g: g.state in ("Dialing", "Established", "Held")), index)
        self.step(f"{self.name(leg)} Hangup")
        self.accepted(self.lines[leg.agent].op(leg.view, "Hangup"), "Hangup")
        self.leave(leg)
        self.verify()

    @precondition(lambda self: self._legs(lambda g: g.state == "Established"))
    @rule(index=st.integers(0, 5))
    def send_dtmf(self, index: int) -> None:
        leg = self.pick(self._legs(lambda g: g.state == "Established"), index)
        self.step(f"{self.name(leg)} SendDtmf")
        self.accepted(self.lines[leg.agent].op(leg.view, "SendDtmf", digits="12#"), "SendDtmf")
        self.emit(leg, "DtmfSent")
        self.verify()

    def _data_changed(self, leg: Leg) -> None:
        self.emit(leg, "AttachedDataChanged")
        for other in leg.call.active:
            if other is not leg:
                self.emit(other, "AttachedDataChanged")

    @precondition(lambda self: self.legs())
    @rule(
        index=st.integers(0, 7),
        action=st.sampled_from(("AttachUserData", "UpdateUserData", "DeleteUserDataPair", "DeleteUserData")),
        key=st.sampled_from(KEYS),
        value=st.sampled_from(VALUES),
    )
    def user_data(self, index: int, action: str, key: str, value: str) -> None:
        leg = self.pick(self.legs(), index)
        members: dict[str, Any] = {}
        if action in ("AttachUserData", "UpdateUserData"):
            members = {"userData": {key: value}}
            leg.call.data[key] = value  # E316: one value per key in the object form
        elif action == "DeleteUserDataPair":
            if not leg.call.data:
                action, members = "AttachUserData", {"userData": {key: value}}
                leg.call.data[key] = value
            else:
                key = key if key in leg.call.data else sorted(leg.call.data)[0]
                members = {"key": key}
                del leg.call.data[key]
        else:
            leg.call.data.clear()
        self.step(f"{self.name(leg)} {action} {json.dumps(members)}")
        self.accepted(self.lines[leg.agent].op(leg.view, action, **members), action)
        self._data_changed(leg)
        self.verify()

    def _transferable(self) -> list[tuple[Leg, str]]:
        """(an established call alone on its agent, talking to connected parties only, a free target) pairs."""
        return [
            (leg, y)
            for leg in self._alone("Established")
            if all(o.state in ("Established", "Held") for o in leg.call.active)
            for y in self.targets(leg.agent)
        ]

    @precondition(lambda self: self._transferable())
    @rule(index=st.integers(0, 11), kind=st.sampled_from(("transfer", "conference")))
    def initiate(self, index: int, kind: str) -> None:
        leg, y = self.pick(self._transferable(), index)
        operation = "InitiateTransfer" if kind == "transfer" else "InitiateConference"
        self.step(f"{self.name(leg)} {operation} to {y}")
        self.accepted(
            self.lines[leg.agent].op(leg.view, operation, destination={"phoneNumber": self.number(y)}), operation
        )
        leg.state = "Held"
        self.emit(leg)  # E217: the original call is held first
        consult = CallModel(data=dict(leg.call.data))
        dialing = Leg(leg.agent, "Dialing", consult, consult=kind, parent=leg)
        ringing = Leg(y, "Ringing", consult)
        consult.legs = [dialing, ringing]
        self.calls.append(consult)
        self.emit(dialing)  # then the consult call dials
        self.emit(ringing)
        self.verify()

    def _completable(self, operation: str) -> list[Leg]:
        out = []
        for agent in self.lines:
            found = self.pair(agent)
            if found:
                out += [leg for leg in found if operation in self.caps(leg)]
        return out

    def _merge_into_held(self, held: Leg, active: Leg) -> list[Leg]:
        moved = [o for o in active.call.active if o is not active]
        for other in moved:
            active.call.legs.remove(other)
            other.call = held.call
            other.consult = other.parent = None
            held.call.legs.append(other)
        for key, value in active.call.data.items():
            held.call.data.setdefault(key, value)
        if not active.call.active and active.call in self.calls:
            self.calls.remove(active.call)
        return moved

    @precondition(lambda self: self._completable("CompleteTransfer"))
    @rule(index=st.integers(0, 3))
    def complete_transfer(self, index: int) -> None:
        leg = self.pick(self._completable("CompleteTransfer"), index)
        found = self.pair(leg.agent)
        assert found is not None
        held, active = found
        self.step(f"{self.name(leg)} CompleteTransfer")
        self.accepted(self.lines[leg.agent].op(leg.view, "CompleteTransfer"), "CompleteTransfer")
        held.state = "Released"
        self.emit(held)  # E217: the original call, then the consult call
        active.state = "Released"
        self.emit(active)
        self._merge_into_held(held, active)
        if len(held.call.active) >= 2:
            for other in held.call.active:
                self.emit(other, "ParticipantsUpdated")
        self.drop_if_finished(held.call)
        self.verify()

    @precondition(lambda self: self._completable("CompleteConference"))
    @rule(index=st.integers(0, 3))
    def complete_conference(self, index: int) -> None:
        leg = self.pick(self._completable("CompleteConference"), index)
        found = self.pair(leg.agent)
        assert found is not None
        held, active = found
        self.step(f"{self.name(leg)} CompleteConference")
        self.accepted(self.lines[leg.agent].op(leg.view, "CompleteConference"), "CompleteConference")
        active.state = "Released"
        self.emit(active)  # E217: the consult call is released, then the parent updated
        self._merge_into_held(held, active)
        held.state = "Established"
        held.call.owner = held.call.owner or held.agent
        self.emit(held, "ParticipantsUpdated")
        for other in held.call.active:
            if other is not held:
                self.emit(other, "ParticipantsUpdated")
        self.verify()

    def _swappable(self) -> list[tuple[Leg, Leg]]:
        out = []
        for agent in self.lines:
            found = self.pair(agent)
            if found and found[1].state == "Established":
                out.append(found)
        return out

    @precondition(lambda self: self._swappable())
    @rule(index=st.integers(0, 3))
    def swap(self, index: int) -> None:
        held, active = self.pick(self._swappable(), index)
        self.step(f"{self.name(active)} SwapCalls with {held.view}")
        self.accepted(
            self.lines[active.agent].op(active.view, "SwapCalls", otherCallUri=f"/api/v2/me/calls/{held.view}"),
            "SwapCalls",
        )
        active.state = "Held"
        # E310: the held notification first. At that moment both calls are held; E311 lets its list be the
        # single held set (as the scenario prints it) or the pair's set (as the sample prints it).
        self.emit(active, also=call_caps("Held", second_call=True), group="SwapCalls")
        held.state = "Established"
        self.emit(held, group="SwapCalls")
        self.verify()

    @precondition(lambda self: self._transferable())
    @rule(index=st.integers(0, 11))
    def single_step_transfer(self, index: int) -> None:
        leg, y = self.pick(self._transferable(), index)
        self.step(f"{self.name(leg)} SingleStepTransfer to {y}")
        self.accepted(
            self.lines[leg.agent].op(leg.view, "SingleStepTransfer", destination={"phoneNumber": self.number(y)}),
            "SingleStepTransfer",
        )
        call = leg.call
        leg.state = "Released"
        self.emit(leg)
        joined = Leg(y, "Ringing", call)
        call.legs.append(joined)
        self.emit(joined)
        for other in call.active:
            if other.state != "Ringing":
                self.emit(other, "ParticipantsUpdated")
        self.drop_if_finished(call)
        self.verify()

    @precondition(lambda self: self._transferable())
    @rule(index=st.integers(0, 11))
    def single_step_conference(self, index: int) -> None:
        leg, y = self.pick(self._transferable(), index)
        self.step(f"{self.name(leg)} SingleStepConference to {y}")
        self.accepted(
            self.lines[leg.agent].op(leg.view, "SingleStepConference", destination={"phoneNumber": self.number(y)}),
            "SingleStepConference",
        )
        call = leg.call
        call.data.setdefault("FirstConferencePartyDN", self.number(leg.agent))  # E214
        call.owner = call.owner or leg.agent
        joined = Leg(y, "Ringing", call)
        call.legs.append(joined)
        self.emit(leg, "ParticipantsUpdated")
        for other in call.active:
            if other is not leg:
                self.emit(other, "StatusChange" if other is joined else "ParticipantsUpdated")
        self.verify()

    def _mutable(self) -> list[Leg]:
        return self._legs(lambda g: g.state == "Established" and len(g.call.active) >= 3)

    @precondition(lambda self: self._mutable())
    @rule(index=st.integers(0, 5))
    def mute_toggle(self, index: int) -> None:
        leg = self.pick(self._mutable(), index)
        operation = "UnmuteCall" if leg.muted else "MuteCall"
        self.step(f"{self.name(leg)} {operation}")
        self.accepted(self.lines[leg.agent].op(leg.view, operation), operation)
        leg.muted = not leg.muted
        # E210's one StatusChange is the reference mock's choice (the samples print none): taken when it comes,
        # advisory when it does not; GET (compare) checks the new mute value either way.
        line = self.lines[leg.agent]
        try:
            message = line.cometd.await_message(
                lambda m: m.get("channel") == CALLS and str(m["data"]["call"].get("id")) == leg.view,
                min(2.0, line.cometd.inbox.timeout),
                description=f"{line.name}: the {operation} notification",
            )
        except ConformanceFailure:
            advise(f"{line.name}: no notification after {operation}", basis=MUTE_SILENT_BASIS)
        else:
            self.emit(leg)
            self.match(leg.agent, self.call_expect[leg.agent], [message])
            self.call_expect[leg.agent] = []
        self.verify()

    def _removals(self) -> list[tuple[Leg, Leg]]:
        return [
            (leg, victim)
            for leg in self._mutable()
            if leg.call.owner == leg.agent
            for victim in leg.call.active
            if victim is not leg
        ]

    @precondition(lambda self: self._removals())
    @rule(index=st.integers(0, 5))
    def remove_participant(self, index: int) -> None:
        leg, victim = self.pick(self._removals(), index)
        self.step(f"{self.name(leg)} RemoveParticipantFromConference {victim.agent}")
        self.accepted(
            self.lines[leg.agent].op(
                leg.view, "RemoveParticipantFromConference", participant=self.number(victim.agent)
            ),
            "RemoveParticipantFromConference",
        )
        call = leg.call
        victim.state = "Released"
        self.emit(victim)
        if len(call.active) >= 2:
            self.emit(leg, "ParticipantsUpdated")
            for other in call.active:
                if other is not leg:
                    self.emit(other, "ParticipantsUpdated")
        self.drop_if_finished(call)
        self.verify()

    @precondition(lambda self: self.legs())
    @rule(index=st.integers(0, 7), which=st.integers(0, len(REFUSABLE) - 1))
    def not_offered(self, index: int, which: int) -> None:
        leg = self.pick(self.legs(), index)
        offered = frozenset().union(*self.alternatives(leg))  # an operation the documents may offer is not refused
        choices = [op for op in REFUSABLE if op not in offered]
        operation = self.pick(choices, which)
        members = self._members(leg, operation)
        self.step(f"{self.name(leg)} {operation} (not offered)")
        self.refused(self.lines[leg.agent].op(leg.view, operation, **members), f"{operation} on {self.name(leg)}")
        self.quiet(list(self.lines), CALLS, f"no notification after the refused {operation}")
        self.verify()

    def _members(self, leg: Leg, operation: str) -> dict[str, Any]:
        someone = next((n for n in self.lines if n != leg.agent), leg.agent)
        members: dict[str, dict[str, Any]] = {
            "SendDtmf": {"digits": "1"},
            "SwapCalls": {"otherCallUri": f"/api/v2/me/calls/{leg.view}"},
            "RemoveParticipantFromConference": {"participant": self.number(someone)},
            "InitiateTransfer": {"destination": {"phoneNumber": self.number(someone)}},
            "SingleStepConference": {"destination": {"phoneNumber": self.number(someone)}},
        }
        return members.get(operation, {})

    @rule(
        agent=st.integers(0, 2),
        operation=st.sampled_from(("Ready", "NotReady", "AuxWork", "AfterCallWork", "DoNotDisturb")),
    )
    def device_change(self, agent: int, operation: str) -> None:
        """An agent-state operation (any time, l.1165-1167) or the do-not-disturb toggle the device offers."""
        name = self.pick(list(self.lines), agent)
        if operation == "DoNotDisturb":
            operation = "DoNotDisturbOff" if self.dnd[name] else "DoNotDisturbOn"
            self.step(f"{name} {operation}")
            self.accepted(self.lines[name].device_op(operation), operation)
            self.dnd[name] = not self.dnd[name]
            self.device_expect[name].append(self._device_check(name))
            self.verify()
            return
        if operation == "Ready" and not self.world.ready_allowed:
            operation = "NotReady"
        self.step(f"{name} {operation}")
        self.accepted(self.lines[name].agent_state(operation), operation)
        new = SYSTEM_STATES[operation]
        if new == self.state[name]:
            self.quiet([name], DEVICES, f"no notification for a duplicate {operation} (l.1165-1169)")
        else:
            self.state[name] = new
            self.device_expect[name].append(self._device_check(name))
        self.verify()

    def _device_check(self, name: str) -> Callable[[dict[str, Any]], str | None]:
        state, work_mode, dnd = self.state[name][0], self.state[name][1], self.dnd[name]
        device_id = self.lines[name].device_id
        caps = frozenset({"ForwardCallsOn", "DoNotDisturbOff" if dnd else "DoNotDisturbOn"})

        def check(message: dict[str, Any]) -> str | None:
            devices = [d for d in message["data"].get("devices") or [] if str(d.get("id")) == device_id]
            if not devices:
                return f"a DeviceStateChangeMessage without the agent's device {device_id}"
            device = devices[0]
            user = device.get("userState") or {}
            if user_state(user.get("state")) != state or user.get("workMode") != work_mode:
                return (
                    f"userState is {user.get('state')}/{user.get('workMode')}, the model predicts {state}/{work_mode}"
                )
            if device.get("doNotDisturb") != ("On" if dnd else "Off"):
                return f"doNotDisturb is {device.get('doNotDisturb')!r}, expected {'On' if dnd else 'Off'}"
            if not device_caps_ok(device.get("capabilities") or [], caps, "DeviceStateChangeMessage"):
                return f"the device lists {sorted(device.get('capabilities') or [])}, expected {sorted(caps)}"
            return None

        return check

    def teardown(self) -> None:
        """Leave the agents as the next sequence expects them: no call, do-not-disturb off, NotReady."""
        agents = [line.agent for line in self.lines.values()]
        try:
            release_calls(agents, rounds=6)
            for name, line in self.lines.items():
                if self.dnd[name]:
                    line.device_op("DoNotDisturbOff")
                if self.state[name] != ("NotReady", None):
                    line.agent_state("NotReady")
        finally:
            self.settle()


# ---- the device machine ----------------------------------------------------------------------------------------
class DeviceMachine(WireMachine):
    """Agent A's device without calls: agent states (system and custom), do-not-disturb, forwarding."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.name = next(iter(self.lines))
        self.line = self.lines[self.name]
        self.user: tuple[str, str | None, str | None] = ("NotReady", None, None)
        self.dnd = False
        self.forward: str | None = None
        self.target = self.lines[list(self.lines)[1]].number if len(self.lines) > 1 else "59998"
        self.operations = {name: (*SYSTEM_STATES[name], None) for name in SYSTEM_STATES}
        for op in world.custom:
            state = "LoggedOut" if op.get("state") == "Logout" else str(op.get("state"))
            self.operations[str(op["operationName"])] = (state, op.get("workMode"), op.get("reason"))
        self.step(f"agent {self.name}={self.line.number}, operations {sorted(self.operations)}")

    def caps(self) -> frozenset[str]:
        return frozenset(
            {
                "ForwardCallsOff" if self.forward else "ForwardCallsOn",
                "DoNotDisturbOff" if self.dnd else "DoNotDisturbOn",
            }
        )

    def expect_change(self) -> None:
        user, dnd, forward, caps = self.user, self.dnd, self.forward, self.caps()

        def check(message: dict[str, Any]) -> str | None:
            devices = [d for d in message["data"].get("devices") or [] if str(d.get("id")) == self.line.device_id]
            if not devices:
                return "a DeviceStateChangeMessage without the agent's device"
            device = devices[0]
            state = device.get("userState") or {}
            if (user_state(state.get("state")), state.get("workMode")) != user[:2]:
                return f"userState is {state.get('state')}/{state.get('workMode')}, expected {user[0]}/{user[1]}"
            problem = self.device_problem(device, dnd, forward, caps)
            return problem

        self.device_expect[self.name].append(check)

    @staticmethod
    def device_problem(device: dict[str, Any], dnd: bool, forward: str | None, caps: frozenset[str]) -> str | None:
        if device.get("doNotDisturb") != ("On" if dnd else "Off"):
            return f"doNotDisturb is {device.get('doNotDisturb')!r}, expected {'On' if dnd else 'Off'}"
        if (str(device["forwardTo"]) if device.get("forwardTo") else None) != forward:
            return f"forwardTo is {device.get('forwardTo')!r}, expected {forward!r}"
        listed = device.get("capabilities") or []
        if not device_caps_ok(listed, caps, "the device"):
            return f"the device lists {sorted(listed)}, expected {sorted(caps)} (E105, E303)"
        return None

    def verify(self) -> None:
        self.await_devices()
        device = self.line.device()
        self.no_extra()
        state = device.get("userState") or {}
        if (user_state(state.get("state")), state.get("workMode")) != self.user[:2]:
            raise failure(
                AGENT,
                f"GET shows userState {state.get('state')}/{state.get('workMode')}, the model "
                f"predicts {self.user[0]}/{self.user[1]}",
                "Wrong agent state",
            )
        problem = self.device_problem(device, self.dnd, self.forward, self.caps())
        if problem:
            raise failure(CAPS, f"GET /api/v2/me/devices: {problem}", "Wrong device")

    @rule(which=st.integers(0, 15))
    def agent_state(self, which: int) -> None:
        operation = self.pick(sorted(self.operations), which)
        self.step(f"{self.name} {operation}")
        self.accepted(self.line.agent_state(operation), operation)
        new = self.operations[operation]
        if new == self.user:
            self.quiet([self.name], DEVICES, f"no notification for a duplicate {operation} (l.1165-1169)")
        else:
            self.user = new
            self.expect_change()
        self.verify()

    @staticmethod
    def pick(candidates: list[Any], index: int) -> Any:
        return candidates[index % len(candidates)]

    @rule()
    def dnd_toggle(self) -> None:
        operation = "DoNotDisturbOff" if self.dnd else "DoNotDisturbOn"
        self.step(f"{self.name} {operation}")
        self.accepted(self.line.device_op(operation), operation)
        self.dnd = not self.dnd
        self.expect_change()
        self.verify()

    @rule()
    def forwarding_toggle(self) -> None:
        if self.forward:
            self.step(f"{self.name} ForwardCallsOff")
            self.accepted(self.line.device_op("ForwardCallsOff"), "ForwardCallsOff")
            self.forward = None
        else:
            self.step(f"{self.name} ForwardCallsOn {self.target}")
            self.accepted(self.line.device_op("ForwardCallsOn", destination=self.target), "ForwardCallsOn")
            self.forward = self.target
        self.expect_change()
        self.verify()

    @rule(which=st.integers(0, 1))
    def not_offered(self, which: int) -> None:
        choices = [
            op
            for op in ("DoNotDisturbOn", "DoNotDisturbOff", "ForwardCallsOn", "ForwardCallsOff")
            if op not in self.caps()
        ]
        operation = self.pick(choices, which)
        self.step(f"{self.name} {operation} (not offered)")
        members = {"destination": self.target} if operation == "ForwardCallsOn" else {}
        self.refused(self.line.device_op(operation, **members), operation)
        self.quiet([self.name], DEVICES, f"no notification after the refused {operation}")
        self.verify()

    def teardown(self) -> None:
        try:
            if self.dnd:
                self.line.device_op("DoNotDisturbOff")
            if self.forward:
                self.line.device_op("ForwardCallsOff")
            if self.user != ("NotReady", None, None):
                self.line.agent_state("NotReady")
        finally:
            self.settle()


# ---- running a machine -------------------------------------------------------------------------------------------
def _settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        print_blob=True,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )


def run_machine(machine: type[WireMachine], world: World, budget: StatefulConfig, steps: int, test_name: str) -> None:
    """Run ``machine``; on failure, raise its (shrunk) failure with the minimal reproducer as evidence."""
    if hasattr(hypothesis_engine, "MAX_SHRINKING_SECONDS"):  # internal; bounds the replays on the wire
        hypothesis_engine.MAX_SHRINKING_SECONDS = budget.shrink_seconds
    examples = budget.examples

    def factory() -> WireMachine:
        return machine(world)

    if budget.seed is not None:
        factory = seed(budget.seed)(factory)
    if budget.reproduce:  # "version:blob", as hypothesis prints it for a failure
        version, _, encoded = budget.reproduce.partition(":")
        factory = reproduce_failure(version, encoded.encode())(factory)
    try:
        try:
            # hypothesis' stub asks for type[RuleBasedStateMachine]; it calls any factory returning a machine
            run_state_machine_as_test(factory, settings=_settings(examples, steps))  # type: ignore[arg-type]
        finally:
            if budget.debug:
                for log in world.logs:
                    print(" | ".join(log))
    except HypothesisException as exc:  # e.g. Flaky: the target answered a replay differently
        steps_text = world.last_log
        raise failure(
            NOTIFY,
            f"replaying the failing sequence gave a different result ({type(exc).__name__}: "
            f"{str(exc)[:300]}); last sequence: {' → '.join(steps_text[1:])}",
            "Non-deterministic behaviour",
        ) from exc
    except ConformanceFailure as exc:
        steps_text = world.last_log
        notes = [n for n in getattr(exc, "__notes__", []) if n.strip()]
        blob = next((m for n in notes for m in re.findall(r"reproduce_failure\('([^']+)', b'([^']+)'\)", n)), None)
        if blob:
            notes.append(f"replay it: VOICEKIT_STATEFUL_REPRODUCE={blob[0]}:{blob[1]}")
        reproducer = "\n".join(
            ["minimal sequence (as run on the wire):", *[f"  {s}" for s in steps_text], "hypothesis:", *notes]
        )
        attach(reproducer, f"{test_name}: minimal reproducer", "text")
        exc.evidence.details = [*exc.evidence.details, "minimal sequence: " + " → ".join(steps_text[1:]), *notes[:20]]
        exc.message = f"{exc.message} — after: {' → '.join(steps_text[1:]) or 'nothing'}"
        exc.args = (exc.message,)
        raise


def _fresh(lines: dict[str, Line]) -> None:
    """Every agent without calls, do-not-disturb and forwarding off, NotReady — the machines' start."""
    release_calls([line.agent for line in lines.values()], rounds=6)
    for line in lines.values():
        device = line.device()
        if device.get("doNotDisturb") == "On":
            expect_ok(line.device_op("DoNotDisturbOff"))
        if device.get("forwardTo"):
            expect_ok(line.device_op("ForwardCallsOff"))
        user = device.get("userState") or {}
        if user.get("state") != "NotReady" or user.get("workMode") or user.get("reason"):
            expect_ok(line.agent_state("NotReady"))


@pytest.fixture
def world(vk_config: TargetConfig, vk_gws_client: Any, vk_gws_notifications: Any, vk_cleanup: Any) -> Iterator[World]:
    """The agents of the machines (A, B and C when configured), each with a CometD session, put back to the
    machines' starting state before and after."""
    agents = vk_config.gws.agents[:3]
    if not agents:
        not_run("no GWS agent configured")
    lines = {
        name: open_line(vk_gws_client(user, f"agent {name}"), vk_gws_notifications, vk_cleanup)
        for name, user in zip("ABC", agents, strict=False)
    }
    vk_cleanup(_fresh, lines, description="agents back to their starting state")
    _fresh(lines)
    world = World(lines)
    voice = lines["A"].agent.get("/api/v2/settings/voice").json_or_none() or {}
    for setting in voice.get("settings") or []:
        if (
            isinstance(setting, dict)
            and setting.get("name") == "defaultWrapupTime"
            and str(setting.get("value")) not in ("", "0", "None")
        ):
            world.ready_allowed = False  # a Ready agent would go to after-call work on its own
    states = lines["A"].agent.get("/api/v2/me/settings/agent-states").json_or_none() or {}
    if not isinstance(states, dict) or states.get("statusCode") != 0:  # E100: the path the sample uses
        states = lines["A"].agent.get("/api/v2/settings/agent-states").json_or_none() or {}
    world.custom = [
        s for s in states.get("settings") or [] if isinstance(s, dict) and s.get("operationName") not in SYSTEM_STATES
    ]
    yield world


@pytest.mark.vk_profile("gws-voice-core")
@pytest.mark.vk_rule(
    "GWS-STATE-001",
    document=DOC,
    lines=(1053, 1062),
    title="Random call sequences between the agents keep every documented invariant",
)
@pytest.mark.vk_operations(
    "gws.Dial",
    "gws.Answer",
    "gws.Hold",
    "gws.Retrieve",
    "gws.Hangup",
    "gws.SendDtmf",
    "gws.AttachUserData",
    "gws.UpdateUserData",
    "gws.DeleteUserData",
    "gws.DeleteUserDataPair",
    "gws.InitiateTransfer",
    "gws.CompleteTransfer",
    "gws.InitiateConference",
    "gws.CompleteConference",
    "gws.SwapCalls",
    "gws.SingleStepTransfer",
    "gws.SingleStepConference",
    "gws.MuteCall",
    "gws.UnmuteCall",
    "gws.RemoveParticipantFromConference",
    "gws.Ready",
    "gws.NotReady",
    "gws.AuxWork",
    "gws.AfterCallWork",
    "gws.DoNotDisturbOn",
    "gws.DoNotDisturbOff",
    "gws.listMyCalls",
    "gws.cometd.CallStateChangeMessage",
    "gws.cometd.DeviceStateChangeMessage",
)
@pytest.mark.vk_severity("critical")
def test_call_state_machine(world: World, vk_config: TargetConfig) -> None:
    if len(world.lines) < 2:
        not_run("the call machine needs two GWS agents (gws.agents)")
    budget = vk_config.stateful
    run_machine(CallMachine, world, budget, budget.steps, "call state machine")


@pytest.mark.vk_profile("gws-agent-state")
@pytest.mark.vk_rule(
    "GWS-STATE-002",
    document=DOC,
    lines=(1165, 1169),
    title="Random agent-state, do-not-disturb and forwarding sequences keep the documented invariants",
)
@pytest.mark.vk_operations(
    "gws.Ready",
    "gws.NotReady",
    "gws.AuxWork",
    "gws.AfterCallWork",
    "gws.Offline",
    "gws.CustomAgentState",
    "gws.DoNotDisturbOn",
    "gws.DoNotDisturbOff",
    "gws.ForwardCallsOn",
    "gws.ForwardCallsOff",
    "gws.cometd.DeviceStateChangeMessage",
)
def test_device_state_machine(world: World, vk_config: TargetConfig) -> None:
    budget = vk_config.stateful
    run_machine(DeviceMachine, world, budget, max(10, budget.steps // 2), "device state machine")
