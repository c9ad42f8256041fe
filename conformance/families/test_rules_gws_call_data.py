"""Rule family: GWS call data — attaching, updating and deleting user data (every party is told), user data
sent with Dial, the voice-operations Dial defaults, dispositions, and the toast and case subsets of the
user data (003 Voice API > Call Data, General > Toast And Case Data, Voice Operations Settings).

The toast/case filters and the Dial defaults are settings: those tests are destructive (administrator,
``--allow-destructive``) and put every setting back, even when they fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.advisory import advise
from conformance.support.gws import GwsAgent, put_setting
from conformance.support.gws_checks import DOC, expect_ok, require
from conformance.support.gws_line import Line, call_predicate, connect, establish

PROFILE = "gws-call-data"


def _data_changed(line: Line, call_id: str) -> dict[str, Any]:
    """The AttachedDataChanged notification of ``call_id`` (l.1656); returns data.call."""
    return line.call_message(call_id, notification_type="AttachedDataChanged")


def _user_data(call: dict[str, Any]) -> dict[str, Any]:
    data = call.get("userData")
    return data if isinstance(data, dict) else {}


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-001",
    document=DOC,
    lines=(8609, 8726),
    title="AttachUserData attaches the pairs; every party gets AttachedDataChanged",
)
@pytest.mark.vk_operations("gws.AttachUserData", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calldata.attach-user-data.sample")
@pytest.mark.vk_severity("critical")
def test_attach_user_data(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    pairs = {"CustomerName": "Chris", "POC": "New Service"}
    expect_ok(line_a.op(connected["id"], "AttachUserData", userData=pairs))
    for line, call in ((line_a, connected), (line_b, answered)):
        changed = _data_changed(line, call["id"])
        require(
            pairs.items() <= _user_data(changed).items(),
            f"{line.name}'s AttachedDataChanged shows userData {_user_data(changed)}, missing {pairs}",
        )
    require(
        pairs.items() <= _user_data(line_b.call(answered["id"])).items(),
        f"GET of {line_b.name}'s call does not show the attached data",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-002", document=DOC, lines=(8727, 8934), title="UpdateUserData replaces the values of the given keys"
)
@pytest.mark.vk_operations("gws.UpdateUserData", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calldata.update-user-data.sample-1")
def test_update_user_data(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "AttachUserData", userData={"Segment": "Gold", "Keep": "yes"}))
    _data_changed(line_a, connected["id"])
    _data_changed(line_b, answered["id"])
    expect_ok(line_b.op(answered["id"], "UpdateUserData", userData={"Segment": "Platinum", "New": "1"}))
    for line, call in ((line_b, answered), (line_a, connected)):
        data = _user_data(_data_changed(line, call["id"]))
        require(
            data.get("Segment") == "Platinum" and data.get("New") == "1" and data.get("Keep") == "yes",
            f"after UpdateUserData {line.name} sees userData {data}; expected Segment Platinum, New 1, Keep yes",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-003", document=DOC, lines=(9034, 9144), title="DeleteUserDataPair removes the key from the call data"
)
@pytest.mark.vk_operations("gws.DeleteUserDataPair", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calldata.delete-user-data-pair.sample")
def test_delete_user_data_pair(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    expect_ok(
        line_a.op(
            connected["id"], "AttachUserData", userData={"CustomerSegment": "Platinum", "CustomerNumber": "12345"}
        )
    )
    _data_changed(line_a, connected["id"])
    _data_changed(line_b, answered["id"])
    expect_ok(line_a.op(connected["id"], "DeleteUserDataPair", key="CustomerSegment"))
    for line, call in ((line_a, connected), (line_b, answered)):
        data = _user_data(_data_changed(line, call["id"]))
        require(
            "CustomerSegment" not in data and data.get("CustomerNumber") == "12345",
            f"after DeleteUserDataPair {line.name} sees userData {data}",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-004",
    document=DOC,
    lines=(8936, 8973),
    title="DeleteUserData removes all user data: the userData property is absent",
)
@pytest.mark.vk_operations("gws.DeleteUserData", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calldata.delete-user-data.sample")
def test_delete_user_data(line_a: Line, line_b: Line) -> None:
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "AttachUserData", userData={"A": "1", "B": "2"}))
    _data_changed(line_a, connected["id"])
    _data_changed(line_b, answered["id"])
    expect_ok(line_a.op(connected["id"], "DeleteUserData"))
    for line, call in ((line_a, connected), (line_b, answered)):
        changed = _data_changed(line, call["id"])
        require(
            "userData" not in changed,
            f"after DeleteUserData {line.name}'s notification still has userData "
            f"{changed.get('userData')} (l.8967-8970: the property is absent)",
        )
    require(not _user_data(line_a.call(connected["id"])), "GET still shows user data after DeleteUserData")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-005", document=DOC, lines=(4967, 5053), title="userData sent with Dial is on the call for both parties"
)
@pytest.mark.vk_operations("gws.Dial", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.dial.sample-2")
def test_dial_user_data(line_a: Line, line_b: Line) -> None:
    pairs = {"AccountNumber": "12345"}
    dialing, ringing = connect(line_a, line_b, userData=pairs)
    for who, call in ((line_a.name, dialing), (line_b.name, ringing)):
        require(
            pairs.items() <= _user_data(call).items(),
            f"{who}'s call shows userData {_user_data(call)}, not the dialed {pairs}",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-006",
    document=DOC,
    lines=(2271, 2277),
    title="The voice-operations Dial userData is added to the Dial request's; the request wins",
)
@pytest.mark.vk_operations("gws.Dial", "gws.createSetting", "gws.updateSetting", "gws.deleteSetting")
@pytest.mark.vk_fixture_id("gws.general.settings.voice-operations-create")
@pytest.mark.vk_destructive
def test_dial_merges_voice_operations_defaults(
    line_a: Line, line_b: Line, vk_gws_admin: GwsAgent, vk_cleanup: Any
) -> None:
    put_setting(
        vk_gws_admin,
        "voice-operations",
        {"operationName": "Dial", "userData": {"subscriberId": "1234567890", "region": "EU"}},
        "operationName",
        vk_cleanup,
    )
    dialing, ringing = connect(line_a, line_b, userData={"region": "US", "channel": "vk"})
    expected = {"subscriberId": "1234567890", "region": "US", "channel": "vk"}
    for who, call in ((line_a.name, dialing), (line_b.name, ringing)):
        require(
            expected.items() <= _user_data(call).items(),
            f"{who}'s call shows userData {_user_data(call)}; expected the defaults merged with the request, "
            f"the request winning: {expected}",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-007",
    document=DOC,
    lines=(2553, 2560),
    title="With a toast-filter, toast is on Ringing and Dialing calls only; userData stays complete",
)
@pytest.mark.vk_operations("gws.createSetting", "gws.updateSetting", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.general.toast-case.toast-notification")
@pytest.mark.vk_destructive
def test_toast_only_for_ringing_and_dialing(
    line_a: Line, line_b: Line, vk_gws_admin: GwsAgent, vk_cleanup: Any
) -> None:
    put_setting(
        vk_gws_admin,
        "voice",
        {"name": "toast-filter", "value": [{"attachedDataKey": "CustomerName", "displayName": "Customer"}]},
        "name",
        vk_cleanup,
    )
    pairs = {"CustomerName": "Chris", "POC": "New Service"}
    dialing, ringing = connect(line_a, line_b, userData=pairs)
    toast = [{"key": "CustomerName", "displayName": "Customer", "value": "Chris"}]
    for who, call in ((line_a.name, dialing), (line_b.name, ringing)):
        require(
            call.get("toast") == toast,
            f"{who}'s {call['state']} call has toast {call.get('toast')!r}, expected {toast} (l.2659-2673)",
        )
        require(
            pairs.items() <= _user_data(call).items(),
            f"{who}'s call userData {_user_data(call)} is not the full data (l.2547-2551)",
        )
    expect_ok(line_b.op(ringing["id"], "Answer"))
    established = line_b.call_message(ringing["id"], "Established")
    require("toast" not in established, f"the established call still has toast {established.get('toast')!r}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-008",
    document=DOC,
    lines=(2689, 2694),
    title="With a case-filter, case is on Established calls only; userData stays complete",
)
@pytest.mark.vk_operations("gws.createSetting", "gws.updateSetting", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.general.toast-case.case-notification")
@pytest.mark.vk_destructive
def test_case_only_for_established(line_a: Line, line_b: Line, vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    put_setting(
        vk_gws_admin,
        "voice",
        {
            "name": "case-filter",
            "value": [
                {"attachedDataKey": "CustomerName", "displayName": "Customer"},
                {"attachedDataKey": "POC", "displayName": "Purpose of Call"},
            ],
        },
        "name",
        vk_cleanup,
    )
    pairs = {"CustomerName": "Chris", "POC": "New Service", "Other": "x"}
    _, ringing = connect(line_a, line_b, userData=pairs)
    require("case" not in ringing, f"the ringing call has case {ringing.get('case')!r} (only Established has it)")
    expect_ok(line_b.op(ringing["id"], "Answer"))
    established = line_b.call_message(ringing["id"], "Established")
    case = established.get("case")
    expected = [
        {"key": "CustomerName", "displayName": "Customer", "value": "Chris"},
        {"key": "POC", "displayName": "Purpose of Call", "value": "New Service"},
    ]
    require(
        isinstance(case, list) and sorted(case, key=lambda e: str(e.get("key"))) == expected,
        f"the established call has case {case!r}, expected {expected} (l.2784-2799)",
    )
    require(
        pairs.items() <= _user_data(established).items(),
        f"the established call's userData {_user_data(established)} is not the full data (l.2547-2551)",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-009",
    document=DOC,
    lines=(5680, 5760),
    title="SetCallDisposition on an active call sets the disposition key in the user data (AttachedDataChanged)",
)
@pytest.mark.vk_operations("gws.SetCallDisposition", "gws.cometd.CallStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.calls.set-call-disposition.sample")
def test_set_call_disposition_on_active_call(line_a: Line, line_b: Line) -> None:
    """E200: posted to the device, the call named by callUri/callUuid; E219: one AttachedDataChanged."""
    connected, _ = establish(line_a, line_b)
    _set_disposition(line_a, connected, disposition="IssueResolved", dispositionKey="DispositionCode")
    message = line_a.cometd.await_message(
        call_predicate(connected["id"], None, "AttachedDataChanged"),
        description="AttachedDataChanged after SetCallDisposition",
    )
    data = _user_data(message["data"]["call"])
    require(
        data.get("DispositionCode") == "IssueResolved",
        f"after SetCallDisposition the userData is {data}; expected DispositionCode IssueResolved",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-DATA-010",
    document=DOC,
    lines=(5675, 5699),
    title="SetCallDisposition of a call already released is accepted (reported, l.5685-5686)",
)
@pytest.mark.vk_operations("gws.SetCallDisposition", "gws.Hangup", "gws.cometd.CallStateChangeMessage")
def test_set_call_disposition_on_released_call(line_a: Line, line_b: Line) -> None:
    """l.5685-5686: a released call is dispositioned too (an EventUserEvent for reporting, which the API does
    not show). Both URLs the section gives are readings (E200): the device (the sample) and the call's own
    URL (the Request URL line); either may serve it."""
    connected, answered = establish(line_a, line_b)
    expect_ok(line_a.op(connected["id"], "Hangup"))
    line_a.call_message(connected["id"], "Released")
    line_b.call_message(answered["id"], "Released")
    _set_disposition(line_a, connected, disposition="IssueResolved")


def _set_disposition(line: Line, call: dict[str, Any], **members: Any) -> None:
    """SetCallDisposition as the sample sends it (the device, the call in the body); refused there, on the
    call's own URL as the Request URL line says (l.5688): E200 — either reading may be implemented."""
    members = {"callUri": call["uri"], "callUuid": call["callUuid"], **members}
    on_device = line.device_op("SetCallDisposition", **members)
    body = on_device.json_or_none() if on_device.status == 200 else None
    if isinstance(body, dict) and body.get("statusCode") == 0:
        expect_ok(on_device)
        return
    advise(
        f"SetCallDisposition on the device answered {on_device.status} "
        f"{body if body is not None else on_device.text[:200]!r}; trying the call's URL (l.5688)",
        basis="E200: the section gives both the device sample and /api/v2/me/calls/{id}",
    )
    expect_ok(line.op(call["id"], "SetCallDisposition", **members))
