"""Negative sweep over every operation of specs/platform.openapi.yaml: no token, forged and expired tokens,
client credentials, malformed JSON, wrong types and shapes, oversized and non-JSON bodies, unknown ids, another
user's conversation, bad query values. Whatever is sent, the answer is never a 5xx and never HTML: an ErrorBody on
/api/v2 (validated against its schema, with the ININ-Correlation-Id header), an OAuthError on /oauth."""

from __future__ import annotations

import json
from typing import Any

import platform_mock_helpers as h
import pytest

from mockserver.app import create_app

P = "/platform"
OPERATIONS = sorted((op.method, op.template) for op in h.contracts().operations["platform"])

VALID_BODIES: dict[str, Any] = {
    "postConversationsCalls": {"phoneNumber": "+15551234567"},
    "postConversationsCallsUserUserId": {"phoneNumber": "+15551234567"},
    "postConversationsCall": {},
    "patchConversationsCallParticipant": {"state": "connected"},
    "patchConversationParticipant": {"state": "connected"},
    "patchUserPresencesPurecloud": {"presenceDefinition": {"id": "6a3af858-942f-489d-9700-5f9bcdcdae9b"}},
    "patchUserPresence": {"presenceDefinition": {"id": "6a3af858-942f-489d-9700-5f9bcdcdae9b"}},
    "postNotificationsChannelSubscriptions": [{"id": f"v2.users.{h.CAROL}.presence"}],
    "putNotificationsChannelSubscriptions": [{"id": f"v2.users.{h.CAROL}.presence"}],
}
WRONG_BODIES: list[Any] = [
    [],
    {},
    "text",
    12,
    None,
    True,
    {"state": 5},
    {"state": "exploded"},
    {"held": "yes"},
    {"phoneNumber": 15551234567},
    {"phoneNumber": ["+1"]},
    {"callUserId": {"id": 1}},
    {"participants": "x"},
    {"participants": [1]},
    {"presenceDefinition": "Busy"},
    {"presenceDefinition": {"id": 7}},
    [{"id": 5}],
    [{"nope": 1}],
    [None],
    {"wrapup": {"durationSeconds": "long"}},
    {"resumeTime": "yesterday"},
    {"callNumber": 5},
    {"conversationIds": ["x"]},
    {"attributes": {"a": 1}},
    {"a": {"b": {"c": [[[[{}]]]]}}},
]
RAW_BODIES = ["{", '{"state": ', "]", "nul", '"unterminated', '{"a": NaN}', "[" * 5000, "\x00\xff"]
BAD_QUERIES = {
    "expand": "",
    "state": "sleeping",
    "pageSize": "many",
    "pageNumber": "0",
    "deleted": "maybe",
    "deactivated": "perhaps",
    "ignoreErrors": "kinda",
    "includechannels": "everything",
    "integrationPresenceSource": "x" * 300,
    "communicationType": "Telepathy",
    "divisionId": ",,,",
}


@pytest.fixture(scope="module")
def client():
    return create_app({}).test_client()


class World:
    """Tokens and ids of one sweep step, from a freshly reset mock."""

    def __init__(self, client) -> None:
        assert client.post("/control/reset").status_code == 200
        self.client = client
        self.carol = self.mint(h.CAROL)
        self.dave = self.mint(h.DAVE)
        self.cc = self.mint(None, h.CC_CLIENT)
        self.expired = self.mint(h.CAROL, expiresIn=0)
        delivered = client.post(f"/control/platform/users/{h.CAROL}/callbacks", json={"numbers": ["+15551234567"]})
        self.callback = delivered.json["conversationId"]
        delivered = client.post(f"/control/platform/users/{h.CAROL}/calls", json={"from": "+15550001111"})
        self.conversation = delivered.json["conversationId"]
        self.participant = delivered.json["participantId"]
        channel = self.request("POST", "/api/v2/notifications/channels", self.carol)
        self.channel = channel.json["id"]

    def mint(self, user_id: str | None, client_id: str = h.APP_CLIENT, **extra: Any) -> str:
        response = self.client.post(
            "/control/platform/tokens", json={"clientId": client_id, "userId": user_id, **extra}
        )
        return response.json["access_token"]

    def path(self, template: str, op_id: str, unknown: str | None = None) -> str:
        conversation = self.callback if op_id == "postConversationsCall" else self.conversation
        values = {
            "conversationId": conversation,
            "participantId": self.participant,
            "userId": h.CAROL,
            "sourceId": "purecloud",
            "channelId": self.channel,
        }
        if unknown is not None:
            values[unknown] = "does-not-exist"
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.client.open(P + path, method=method, headers=headers, **kwargs)
        check(method, path, response)
        return response


def check(method: str, path: str, response) -> None:
    where = f"{method} {path} → {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.data[:500]!r}"
    assert b"<html" not in response.data.lower() and b"<!doctype" not in response.data.lower(), where
    if response.status_code >= 400:
        body = response.get_json(silent=True)
        assert body is not None, f"{where}: not JSON: {response.data[:300]!r}"
        problems = h.error_problems(path, body)
        assert problems == [], f"{where}: {problems}\n{h.dumps(body)}"
        if "/oauth/" not in path:
            assert response.headers.get("ININ-Correlation-Id") == body["contextId"], where
            assert body["status"] == response.status_code, where
        if response.status_code == 401 and "/oauth/" not in path:
            assert response.headers.get("WWW-Authenticate") == "Bearer", where


def _op(method: str, template: str):
    return next(op for op in h.contracts().operations["platform"] if (op.method, op.template) == (method, template))


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {t}" for m, t in OPERATIONS])
def test_operation_survives_every_bad_request(client, method, template):
    op = _op(method, template)
    w = World(client)
    path = w.path(template, op.operation_id)
    valid = VALID_BODIES.get(op.operation_id)
    body_kwargs = {} if valid is None else {"json": valid}
    has_body = h.contracts().request_schema_ref(op) is not None
    on_api = template.startswith("/api/v2/")

    if on_api:
        for token in (None, "forged-token", w.expired):
            response = w.request(method, path, token, **body_kwargs)
            assert response.status_code == 401
        for header in ("Bearer", "Basic Zm9vOmJhcg==", "bearer  ", "Bearer a b c", "Token " + w.carol):
            response = w.request(method, path, headers={"Authorization": header}, **body_kwargs)
            assert response.status_code == 401
        cc = w.request(method, path, w.cc, **body_kwargs)
        if h.contracts().operation_object(op).get("x-voicekit-requires-user-token"):
            assert (cc.status_code, cc.json["message"]) == (400, h.USER_CONTEXT)
        for name in ("conversationId", "participantId", "userId", "sourceId", "channelId"):
            if "{" + name + "}" in template:
                response = w.request(method, w.path(template, op.operation_id, unknown=name), w.carol, **body_kwargs)
                assert response.status_code in (400, 403, 404), (name, response.status_code)
        if "{conversationId}" in template:
            other = w.request(method, path, w.dave, **body_kwargs)
            assert other.status_code == 403, other.json
        for name, value in BAD_QUERIES.items():
            w.request(method, f"{path}?{name}={value}", w.carol, **body_kwargs)

    if has_body and on_api:
        for wrong in WRONG_BODIES:
            w.request(method, path, w.carol, data=json.dumps(wrong), headers={"Content-Type": "application/json"})
        for raw in RAW_BODIES:
            response = w.request(
                method,
                path,
                w.carol,
                data=raw.encode("utf-8", "surrogatepass"),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code in (400, 403, 404)
        w.request(method, path, w.carol, data=b"", headers={"Content-Type": "application/json"})
        response = w.request(
            method, path, w.carol, data="state=connected", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code in (403, 404, 415)
        response = w.request(
            method, path, w.carol, data=b"{" + b" " * 1_100_000 + b"}", headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (403, 404, 413)
    elif on_api and method in ("POST", "PUT", "DELETE"):
        w.request(method, path, w.carol, data="{garbage", headers={"Content-Type": "application/json"})

    if template == "/oauth/token":
        for form in (
            {},
            {"grant_type": ""},
            {"grant_type": "client_credentials", "extra": "x"},
            {"grant_type": "refresh_token"},
            {"grant_type": "authorization_code", "code": "c", "redirect_uri": "r", "code_verifier": "short"},
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer",
                "orgName": "voicekit",
                "assertion": "not base64!",
            },
        ):
            for auth in (
                None,
                h.basic(h.CC_CLIENT, h.CC_SECRET),
                h.basic(h.SSO_CLIENT, h.SSO_SECRET),
                "Basic ###",
                "Bearer x",
            ):
                headers = {} if auth is None else {"Authorization": auth}
                response = w.request("POST", template, data=form, headers=headers)
                assert response.status_code in (200, 400, 401)
        for raw in RAW_BODIES:
            w.request("POST", template, data=raw.encode("utf-8", "surrogatepass"), headers={"Content-Type": h.FORM})
    if template == "/oauth/authorize":
        for query in (
            {},
            {"response_type": "token"},
            {"response_type": "code", "client_id": h.APP_CLIENT, "redirect_uri": "javascript:alert(1)"},
            {"response_type": "code", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT, "code_challenge": "short"},
            {"response_type": "none", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT},
            {"response_type": "token", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT, "login_hint": "nobody"},
        ):
            response = w.request("GET", template, query_string=query)
            assert response.status_code in (302, 400)


def test_sweep_covers_every_operation_of_the_contract():
    catalog = {
        (e.data["method"], e.data["path"]) for e in h.Corpus().catalog if e.system == "platform" and "method" in e.data
    }
    assert set(OPERATIONS) == catalog and len(OPERATIONS) == 26


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/nothing"),
        ("DELETE", "/api/v2/conversations/calls"),
        ("PUT", "/api/v2/users/me"),
        ("GET", "/api/v2/conversations/calls/x/participants/y/z"),
        ("POST", "/oauth/token/x"),
        ("GET", "/oauth/token"),
        ("TRACE", "/api/v2/users/me"),
        ("GET", "/channels/unknown"),
        ("GET", "/"),
        ("GET", "/api/v2/users/%ff%fe"),
        ("PATCH", "/api/v2/presence/definitions"),
    ],
)
def test_unknown_routes_and_methods_are_shaped_errors(client, method, path):
    response = client.open(P + path, method=method, headers={"Authorization": "Bearer x"})
    check(method, path, response)
    assert response.status_code in (400, 401, 404, 405)
