"""The Platform adapter over HTTP (Flask test client, manual clock): every operation's happy path checked
against its response schema, and the 000/001 rules with the statuses the errata decide, allowed and refused."""

from __future__ import annotations

import platform_mock_helpers as h
import pytest

P = "/platform"


def mint(client, user_id, client_id=h.APP_CLIENT, **extra):
    response = client.post("/control/platform/tokens", json={"clientId": client_id, "userId": user_id, **extra})
    assert response.status_code == 201, response.json
    return response.json["access_token"]


def call(client, method, path, token=None, *, check=True, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = client.open(P + path, method=method, headers=headers, **kwargs)
    if check:
        body = response.get_json(silent=True) if response.data else None
        problems = h.response_problems(method, path.split("?")[0], response.status_code, body)
        assert problems == [], f"{method} {path} → {response.status_code}: {problems}\n{h.dumps(body)}"
        assert response.headers.get("ININ-Correlation-Id")
        if response.status_code >= 400 and "/oauth/" not in path:
            assert body["contextId"] == response.headers["ININ-Correlation-Id"]
            assert h.error_problems(path, body) == []
    return response


def inbound(client, user_id, caller="+15550001111"):
    response = client.post(f"/control/platform/users/{user_id}/calls", json={"from": caller})
    assert response.status_code == 201, response.json
    return response.json["conversationId"], response.json["participantId"]


def agent_state(client, token, conv_id, user_id):
    body = call(client, "GET", f"/api/v2/conversations/calls/{conv_id}", token).json
    return next(p["state"] for p in body["participants"] if p.get("user", {}).get("id") == user_id)


# ---- OAuth --------------------------------------------------------------------------------------------------
def test_client_credentials_token(client):
    response = call(
        client,
        "POST",
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": h.basic(h.CC_CLIENT, h.CC_SECRET)},
    )
    assert response.status_code == 200
    assert response.json["token_type"] == "bearer" and response.json["expires_in"] == 86400
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        (
            {"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": h.basic(h.CC_CLIENT, "bad")}},
            401,
            "invalid_client",
        ),
        (
            {"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": "Basic !!"}},
            401,
            "invalid_client",
        ),
        ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
        (
            {
                "json": {"grant_type": "client_credentials"},
                "headers": {"Authorization": h.basic(h.CC_CLIENT, h.CC_SECRET)},
            },
            400,
            "invalid_request",
        ),
        ({"data": {}, "headers": {"Authorization": h.basic(h.CC_CLIENT, h.CC_SECRET)}}, 400, "invalid_request"),
        (
            {"data": {"grant_type": "password"}, "headers": {"Authorization": h.basic(h.CC_CLIENT, h.CC_SECRET)}},
            400,
            "unsupported_grant_type",
        ),
        (
            {
                "data": {"grant_type": "authorization_code", "code": "x"},
                "headers": {"Authorization": h.basic(h.APP_CLIENT, h.APP_SECRET)},
            },
            400,
            "invalid_request",
        ),
        (
            {
                "data": {"grant_type": "authorization_code", "code": "forged", "redirect_uri": h.REDIRECT},
                "headers": {"Authorization": h.basic(h.APP_CLIENT, h.APP_SECRET)},
            },
            400,
            "invalid_grant",
        ),
    ],
)
def test_token_request_refusals_are_oauth_errors(client, kwargs, status, error):
    response = call(client, "POST", "/oauth/token", **kwargs)
    assert (response.status_code, response.json["error"]) == (status, error)
    assert response.json["description"]


def test_pkce_code_flow_over_http(client):
    response = call(
        client,
        "GET",
        "/oauth/authorize",
        query_string={
            "response_type": "code",
            "client_id": h.APP_CLIENT,
            "redirect_uri": h.REDIRECT,
            "state": "st",
            "code_challenge": h.CHALLENGE,
            "code_challenge_method": "S256",
            "login_hint": "dave@voicekit.example",
        },
    )
    assert response.status_code == 302
    got = h.location_params(response.headers["Location"])
    assert got["state"] == "st" and response.headers["Location"].startswith(h.REDIRECT + "?code=")
    token = call(
        client,
        "POST",
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "code_verifier": h.VERIFIER,
            "client_id": h.APP_CLIENT,
            "redirect_uri": h.REDIRECT,
        },
    ).json
    assert token["refresh_token"]
    me = call(client, "GET", "/api/v2/users/me", token["access_token"]).json
    assert me["id"] == h.DAVE


def test_authorize_refuses_unknown_client_with_an_oauth_error(client):
    for query in (
        {"response_type": "token", "client_id": "nope", "redirect_uri": h.REDIRECT},
        {"response_type": "token", "client_id": h.APP_CLIENT, "redirect_uri": "http://evil/cb"},
        {"client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT},
    ):
        response = call(client, "GET", "/oauth/authorize", query_string=query)
        assert response.status_code == 400 and "error" in response.json


def test_login_user_of_the_control_api(client):
    assert client.put("/control/platform/login", json={"user": "frank@voicekit.example"}).status_code == 200
    response = call(
        client,
        "GET",
        "/oauth/authorize",
        query_string={"response_type": "token", "client_id": h.LIMITED_CLIENT, "redirect_uri": h.REDIRECT},
    )
    token = h.location_params(response.headers["Location"])["access_token"]
    assert call(client, "GET", "/api/v2/users/me", token).json["id"] == h.FRANK
    assert client.put("/control/platform/login", json={"user": "nobody"}).status_code == 404


# ---- bearer authentication (401) -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "authentication.required"),
        ("Bearer", "authentication.required"),
        ("Bearer forged", "bad.credentials"),
        ("Basic dXNlcjpwdw==", "authentication.required"),
    ],
)
def test_missing_or_forged_token_is_401_with_www_authenticate(client, header, code):
    headers = {} if header is None else {"Authorization": header}
    response = call(client, "GET", "/api/v2/users/me", headers=headers)
    assert (response.status_code, response.json["code"]) == (401, code)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_expired_token_is_401_credentials_expired(client, clock):
    token = mint(client, h.CAROL, expiresIn=30)
    assert call(client, "GET", "/api/v2/users/me", token).status_code == 200
    clock.advance(30)
    response = call(client, "GET", "/api/v2/users/me", token)
    assert (response.status_code, response.json["code"]) == (401, "credentials.expired")


# ---- the user-context rule (000 l.96-99, E400, E408) ----------------------------------------------------------------
USER_CONTEXT_OPS = [
    ("POST", "/api/v2/conversations/calls", {"phoneNumber": "+15551234567"}),
    ("GET", "/api/v2/conversations/calls", None),
    ("GET", "/api/v2/conversations", None),
    ("GET", "/api/v2/users/me", None),
    ("POST", "/api/v2/conversations/calls/{conv}", {}),
    ("PATCH", "/api/v2/conversations/calls/{conv}/participants/{part}", {"state": "connected"}),
    ("PATCH", "/api/v2/conversations/{conv}/participants/{part}", {"state": "connected"}),
]


@pytest.mark.parametrize(("method", "template", "body"), USER_CONTEXT_OPS)
def test_client_credentials_refused_with_400_user_context(client, method, template, body):
    conv, part = inbound(client, h.CAROL)
    cc = mint(client, None, h.CC_CLIENT)
    path = template.format(conv=conv, part=part)
    response = call(client, method, path, cc, json=body)
    assert (response.status_code, response.json["code"], response.json["message"]) == (
        400,
        "bad.request",
        h.USER_CONTEXT,
    )
    assert agent_state(client, mint(client, h.CAROL), conv, h.CAROL) == "alerting"  # nothing changed


def test_client_credentials_refusal_comes_before_the_body(client):
    cc = mint(client, None, h.CC_CLIENT)
    response = call(
        client,
        "POST",
        "/api/v2/conversations/calls",
        cc,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json["message"]) == (400, h.USER_CONTEXT)


def test_client_credentials_allowed_where_no_user_is_needed(client):
    cc = mint(client, None, h.CC_CLIENT)
    assert call(client, "GET", f"/api/v2/users/{h.CAROL}", cc).json["name"] == "Carol Managed"
    created = call(
        client,
        "POST",
        f"/api/v2/conversations/calls/user/{h.CAROL}",
        mint(client, h.CAROL),
        json={"phoneNumber": "+15551234567"},
    )
    assert created.status_code == 200
    assert call(client, "GET", f"/api/v2/conversations/calls/{created.json['id']}", cc).status_code == 200


def test_client_credentials_cannot_place_a_call_for_a_user(client):
    """000 l.86-99 (E461): only the user places a call; a Data Action (client credentials) gets the 400."""
    cc = mint(client, None, h.CC_CLIENT)
    response = call(
        client, "POST", f"/api/v2/conversations/calls/user/{h.CAROL}", cc, json={"phoneNumber": "+15551234567"}
    )
    assert (response.status_code, response.json["code"], response.json["message"]) == (
        400,
        "bad.request",
        h.USER_CONTEXT,
    )
    assert call(client, "GET", "/api/v2/conversations/calls", mint(client, h.CAROL)).json["entities"] == []


def test_user_token_places_the_call_as_its_user(client):
    token = mint(client, h.CAROL)
    created = call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+15551234567"})
    assert created.status_code == 200 and created.json["selfUri"] == f"/api/v2/conversations/calls/{created.json['id']}"
    participants = call(client, "GET", created.json["selfUri"], token).json["participants"]
    assert [(p["purpose"], p["state"], p.get("user", {}).get("id")) for p in participants] == [
        ("agent", "connected", h.CAROL),
        ("customer", "dialing", None),
    ]


# ---- ownership (E407) ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    ["/api/v2/conversations/calls/{conv}/participants/{part}", "/api/v2/conversations/{conv}/participants/{part}"],
)
def test_answer_with_another_users_token_is_403_and_with_the_own_202(client, template):
    conv, part = inbound(client, h.CAROL)
    path = template.format(conv=conv, part=part)
    other = call(client, "PATCH", path, mint(client, h.DAVE), json={"state": "connected"})
    assert (other.status_code, other.json["code"]) == (403, "not.authorized")
    assert other.json["message"] == "Only the user associated with this participant can answer or place this call."
    mine = mint(client, h.CAROL)
    assert agent_state(client, mine, conv, h.CAROL) == "alerting"
    response = call(client, "PATCH", path, mine, json={"state": "connected"})
    assert (response.status_code, response.data) == (202, b"")
    assert agent_state(client, mine, conv, h.CAROL) == "connected"


def test_ownership_comes_before_the_body(client):
    conv, part = inbound(client, h.CAROL)
    response = call(
        client,
        "PATCH",
        f"/api/v2/conversations/calls/{conv}/participants/{part}",
        mint(client, h.DAVE),
        data="][",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 403


def test_callback_call_only_by_its_agent(client):
    created = client.post(f"/control/platform/users/{h.CAROL}/callbacks", json={"numbers": ["+15551234567"]})
    conv = created.json["conversationId"]
    assert call(client, "POST", f"/api/v2/conversations/calls/{conv}", mint(client, h.DAVE), json={}).status_code == 403
    placed = call(client, "POST", f"/api/v2/conversations/calls/{conv}", mint(client, h.CAROL), json={})
    assert placed.status_code == 200 and placed.json["id"] == conv
    calls_of = [p["calls"][0]["state"] for p in placed.json["participants"] if p["calls"]]
    assert calls_of == ["dialing", "connected"]


def test_reading_another_users_conversation_is_403(client):
    conv, _ = inbound(client, h.CAROL)
    for path in (f"/api/v2/conversations/calls/{conv}", f"/api/v2/conversations/{conv}"):
        assert call(client, "GET", path, mint(client, h.DAVE)).status_code == 403
        assert call(client, "GET", path, mint(client, h.CAROL)).status_code == 200


# ---- scope (001 l.311-314, E413), presence (E406), numbers (E414) ----------------------------------------------------
def test_token_without_the_conversations_scope_is_403(client):
    limited = mint(client, h.CAROL, h.LIMITED_CLIENT)
    response = call(client, "POST", "/api/v2/conversations/calls", limited, json={"phoneNumber": "+14155552671"})
    assert (response.status_code, response.json["code"], response.json["message"]) == (
        403,
        "missing.permissions",
        "Insufficient permissions",
    )
    assert call(client, "GET", f"/api/v2/users/{h.CAROL}", limited).status_code == 200  # users:readonly granted
    alias = mint(client, h.CAROL, scopes=["conversation:call:create", "user:read"])
    assert (
        call(client, "POST", "/api/v2/conversations/calls", alias, json={"phoneNumber": "+14155552671"}).status_code
        == 200
    )
    assert call(client, "GET", f"/api/v2/users/{h.DAVE}", alias).status_code == 200


@pytest.mark.parametrize("system_presence", ["Offline", "Meal", "Break"])
def test_caller_offline_meal_or_break_is_403(client, system_presence):
    client.put(f"/control/platform/users/{h.CAROL}/presence", json={"systemPresence": system_presence})
    token = mint(client, h.CAROL)
    response = call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+14155552671"})
    assert (response.status_code, response.json["code"], response.json["message"]) == (
        403,
        "not.authorized",
        "User is not in a valid state",
    )
    client.put(f"/control/platform/users/{h.CAROL}/presence", json={"systemPresence": "Available"})
    assert (
        call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+14155552671"}).status_code
        == 200
    )


def test_seed_offline_user_is_refused_before_the_body(client):
    response = call(client, "POST", "/api/v2/conversations/calls", mint(client, h.GRACE), json={"bogus": 1})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("(415) 555-2671", 400),
        ("415-555-2671", 400),
        ("+14155552671", 200),
        ("ForceDisconnect@localhost", 200),
        ("1004", 200),
    ],
)
def test_phone_number_formats(client, number, status):
    response = call(client, "POST", "/api/v2/conversations/calls", mint(client, h.CAROL), json={"phoneNumber": number})
    assert response.status_code == status
    if status == 400:
        assert (response.json["code"], response.json["message"]) == ("invalid.value", "Invalid phone number format")


def test_body_without_destination_is_400(client):
    response = call(
        client,
        "POST",
        "/api/v2/conversations/calls",
        mint(client, h.CAROL),
        json={"from": {"userId": h.CAROL}, "to": {"phoneNumber": "+15551234567"}},
    )
    assert (response.status_code, response.json["code"]) == (400, "bad.request")


# ---- rate limit (001 l.315-318, E417) ----------------------------------------------------------------------------
def test_rate_limit_429_with_retry_after(client, clock):
    assert client.put("/control/platform/settings", json={"rateLimit": 2}).status_code == 200
    token = mint(client, h.CAROL)
    for _ in range(2):
        assert (
            call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+1415555267"}).status_code
            == 200
        )
    refused = call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+1415555267"})
    assert refused.status_code == 429
    assert refused.json["code"] == "too.many.requests.retry.after"
    assert refused.json["message"] == "Rate limit exceeded the maximum. Retry the request in [60] seconds"
    assert refused.headers["Retry-After"] == "60"
    assert (refused.headers["inin-ratelimit-allowed"], refused.headers["inin-ratelimit-count"]) == ("2", "2")
    other = mint(client, h.DAVE)  # per token
    assert (
        call(client, "POST", "/api/v2/conversations/calls", other, json={"phoneNumber": "+1415555267"}).status_code
        == 200
    )
    clock.advance(60)
    assert (
        call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+1415555267"}).status_code
        == 200
    )
    assert client.get("/control/platform/rate-limit").json["refused"] == 1


def test_rate_limit_comes_from_mock_config():
    from mockserver.app import create_app

    app = create_app({"rate_limit": 1})
    client = app.test_client()
    token = mint(client, h.CAROL)
    codes = [
        call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+1415555267"}).status_code
        for _ in range(2)
    ]
    assert codes == [200, 429]


# ---- phones (E412) over HTTP -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user_id", "state"),
    [
        (h.CAROL, "connected"),
        (h.DAVE, "connected"),
        (h.ALICE, "alerting"),
        (h.BOB, "alerting"),
        (h.ERIN, "alerting"),
        (h.FRANK, "alerting"),
    ],
)
def test_answer_is_accepted_and_processed_only_where_the_phone_can(client, user_id, state):
    conv, part = inbound(client, user_id)
    token = mint(client, user_id)
    response = call(
        client, "PATCH", f"/api/v2/conversations/calls/{conv}/participants/{part}", token, json={"state": "connected"}
    )
    assert response.status_code == 202
    assert agent_state(client, token, conv, user_id) == state


def test_persistent_connection_is_invisible_to_the_conversations_api(client, clock):
    token = mint(client, h.ALICE)
    call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "ForceDisconnect@localhost"})
    assert len(call(client, "GET", "/api/v2/conversations", token).json["entities"]) == 1
    clock.advance(3)
    assert client.get(f"/control/platform/users/{h.ALICE}").json["phone"]["persistentActive"] is True
    assert call(client, "GET", "/api/v2/conversations", token).json["entities"] == []
    assert call(client, "GET", "/api/v2/conversations/calls", token).json["entities"] == []
    conv, part = inbound(client, h.ALICE)
    call(client, "PATCH", f"/api/v2/conversations/{conv}/participants/{part}", token, json={"state": "connected"})
    assert agent_state(client, token, conv, h.ALICE) == "connected"


# ---- the other operations --------------------------------------------------------------------------------------------
def test_conversation_reads_hold_and_disconnect(client):
    carol, dave = mint(client, h.CAROL), mint(client, h.DAVE)
    conv = call(client, "POST", "/api/v2/conversations/calls", carol, json={"callUserId": h.DAVE}).json["id"]
    listing = call(client, "GET", "/api/v2/conversations/calls", dave).json
    assert [c["id"] for c in listing["entities"]] == [conv]
    part = next(p["id"] for p in listing["entities"][0]["participants"] if p["user"]["id"] == h.DAVE)
    call(client, "PATCH", f"/api/v2/conversations/calls/{conv}/participants/{part}", dave, json={"state": "connected"})
    call(client, "PATCH", f"/api/v2/conversations/{conv}/participants/{part}", dave, json={"held": True})
    generic = call(client, "GET", f"/api/v2/conversations/{conv}", carol).json
    held = [p["calls"][0]["held"] for p in generic["participants"]]
    assert held == [False, True]
    assert [
        c["id"] for c in call(client, "GET", "/api/v2/conversations?communicationType=Call", carol).json["entities"]
    ] == [conv]
    response = call(client, "POST", f"/api/v2/conversations/{conv}/disconnect", carol)
    assert response.status_code == 202 and isinstance(response.json, str)
    after = call(client, "GET", f"/api/v2/conversations/calls/{conv}", carol).json
    assert {p["state"] for p in after["participants"]} == {"disconnected"}


def test_users_and_presence(client):
    token = mint(client, h.CAROL)
    user = call(
        client, "GET", f"/api/v2/users/{h.FRANK}?expand=presence,routingStatus,station,conversationSummary", token
    ).json
    assert user["presence"]["presenceDefinition"]["systemPresence"] == "Available"
    assert user["station"]["associatedStation"]["type"] == "inin_remote"
    assert call(client, "GET", f"/api/v2/users/{h.FRANK}", token).json.get("presence") is None  # E415
    me = call(client, "GET", "/api/v2/users/me?expand=presenceDefinitions,organization,token", token).json
    assert me["organization"]["name"] == "voicekit" and len(me["presenceDefinitions"]) == 10
    definitions = call(client, "GET", "/api/v2/presence/definitions", token).json["entities"]
    busy = next(d["id"] for d in definitions if d["systemPresence"] == "Busy")
    assert len(call(client, "GET", "/api/v2/presencedefinitions?pageSize=5", token).json["entities"]) == 5
    patched = call(
        client,
        "PATCH",
        f"/api/v2/users/{h.CAROL}/presences/purecloud",
        token,
        json={"presenceDefinition": {"id": busy}, "message": "busy"},
    ).json
    assert patched["presenceDefinition"]["systemPresence"] == "Busy"
    assert call(client, "GET", f"/api/v2/users/{h.CAROL}/presences/PURECLOUD", token).json["message"] == "busy"
    assert (
        call(
            client,
            "PATCH",
            f"/api/v2/users/{h.CAROL}/presences/purecloud",
            token,
            json={"presenceDefinition": {"id": "nope"}},
        ).status_code
        == 400
    )
    assert call(client, "GET", f"/api/v2/users/{h.CAROL}/presences/zoomphone", token).status_code == 404


def test_notification_channels_and_subscriptions(client):
    token = mint(client, h.CAROL)
    channel = call(client, "POST", "/api/v2/notifications/channels", token).json
    assert channel["connectUri"] == f"ws://localhost/platform/channels/{channel['id']}"
    assert [c["id"] for c in call(client, "GET", "/api/v2/notifications/channels", token).json["entities"]] == [
        channel["id"]
    ]
    path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    topics = [{"id": f"v2.users.{h.CAROL}.conversations.calls"}, {"id": f"v2.users.{h.CAROL}.presence"}]
    assert len(call(client, "POST", path, token, json=topics[:1]).json["entities"]) == 1
    assert len(call(client, "POST", path, token, json=topics[1:]).json["entities"]) == 2
    assert len(call(client, "PUT", path, token, json=topics[1:]).json["entities"]) == 1
    assert call(client, "POST", path, token, json=[{"id": "v2.nope"}]).status_code == 400
    assert (
        call(client, "POST", path + "?ignoreErrors=true", token, json=[{"id": "v2.nope"}]).json["entities"][-1]["state"]
        == "Rejected"
    )
    assert call(client, "DELETE", path, token).status_code == 204
    assert call(client, "GET", path, token).json["entities"] == []
    assert call(client, "GET", path, mint(client, h.DAVE)).status_code == 404  # another user's channel
    assert client.post(f"/control/platform/channels/{channel['id']}/expire").status_code == 200
    assert call(client, "GET", path, token).status_code == 404


# ---- the control API -----------------------------------------------------------------------------------------------
def test_control_api_creates_users_and_clients_and_refuses_bad_input(client):
    created = client.post(
        "/control/platform/users",
        json={"name": "Zed Remote", "extension": "1099", "phone": {"type": "remote", "persistentConnection": True}},
    )
    assert created.status_code == 201 and created.json["phone"]["makeCallLeg"] == "alert"
    made = client.post(
        "/control/platform/clients",
        json={"id": "my-app", "secret": "s", "grants": ["implicit"], "redirectUris": ["http://app/cb"]},
    )
    assert made.status_code == 201
    response = call(
        client,
        "GET",
        "/oauth/authorize",
        query_string={
            "response_type": "token",
            "client_id": "my-app",
            "redirect_uri": "http://app/cb",
            "login_hint": created.json["id"],
        },
    )
    token = h.location_params(response.headers["Location"])["access_token"]
    conv = call(client, "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "1003"}).json["id"]
    assert agent_state(client, token, conv, created.json["id"]) == "alerting"  # a remote phone rings first
    assert client.post(f"/control/platform/users/{created.json['id']}/phone/answer").status_code == 200
    assert agent_state(client, token, conv, created.json["id"]) == "connected"
    for method, path, body, status in [
        ("POST", "/control/platform/users", {"name": ""}, 400),
        ("POST", "/control/platform/users", {"name": "X", "phone": {"type": "fax"}}, 400),
        ("PUT", f"/control/platform/users/{h.CAROL}/phone", {"type": "fax"}, 400),
        ("PUT", "/control/platform/users/nobody/phone", {"type": "managed"}, 404),
        ("PUT", f"/control/platform/users/{h.BOB}/persistent-connection", {"active": True}, 400),
        ("PUT", f"/control/platform/users/{h.CAROL}/persistent-connection", {"active": "yes"}, 400),
        ("PUT", "/control/platform/settings", {"bogus": 1}, 400),
        ("PUT", "/control/platform/settings", {"heartbeatSeconds": -1}, 400),
        ("POST", f"/control/platform/users/{h.CAROL}/calls", {}, 400),
        ("POST", f"/control/platform/users/{h.CAROL}/calls", {"from": "(555)"}, 400),
        ("POST", "/control/platform/queues/nope/calls", {"from": "+15550001111"}, 404),
        ("POST", f"/control/platform/users/{h.DAVE}/phone/answer", None, 409),
        ("POST", "/control/platform/conversations/nope/remote/answer", None, 404),
        ("POST", "/control/platform/tokens", {"clientId": "nope"}, 404),
        ("POST", "/control/platform/clients", {"grants": ["magic"]}, 400),
        ("POST", "/control/platform/channels/nope/expire", None, 404),
    ]:
        response = client.open(path, method=method, json=body)
        assert response.status_code == status, (path, body, response.json)
        # the control API's ControlError (specs/control.openapi.yaml): problems when the contract refused the body
        assert {"error", "status"} <= set(response.json) <= {"error", "status", "problems"}
        assert response.json["status"] == status


def test_control_api_acd_call_and_remote_party(client):
    delivered = client.post(f"/control/platform/queues/{h.SUPPORT}/calls", json={"from": "+15550001111"})
    assert delivered.status_code == 201
    heidi = mint(client, h.HEIDI)
    conv, part = delivered.json["conversationId"], delivered.json["participantId"]
    call(client, "PATCH", f"/api/v2/conversations/calls/{conv}/participants/{part}", heidi, json={"state": "connected"})
    hung = client.post(f"/control/platform/conversations/{conv}/remote/hangup")
    assert hung.status_code == 200
    states = {p["purpose"]: p["state"] for p in hung.json["call"]["participants"]}
    assert states == {"customer": "disconnected", "acd": "disconnected", "agent": "disconnected"}


def test_reset_restores_the_platform_seed(client):
    client.put(f"/control/platform/users/{h.CAROL}/presence", json={"systemPresence": "Offline"})
    client.put("/control/platform/settings", json={"rateLimit": 3})
    token = mint(client, h.CAROL)
    assert client.post("/control/reset").status_code == 200
    assert client.get(f"/control/platform/users/{h.CAROL}").json["presence"] == "Available"
    assert client.get("/control/platform/settings").json["rateLimit"] == 0
    assert call(client, "GET", "/api/v2/users/me", token).status_code == 401  # tokens are gone too
