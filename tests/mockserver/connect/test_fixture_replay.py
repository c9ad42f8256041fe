"""Replay the 004 fixtures (fixtures/connect/) against the running mock and compare what it sends with what
the document shows, under the fixture's ``match`` and the errata's decisions:

The comparison is the suite's own (``voicekit.replay``, Connect strategy), closed in ``exact``:

- ``exact``: every documented member, with its documented value — except volatile timestamps, compared
  by rule (ISO 8601; the contract fixes the form), and the button blocks, compared by E504's rules (same buttons;
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
from collections.abc import Callable
from typing import Any

import pytest

from voicekit.corpus import Corpus
from voicekit.replay import Form, compare_forms, forms_of
from voicekit.replay.strategies import connect

AGENT = "jsmith"  # Available in the default seed: the fixtures' "given" starts from an idle agent
ALL_ERRATA = frozenset({"E504", "E507"})

CONNECT_FIXTURES = sorted((f for f in Corpus().fixtures if f.system == "connect"), key=lambda f: f.id)


def compare(
    match: str,
    expected: Any,
    actual: Any,
    rules: Callable[[Any], list[str]],
    errata: frozenset[str] = ALL_ERRATA,
    forms: list[Form] | None = None,
) -> list[str]:
    """The one engine (Connect strategy) — closed in ``exact``: the mock adds no member the document does not
    show — plus E504's button rules on a documented call."""
    problems, _form = compare_forms(
        forms or [Form(expected)], actual, match=match, strategy=connect(errata), closed=True
    )
    found = [str(p) for p in problems]
    call = (expected.get("message") or {}).get("call") if isinstance(expected, dict) else None
    got = (actual.get("message") or {}).get("call") if isinstance(actual, dict) else None
    if match == "exact" and isinstance(call, dict) and "ButtonStates" in call and isinstance(got, dict):
        found += [f"message.call: {p}" for p in rules(got)]
    return found


def is_request(message: dict[str, Any]) -> bool:
    """A request envelope (BusRequest) names its app in `source` and carries no `message`."""
    return "source" in message and "message" not in message


def trigger(server: Any, event: dict[str, Any]) -> None:
    if event.get("event") != "incoming-call":
        pytest.fail(f"the replay does not know the trigger {event}")
    body = {
        "from": event["ani"],
        "to": event.get("dnis"),
        "queue": event.get("queue"),
        "connectionId": event.get("connectionId"),
        "contactId": event.get("contactId"),
    }
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
                # E505 lets a target send anything there; the mock's choice is the printed null, held here.
                problems = compare(
                    notification["match"],
                    documented,
                    actual,
                    button_rules,
                    frozenset(fixture.errata) - {"E505"},
                    forms_of(notification, "message"),
                )
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
    assert {f.id for f in CONNECT_FIXTURES} >= {
        "connect.inboundcall.answer-sample",
        "connect.inboundcall.answer-call-failed",
        "connect.agent.message-parameters",
    }


def test_the_comparison_can_fail(button_rules):
    """The rules above must reject what they are meant to reject."""
    fixture = Corpus().fixtures_by_id["connect.inboundcall.answer-sample"]
    documented = fixture.data["steps"][1]["notifications"][1]["message"]
    errata = frozenset(fixture.errata)

    def problems(actual: Any) -> list[str]:
        return compare("exact", documented, actual, button_rules, errata)

    assert problems(copy.deepcopy(documented)) == []
    wrong = copy.deepcopy(documented)
    wrong["message"]["call"]["ResponseActual"]["contactId"] = "other"
    assert problems(wrong)
    inconsistent = copy.deepcopy(documented)
    inconsistent["message"]["call"]["ResponseActual"]["buttonStates"]["consult"] = False
    assert problems(inconsistent)
    miscounted = copy.deepcopy(documented)
    miscounted["message"]["call"]["ButtonStates"]["count"] = 10
    assert problems(miscounted)
    stamped = copy.deepcopy(documented)
    stamped["message"]["call"]["ResponseActual"]["statusTimestamp"] = "yesterday"
    assert problems(stamped)
    extra = copy.deepcopy(documented)
    extra["message"]["call"]["extra"] = 1
    assert problems(extra)
    # E504: other button values, same rules → accepted
    recomputed = copy.deepcopy(documented)
    for name in ("hold", "disconnect"):
        recomputed["message"]["call"]["ButtonStates"]["items"][name] = "Enable"
        recomputed["message"]["call"]["ResponseActual"]["buttonStates"][name] = True
    assert problems(recomputed) == []
    assert compare("shape", {"a": "x", "b": None}, {"a": 1, "b": None}, button_rules)
    assert compare("subset", {"a": {"b": 1}}, {"a": {"b": 2, "c": 3}}, button_rules)
