"""The control API: events no client can cause, faults, resets and snapshots (issue: simulation control)."""

from __future__ import annotations

from typing import Any

from gws_http import AGENT, AGENT_B, DEVICE_A

from mockserver.domain.events import Notification


def recorded(app: Any) -> list[Notification]:
    seen: list[Notification] = []
    app.extensions["voicekit.gws"].world.bus.subscribe(seen.append)
    return seen


def my_calls(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    return client.get("/api/v2/me/calls?fields=*", headers=headers).get_json().get("calls", [])


def ready(client: Any, headers: dict[str, str]) -> None:
    assert client.post("/api/v2/me/channels/voice", headers=headers, json={"operationName": "Ready"}).status_code == 200


def test_inbound_call_rings_with_ani_dnis_and_user_data(client) -> None:
    body = {"from": "+14155552671", "to": "5000", "dnis": "18005550100", "userData": {"CustomerName": "Chris"}}
    call_id = client.post("/control/gws/calls", json=body).get_json()["callId"]
    [call] = my_calls(client, AGENT)
    assert (call["id"], call["state"], call["callType"]) == (call_id, "Ringing", "Inbound")
    assert call["ani"] == "+14155552671" and call["dnis"] == "18005550100"
    assert call["userData"] == {"CustomerName": "Chris"}
    assert call["participantsInfo"][0]["country"]["code"] == "US"
    assert "Reject" not in call["capabilities"]


def test_queued_call_goes_to_a_ready_agent_and_back_to_the_queue_on_reject(client, app) -> None:
    ready(client, AGENT)
    ready(client, AGENT_B)
    call_id = client.post("/control/gws/calls", json={"from": "+442071234567", "queue": "9000"}).get_json()["callId"]
    first = [c for h in (AGENT, AGENT_B) for c in my_calls(client, h)]
    assert len(first) == 1 and "Reject" in first[0]["capabilities"] and first[0]["dnis"] == "9000"
    rejecter = AGENT if my_calls(client, AGENT) else AGENT_B
    other = AGENT_B if rejecter is AGENT else AGENT
    rejected = client.post(f"/api/v2/me/calls/{call_id}", headers=rejecter, json={"operationName": "Reject"})
    assert rejected.status_code == 200
    assert my_calls(client, rejecter) == []
    [rerouted] = my_calls(client, other)
    assert rerouted["id"] == call_id and rerouted["state"] == "Ringing"


def test_remote_party_answers_and_hangs_up(client) -> None:
    client.post(
        f"/api/v2/me/devices/{DEVICE_A}/calls",
        headers=AGENT,
        json={"operationName": "Dial", "destination": {"phoneNumber": "+33142685300"}},
    )
    [call] = my_calls(client, AGENT)
    assert call["state"] == "Dialing" and call["callType"] == "Outbound"
    assert client.post(f"/control/gws/calls/{call['id']}/answer").status_code == 200
    assert my_calls(client, AGENT)[0]["state"] == "Established"
    assert client.post(f"/control/gws/calls/{call['id']}/hangup").status_code == 200
    assert my_calls(client, AGENT) == []
    assert client.post(f"/control/gws/calls/{call['id']}/hangup").status_code == 404


def test_voice_outage_is_announced_to_everyone(client, app) -> None:
    seen = recorded(app)
    client.put("/control/gws/services/voice", json={"state": "Inactive"})
    client.put("/control/gws/services/voice", json={"state": "Active"})
    assert [(n.channel, n.audience, n.data["service"]["state"]) for n in seen] == [
        ("/notifications/services", None, "Inactive"),
        ("/notifications/services", None, "Active"),
    ]
    assert seen[0].data["service"]["type"] == "Voice" and seen[0].data["service"]["name"] == "SIPS"


def test_injected_tserver_error_is_reported_asynchronously(client, app) -> None:
    client.post(
        f"/api/v2/me/devices/{DEVICE_A}/calls",
        headers=AGENT,
        json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
    )
    call_id = my_calls(client, AGENT)[0]["id"]
    client.post("/control/gws/faults", json={"kind": "error", "operation": "Hangup", "user": "paveld@redwings.com"})
    seen = recorded(app)
    response = client.post(f"/api/v2/me/calls/{call_id}", headers=AGENT, json={"operationName": "Hangup"})
    assert response.get_json() == {"statusCode": 0}
    [error] = seen
    assert error.data["messageType"] == "ErrorMessage" and error.data["errorMessage"] == "Incorrect object state"
    assert error.data["callUri"] == f"/api/v2/me/calls/{call_id}"
    assert my_calls(client, AGENT)[0]["state"] == "Dialing"  # T-Server refused: nothing changed


def test_injected_latency_delays_the_result(app, client) -> None:
    clock = app.extensions["voicekit.scheduler"]
    client.post("/control/gws/faults", json={"kind": "latency", "operation": "Ready", "delayMs": 1500})
    seen = recorded(app)
    assert client.post("/api/v2/me/channels/voice", headers=AGENT, json={"operationName": "Ready"}).status_code == 200
    assert seen == []
    clock.advance(1.5)
    assert seen[0].data["devices"][0]["userState"]["state"] == "Ready"


def test_reset_and_snapshot_round_trip(client) -> None:
    client.post(f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT, json={"operationName": "DoNotDisturbOn"})
    snapshot = client.get("/control/state").get_json()
    client.post("/control/reset")
    device = client.get("/api/v2/me/devices?fields=*", headers=AGENT).get_json()["devices"][0]
    assert device["doNotDisturb"] == "Off"
    assert client.put("/control/state", json=snapshot).status_code == 200
    device = client.get("/api/v2/me/devices?fields=*", headers=AGENT).get_json()["devices"][0]
    assert device["doNotDisturb"] == "On"
    assert client.put("/control/state", json={"nothing": 1}).status_code == 400


def test_create_agent_with_a_device(client) -> None:
    created = client.post("/control/gws/agents", json={"userName": "new@redwings.com", "phoneNumber": "5010"})
    assert created.status_code == 200
    headers = {"Authorization": "Basic " + __import__("base64").b64encode(b"new@redwings.com:password").decode()}
    device = client.get("/api/v2/me/devices?fields=*", headers=headers).get_json()["devices"][0]
    assert device["phoneNumber"] == "5010" and device["userState"]["state"] == "NotReady"


def test_disposition_of_a_released_call_goes_to_reporting(client) -> None:
    client.post(
        f"/api/v2/me/devices/{DEVICE_A}/calls",
        headers=AGENT,
        json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
    )
    call = my_calls(client, AGENT)[0]
    client.post(f"/api/v2/me/calls/{call['id']}", headers=AGENT, json={"operationName": "Hangup"})
    response = client.post(
        f"/api/v2/me/devices/{DEVICE_A}",
        headers=AGENT,
        json={
            "operationName": "SetCallDisposition",
            "callUuid": call["callUuid"],
            "disposition": "IssueResolved",
            "dispositionKey": "DispositionCode",
        },
    )
    assert response.get_json() == {"statusCode": 0}
    [event] = client.get("/control/gws/reporting-events").get_json()["events"]
    assert event["disposition"] == "IssueResolved" and event["callUuid"] == call["callUuid"]


def test_push_notifications_wait_while_no_cometd_session_is_alive(client) -> None:
    session = {
        "operationName": "StartContactCenterSession",
        "channels": ["voice"],
        "mobileSession": {"mobileDeviceId": "72ED12518F714800AA900370B697A777", "mobilePushType": "IOS"},
    }
    assert client.post("/api/v2/me", headers=AGENT, json=session).get_json() == {"statusCode": 0}
    client.post("/api/v2/me/channels/voice", headers=AGENT, json={"operationName": "Ready"})
    user_id = client.get("/api/v2/me", headers=AGENT).get_json()["user"]["id"]
    messages = client.get(f"/control/gws/push/{user_id}").get_json()["messages"]
    assert messages == [{"deviceId": DEVICE_A, "messageType": "DeviceStateChangeMessage"}]
    bad = dict(session, mobileSession={"mobileDeviceId": "x", "mobilePushType": "ios"})
    assert client.post("/api/v2/me", headers=AGENT, json=bad).get_json()["statusCode"] == 10
