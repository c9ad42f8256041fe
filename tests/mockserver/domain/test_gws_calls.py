"""The GWS call state machine: states, capabilities and the order of notifications (003 Voice API)."""

from __future__ import annotations

import pytest
from gws_seed import AGENT_A, AGENT_B, AGENT_C, SUPERVISOR, Recorder

from mockserver.domain.errors import InvalidState, MissingParameter, NotFound, ValidationFailed
from mockserver.domain.gws import calls, operations
from mockserver.domain.gws.world import World


def dial(world: World, user, number: str, user_data=None) -> str:
    body = {"operationName": "Dial", "destination": {"phoneNumber": number}}
    if user_data:
        body["userData"] = user_data
    with world.lock:
        before = set(world.calls)
        operations.dial(world, user, user.device_ids[0], body)
        new = set(world.calls) - before
    return new.pop() if new else ""


def op(world: World, user, call_id: str, name: str, **params) -> None:
    with world.lock:
        operations.call_operation(world, user, call_id, {"operationName": name, **params})


def connected(world: World, users) -> str:
    call_id = dial(world, users["a"], "5001")
    op(world, users["b"], call_id, "Answer")
    return call_id


def view(world: World, user, call_id: str) -> dict:
    from mockserver.domain.gws.views import call_view

    call, party = world.find_view(user, call_id)
    return call_view(world, call, party)


def test_dial_rings_the_internal_destination_and_both_see_each_other(world, users, rec: Recorder) -> None:
    call_id = dial(world, users["a"], "5001")
    assert rec.summary() == [(AGENT_A, "StatusChange", "Dialing"), (AGENT_B, "StatusChange", "Ringing")]
    dialing, ringing = rec.seen[0].data["call"], rec.seen[1].data["call"]
    assert dialing["participants"] == ["5001"] and dialing["dnis"] == "5001" and dialing["callType"] == "Internal"
    assert set(dialing["capabilities"]) == {
        "Hangup",
        "SendDtmf",
        "AttachUserData",
        "UpdateUserData",
        "DeleteUserData",
        "DeleteUserDataPair",
    }
    assert ringing["participants"] == ["5000"] and ringing["dnis"] == "5001"
    assert set(ringing["capabilities"]) == {
        "Answer",
        "AttachUserData",
        "UpdateUserData",
        "DeleteUserData",
        "DeleteUserDataPair",
    }
    assert dialing["id"] == ringing["id"] == call_id
    assert rec.seen[0].data["phoneNumber"] == "5000"


def test_answer_establishes_both_parties_answerer_first(world, users, rec: Recorder) -> None:
    call_id = dial(world, users["a"], "5001")
    rec.take()
    op(world, users["b"], call_id, "Answer")
    assert rec.summary() == [(AGENT_B, "StatusChange", "Established"), (AGENT_A, "StatusChange", "Established")]
    assert "Hold" in rec.seen[0].data["call"]["capabilities"]


def test_unknown_internal_number_is_refused_asynchronously(world, users, rec: Recorder) -> None:
    assert dial(world, users["a"], "5999") == ""
    [message] = rec.take()
    assert message.channel == "/v2/me/devices"
    assert message.data == {
        "messageType": "ErrorMessage",
        "deviceUri": "/api/v2/devices/74152ed8-858f-4a33-9e96-36213a678d30",
        "errorMessage": "Invalid Called Dn",
    }


def test_hold_and_retrieve_follow_capabilities(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "Hold")
    held = rec.take()[0].data["call"]
    assert held["state"] == "Held" and "Retrieve" in held["capabilities"] and "Hold" not in held["capabilities"]
    with pytest.raises(InvalidState):
        op(world, users["a"], call_id, "Hold")
    op(world, users["a"], call_id, "Retrieve")
    assert rec.take()[0].data["call"]["state"] == "Established"


def test_operation_absent_from_capabilities_changes_nothing(world, users, rec: Recorder) -> None:
    call_id = dial(world, users["a"], "5001")
    rec.take()
    with pytest.raises(InvalidState):
        op(world, users["a"], call_id, "Hold")  # Dialing offers no Hold
    assert rec.take() == []
    assert view(world, users["a"], call_id)["state"] == "Dialing"


def test_hangup_releases_both_and_the_call_leaves_the_lists(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "Hangup")
    assert rec.summary() == [(AGENT_A, "StatusChange", "Released"), (AGENT_B, "StatusChange", "Released")]
    assert rec.seen[0].data["call"]["capabilities"] == []
    assert rec.seen[0].data["call"]["participants"] == ["5001"]
    assert world.calls_of(users["a"].device_ids[0]) == []
    with pytest.raises(NotFound):
        view(world, users["a"], call_id)


def test_another_agents_call_is_not_found(world, users) -> None:
    call_id = connected(world, users)
    with pytest.raises(NotFound):
        op(world, users["c"], call_id, "Hangup")


def test_send_dtmf_confirms_with_dtmf_sent(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "SendDtmf", digits="7")
    assert rec.summary() == [(AGENT_A, "DtmfSent", "Established")]
    with pytest.raises(MissingParameter):
        op(world, users["a"], call_id, "SendDtmf")
    with pytest.raises(ValidationFailed):
        op(world, users["a"], call_id, "SendDtmf", digits="12a")


def test_two_step_transfer_matches_the_documented_sequence(world, users, rec: Recorder) -> None:
    """003 l.6957-7327: held, consult dialing; on completion the original then the consult are released."""
    call_id = connected(world, users)
    rec.take()
    op(world, users["b"], call_id, "InitiateTransfer", destination={"phoneNumber": "5002"})
    first, second, ringing = rec.take()
    assert (first.audience, first.data["call"]["state"], first.data["call"]["id"]) == (AGENT_B, "Held", call_id)
    consult = second.data["call"]
    assert consult["state"] == "Dialing" and consult["callType"] == "Consult"
    assert consult["parentCallUri"] == f"/api/v2/me/calls/{call_id}"
    assert {"SwapCalls", "CompleteTransfer"} <= set(consult["capabilities"])
    assert "CompleteConference" not in consult["capabilities"]
    assert ringing.audience == AGENT_C
    op(world, users["b"], consult["id"], "CompleteTransfer")
    summary = rec.summary()
    assert summary[:2] == [(AGENT_B, "StatusChange", "Released"), (AGENT_B, "StatusChange", "Released")]
    assert [rec.seen[0].data["call"]["id"], rec.seen[1].data["call"]["id"]] == [call_id, consult["id"]]
    assert (AGENT_A, "ParticipantsUpdated", "Established") in summary
    assert view(world, users["a"], call_id)["participants"] == ["5002"]
    assert view(world, users["c"], consult["id"])["participants"] == ["5000"]


def test_two_step_conference_brings_three_parties_together(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    op(world, users["b"], call_id, "InitiateConference", destination={"phoneNumber": "5002"})
    consult_id = next(c for c in world.calls if c != call_id)
    assert "CompleteConference" in view(world, users["b"], consult_id)["capabilities"]  # E207
    op(world, users["c"], consult_id, "Answer")
    rec.take()
    op(world, users["b"], consult_id, "CompleteConference")
    summary = rec.summary(AGENT_B)
    assert summary == [(AGENT_B, "StatusChange", "Released"), (AGENT_B, "ParticipantsUpdated", "Established")]
    parent = view(world, users["b"], call_id)
    assert sorted(parent["participants"]) == ["5000", "5002"]
    assert {"RemoveParticipantFromConference", "MuteCall"} <= set(parent["capabilities"])


def test_single_step_conference_adds_first_conference_party(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(
        world,
        users["b"],
        call_id,
        "SingleStepConference",
        destination={"phoneNumber": "5002"},
        userData={"AccountNumber": "12345"},
    )
    first = rec.seen[0].data
    assert first["notificationType"] == "ParticipantsUpdated" and rec.seen[0].audience == AGENT_B
    assert first["call"]["userData"] == {"AccountNumber": "12345", "FirstConferencePartyDN": "5001"}
    assert sorted(first["call"]["participants"]) == ["5000", "5002"]


def test_mute_only_in_a_conference(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    with pytest.raises(InvalidState):
        op(world, users["a"], call_id, "MuteCall")
    op(world, users["b"], call_id, "SingleStepConference", destination={"phoneNumber": "5002"})
    rec.take()
    op(world, users["b"], call_id, "MuteCall")
    muted = rec.take()[0].data
    assert (muted["notificationType"], muted["call"]["mute"]) == ("StatusChange", "On")
    assert "UnmuteCall" in muted["call"]["capabilities"] and "MuteCall" not in muted["call"]["capabilities"]


def test_swap_calls_holds_first_then_retrieves(world, users, rec: Recorder) -> None:
    """E310: the call named in the URL is held first, then the other is retrieved."""
    first = connected(world, users)
    op(world, users["a"], first, "Hold")
    second = dial(world, users["a"], "5002")
    op(world, users["c"], second, "Answer")
    offered = set(view(world, users["a"], second)["capabilities"])
    assert {"SwapCalls", "CompleteTransfer", "CompleteConference"} <= offered
    rec.take()
    op(world, users["a"], second, "SwapCalls", otherCallUri=f"http://localhost:8080/api/v2/me/calls/{first}")
    assert [(n.data["call"]["id"], n.data["call"]["state"]) for n in rec.take()] == [
        (second, "Held"),
        (first, "Established"),
    ]


def test_reject_only_for_queue_delivered_calls(world, users, rec: Recorder) -> None:
    with world.lock:
        direct = calls.deliver_inbound(world, world.devices[users["b"].device_ids[0]], ani="+14155552671")
    assert "Reject" not in view(world, users["b"], direct.id)["capabilities"]
    with pytest.raises(InvalidState):
        op(world, users["b"], direct.id, "Reject")
    with world.lock:
        queued = calls.deliver_inbound(world, world.devices[users["a"].device_ids[0]], ani="+14155550000", queue="9000")
    ringing = view(world, users["a"], queued.id)
    assert "Reject" in ringing["capabilities"] and ringing["dnis"] == "9000" and ringing["callType"] == "Inbound"
    assert ringing["participantsInfo"][0]["country"] == {"name": "United States", "code": "US", "callingCode": "1"}
    rec.take()
    op(world, users["a"], queued.id, "Reject")
    assert rec.summary(AGENT_A) == [(AGENT_A, "StatusChange", "Released")]


def test_public_network_device_is_not_offered_answer(world, users) -> None:
    with world.lock:
        call = calls.deliver_inbound(world, world.devices[users["public"].device_ids[0]], ani="+442071234567")
    assert "Answer" not in view(world, users["public"], call.id)["capabilities"]
    with pytest.raises(InvalidState):
        op(world, users["public"], call.id, "Answer")


def test_user_data_operations_notify_every_party(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "AttachUserData", userData={"Colors": "Blue"})
    assert [n.audience for n in rec.seen] == [AGENT_A, AGENT_B]
    assert rec.take()[1].data["call"]["userData"] == {"Colors": "Blue"}
    op(world, users["a"], call_id, "DeleteUserDataPair", key="Colors")
    assert "userData" not in rec.take()[0].data["call"]
    with pytest.raises(ValidationFailed):
        op(world, users["a"], call_id, "DeleteUserDataPair", key="Colors")


def test_toast_on_ringing_and_case_on_established(world, users, rec: Recorder) -> None:
    world.settings["voice"].settings += [
        {"name": "toast-filter", "value": [{"attachedDataKey": "CustomerName", "displayName": "Customer"}]},
        {"name": "case-filter", "value": [{"attachedDataKey": "POC", "displayName": "Purpose of Call"}]},
    ]
    call_id = dial(world, users["a"], "5001", {"CustomerName": "Chris", "POC": "New Service"})
    ringing = rec.take()[1].data["call"]
    assert ringing["toast"] == [{"key": "CustomerName", "displayName": "Customer", "value": "Chris"}]
    assert "case" not in ringing
    op(world, users["b"], call_id, "Answer")
    established = rec.take()[0].data["call"]
    assert established["case"] == [{"key": "POC", "displayName": "Purpose of Call", "value": "New Service"}]
    assert "toast" not in established


def test_dial_merges_voice_operations_user_data_request_wins(world, users, rec: Recorder) -> None:
    world.settings["voice-operations"].settings.append(
        {"operationName": "Dial", "userData": {"subscriberId": "1234567890", "region": "EU"}}
    )
    dial(world, users["a"], "5001", {"region": "US"})
    assert rec.seen[0].data["call"]["userData"] == {"subscriberId": "1234567890", "region": "US"}


def test_supervisor_listen_in_joins_the_next_call_silently(world, users, rec: Recorder) -> None:
    with world.lock:
        operations.device_operation(
            world,
            users["sup"],
            users["sup"].device_ids[0],
            {"operationName": "ListenIn", "targetDeviceUri": f"/api/v2/devices/{users['b'].device_ids[0]}"},
        )
    device_message = rec.take()[0].data["devices"][0]
    assert device_message["supervisorMonitoringState"]["state"] == "ListenIn"
    assert "CancelSupervisorMonitoring" in device_message["capabilities"]
    call_id = connected(world, users)
    supervisor_view = next(n.data["call"] for n in rec.take() if n.audience == SUPERVISOR)
    assert supervisor_view["state"] == "Established" and supervisor_view["mute"] == "On"
    assert sorted(supervisor_view["participants"]) == ["5000", "5001"]
    assert "SwitchToBargeIn" in supervisor_view["capabilities"]
    assert view(world, users["a"], call_id)["participants"] == ["5001"]  # silent: not seen by others
    op(world, users["sup"], call_id, "SwitchToBargeIn")
    barge = rec.take()
    assert barge[0].data["call"]["mute"] == "Off" and "SwitchToListenIn" in barge[0].data["call"]["capabilities"]
    assert sorted(view(world, users["a"], call_id)["participants"]) == ["5001", "5005"]
    op(world, users["sup"], call_id, "MuteMonitoredUser")
    muted = rec.take()
    assert muted[0].data["notificationType"] == "MonitoredUserMutedStateChange"
    assert muted[0].data["call"]["monitoredUserMuted"] is True


def test_agent_state_duplicates_are_ignored(world, users, rec: Recorder) -> None:
    with world.lock:
        operations.agent_state_operation(world, users["a"], {"operationName": "Ready"})
        operations.agent_state_operation(world, users["a"], {"operationName": "Ready"})
    [message] = rec.take()
    assert message.data["devices"][0]["userState"] == {
        "id": "9430250E-0A1B-421F-B372-F29E69366DED",
        "displayName": "Ready",
        "state": "Ready",
    }
    with world.lock:
        operations.agent_state_operation(world, users["a"], {"operationName": "Offline"})
    assert rec.take()[0].data["devices"][0]["userState"]["state"] == "LoggedOut"  # E101/E301
    with world.lock, pytest.raises(ValidationFailed):
        operations.agent_state_operation(world, users["a"], {"operationName": "Lunch"})


def test_voice_service_down_refuses_voice_operations(world, users) -> None:
    from mockserver.domain.errors import ServiceUnavailable

    world.voice_service.state = "Inactive"
    with pytest.raises(ServiceUnavailable):
        dial(world, users["a"], "5001")


def test_default_wrapup_time_gives_after_call_work_then_ready(world, users, rec: Recorder, clock) -> None:
    """003 l.2189-2192: a Ready agent gets the configured wrap-up time after a call, then is made Ready."""
    world.settings["voice"].settings.append({"name": "defaultWrapupTime", "value": "20"})
    with world.lock:
        operations.agent_state_operation(world, users["b"], {"operationName": "Ready"})
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "Hangup")
    states = [n.data["devices"][0]["userState"] for n in rec.take() if n.channel == "/v2/me/devices"]
    assert states == [
        {
            "id": "D3663509-3D82-4DD3-A82E-2EA8EFA02AEF",
            "displayName": "AfterCallWork",
            "state": "NotReady",
            "workMode": "AfterCallWork",
        }
    ]
    clock.advance(19)
    assert [n for n in rec.seen if n.channel == "/v2/me/devices"] == []
    clock.advance(1)
    assert [n.data["devices"][0]["userState"]["state"] for n in rec.take()] == ["Ready"]


def test_no_wrap_up_when_not_configured_or_not_ready(world, users, rec: Recorder) -> None:
    call_id = connected(world, users)
    rec.take()
    op(world, users["a"], call_id, "Hangup")
    assert [n for n in rec.seen if n.channel == "/v2/me/devices"] == []
