"""The comparison rules of the replay, each shown to accept what it should and to *fail* on a wrong value."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from voicekit.replay.bindings import Bindings
from voicekit.replay.compare import compare, describe_mismatches, is_placeholder
from voicekit.replay.rules import AllowExtra, CompareRules, parse_path

CAPS = [
    "DeleteUserDataPair",
    "AttachUserData",
    "Hangup",
    "DeleteUserData",
    "Hold",
    "SendDtmf",
    "InitiateConference",
    "InitiateTransfer",
    "SingleStepConference",
    "UpdateUserData",
    "SingleStepTransfer",
]


def message(**call: Any) -> dict[str, Any]:
    """A documented CallStateChangeMessage (003 l.5096-5150, the Answer sample)."""
    base = {
        "id": "0071023821aec011",
        "state": "Established",
        "callUuid": "013V08JRL498H1OI04000VTAES00000H",
        "deviceUri": "http://127.0.0.1:8080/api/v2/devices/efe1ab32-53f9-43ce-b65e-5768c61f7d4a",
        "uri": "http://127.0.0.1:8080/api/v2/me/calls/0071023821aec011",
        "participants": ["5001"],
        "participantsInfo": [{"digits": "5001", "e164Number": "5001", "formattedPhoneNumber": "5001"}],
        "dnis": "5005",
        "callType": "Internal",
        "capabilities": list(CAPS),
        "duration": "14",
        "mute": "Off",
        "supervisorListeningIn": False,
        "monitoredUserMuted": False,
    }
    base.update(call)
    return {
        "channel": "/v2/me/calls",
        "data": {
            "messageType": "CallStateChangeMessage",
            "notificationType": "StatusChange",
            "call": base,
            "phoneNumber": "5005",
        },
    }


def actual(**call: Any) -> dict[str, Any]:
    """What a target sends for the same call: its own ids, host, numbers and capability order."""
    out = message(
        id="00aa",
        callUuid="UUID-1",
        deviceUri="http://gws.example:9090/api/v2/devices/dev-a",
        uri="http://gws.example:9090/api/v2/me/calls/00aa",
        participants=["6001"],
        participantsInfo=[{"digits": "6001", "e164Number": "6001", "formattedPhoneNumber": "6001"}],
        dnis="6005",
        capabilities=list(reversed(CAPS)),
        duration="3",
    )
    out["data"]["phoneNumber"] = "6005"
    out["data"]["call"].update(call)
    return out


def bound() -> Bindings:
    bindings = Bindings()
    bindings.bind("number", "5001", "6001")
    bindings.bind("number", "5005", "6005")
    bindings.bind("device", "efe1ab32-53f9-43ce-b65e-5768c61f7d4a", "dev-a")
    return bindings


def rules_of(**members: Any) -> CompareRules:
    out = CompareRules()
    for name, paths in members.items():
        getattr(out, name).extend((parse_path(p), "E999") for p in paths)
    return out


def only_rules(found: list[Any]) -> set[str]:
    return {m.rule for m in found}


# ---- members and values --------------------------------------------------------------------------------------
def test_the_same_call_from_another_target_matches() -> None:
    assert compare(message(), actual(), bindings=bound()) == []


def test_a_wrong_state_fails_and_names_path_expected_actual_and_rule() -> None:
    [mismatch] = compare(message(), actual(state="Held"), bindings=bound())
    assert (mismatch.path, mismatch.expected, mismatch.actual, mismatch.rule) == (
        "data.call.state",
        "Established",
        "Held",
        "value",
    )
    assert "data.call.state" in describe_mismatches([mismatch])


def test_a_wrong_notification_type_fails() -> None:
    wrong = actual()
    wrong["data"]["notificationType"] = "ParticipantsUpdated"
    assert [m.path for m in compare(message(), wrong, bindings=bound())] == ["data.notificationType"]


def test_a_missing_member_fails_an_extra_member_does_not() -> None:
    missing = actual()
    del missing["data"]["call"]["mute"]
    assert only_rules(compare(message(), missing, bindings=bound())) == {"member"}
    extra = actual(monitoring=False, ani="x")
    assert compare(message(), extra, bindings=bound()) == []


def test_json_types_count() -> None:
    assert compare({"statusCode": 0}, {"statusCode": "0"}) != []
    assert compare({"enabled": True}, {"enabled": 1}) != []


# ---- capabilities as sets (E208, E330) ------------------------------------------------------------------------
def test_capabilities_in_another_order_match() -> None:
    assert compare(message(), actual(capabilities=sorted(CAPS)), bindings=bound()) == []


def test_a_missing_capability_fails() -> None:
    found = compare(message(), actual(capabilities=CAPS[1:]), bindings=bound())
    assert len(found) == 1 and "DeleteUserDataPair" in found[0].message and "E208" in found[0].rule


def test_an_extra_capability_fails_unless_an_erratum_allows_it() -> None:
    extra = actual(capabilities=[*CAPS, "CompleteConference"])
    assert "not documented" in compare(message(), extra, bindings=bound())[0].message
    allow = CompareRules(
        allow_extra=[
            AllowExtra(
                parse_path("data.call.capabilities"),
                frozenset({"CompleteConference"}),
                ((parse_path("data.call.callType"), "Consult"),),
                "E207",
            )
        ]
    )
    assert compare(message(), extra, bindings=bound(), rules=allow) != []  # not a Consult call: where fails
    consult = message(callType="Consult")
    assert (
        compare(
            consult,
            actual(capabilities=[*CAPS, "CompleteConference"], callType="Consult"),
            bindings=bound(),
            rules=allow,
        )
        == []
    )
    assert (
        compare(consult, actual(capabilities=[*CAPS, "SwapCalls"], callType="Consult"), bindings=bound(), rules=allow)
        != []
    )


def test_duplicate_capabilities_fail() -> None:
    found = compare(message(), actual(capabilities=[*CAPS, "Hold"]), bindings=bound())
    assert any("duplicate" in m.message for m in found)


def test_capabilities_subset_allows_extras_but_not_missing() -> None:
    documented = message(capabilities=["Hold"])
    assert compare(documented, actual(), match="subset", bindings=bound()) == []
    assert compare(message(capabilities=["Retrieve"]), actual(), match="subset", bindings=bound()) != []


# ---- participants, volatile values, URIs ------------------------------------------------------------------
def test_participants_in_any_order_but_all_of_them() -> None:
    documented = message(participants=["5000", "5001"])
    bindings = bound()
    bindings.bind("number", "5000", "6000")
    assert compare(documented, actual(participants=["6001", "6000"]), bindings=bindings) == []
    assert compare(documented, actual(participants=["6001"]), bindings=copy.deepcopy(bindings)) != []


def test_duration_is_any_digit_string_and_nothing_else() -> None:
    assert compare(message(duration="14"), actual(duration="0"), bindings=bound()) == []
    assert only_rules(compare(message(), actual(duration="3s"), bindings=bound())) == {"volatile duration"}
    assert only_rules(compare(message(), actual(duration=3), bindings=bound())) == {"volatile duration"}


def test_timestamps_are_any_iso_8601_value() -> None:
    assert compare({"at": "2014-06-23T02:00:15Z"}, {"at": "2026-01-02T03:04:05.123+01:00"}) == []
    assert compare({"at": "2014-06-23T02:00:15Z"}, {"at": "yesterday"}) != []


def test_uris_compare_by_path_and_ids_by_binding() -> None:
    assert compare(message(), actual(), bindings=bound()) == []
    wrong_path = actual(uri="http://gws.example:9090/api/v2/calls/00aa")
    assert only_rules(compare(message(), wrong_path, bindings=bound())) == {"uri path (E002)"}


def test_uri_aliases_of_an_erratum() -> None:
    rules = CompareRules(uri_aliases=[("/api/v2/calls/", "/api/v2/me/calls/", "E106")])
    documented = {"callUri": "http://127.0.0.1:8080/api/v2/calls/0071023821aec021"}
    assert compare(documented, {"callUri": "http://h/api/v2/me/calls/x"}, rules=rules) == []
    assert compare(documented, {"callUri": "http://h/api/v2/me/calls/x"}) != []


# ---- identities ---------------------------------------------------------------------------------------------
def test_an_inconsistent_call_id_fails() -> None:
    bindings = bound()
    assert compare(message(), actual(), bindings=bindings) == []
    later = actual(id="00bb", uri="http://gws.example:9090/api/v2/me/calls/00bb")
    found = compare(message(state="Released", capabilities=[]), later, bindings=bindings)
    assert {m.path for m in found} >= {"data.call.id", "data.call.uri"}
    assert all(m.rule.startswith("identity") for m in found if m.path in ("data.call.id", "data.call.uri"))


def test_two_documented_ids_cannot_be_one_actual_call() -> None:
    bindings = bound()
    assert compare(message(), actual(), bindings=bindings) == []
    other = message(id="0071023821aec012", uri="http://127.0.0.1:8080/api/v2/me/calls/0071023821aec012")
    found = compare(other, actual(), bindings=bindings)
    assert any("already stands for" in m.message for m in found)


def test_a_wrong_partner_number_fails() -> None:
    bindings = bound()
    bindings.bind("number", "5000", "6000")
    wrong = actual(
        participants=["6000"],
        participantsInfo=[{"digits": "6000", "e164Number": "6000", "formattedPhoneNumber": "6000"}],
    )
    assert any(m.rule == "identity (number)" for m in compare(message(), wrong, bindings=bindings))


# ---- match modes --------------------------------------------------------------------------------------------
def test_exact_lists_are_ordered_and_complete() -> None:
    documented = {"settings": [{"name": "a"}, {"name": "b"}]}
    assert compare(documented, {"settings": [{"name": "a"}, {"name": "b"}]}) == []
    assert compare(documented, {"settings": [{"name": "b"}, {"name": "a"}]}) != []
    assert only_rules(compare(documented, {"settings": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})) == {"length"}


def test_subset_lists_allow_extra_elements_in_any_order() -> None:
    documented = {"settings": [{"name": "b"}]}
    assert compare(documented, {"settings": [{"name": "a"}, {"name": "b", "value": 1}]}, match="subset") == []
    assert compare(documented, {"settings": [{"name": "a"}]}, match="subset") != []


def test_shape_compares_names_and_types_placeholders_any_scalar() -> None:
    documented = {
        "statusCode": "X",
        "queue": {"id": "<queue_id>", "name": "<queue_name>"},
        "queues": [{"id": "<queue_1_id>"}],
    }
    assert (
        compare(
            documented,
            {"statusCode": 0, "queue": {"id": "q1", "name": "Sales", "x": 1}, "queues": [{"id": "a"}, {"id": "b"}]},
            match="shape",
        )
        == []
    )
    assert (
        compare(documented, {"statusCode": 0, "queue": {"id": "q1"}, "queues": [{"id": "a"}]}, match="shape") != []
    )  # name missing
    assert compare({"queues": [{"id": "<id>"}]}, {"queues": []}, match="shape") != []
    assert compare({"count": 2}, {"count": "2"}, match="shape") != []
    assert is_placeholder("http://...") and is_placeholder("{id}") and not is_placeholder("Sales")


# ---- errata vocabulary --------------------------------------------------------------------------------------
def test_ignore_and_absent() -> None:
    documented = {"devices": [{"userState": {"state": "NotReady", "reason": "Training.detroit"}}]}
    got = {"devices": [{"userState": {"state": "NotReady", "reason": "Training"}, "forwardTo": "5001"}]}
    assert compare(documented, got) != []
    assert compare(documented, got, rules=rules_of(ignore=["devices[*].userState.reason"])) == []
    assert (
        compare(
            documented, got, rules=rules_of(ignore=["devices[*].userState.reason"], absent=["devices[*].forwardTo"])
        )
        != []
    )


def test_subset_path_unordered_and_ordered_subset() -> None:
    documented = {"users": [{"level": 4}, {"level": 2}]}
    shuffled = {"users": [{"level": 2}, {"level": 4}]}
    assert compare(documented, shuffled) != []
    assert compare(documented, shuffled, rules=rules_of(unordered=["users"])) == []
    crowded = {"users": [{"level": 4}, {"level": 3}, {"level": 2}, {"level": 0}]}
    assert compare(documented, crowded, rules=rules_of(ordered_subset=["users"])) == []
    assert (
        compare(
            documented, {"users": [{"level": 2}, {"level": 3}, {"level": 4}]}, rules=rules_of(ordered_subset=["users"])
        )
        != []
    )
    assert (
        compare(
            {"settings": [{"name": "x"}]},
            {"settings": [{"name": "y"}, {"name": "x"}]},
            rules=rules_of(subset=["settings"]),
        )
        == []
    )


def test_formats_and_elided_text() -> None:
    uuid_rule = CompareRules(formats=[(parse_path("flags.modified_At"), "uuid", "E130")])
    documented = {"flags": {"modified_At": "4c3fccdb-f942-4c99-a823-6cab68852ef7"}}
    assert (
        compare(documented, {"flags": {"modified_At": "0b3e7c5e-1111-4222-8333-944455556666"}}, rules=uuid_rule) == []
    )
    assert compare(documented, {"flags": {"modified_At": "yesterday"}}, rules=uuid_rule) != []
    elided = rules_of(elided=["t[*].description"])
    text = {"t": [{"description": "Plays a user-configured greeting, ..."}]}
    assert (
        compare(text, {"t": [{"description": "Plays a user-configured greeting, segments the caller"}]}, rules=elided)
        == []
    )
    assert compare(text, {"t": [{"description": "Plays music"}]}, rules=elided) != []


@pytest.mark.parametrize("mode", ["exact", "subset", "shape"])
def test_every_mode_reports_a_type_change(mode: str) -> None:
    assert compare({"call": {"id": "x"}}, {"call": ["x"]}, match=mode) != []
