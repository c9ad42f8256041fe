"""Replay of the documented Platform samples (``fixtures/platform/``, seeds 000 and 001), profile
``platform-samples``: one test per fixture. Each documented request is sent over the wire with the target's own
identities, and the answer compared with what the fixture records.

Why a replay of its own: the GWS replay engine (``conformance/replay``) speaks GWS sessions and CometD; a Platform
sample is one or a few bearer-token requests whose preconditions — a call alerting at the agent, a callback, a
caller on Break, a token of a narrow OAuth client — are built with the Platform kit of ``test_rules_platform.py``
(its lab for what only the control API can cause; not run without one, with the reason).

How a fixture is replayed:

* **Placeholders** (``{agentUserToken}``, ``{conversationId}``, ``{base64(clientId:clientSecret)}``…) are bound to
  the target's values: tokens from real grants, ids from the preconditions; a placeholder first seen in a response
  (``{clientCredentialsToken}`` of the complete example's first step) is bound there and used by the next steps.
* **Bodies the document does not print** come from the fixture's ``given`` ("a replay sends e.g. …") or from the
  decision its errata record (:data:`DECIDED_BODIES`, each with its reason).
* **Status**: the documented one; where the document shows none, or shows a success the SDK accepts in a range
  (E402, E418: ``x-voicekit-accept-status`` of the operation), any status of that range.
* **Body**: the one comparison of ``voicekit.replay`` with the Platform strategy — ``exact`` and ``subset``
  compare the documented members by value (lists in any order), ``shape`` by member name and JSON type; the
  fixture's ``alternatives`` (the printed form where the fixture repaired a value) are accepted too; errors
  compare only the ErrorBody ``code`` and ``status`` (match subset) — their texts are the errata's choice, not
  the document's. E454: the documented agent participant of a direct (non-ACD) call may have purpose ``user``.
* **Code listings** whose every request another fixture already replays (001's Node listings repeat the Python
  ones) are not run, naming the fixtures that cover them.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from conformance.checks import expect
from conformance.config import OAuthClient
from conformance.errors import VoicekitError
from conformance.failures import ConformanceFailure, Evidence
from conformance.loading import default_contracts, default_corpus
from conformance.outcomes import not_run
from conformance.support.lab import MANAGED, WEBRTC
from conformance.support.platform import EXTERNAL, basic, ended, leg, note, pkce_challenge, state_of
from conformance.support.platform_kit import Actor, PlatformKit
from conformance.transport.http import HttpResponse
from voicekit.corpus import Fixture
from voicekit.replay import Bindings, Form, compare_forms, forms_of
from voicekit.replay.strategies import PLATFORM, compare_location

PROFILE = "platform-samples"
WHOLE = re.compile(r"^\{([A-Za-z][A-Za-z0-9_]*)\}$")
ANY = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")
BASIC = re.compile(r"^Basic \{base64\((\w+):(\w+)\)\}$")
GIVEN_BODY = re.compile(r"a replay sends e\.g\. (\{.*?\})")
OAUTH_CLIENT_KEYS = ("clientId", "clientSecret")

#: Request bodies decided where the fixture prints none and its ``given`` names none: (body, why).
DECIDED_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "platform.auth.client-credentials-answer-refused": (
        {"state": "connected"},
        "the answer body of 000 l.42-44; E400: refused before the body is read",
    ),
    "platform.auth.token-not-participant-answer-refused": (
        {"state": "connected"},
        "the answer body of 000 l.42-44; E407: refused before the body is read",
    ),
    "platform.auth.client-credentials-make-call-refused": (
        {"phoneNumber": EXTERNAL},
        "the fixture's notes: any Make Call body gets the refusal (E400)",
    ),
    "platform.calls.make-call-response": (
        {"phoneNumber": EXTERNAL},
        "the body of the listings this fragment answers (001 l.101, E401)",
    ),
    "platform.calls.make-call": (
        {"phoneNumber": EXTERNAL},
        "an external number, one of the destinations the notes list (E401)",
    ),
}


# ---- which fixtures, and which are covered by others -------------------------------------------------------------
def platform_fixtures() -> list[Fixture]:
    return [f for f in default_corpus().fixtures if f.system == "platform"]


def _auth_kind(request: dict[str, Any]) -> str:
    header = next((str(v) for k, v in (request.get("headers") or {}).items() if k.lower() == "authorization"), "")
    if header.startswith("Basic"):
        return "basic"
    if "clientCredentials" in header:
        return "client-credentials"
    return "user" if header or str(request.get("path", "")).startswith("/api/") else "none"


def signature(request: dict[str, Any]) -> str:
    """What makes two documented requests the same SDK call: method, path template, query names, form and body as
    documented, kind of credential (placeholder names do not count)."""
    return ANY.sub(
        "{}",
        json.dumps(
            {
                "method": request.get("method"),
                "path": request.get("path"),
                "query": sorted(request.get("query") or {}),
                "form": request.get("form"),
                "body": request.get("body"),
                "auth": _auth_kind(request),
            },
            sort_keys=True,
        ),
    )


def covered_listings(fixtures: list[Fixture]) -> dict[str, list[str]]:
    """Code listings whose every request an earlier fixture sends (samples first, then listings in document
    order): listing id → the fixtures that cover it."""
    order = sorted(fixtures, key=lambda f: (f.data.get("kind") == "code-listing", f.document, f.lines, f.id))
    seen: dict[str, str] = {}
    covered: dict[str, list[str]] = {}
    for fixture in order:
        signatures = [signature(step["request"]) for _, step in fixture.exchanges() if "request" in step]
        if fixture.data.get("kind") == "code-listing" and signatures and all(s in seen for s in signatures):
            covered[fixture.id] = sorted({seen[s] for s in signatures})
        for sig in signatures:
            seen.setdefault(sig, fixture.id)
    return covered


def _params() -> list[Any]:
    params = []
    for fixture in platform_fixtures():
        marks = [
            pytest.mark.vk_profile(PROFILE),
            pytest.mark.vk_fixture_id(fixture.id),
            pytest.mark.vk_rule(
                f"SAMPLE-{fixture.id}",
                document=fixture.document,
                lines=fixture.lines,
                title=str(fixture.data.get("title")),
            ),
        ]
        if fixture.operations:
            marks.append(pytest.mark.vk_operations(*fixture.operations))
        params.append(pytest.param(fixture, id=fixture.id, marks=marks))
    return params


# ---- the replay --------------------------------------------------------------------------------------------------
class PlatformReplay:
    """One fixture against the target: preconditions, bindings, requests, comparison."""

    def __init__(self, fixture: Fixture, kit: PlatformKit) -> None:
        self.fixture = fixture
        self.kit = kit
        self.values: dict[str, str] = {}
        self.oauth: tuple[str, str | None] | None = None  # the OAuth client of {clientId}/{clientSecret}
        self.mismatches: list[str] = []

    # -- preconditions (the fixture's ``given``)
    @property
    def agent(self) -> Actor:
        return self.kit.user(0)

    def prepare(self) -> None:
        """Build the state the fixture's ``given`` describes."""
        recipe = PREPARE.get(self.fixture.id)
        if recipe is not None:
            recipe(self)

    def ring(self, kind: str | None) -> None:
        """A call alerts at the agent (on a phone of ``kind`` that answers remotely, when given)."""
        if kind is not None:
            self.kit.lab.phone(self.agent.user_id, kind)
        self.values["conversationId"], self.values["participantId"] = self.kit.ringing_call(self.agent)

    def webrtc(self, active: bool = False) -> None:
        self.kit.lab.phone(self.agent.user_id, WEBRTC, persistent=True, allow_placing=True, active=active)

    def webrtc_if_possible(self) -> None:
        if self.kit.lab.available:
            self.webrtc()

    def call_ended(self) -> None:
        """The agent's last call ended; the persistent connection's timeout has not elapsed (E410)."""
        self.webrtc()
        watcher = self.agent.watch()
        conversation_id = self.agent.make_call({"phoneNumber": EXTERNAL})
        watcher.await_call(
            conversation_id,
            lambda b: state_of(b, user_id=self.agent.user_id) == "connected",
            "the agent's call connects",
        )
        self.kit.lab.remote_hangup(conversation_id)
        watcher.await_call(conversation_id, ended, "the customer hangs up")

    def callback(self) -> None:
        self.kit.lab.require("a callback conversation")
        self.kit.lab.phone(self.agent.user_id, MANAGED)
        self.values["conversationId"] = self.kit.lab.callback(self.agent.user_id, [EXTERNAL])

    def rate_limit_reached(self) -> None:
        self.kit.lab.require("a Make Call rate limit the suite can reach")
        self.kit.lab.settings(rateLimit=1, rateLimitWindowSeconds=60)
        self.agent.make_call({"phoneNumber": EXTERNAL})

    def presence(self, name: str) -> None:
        definitions = self.agent.presence_definitions()
        if name not in definitions:
            not_run(f"the organization has no {name} presence definition")
        original = self.agent.presence()
        self.kit.undo(lambda: self.agent.set_presence(original))
        self.agent.set_presence(definitions[name])

    def narrow_token(self) -> None:
        """A user token of an OAuth client without the conversations scope (E413)."""
        self.values["callerUserTokenWithoutScope"] = self.kit.narrow_token(0)

    def login(self) -> None:
        """The agent logs in on the authorization page (E457: the control API names who)."""
        self.kit.lab.require("logging the agent in on the authorization page")
        user = self.kit.platform_user(0)
        self.kit.lab.login_as(user.user_id or str(user.username))

    def code(self, pkce: bool) -> None:
        """An authorization code of the agent (with the S256 challenge of the fixture's verifier for PKCE)."""
        self.login()
        client = self.code_client()
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": str(client.redirect_uri),
            "state": secrets.token_hex(8),
        }
        if pkce:
            verifier = str(self.fixture.data["request"]["form"]["code_verifier"])
            params.update(code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
        self.values["code"] = self.kit.authorize(params)["code"]

    def saml(self) -> None:
        """An SSO client with the SAML2 bearer grant and an assertion naming the agent (E457: trusted, unsigned)."""
        client_id, secret, self.values["orgName"], self.values["base64SamlAssertion"] = self.kit.saml_setup(0)
        self.oauth = (client_id, secret)

    def code_client(self) -> OAuthClient:
        client = self.kit.config.platform.code_client
        if client is None or not client.redirect_uri:
            not_run("no authorization-code client (platform.code_client)")
        return client

    # -- bindings
    def value(self, name: str) -> str:
        if name not in self.values:
            self.values[name] = self.resolve(name)
        return self.values[name]

    def resolve(self, name: str) -> str:
        """The target's value of a placeholder nobody bound yet."""
        if name in OAUTH_CLIENT_KEYS:
            client_id, secret = self.oauth_client()
            if name == "clientSecret" and not secret:
                not_run("the OAuth client of this sample has no secret in the configuration")
            return client_id if name == "clientId" else str(secret)
        if name == "redirectUri":
            return str(self.code_client().redirect_uri)
        if name == "state":
            return secrets.token_hex(8)
        if name == "clientCredentialsToken":
            return self.kit.cc_token()
        if name in ("agentUserToken", "callerUserToken", "accessToken"):
            return self.agent.token
        if name == "otherUserToken":
            return self.kit.user(1).token
        if name in ("userId", "callerUserId"):
            return self.agent.user_id
        if name == "conversationId":  # a call the agent made (the listings read it back)
            if self.kit.lab.available:
                self.kit.lab.phone(self.agent.user_id, MANAGED)
            return self.agent.make_call({"phoneNumber": EXTERNAL})
        if name == "participantId":
            found = leg(self.agent.call(self.value("conversationId")), user_id=self.agent.user_id)
            if found is None:
                raise VoicekitError("the agent has no participant to bind {participantId} to")
            return str(found["id"])
        raise VoicekitError(f"{self.fixture.id}: no binding for the placeholder {{{name}}}")

    def oauth_client(self) -> tuple[str, str | None]:
        if self.oauth is None:
            form = (self.fixture.data.get("request") or {}).get("form") or {}
            grants = {
                str((step.get("request") or {}).get("form", {}).get("grant_type"))
                for _, step in self.fixture.exchanges()
            } | {str(form.get("grant_type"))}
            if "client_credentials" in grants:
                cc = self.kit.config.platform.client_credentials
                if cc is None:
                    not_run("no client-credentials client (platform.client_credentials)")
                self.oauth = (cc.client_id, cc.client_secret)
            else:
                client = self.code_client()
                self.oauth = (client.client_id, client.client_secret)
        return self.oauth

    def fill(self, value: Any) -> Any:
        """A documented value with its placeholders replaced."""
        if isinstance(value, str):
            return ANY.sub(lambda m: self.value(m.group(1)), value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    # -- one exchange
    def run(self) -> None:
        self.prepare()
        for label, step in self.fixture.exchanges():
            if "trigger" in step:
                self.trigger(step["trigger"])
            if "request" in step:
                self.check(label, step, self.send(step))
        if self.mismatches:
            raise ConformanceFailure(
                f"{self.fixture.id}: {len(self.mismatches)} difference(s) from the documented "
                f"sample — {self.mismatches[0]}",
                title="Documented sample not reproduced",
                evidence=Evidence(
                    fixture=self.fixture.id,
                    document=self.fixture.document,
                    lines=self.fixture.lines,
                    details=self.mismatches[1:],
                ),
            )

    def trigger(self, trigger: dict[str, Any]) -> None:
        if trigger.get("event") != "inbound-call":
            raise VoicekitError(f"{self.fixture.id}: unknown trigger {trigger}")
        self.values["conversationId"], self.values["participantId"] = self.kit.ringing_call(self.agent)

    def send(self, step: dict[str, Any]) -> HttpResponse:
        request = step["request"]
        method, path = str(request["method"]), str(self.fill(request["path"]))
        headers: dict[str, str] = {}
        for name, value in (request.get("headers") or {}).items():
            if name.lower() == "authorization":
                headers["Authorization"] = self.authorization(str(value))
        if path.startswith("/api/") and "Authorization" not in headers:  # the agent's own request (given)
            headers["Authorization"] = f"Bearer {self.agent.token}"
        query = self.fill(request.get("query")) or None
        form = self.fill(request.get("form"))
        body = self.fill(request.get("body"))
        if body is None and form is None and method in ("POST", "PUT", "PATCH") and path.startswith("/api/"):
            body = self.decided_body()
        client = self.kit.login if path.startswith("/oauth/") else self.kit.make_client(None)
        return client.request(method, path, params=query, data=form, json=body, headers=headers)

    def authorization(self, value: str) -> str:
        match = BASIC.match(value)
        if match:
            return basic(self.value(match.group(1)), self.value(match.group(2)))
        return str(self.fill(value))

    def decided_body(self) -> Any:
        for given in self.fixture.data.get("given") or []:
            found = GIVEN_BODY.search(str(given))
            if found:
                return json.loads(found.group(1))
        decided = DECIDED_BODIES.get(self.fixture.id)
        if decided is None:
            raise VoicekitError(f"{self.fixture.id}: the document prints no body and no decision supplies one")
        note(f"request body {json.dumps(decided[0])}: {decided[1]}")
        return decided[0]

    # -- comparison
    def statuses(self, documented: int | None, response: HttpResponse) -> set[int]:
        contracts = default_contracts()
        op = contracts.find_operation("platform", response.method, response.path.split("?", 1)[0])
        accept = set(contracts.operation_object(op).get("x-voicekit-accept-status") or []) if op else set()
        if documented is None:
            declared = {int(s) for s in (contracts.declared_statuses(op) if op else []) if s.isdigit()}
            return accept or {s for s in declared if 200 <= s < 300} or {200}
        if 200 <= documented < 300 and accept:
            return accept | {documented}
        return {documented}

    def check(self, label: str, step: dict[str, Any], response: HttpResponse) -> None:
        documented = step.get("response") or {}
        status = documented.get("status")
        allowed = set().union(*(self.statuses(f.status, response) for f in forms_of(documented, "body")))
        if response.status not in allowed:
            self.mismatches.append(
                f"{label}: {response.method} {response.path} answered {response.status}, "
                f"expected {status if status is not None else sorted(allowed)} "
                f"({response.text[:200]!r})"
            )
            return
        try:
            expect(response, "not_server_error", "platform_error_body", "response_schema", status=sorted(allowed))
        except ConformanceFailure as failure:
            self.mismatches.append(f"{label}: {failure.message}")
        for name, template in (documented.get("headers") or {}).items():
            actual = response.headers.get(name)
            if actual is None:
                self.mismatches.append(f"{label}: the {name} header is missing")
            elif name.lower() == "location":
                self.mismatches += [f"{label}: {p}" for p in compare_location(str(template), actual, self.values)]
            else:
                self.compare([Form(template)], actual, "subset", f"{label}: header {name}")
        if documented.get("body") is None:
            return
        match = str(documented.get("match") or "exact")
        forms = forms_of(documented, "body")
        if response.status >= 400:  # errors: the ErrorBody's code and status only
            forms = [
                Form({k: f.value[k] for k in ("code", "status") if k in f.value}, f.status, f.reading) for f in forms
            ]
            match = "subset"
        self.compare(forms, response.json_or_none(), match, f"{label}: body")

    def compare(self, forms: list[Form], actual: Any, match: str, where: str) -> None:
        """The one comparison (Platform strategy); placeholders bind into ``values`` for the next steps."""
        bindings = Bindings.with_named(self.values)
        problems, _form = compare_forms(forms, actual, match=match, bindings=bindings, strategy=PLATFORM)
        self.values.update(bindings.named)
        self.mismatches.extend(f"{where}: {p}" for p in problems)


#: What each fixture's ``given`` needs before its request (the others need only their bindings).
PREPARE: dict[str, Any] = {
    "platform.calls.answer-participant": lambda r: r.ring(MANAGED),
    "platform.conversations.answer-participant": lambda r: r.ring(MANAGED),
    "platform.auth.client-credentials-answer-refused": lambda r: r.ring(None),
    "platform.auth.token-not-participant-answer-refused": lambda r: r.ring(None),
    "platform.calls.answer-without-persistent-connection": lambda r: r.webrtc(active=False),
    "platform.calls.callback-place-call": lambda r: r.callback(),
    "platform.calls.force-disconnect-sample": lambda r: r.webrtc_if_possible(),
    "platform.conversations.persistent-connection-no-conversation": lambda r: r.call_ended(),
    "platform.errors.rate-limited": lambda r: r.rate_limit_reached(),
    "platform.errors.user-not-in-valid-state": lambda r: r.presence("Offline"),
    "platform.errors.missing-scope": lambda r: r.narrow_token(),
    "platform.auth.saml2-bearer-token": lambda r: r.saml(),
    "platform.auth.authorization-code-authorize": lambda r: r.login(),
    "platform.auth.implicit-grant-authorize": lambda r: r.login(),
    "platform.auth.authorization-code-token": lambda r: r.code(pkce=False),
    "platform.auth.pkce-token": lambda r: r.code(pkce=True),
}


@pytest.mark.parametrize("fixture", _params())
def test_documented_sample(fixture: Fixture, plat: PlatformKit) -> None:
    covered = covered_listings(platform_fixtures()).get(fixture.id)
    if covered:
        not_run(f"a code listing whose SDK calls other fixtures already replay: {', '.join(covered)}")
    PlatformReplay(fixture, plat).run()
