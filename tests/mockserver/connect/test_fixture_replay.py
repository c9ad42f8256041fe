"""Replay the 004 fixtures (fixtures/connect/) against the running mock and compare what it sends with what
the document shows, under the fixture's ``match`` and the errata's decisions:

- ``exact``: every documented member, with its documented value — except volatile timestamps, compared
  by rule (UTC ISO 8601 with milliseconds), and the button blocks, compared by E504's rules (same buttons;
  Enable/Hide; count = number of items; buttonStates true exactly for Enable), not by value. The mock
  may not add members either.
- ``subset``: only the members shown, by value (E502: the failure envelope).
- ``shape``: member names and JSON types only (E514: the constructed connecting event; E500: the
  agent-state fragment).

Messages the app sends (request envelopes, with ``source``) are sent as documented; messages it receives
are read from the bus and also validated against the contract by ``Bus.recv``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from voicekit.corpus import Corpus

AGENT = "jsmith"  # Available in the default seed: the fixtures' "given" starts from an idle agent
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
VOLATILE = {"statusTimestamp", "queueTimestamp", "CurrentStateTime"}
BUTTON_BLOCKS = {"ButtonStates", "buttonStates"}

CONNECT_FIXTURES = sorted((f for f in Corpus().fixtures if f.system == "connect"), key=lambda f: f.id)


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("integer", int), ("number", float),
                       ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def shape_problems(expected: Any, actual: Any, where: str = "") -> list[str]:
    if _json_type(expected) != _json_type(actual):
        return [f"{where or '(root)'}: {_json_type(actual)} where the document has {_json_type(expected)}"]
    problems = []
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}/{key}: missing")
            else:
                problems.extend(shape_problems(value, actual[key], f"{where}/{key}"))
    elif isinstance(expected, list) and expected and actual:
        problems.extend(shape_problems(expected[0], actual[0], f"{where}/0"))
    return problems


def exact_problems(expected: Any, actual: Any, where: str = "", *,
                   rules: Callable[[Any], list[str]]) -> list[str]:
    key = where.rsplit("/", 1)[-1]
    if key in VOLATILE:
        ok = isinstance(actual, str) and TIMESTAMP.match(actual)
        return [] if ok else [f"{where}: {actual!r} is not a timestamp like the document's"]
    if key in BUTTON_BLOCKS:
        same = set(expected.get("items", expected)) == set(actual.get("items", actual))
        return [] if same else [f"{where}: not the documented buttons"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = [f"{where}/{k}: missing" for k in expected if k not in actual]
        problems += [f"{where}/{k}: not documented" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                problems.extend(exact_problems(expected[k], actual[k], f"{where}/{k}", rules=rules))
        if "ButtonStates" in expected and "ResponseActual" in expected:  # a call: E504's rules
            problems.extend(f"{where}: {p}" for p in rules(actual))
        return problems
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [p for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for p in exact_problems(e, a, f"{where}/{i}", rules=rules)]
    if _json_type(expected) != _json_type(actual) or expected != actual:
        return [f"{where or '(root)'}: {actual!r} where the document has {expected!r}"]
    return []


def subset_problems(expected: Any, actual: Any, where: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '(root)'}: {actual!r} is not an object"]
        problems = [f"{where}/{k}: missing" for k in expected if k not in actual]
        return problems + [p for k, v in expected.items() if k in actual
                           for p in subset_problems(v, actual[k], f"{where}/{k}")]
    if expected == actual and _json_type(expected) == _json_type(actual):
        return []
    return [f"{where or '(root)'}: {actual!r} where the document has {expected!r}"]


def compare(match: str, expected: Any, actual: Any, rules: Callable[[Any], list[str]]) -> list[str]:
    if match == "exact":
        return exact_problems(expected, actual, rules=rules)
    if match == "subset":
        return subset_problems(expected, actual)
    if match == "shape":
        return shape_problems(expected, actual)
    raise AssertionError(f"unknown match {match!r}")


def is_request(message: dict[str, Any]) -> bool:
    """A request envelope (BusRequest) names its app in `source` and carries no `message`."""
    return "source" in message and "message" not in message


def trigger(server: Any, event: dict[str, Any]) -> None:
    if event.get("event") != "incoming-call":
        pytest.fail(f"the replay does not know the trigger {event}")
    body = {"from": event["ani"], "to": event.get("dnis"), "queue": event.get("queue"),
            "connectionId": event.get("connectionId"), "contactId": event.get("contactId")}
    response = server.control("POST", f"/connect/agents/{AGENT}/calls", {k: v for k, v in body.items() if v})
    assert response.status_code == 201, response.text


EXCHANGES = [f for f in CONNECT_FIXTURES if f.data["kind"] != "fragment"]
FRAGMENTS = [f for f in CONNECT_FIXTURES if f.data["kind"] == "fragment"]


@pytest.mark.parametrize("fixture", EXCHANGES, ids=lambda f: f.id)
def test_replay_exchange_fixture(server, check_message, button_rules, fixture):
    received = 0
    with server.bus(AGENT, check_message) as bus:
        for label, step in fixture.exchanges():
            if "trigger" in step:
                trigger(server, step["trigger"])
            for notification in step.get("notifications", []):
                assert notification["transport"] == "bus"
                documented = notification["message"]
                if is_request(documented):
                    bus.send(documented)
                    continue
                actual = bus.recv()
                received += 1
                problems = compare(notification["match"], documented, actual, button_rules)
                assert problems == [], f"{fixture.id} {label}: {problems}"
    assert received, f"{fixture.id}: nothing was compared"


@pytest.mark.parametrize("fixture", FRAGMENTS, ids=lambda f: f.id)
def test_replay_agent_state_fragment(server, check_message, fixture):
    """E500: the table's rows are AgentStates; each is accepted as Update data and comes back, as
    documented, in SetAgentState."""
    assert set(fixture.operations) <= {"connect.Agent.Update", "connect.SetAgentState"}
    with server.bus(AGENT, check_message) as bus:
        for notification in fixture.data["notifications"]:
            row = notification["message"]
            bus.request("Agent", "Update", row)
            state = bus.recv("SetAgentState")["message"]
            assert compare(notification["match"], row, state, lambda _: []) == []
            assert state == row  # the seed holds the documented rows verbatim
            assert server.agent(AGENT)["state"] == row


def test_all_connect_fixtures_are_replayed():
    assert {f.id for f in CONNECT_FIXTURES} >= {"connect.inboundcall.answer-sample",
                                                 "connect.inboundcall.answer-call-failed",
                                                 "connect.agent.message-parameters"}


def test_the_comparison_can_fail(button_rules):
    """The rules above must reject what they are meant to reject."""
    sample = Corpus().fixtures_by_id["connect.inboundcall.answer-sample"].data["steps"][1]["notifications"][1]
    documented = sample["message"]
    wrong = copy.deepcopy(documented)
    wrong["message"]["call"]["ResponseActual"]["contactId"] = "other"
    assert exact_problems(documented, wrong, rules=button_rules)
    inconsistent = copy.deepcopy(documented)
    inconsistent["message"]["call"]["ResponseActual"]["buttonStates"]["consult"] = False
    assert exact_problems(documented, inconsistent, rules=button_rules)
    miscounted = copy.deepcopy(documented)
    miscounted["message"]["call"]["ButtonStates"]["count"] = 10
    assert exact_problems(documented, miscounted, rules=button_rules)
    stamped = copy.deepcopy(documented)
    stamped["message"]["call"]["ResponseActual"]["statusTimestamp"] = "yesterday"
    assert exact_problems(documented, stamped, rules=button_rules)
    extra = copy.deepcopy(documented)
    extra["message"]["call"]["extra"] = 1
    assert exact_problems(documented, extra, rules=button_rules)
    # E504: other button values, same rules → accepted
    recomputed = copy.deepcopy(documented)
    for name in ("hold", "disconnect"):
        recomputed["message"]["call"]["ButtonStates"]["items"][name] = "Enable"
        recomputed["message"]["call"]["ResponseActual"]["buttonStates"][name] = True
    assert exact_problems(documented, recomputed, rules=button_rules) == []
    assert shape_problems({"a": "x", "b": None}, {"a": 1, "b": None})
    assert subset_problems({"a": {"b": 1}}, {"a": {"b": 2, "c": 3}})
