"""Mock defects found against the documents (issue 10 point 6), each seen over HTTP: every test here failed on
the mock before its fix."""

from __future__ import annotations

from typing import Any

from gws_http import ADMIN, AGENT, AGENT_B, DEVICE_A, DEVICE_B, SUPERVISOR

from mockserver.domain.events import Notification


def world(app: Any) -> Any:
    return app.extensions["voicekit.gws"].world


def recorded(app: Any) -> list[Notification]:
    seen: list[Notification] = []
    world(app).bus.subscribe(seen.append)
    return seen


def user_id(client: Any, name: str) -> str:
    return client.get(f"/api/v2/users?fields=id&userName={name}", headers=ADMIN).get_json()["users"][0]["id"]


def established_call(client: Any) -> str:
    """Agent 5000 dials 5001, which answers: the caller's call id."""
    client.post(
        f"/api/v2/me/devices/{DEVICE_A}/calls",
        headers=AGENT,
        json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
    )
    [ringing] = client.get("/api/v2/me/calls?fields=*", headers=AGENT_B).get_json()["calls"]
    assert client.post(
        f"/api/v2/me/calls/{ringing['id']}", headers=AGENT_B, json={"operationName": "Answer"}
    ).get_json() == {"statusCode": 0}
    return client.get("/api/v2/me/calls?fields=*", headers=AGENT).get_json()["calls"][0]["id"]


# ---- SetCallDisposition on the call's own URL (003 l.5688; E200) ----------------------------------------------------
def test_set_call_disposition_on_the_call_url_takes_the_call_from_the_path(client) -> None:
    call_id = established_call(client)
    answer = client.post(
        f"/api/v2/me/calls/{call_id}",
        headers=AGENT,
        json={"operationName": "SetCallDisposition", "disposition": "IssueResolved"},
    )
    assert answer.get_json() == {"statusCode": 0}
    call = client.get(f"/api/v2/me/calls/{call_id}", headers=AGENT).get_json()["call"]
    assert call["userData"]["DispositionCode"] == "IssueResolved"
    other = client.post(
        f"/api/v2/me/calls/{call_id}",
        headers=AGENT,
        json={"operationName": "SetCallDisposition", "disposition": "Sale", "callUuid": "nope"},
    )
    assert other.get_json()["statusCode"] == 10  # the body names another call than the URL


def test_set_call_disposition_on_the_url_of_a_released_call_is_reported(client, app) -> None:
    call_id = established_call(client)
    assert client.post(f"/api/v2/me/calls/{call_id}", headers=AGENT, json={"operationName": "Hangup"}).get_json() == {
        "statusCode": 0
    }
    answer = client.post(
        f"/api/v2/me/calls/{call_id}",
        headers=AGENT,
        json={"operationName": "SetCallDisposition", "disposition": "Sale"},
    )
    assert answer.get_json() == {"statusCode": 0}  # 003 l.5685-5686: also after the call is released
    events = client.get("/control/gws/reporting-events").get_json()
    assert [e["disposition"] for e in events.get("events", events)] == ["Sale"]


# ---- device creation with the voice setting's input name (003 l.2182-2185) ------------------------------------------
def test_device_creation_takes_telephony_network_type(client) -> None:
    jsmith = user_id(client, "jsmith@uppercape.ca")
    created = client.post(
        f"/api/v2/users/{jsmith}/devices", headers=ADMIN, json={"phoneNumber": "5077", "telephonyNetworkType": "Public"}
    ).get_json()
    assert created["statusCode"] == 0, created
    device = client.get(f"/api/v2/devices/{created['id']}", headers=ADMIN).get_json()["device"]
    assert device["telephonyNetwork"] == "Public"
    both = client.post(
        f"/api/v2/users/{jsmith}/devices",
        headers=ADMIN,
        json={"phoneNumber": "5078", "telephonyNetwork": "Private", "telephonyNetworkType": "Public"},
    )
    assert both.get_json()["statusCode"] == 10  # two different answers to one question


# ---- deleting a feature needs the Cloud Admin (003 l.4539-4550) -----------------------------------------------------
def test_a_contact_center_admin_cannot_delete_a_feature_a_cloud_admin_can(client, app) -> None:
    refused = client.delete("/api/v2/features/api-supervisor-monitoring", headers=ADMIN)
    assert (refused.status_code, refused.get_json()["statusCode"]) == (403, 5)
    assert client.get("/api/v2/features/api-supervisor-monitoring", headers=ADMIN).status_code == 200
    world(app).user_by_name("mikeb@redwings.com").roles.append("ROLE_CLOUD_ADMIN")
    assert client.delete("/api/v2/features/api-supervisor-monitoring", headers=ADMIN).get_json() == {"statusCode": 0}


# ---- ForwardCallsOff ignores a destination (E203) -------------------------------------------------------------------
def test_forward_calls_off_ignores_a_destination(client) -> None:
    on = client.post(
        f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT, json={"operationName": "ForwardCallsOn", "destination": "5001"}
    )
    assert on.get_json() == {"statusCode": 0}
    off = client.post(
        f"/api/v2/me/devices/{DEVICE_A}",
        headers=AGENT,
        json={"operationName": "ForwardCallsOff", "destination": "5001"},
    )
    assert off.get_json() == {"statusCode": 0}
    device = client.get(f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT).get_json()["device"]
    assert "forwardTo" not in device and "ForwardCallsOn" in device["capabilities"]


# ---- sorting by skills.level (E131) ---------------------------------------------------------------------------------
def test_sorting_by_skill_level_is_numeric_and_users_without_skills_come_last(client, app) -> None:
    skills = world(app).user_by_name("paveld@redwings.com").skills
    skills[next(iter(skills))] = 10  # his one skill (Support 3): "10" < "4" as text
    for order, levels in (("Descending", [10, 4, 2]), ("Ascending", [2, 4, 10])):
        users = client.get(
            f"/api/v2/users?subresources=skills&fields=id,userName&sortBy=skills.level&order={order}",
            headers=SUPERVISOR,
        ).get_json()["users"]
        seen = [u["skills"][0]["level"] if u.get("skills") else None for u in users]
        assert seen[:3] == levels and set(seen[3:]) == {None}, (order, seen)


# ---- a switch DN calling through the control API sees whom it dials (E213) ------------------------------------------
def test_a_switch_number_calling_through_the_control_api_sees_the_callee_at_once(client, app) -> None:
    seen = recorded(app)
    client.post("/control/gws/calls", json={"from": "5001", "to": "5000"})
    dialing = [n.data["call"] for n in seen if n.channel == "/v2/me/calls" and n.data["call"]["state"] == "Dialing"]
    assert dialing, [n.data for n in seen]
    assert dialing[0]["participants"] == ["5000"], dialing[0]
    assert [p["digits"] for p in dialing[0]["participantsInfo"]] == ["5000"], dialing[0]
    assert dialing[0]["deviceUri"].endswith(DEVICE_B)


def test_a_switch_number_calling_a_queue_reaches_a_ready_agent(client) -> None:
    assert client.post("/api/v2/me/channels/voice", headers=AGENT, json={"operationName": "Ready"}).get_json() == {
        "statusCode": 0
    }
    client.post("/control/gws/calls", json={"from": "5001", "queue": "9000"})
    [ringing] = client.get("/api/v2/me/calls?fields=*", headers=AGENT).get_json()["calls"]
    assert (ringing["state"], ringing["callType"], ringing["participants"]) == ("Ringing", "Internal", ["5001"])
