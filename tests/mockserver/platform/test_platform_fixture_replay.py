"""Replay the 000/001 fixtures (fixtures/platform/) against the running mock.

Each fixture is sent as documented; where it shows no body or no status, the errata and its ``given`` decide
(E402: Make Call 200; E418: answer 202; the replay values named in ``given``). Its ``given`` is set up first
through the control API. The answer is compared by the one engine the suite uses too (``voicekit.replay``, Platform
strategy) under the fixture's ``match``, any of the fixture's ``alternatives`` accepted:

- ``exact``: every documented member with its documented value;
- ``subset``: the documented members with their values; a documented list item must match some answered item
  (lists are read by content, in any order, also in ``exact``);
- ``shape``: member names and JSON types only.

A placeholder (``{conversationId}``) stands for any value, or for the value the replay bound to it (redirect URI,
state, ids it created). Bodies are also validated against the OpenAPI response schemas.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from typing import Any

import platform_mock_helpers as h
import pytest
import requests

from voicekit.corpus import Corpus
from voicekit.replay import Bindings, Form, compare_forms, forms_of
from voicekit.replay.strategies import PLATFORM, compare_location

FIXTURES = sorted((f for f in Corpus().fixtures if f.system == "platform"), key=lambda f: f.id)
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


# ---- comparison: the one engine (voicekit.replay, Platform strategy) ---------------------------------------
def problems(forms: list[Form], actual: Any, mode: str, values: dict[str, str]) -> list[str]:
    """Differences from the documented form (or one of its alternatives); placeholders bind into ``values``."""
    bindings = Bindings.with_named(values)
    found, _form = compare_forms(forms, actual, match=mode, bindings=bindings, strategy=PLATFORM)
    if not found:
        values.update(bindings.named)
    return [str(p) for p in found]


def header_problems(name: str, template: str, actual: str | None, values: dict[str, str]) -> list[str]:
    if actual is None:
        return [f"the {name} header is missing"]
    if name.lower() == "location":
        return compare_location(template, actual, values)
    return problems([Form(template)], actual, "exact", values)


# ---- sending ---------------------------------------------------------------------------------------------------
def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value == "Basic {base64(clientId:clientSecret)}":
            return h.basic(values["clientId"], values["clientSecret"])
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


class Replay:
    """One fixture's replay: bound placeholder values, supplied bodies, expected statuses."""

    def __init__(self, live: h.LiveServer) -> None:
        self.live = live
        self.values: dict[str, str] = {"redirectUri": h.REDIRECT, "state": "voicekit-state"}
        self.bodies: dict[int, Any] = {}  # step index → body supplied where the fixture shows none
        self.statuses: dict[int, int] = {}  # step index → status decided where the fixture says null
        self.before: dict[int, Callable[[], None]] = {}
        self.after: Callable[[], None] | None = None

    def send(self, index: int, request: dict[str, Any]) -> requests.Response:
        if index in self.before:
            self.before[index]()
        headers = fill(dict(request.get("headers") or {}), self.values)
        path = fill(request["path"], self.values)
        if path.startswith("/api/v2/") and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.values['agentUserToken']}"  # given: the agent's user token
        kwargs: dict[str, Any] = {"params": fill(request.get("query"), self.values), "headers": headers}
        if "form" in request:
            kwargs["data"] = fill(request["form"], self.values)
        elif "body" in request:
            kwargs["json"] = fill(request["body"], self.values)
        elif index in self.bodies:
            kwargs["json"] = self.bodies[index]
        return requests.request(request["method"], self.live.host + path, timeout=10, allow_redirects=False, **kwargs)

    # ---- given: tokens and calls ----------------------------------------------------------------------------
    def user_token(self, user_id: str, client_id: str = h.APP_CLIENT) -> str:
        return self.live.token(user_id, client_id)

    def oauth_cc_token(self) -> str:
        response = requests.post(
            f"{self.live.host}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": h.basic(h.CC_CLIENT, h.CC_SECRET)},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def code(self, **extra: str) -> str:
        response = requests.get(
            f"{self.live.host}/oauth/authorize",
            allow_redirects=False,
            timeout=10,
            params={"response_type": "code", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT, **extra},
        )
        assert response.status_code == 302, response.text
        return h.location_params(response.headers["Location"])["code"]

    def alerting(self, user_id: str, *, acd: bool = False) -> None:
        if acd:
            response = self.live.control(
                "POST", f"/platform/queues/{h.SUPPORT}/calls", {"from": "+15551234567", "userId": user_id}
            )
            assert response.status_code == 201, response.text
            delivered = response.json()
        else:
            delivered = self.live.inbound(user_id, "+15551234567")
        self.values.update(conversationId=delivered["conversationId"], participantId=delivered["participantId"])

    def state_of(self, user_id: str) -> str:
        view = self.live.control("GET", f"/platform/conversations/{self.values['conversationId']}").json()
        return next(p["state"] for p in view["call"]["participants"] if p.get("user", {}).get("id") == user_id)


def _ended(live: h.LiveServer, token: str, conversation_id: str) -> bool:
    view = live.api("GET", f"/api/v2/conversations/calls/{conversation_id}", token).json()
    return {p["state"] for p in view["participants"]} == {"disconnected"}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached in {timeout} s: {what}"
        time.sleep(0.05)


# ---- given, per fixture -------------------------------------------------------------------------------------------
def setup(fixture_id: str, r: Replay) -> None:
    v = r.values
    name = fixture_id.removeprefix("platform.")
    if name in ("auth.client-credentials-token-python", "auth.client-credentials-token-node"):
        v.update(clientId=h.CC_CLIENT, clientSecret=h.CC_SECRET)
    elif name in ("auth.implicit-grant-authorize", "auth.authorization-code-authorize"):
        v.update(clientId=h.APP_CLIENT)
    elif name == "auth.authorization-code-token":
        v.update(clientId=h.APP_CLIENT, clientSecret=h.APP_SECRET, code=r.code())
    elif name == "auth.pkce-token":
        v.update(clientId=h.APP_CLIENT, code=r.code(code_challenge=h.CHALLENGE, code_challenge_method="S256"))
    elif name == "auth.saml2-bearer-token":
        v.update(
            clientId=h.SSO_CLIENT,
            clientSecret=h.SSO_SECRET,
            orgName="voicekit",
            base64SamlAssertion=h.saml_assertion("alice@voicekit.example"),
        )
    elif name == "auth.client-credentials-make-call-refused":
        v["clientCredentialsToken"] = r.oauth_cc_token()
        r.bodies[0] = {"phoneNumber": "+15551234567"}
    elif name == "auth.client-credentials-answer-refused":
        r.alerting(h.CAROL)
        v["clientCredentialsToken"] = r.oauth_cc_token()
        r.bodies[0] = {"state": "connected"}
        r.after = lambda: _assert_state(r, h.CAROL, "alerting")
    elif name == "auth.token-not-participant-answer-refused":
        r.alerting(h.CAROL)
        v["otherUserToken"] = r.user_token(h.DAVE)
        r.bodies[0] = {"state": "connected"}
        r.after = lambda: _assert_state(r, h.CAROL, "alerting")
    elif name in ("calls.answer-participant", "conversations.answer-participant"):
        r.alerting(h.CAROL, acd=True)  # a managed phone: answering remotely is supported
        v["agentUserToken"] = r.user_token(h.CAROL)
        r.statuses[0] = 202  # E418
        r.after = lambda: _assert_state(r, h.CAROL, "connected")
    elif name == "calls.answer-without-persistent-connection":
        v["agentUserToken"] = r.user_token(h.ALICE)  # WebRTC, no active persistent connection
        r.before[0] = lambda: r.alerting(h.ALICE, acd=True)
    elif name == "calls.callback-place-call":
        created = r.live.control("POST", f"/platform/users/{h.CAROL}/callbacks", {"numbers": ["+15551234567"]})
        v.update(conversationId=created.json()["conversationId"], agentUserToken=r.user_token(h.CAROL))
        r.statuses[0] = 200
    elif name == "calls.complete-example":
        v.update(
            clientId=h.CC_CLIENT, clientSecret=h.CC_SECRET, callerUserId=h.CAROL, callerUserToken=r.user_token(h.CAROL)
        )

        def with_user_token() -> None:  # step 4: reached only when step 3 ran with the caller's user token
            made = r.live.api(
                "POST", "/api/v2/conversations/calls", v["callerUserToken"], json={"phoneNumber": "+15551234567"}
            )
            assert made.status_code == 200, made.text
            v["conversationId"] = made.json()["id"]

        r.before[3] = with_user_token
    elif name == "calls.force-disconnect-sample":
        r.live.settings(forceDisconnectSilenceSeconds=0.2)
        v["agentUserToken"] = r.user_token(h.ALICE)
        r.statuses[0] = 200  # E402
        r.after = lambda: _force_disconnect_after(r)
    elif name in ("calls.make-call-listing-python", "calls.make-call-listing-node", "calls.make-call-response"):
        v["callerUserToken"] = r.user_token(h.CAROL)
        r.bodies[0] = {"phoneNumber": "+15551234567"}
    elif name == "calls.make-call":
        v["agentUserToken"] = r.user_token(h.CAROL)
        r.statuses[0] = 200
        r.bodies[0] = {"callUserId": h.DAVE}
        r.after = lambda: _other_destinations(r)
    elif name == "calls.monitor-call-listing":
        v["callerUserToken"] = r.user_token(h.CAROL)
        made = r.live.api(
            "POST", "/api/v2/conversations/calls", v["callerUserToken"], json={"phoneNumber": "+15551234567"}
        )
        v["conversationId"] = made.json()["id"]
    elif name == "conversations.persistent-connection-no-conversation":
        r.live.settings(forceDisconnectSilenceSeconds=0.2)
        token = v["agentUserToken"] = r.user_token(h.ALICE)
        made = r.live.api(
            "POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "ForceDisconnect@localhost"}
        )
        wait_until(lambda: _ended(r.live, token, made.json()["id"]), "the ForceDisconnect call ended")
        assert r.live.user(h.ALICE)["phone"]["persistentActive"] is True
        r.statuses[0] = 200
    elif name == "errors.invalid-phone-number":
        v["callerUserToken"] = r.user_token(h.CAROL)
        r.bodies[0] = {"phoneNumber": "(415) 555-2671"}
    elif name == "errors.missing-scope":
        v["callerUserTokenWithoutScope"] = r.user_token(h.CAROL, h.LIMITED_CLIENT)
        r.bodies[0] = {"phoneNumber": "+14155552671"}
    elif name == "errors.rate-limited":
        r.live.settings(rateLimit=1)
        token = v["callerUserToken"] = r.user_token(h.CAROL)
        first = r.live.api("POST", "/api/v2/conversations/calls", token, json={"phoneNumber": "+14155552671"})
        assert first.status_code == 200
        r.bodies[0] = {"phoneNumber": "+14155552671"}
    elif name == "errors.user-not-in-valid-state":
        v["callerUserToken"] = r.user_token(h.GRACE)  # Offline in the seed
        r.bodies[0] = {"phoneNumber": "+14155552671"}
    elif name == "users.check-user-listing":
        v.update(userId=h.CAROL, accessToken=r.oauth_cc_token())
    else:
        pytest.fail(f"no replay set-up for {fixture_id}: add one")


def _assert_state(r: Replay, user_id: str, state: str) -> None:
    assert r.state_of(user_id) == state


def _force_disconnect_after(r: Replay) -> None:
    token = r.values["agentUserToken"]
    wait_until(lambda: _ended(r.live, token, r.values["conversationId"]), "the flow disconnected the call")
    assert r.live.user(h.ALICE)["phone"]["persistentActive"] is True
    assert r.live.api("GET", "/api/v2/conversations", token).json()["entities"] == []


def _other_destinations(r: Replay) -> None:
    """The document's other two kinds of destination: an ACD queue and an external number."""
    for body in ({"callQueueId": h.SUPPORT}, {"phoneNumber": "+15551234567"}):
        made = r.live.api("POST", "/api/v2/conversations/calls", r.values["agentUserToken"], json=body)
        assert made.status_code == 200 and made.json()["id"], made.text


# ---- the replay ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.id for f in FIXTURES])
def test_fixture_replays_against_the_mock(live, fixture):
    r = Replay(live)
    setup(fixture.id, r)
    for index, (label, step) in enumerate(fixture.exchanges()):
        request = step.get("request")
        if request is None:
            if index in r.before:
                r.before[index]()
            continue
        response = r.send(index, request)
        expected = step.get("response") or {}
        status = expected.get("status") or r.statuses.get(index)
        assert status is not None, f"{fixture.id} {label}: no status documented and none decided"
        assert response.status_code == status, f"{fixture.id} {label}: {response.status_code} {response.text[:500]}"
        body = response.json() if response.content else None
        schema = h.response_problems(request["method"], request["path"], response.status_code, body)
        assert schema == [], f"{fixture.id} {label}: {schema}"
        mode = expected.get("match", "exact")
        for name, value in (expected.get("headers") or {}).items():
            found = header_problems(name, str(value), response.headers.get(name), r.values)
            assert found == [], f"{fixture.id} {label}: header {name}: {found}"
        if "body" in expected:
            found = problems(forms_of(expected, "body"), body, mode, r.values)
            assert found == [], f"{fixture.id} {label}: {found}\n{h.dumps(body)}"
        elif status == 202:
            assert response.content == b""
    if r.after is not None:
        r.after()


def test_placeholder_matching_can_fail():
    values = {"redirectUri": h.REDIRECT, "state": "s"}
    assert problems([Form({"id": "{x}"})], {"id": [5]}, "shape", values)
    assert problems([Form({"code": "bad.request"})], {"code": "invalid.value"}, "subset", values)
    assert problems([Form([{"state": "alerting"}])], [{"state": "connected"}], "subset", values)
    assert problems([Form({"state": "{state}"})], {"state": "other"}, "exact", values)
    location = f"{h.REDIRECT}#access_token=a&state=x"
    assert header_problems("Location", "{redirectUri}#access_token={t}&state={state}", location, values)
    assert base64.b64decode(h.saml_assertion("a@b")).startswith(b"<saml2:Assertion")
