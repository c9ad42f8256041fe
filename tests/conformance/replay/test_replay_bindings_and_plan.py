"""Bindings (documented ↔ actual identities, request substitution) and plans (what a fixture needs), without a
target; and the errata's replay members, which must name real fixtures and validate."""

from __future__ import annotations

import pytest

from conformance.replay.plan import build_plan
from voicekit.corpus import Corpus
from voicekit.replay.bindings import Bindings
from voicekit.replay.rules import entries_of, rules_for

CORPUS = Corpus()


def plan_of(fixture_id: str):
    return build_plan(CORPUS.fixtures_by_id[fixture_id], CORPUS.errata)


# ---- bindings ---------------------------------------------------------------------------------------------------
def test_binding_is_a_bijection_per_kind() -> None:
    bindings = Bindings()
    assert bindings.check("call", "e011", "a1") is None
    assert bindings.check("call", "e011", "a1") is None
    assert "already bound" in bindings.check("call", "e011", "a2").describe()
    assert "already stands for" in bindings.check("call", "e012", "a1").describe()
    assert bindings.check("uuid", "e012", "a1") is None  # another kind, another bijection
    with pytest.raises(ValueError):
        bindings.bind("call", "e011", "a3")


def test_requests_are_rewritten_with_bound_values() -> None:
    bindings = Bindings()
    bindings.bind("call", "0071023821aec01c", "act-c")
    bindings.bind("call", "0071023821aec01b", "act-b")
    bindings.bind("device", "efe1ab32", "dev-1")
    bindings.bind("number", "5001", "7001")
    bindings.bind("uuid", "U-DOC", "U-ACT")
    bindings.bind_placeholder("queue_id", "q-9")
    request = {
        "method": "POST",
        "path": "/api/v2/me/calls/0071023821aec01c",
        "body": {
            "operationName": "SwapCalls",
            "otherCallUri": "http://localhost:8080/api/v2/me/calls/0071023821aec01b",
            "destination": {"phoneNumber": "5001"},
            "callUuid": "U-DOC",
            "participant": "5001",
            "targetDeviceUri": "http://localhost:8080/api/v2/devices/efe1ab32",
        },
    }
    sent = bindings.substitute_request(request)
    assert sent["path"] == "/api/v2/me/calls/act-c"
    body = sent["body"]
    assert body["otherCallUri"] == "http://localhost:8080/api/v2/me/calls/act-b"  # E002: documented host kept
    assert body["destination"] == {"phoneNumber": "7001"} and body["participant"] == "7001"
    assert body["callUuid"] == "U-ACT" and body["targetDeviceUri"].endswith("/api/v2/devices/dev-1")
    assert request["body"]["callUuid"] == "U-DOC"  # the fixture itself is untouched
    assert bindings.substitute_path("/api/v2/queues/{queue_id}") == "/api/v2/queues/q-9"
    with pytest.raises(KeyError):
        bindings.substitute_path("/api/v2/users/{user_id}")
    assert bindings.substitute_path("/api/v2/settings/voice") == "/api/v2/settings/voice"


# ---- plans ---------------------------------------------------------------------------------------------------------
def test_plan_of_a_call_sample_names_actor_partner_and_call() -> None:
    plan = plan_of("gws.calls.hold.sample")
    assert (plan.actor_role, plan.actor_number, plan.actor_device) == (
        "agent",
        "5005",
        "efe1ab32-53f9-43ce-b65e-5768c61f7d4a",
    )
    assert plan.partner_numbers == ["5000"] and plan.request_call_id() == "0071023821aec013"
    assert plan.call("0071023821aec013").direction == "in"  # dnis 5005: 5000 dialed the actor
    assert plan.not_run is None and not plan.destructive


def test_plan_of_the_reject_sample_keeps_the_queue_out_of_the_partners() -> None:
    plan = plan_of("gws.calls.reject.sample")
    assert plan.actor_number == "5001" and plan.partner_numbers == ["5005"]


def test_plan_of_supervisor_device_samples_is_a_supervisor() -> None:
    assert plan_of("gws.supervisor.listen-in.sample").actor_role == "supervisor"
    assert plan_of("gws.agentstate.do-not-disturb-on.sample").actor_role == "supervisor"  # ListenIn offered
    assert plan_of("gws.agentstate.ready.sample").actor_role == "agent"
    assert plan_of("gws.calls.set-call-disposition.sample").given == {"monitoring": "BargeIn"}  # E206


def test_e310_accepts_the_swap_notifications_in_any_order_and_e203_decides_forward_calls_off() -> None:
    swap = plan_of("gws.conferences.swap-calls.sample").steps[0]
    assert [n["message"]["data"]["call"]["state"] for n in swap.notifications] == ["Established", "Held"]
    assert swap.any_order and "E310" in swap.decided
    off = plan_of("gws.forwarding.forward-calls-off.sample")
    step = off.steps[0]
    assert step.request["body"] == {"operationName": "ForwardCallsOff"}
    device = step.notifications[0]["message"]["data"]["devices"][0]
    assert "forwardTo" not in device and "ForwardCallsOn" in device["capabilities"]
    assert off.partner_numbers == ["5001"]  # given.forwardTo


def test_e210_expects_the_decided_mute_notification() -> None:
    plan = plan_of("gws.calls.mute-call.sample")
    [note] = plan.steps[0].notifications
    assert note["message"]["data"]["call"]["mute"] == "On" and plan.given["conference"] == ["5000", "5001"]


def test_fragments_are_not_run_and_configuration_writes_are_destructive() -> None:
    assert plan_of("gws.push.genesys-environment.fragment").not_run.startswith("fragment")
    assert plan_of("gws.general.return-values.partial-success-assign").not_run.endswith("(E115)")
    assert plan_of("gws.general.settings.voice-create").destructive
    assert plan_of("gws.dispositions.delete-root-group.example").destructive
    assert not plan_of("gws.general.settings.voice-get").destructive


def test_scenarios_keep_their_steps_and_triggers() -> None:
    plan = plan_of("gws.transfers.complete-transfer.scenario")
    assert [bool(s.trigger) for s in plan.steps] == [True, False, False, False]
    assert [len(s.notifications) for s in plan.steps] == [1, 1, 2, 2]
    assert plan.partner_numbers == ["5000", "5001"]


# ---- the errata's replay members ---------------------------------------------------------------------------------
def test_every_replay_entry_names_fixtures_that_list_the_erratum() -> None:
    problems = []
    for erratum in CORPUS.errata:
        for entry in entries_of(erratum):
            for fixture_id in entry.fixtures:
                fixture = CORPUS.fixtures_by_id.get(fixture_id)
                if fixture is None:
                    problems.append(f"{erratum['id']}: unknown fixture {fixture_id}")
                elif fixture_id not in (erratum.get("fixtures") or []) or erratum["id"] not in fixture.errata:
                    problems.append(f"{erratum['id']} and {fixture_id} do not name each other")
    assert problems == []


def test_rules_for_a_fixture_collect_every_erratum_entry() -> None:
    rules = rules_for("gws.conferences.two-step-conference.scenario", CORPUS.errata)
    assert rules.errata == ["E207"]
    assert rules.compare_rules(1).allow_extra[0].values == frozenset({"CompleteConference"})
