"""GWS HTTP behaviour: envelope, authentication, sessions, CSRF, CORS (003 l.3509-3579, 4326-4479)."""

from __future__ import annotations

from flask import Flask
from gws_http import ADMIN, AGENT, AGENT_B, DEVICE_A, basic

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler


def test_version_is_the_only_anonymous_request(client) -> None:
    assert client.get("/api/v2/diagnostics/version").get_json() == {"statusCode": 0, "version": "8.5.200.23"}
    for path in ("/api/v2/me", "/api/v2/me/calls", "/api/v2/settings", "/api/v2/features", "/api/v2/skills"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["statusCode"] == 20
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_password_and_malformed_basic_are_not_authenticated(client) -> None:
    assert client.get("/api/v2/me", headers=basic("paveld@redwings.com", "nope")).status_code == 401
    assert client.get("/api/v2/me", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_session_cookie_authenticates_later_requests(client) -> None:
    first = client.get("/api/v2/me", headers=AGENT)
    assert "JSESSIONID=" in first.headers["Set-Cookie"]
    assert client.get("/api/v2/me").get_json()["user"]["userName"] == "paveld@redwings.com"


def test_end_contact_center_session_invalidates_the_http_session(client) -> None:
    client.get("/api/v2/me", headers=AGENT)
    assert client.post("/api/v2/me", json={"operationName": "EndContactCenterSession"}).status_code == 200
    assert client.get("/api/v2/me").status_code == 401


def csrf_app() -> Flask:
    return create_app({"csrf": True}, scheduler=ManualScheduler())


def test_csrf_token_is_returned_on_get_and_required_on_post() -> None:
    client = csrf_app().test_client()
    ready = {"operationName": "Ready"}
    refused = client.post("/api/v2/me/channels/voice", headers=AGENT, json=ready)
    assert refused.status_code == 403 and refused.get_json()["statusCode"] == 3
    assert "CSRF" in refused.get_json()["statusMessage"]
    got = client.get("/api/v2/me", headers=AGENT)
    assert got.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN"
    token = got.headers["X-CSRF-TOKEN"]
    assert (
        client.post("/api/v2/me/channels/voice", headers={**AGENT, "X-CSRF-TOKEN": "forged"}, json=ready).status_code
        == 403
    )
    assert (
        client.post("/api/v2/me/channels/voice", headers={**AGENT, "X-CSRF-TOKEN": token}, json=ready).status_code
        == 200
    )


def test_without_csrf_no_token_headers(client) -> None:
    response = client.get("/api/v2/me", headers=AGENT)
    assert "X-CSRF-TOKEN" not in response.headers and "X-CSRF-HEADER" not in response.headers


def test_cors_allows_configured_origins_with_domain_wildcards(client) -> None:
    allowed = client.get("/api/v2/me", headers={**AGENT, "Origin": "https://desk.genhtcc.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://desk.genhtcc.com"
    refused = client.get("/api/v2/me", headers={**AGENT, "Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options("/api/v2/me/channels/voice", headers={"Origin": "https://cloud.genhtcc.com"})
    assert preflight.status_code == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_allowed_origins_refuse_a_bare_star(client) -> None:
    body = {"name": "allowedOrigins", "value": ["*"]}
    response = client.put("/api/v2/settings/access-control", headers=ADMIN, json=body)
    assert response.status_code == 400 and response.get_json()["statusCode"] == 10
    body["value"] = ["https://cloud.genhtcc.com", "https://*.genesys.com"]
    assert client.put("/api/v2/settings/access-control", headers=ADMIN, json=body).status_code == 200
    assert client.get("/api/v2/me", headers={**AGENT, "Origin": "https://a.b.genesys.com"}).status_code == 200


def test_access_control_needs_an_admin(client) -> None:
    assert client.get("/api/v2/settings/access-control", headers=AGENT).get_json()["statusCode"] == 5


def test_agents_see_only_their_own_devices_and_calls(client) -> None:
    client.post(
        f"/api/v2/me/devices/{DEVICE_A}/calls",
        headers=AGENT,
        json={"operationName": "Dial", "destination": {"phoneNumber": "5002"}},
    )
    call_id = client.get("/api/v2/me/calls?fields=*", headers=AGENT).get_json()["calls"][0]["id"]
    other = client.get(f"/api/v2/me/calls/{call_id}", headers=AGENT_B)
    assert other.status_code == 404 and other.get_json()["statusCode"] == 6
    assert (
        client.post(f"/api/v2/me/calls/{call_id}", headers=AGENT_B, json={"operationName": "Hangup"}).status_code == 404
    )
    assert (
        client.post(
            f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT_B, json={"operationName": "DoNotDisturbOn"}
        ).status_code
        == 404
    )
    assert client.get("/api/v2/users", headers=AGENT).get_json()["statusCode"] == 5


def test_voice_service_down_answers_503_with_status_4(client) -> None:
    client.put("/control/gws/services/voice", json={"state": "Inactive"})
    response = client.post("/api/v2/me/channels/voice", headers=AGENT, json={"operationName": "Ready"})
    assert response.status_code == 503
    assert response.get_json() == {"statusCode": 4, "statusMessage": "Voice service is not available at this time"}
