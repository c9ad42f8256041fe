"""The per-system strategies of the one comparison (``voicekit/replay/strategies.py``): each accepts what its
documents and errata allow and fails what they do not."""

from __future__ import annotations

from voicekit.replay import GWS, PLATFORM, Bindings, compare, connect, for_system


def test_platform_placeholders_bind_then_must_agree() -> None:
    bindings = Bindings()
    assert compare({"id": "{c}"}, {"id": "abc"}, strategy=PLATFORM, bindings=bindings) == []
    assert bindings.named == {"c": "abc"}
    assert (
        compare(
            {"selfUri": "/api/v2/conversations/calls/{c}"},
            {"selfUri": "/api/v2/conversations/calls/abc"},
            strategy=PLATFORM,
            bindings=bindings,
        )
        == []
    )
    assert compare(
        {"selfUri": "/api/v2/conversations/calls/{c}"},
        {"selfUri": "/api/v2/conversations/calls/xyz"},
        strategy=PLATFORM,
        bindings=bindings,
    )
    assert compare({"a": "{x}", "b": "{x}"}, {"a": "1", "b": "2"}, strategy=PLATFORM)
    assert compare({"a": "{x}"}, {"a": {"nested": 1}}, strategy=PLATFORM, match="shape")


def test_platform_lists_by_content_and_e454() -> None:
    documented = {"participants": [{"purpose": "agent"}, {"purpose": "customer"}]}
    assert (
        compare(documented, {"participants": [{"purpose": "customer"}, {"purpose": "user"}]}, strategy=PLATFORM) == []
    )
    assert compare(documented, {"participants": [{"purpose": "customer"}, {"purpose": "acd"}]}, strategy=PLATFORM)
    assert compare({"entities": []}, {"entities": [{"id": "1"}]}, strategy=PLATFORM, match="subset")
    assert compare({"entities": []}, {"entities": [{"id": "1"}]}, strategy=PLATFORM, match="shape") == []


def test_connect_rules_apply_only_with_their_errata() -> None:
    documented = {
        "message": {
            "call": {"CallType": "inbound", "statusTimestamp": "2024-01-01T00:00:00.000Z", "ActionsAllowed": None}
        }
    }
    actual = {
        "message": {
            "call": {"CallType": "outbound", "statusTimestamp": "2025-05-05T10:00:00Z", "ActionsAllowed": ["Hold"]}
        }
    }
    assert compare(documented, actual, strategy=connect({"E505", "E507"})) == []
    assert {m.path for m in compare(documented, actual, strategy=connect())} == {
        "message.call.CallType",
        "message.call.ActionsAllowed",
    }
    actual["message"]["call"].update(CallType="sideways", statusTimestamp="yesterday")
    assert {m.path for m in compare(documented, actual, strategy=connect({"E505", "E507"}))} == {
        "message.call.CallType",
        "message.call.statusTimestamp",
    }


def test_connect_buttons_by_name_under_e504() -> None:
    documented = {"ButtonStates": {"items": {"hold": "Hide", "consult": "Enable"}, "count": 2}}
    same_names = {"ButtonStates": {"items": {"hold": "Enable", "consult": "Enable"}, "count": 2}}
    other_names = {"ButtonStates": {"items": {"hold": "Enable"}, "count": 1}}
    assert compare(documented, same_names, strategy=connect({"E504"})) == []
    assert compare(documented, other_names, strategy=connect({"E504"}))
    assert compare(documented, same_names, strategy=connect())  # by value without E504


def test_closed_fails_undocumented_members_in_exact_only() -> None:
    assert compare({"a": 1}, {"a": 1, "b": 2}, strategy=connect(), closed=True)
    assert compare({"a": 1}, {"a": 1, "b": 2}, strategy=connect(), closed=True, match="subset") == []
    assert compare({"a": 1}, {"a": 1, "b": 2}, strategy=connect()) == []


def test_for_system() -> None:
    assert for_system("gws") is GWS and for_system("platform") is PLATFORM
    assert for_system("connect", ["E504"]).errata == frozenset({"E504"})  # type: ignore[attr-defined]
