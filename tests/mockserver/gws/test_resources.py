"""Request parameters and return values (003 l.2901-3909), settings rules and features."""

from __future__ import annotations

from gws_http import ADMIN, AGENT, DEVICE_A, SUPERVISOR


def test_lists_return_uris_and_paths_unless_fields_is_given(client) -> None:
    plain = client.get("/api/v2/me/devices", headers=AGENT).get_json()
    assert plain == {
        "statusCode": 0,
        "uris": [f"http://localhost/api/v2/devices/{DEVICE_A}"],
        "paths": [f"/devices/{DEVICE_A}"],
    }
    full = client.get("/api/v2/me/devices?fields=*", headers=AGENT).get_json()
    assert full["devices"][0]["id"] == DEVICE_A and full["devices"][0]["phoneNumber"] == "5000"


def test_fields_selects_members_and_filters_select_items(client) -> None:
    queues = client.get("/api/v2/queues?fields=id,name", headers=AGENT).get_json()["queues"]
    assert queues and all(set(q) == {"id", "name"} for q in queues)
    voice = client.get("/api/v2/queues?fields=id,name,channel&channel=voice", headers=AGENT).get_json()
    assert all(q["channel"] == "voice" for q in voice["queues"])
    assert client.get("/api/v2/queues?fields=*&colour=red", headers=AGENT).get_json()["statusCode"] == 10


def test_singular_resources_are_wrapped_and_resolve_uris(client) -> None:
    queue_id = client.get("/api/v2/queues?fields=id", headers=AGENT).get_json()["queues"][0]["id"]
    plain = client.get(f"/api/v2/queues/{queue_id}", headers=AGENT).get_json()
    assert "phoneNumber" not in plain["queue"] and plain["queue"]["phoneNumberUri"].startswith("http://localhost")
    resolved = client.get(f"/api/v2/queues/{queue_id}?resolveUris=phoneNumberUri", headers=AGENT).get_json()
    assert resolved["queue"]["phoneNumber"]["number"] == "9000" and "routingTemplate" not in resolved["queue"]
    both = client.get(f"/api/v2/queues/{queue_id}?resolveUris=*", headers=AGENT).get_json()["queue"]
    assert both["routingTemplate"]["id"] == "00_RouteToSpecDestination"


def test_pagination_limits_and_total_count(client) -> None:
    page = client.get("/api/v2/users?fields=userName&offset=1&limit=2&sortBy=userName", headers=ADMIN).get_json()
    assert page["totalCount"] == 6 and len(page["users"]) == 2
    everyone = sorted(
        u["userName"] for u in client.get("/api/v2/users?fields=userName", headers=ADMIN).get_json()["users"]
    )
    assert [u["userName"] for u in page["users"]] == everyone[1:3]
    assert client.get("/api/v2/users?limit=501", headers=ADMIN).get_json()["statusCode"] == 10
    assert client.get("/api/v2/users?offset=5", headers=ADMIN).get_json()["statusCode"] == 1
    descending = client.get(
        "/api/v2/users?fields=lastName&sortBy=lastName&order=Descending&limit=100", headers=ADMIN
    ).get_json()["users"]
    assert [u["lastName"] for u in descending] == sorted((u["lastName"] for u in descending), reverse=True)


def test_subresources_and_filtering_by_subresource_fields(client) -> None:
    sales = client.get(
        "/api/v2/users?subresources=skills&fields=id,userName&skills.name=Sales", headers=SUPERVISOR
    ).get_json()["users"]
    assert {u["userName"] for u in sales} == {"sgarcia@redwings.com", "hzetterberg@redwings.com"}
    assert all(set(u) == {"id", "userName", "skills"} for u in sales)
    me = client.get("/api/v2/me?subresources=*", headers=AGENT).get_json()["user"]
    assert {"devices", "skills", "settings", "calls"} <= set(me)


def test_bulk_skill_assignment_reports_partial_success(client) -> None:
    user_id = client.get("/api/v2/users?fields=id,userName&userName=nlidstrom@redwings.com", headers=ADMIN).get_json()[
        "users"
    ][0]["id"]
    response = client.post(
        f"/api/v2/users/{user_id}/skills",
        headers=ADMIN,
        json={"uris": ["http://localhost/api/v2/skills/0890689", "/api/v2/skills/nope"]},
    )
    body = response.get_json()
    assert response.status_code == 200 and body["statusCode"] == 7
    assert body["succeeded"][0]["id"] == "0890689"
    assert body["failed"] == [{"statusCode": 6, "statusMessage": "Skill nope not found", "uri": "/api/v2/skills/nope"}]


def test_create_user_returns_id_uri_and_path_and_refuses_duplicates(client) -> None:
    body = {
        "userName": "bobp@redwings.com",
        "password": "password",
        "firstName": "Bob",
        "lastName": "Probert",
        "roles": ["ROLE_AGENT"],
    }
    created = client.post("/api/v2/users", headers=ADMIN, json=body).get_json()
    assert created["statusCode"] == 0 and created["path"] == f"/users/{created['id']}"
    assert created["uri"].endswith(created["path"])
    assert client.post("/api/v2/users", headers=ADMIN, json=body).get_json()["statusCode"] == 3  # E116
    assert client.post("/api/v2/users", headers=AGENT, json=body).get_json()["statusCode"] == 5


def test_settings_rules(client) -> None:
    assert (
        client.post(
            "/api/v2/settings/general-settings", headers=ADMIN, json={"name": "countryCode", "value": "FR"}
        ).get_json()["statusCode"]
        == 11
    )
    refused = client.delete("/api/v2/settings/voice", headers=ADMIN, json={"name": "defaultTelephonyNetworkType"})
    assert refused.get_json()["statusCode"] == 3
    assert (
        client.put(
            "/api/v2/settings/voice", headers=ADMIN, json={"name": "defaultTelephonyNetworkType", "value": "Public"}
        ).get_json()["statusCode"]
        == 0
    )
    assert (
        client.post(
            "/api/v2/settings/voice-operations", headers=ADMIN, json={"operationName": "Hangup", "userData": {}}
        ).get_json()["statusCode"]
        == 10
    )
    system = {"operationName": "Ready", "displayName": "Ready", "state": "Ready"}
    assert client.put("/api/v2/settings/agent-states", headers=ADMIN, json=system).get_json()["statusCode"] == 3
    assert (
        client.post(
            "/api/v2/settings/agent-states",
            headers=AGENT,
            json={**system, "operationName": "Lunch", "state": "NotReady"},
        ).get_json()["statusCode"]
        == 5
    )


def test_custom_settings_group_lifecycle(client) -> None:
    group = {"name": "client-settings", "displayName": "Client Settings", "key": "name"}
    assert client.post("/api/v2/settings", headers=ADMIN, json=group).get_json() == {"statusCode": 0}
    assert client.post("/api/v2/settings", headers=ADMIN, json=group).get_json()["statusCode"] == 18
    client.post("/api/v2/settings/client-settings", headers=ADMIN, json={"name": "bgColor", "value": "blue"})
    read = client.get("/api/v2/settings/client-settings", headers=ADMIN).get_json()
    assert read == {"statusCode": 0, "settings": [{"name": "bgColor", "value": "blue"}], "key": "name"}
    assert client.delete("/api/v2/settings/client-settings", headers=ADMIN).get_json() == {"statusCode": 0}
    assert client.get("/api/v2/settings/client-settings", headers=ADMIN).get_json()["statusCode"] == 6


def test_a_disabled_feature_hides_its_resources(client, app) -> None:
    # Only a Cloud Admin removes features (003 l.4549-4550): the seed has none, so the admin becomes one.
    app.extensions["voicekit.gws"].world.user_by_name("mikeb@redwings.com").roles.append("ROLE_CLOUD_ADMIN")
    assert client.delete("/api/v2/features/api-voice", headers=ADMIN).get_json()["statusCode"] == 3  # default
    assert client.delete("/api/v2/features/api-supervisor-monitoring", headers=ADMIN).get_json()["statusCode"] == 0
    response = client.post(
        "/api/v2/me/devices/efe1ab32-53f9-43ce-b65e-5768c61f7d4a",
        headers=SUPERVISOR,
        json={"operationName": "ListenIn", "targetDeviceUri": f"http://localhost/api/v2/devices/{DEVICE_A}"},
    )
    assert response.get_json()["statusCode"] == 10
    assert client.get("/api/v2/features/api-supervisor-monitoring", headers=ADMIN).status_code == 404


def test_hierarchical_dispositions(client) -> None:
    root = "5d1a0f3e-0000-4000-8000-00000000d150"
    one = client.get(f"/api/v2/groups/{root}?subresources=*", headers=ADMIN).get_json()["group"]
    assert [d["name"] for d in one["dispositions"]] == ["Disp1", "Disp2", "Disp3"]
    assert "dispositions" not in one["groups"][0]
    tree = client.get(f"/api/v2/groups/{root}?subresources=**", headers=ADMIN).get_json()["group"]
    assert [d["name"] for d in tree["groups"][0]["dispositions"]] == ["Disp4", "Disp5", "Disp6"]
    created = client.post(
        f"/api/v2/groups/{root}/dispositions",
        headers=ADMIN,
        json={"name": "MyDisposition", "displayName": "Display Name"},
    ).get_json()
    assert created["statusCode"] == 0
    assert client.delete(f"/api/v2/groups/{root}/dispositions/{created['id']}", headers=ADMIN).status_code == 200
    assert client.delete(f"/api/v2/groups/{root}", headers=ADMIN).get_json() == {"statusCode": 0}
    assert client.get(f"/api/v2/groups/{root}", headers=ADMIN).status_code == 404
