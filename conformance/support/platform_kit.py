"""The Platform clients of the families: :class:`PlatformKit` (the logins, clients, watchers, lab and undo list of
one test), :class:`Actor` (a configured user with a user token) and :class:`Watcher` (a notification channel).

Why a kit per test: Platform tokens are real OAuth tokens (a configured ``platform.users[i].token``, else the
authorization-code or PKCE grant of ``platform.code_client``, whose login page only the control API can fill in,
E457); state is awaited on a notification channel, never slept for, then read back with GET; and what a test
changed is undone after it — through the control API's reset when the lab changed anything, else through the
Platform API (:meth:`PlatformKit.undo`).
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.checks import expect
from conformance.config import OAuthClient, PlatformUser
from conformance.events import EventFailed
from conformance.evidence import step
from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run
from conformance.support.lab import PlatformLab
from conformance.support.platform import (
    QUIET,
    SAML2_GRANT,
    basic,
    expect_accepted,
    leg,
    participant_path,
    pkce_pair,
    state_of,
    summary,
    validated_message,
)
from conformance.target import RunningTarget
from conformance.transport.http import HttpClient, HttpResponse
from conformance.transport.ws import WsClient

__all__ = ["Actor", "PlatformKit", "Watcher", "is_heartbeat", "require_phone"]


# ---- notifications -------------------------------------------------------------------------------------------------
class Watcher:
    """A notification channel of one user, its WebSocket open, subscribed to ``topics`` (default: the user's calls
    and presence). Every message awaited through it is validated against the AsyncAPI contract."""

    def __init__(self, kit: PlatformKit, actor: Actor, topics: list[str] | None = None) -> None:
        self.kit = kit
        self.actor = actor
        response = actor.client.post("/api/v2/notifications/channels")
        self.channel: dict[str, Any] = expect(response, status=200)
        config = kit.config
        self.ws = WsClient(
            str(self.channel["connectUri"]),
            timeout=config.timeouts.request,
            notification_timeout=config.timeouts.notification,
            verify=config.ssl_verify(),
            transport="platform-ws",
            channel_key="topicName",
            name=actor.name,
        )
        self.ws.open()
        self.topics = topics if topics is not None else [actor.calls_topic, actor.presence_topic]
        if self.topics:
            self.subscribe(self.topics)

    @property
    def channel_id(self) -> str:
        return str(self.channel["id"])

    def subscribe(self, topics: list[str], method: str = "PUT") -> list[dict[str, Any]]:
        response = self.actor.client.request(
            method, f"/api/v2/notifications/channels/{self.channel_id}/subscriptions", json=[{"id": t} for t in topics]
        )
        body = expect(response, status=200)
        return list(body.get("entities") or [])

    def await_topic(
        self,
        topic: str,
        predicate: Callable[[Any], bool],
        description: str,
        *,
        message: str = "ConversationCallsEvent",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        found = self.ws.await_message(
            lambda m: m["topicName"] == topic and predicate(m["eventBody"]), timeout, description
        )
        validated: dict[str, Any] = validated_message(found, message)
        return validated

    def await_call(
        self, conversation_id: str, predicate: Callable[[Any], bool], description: str, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The eventBody of the first ``v2.users.{id}.conversations.calls`` message of this conversation that
        ``predicate`` accepts (within ``timeout``, default the notification timeout)."""
        message = self.await_topic(
            self.actor.calls_topic,
            lambda b: b["id"] == conversation_id and predicate(b),
            f"{self.actor.name}: {description}",
            timeout=timeout,
        )
        body: dict[str, Any] = message["eventBody"]
        return body

    def expect_no_call(self, conversation_id: str, predicate: Callable[[Any], bool], description: str) -> None:
        topic = self.actor.calls_topic
        self.ws.expect_none(
            lambda m: m["topicName"] == topic and m["eventBody"]["id"] == conversation_id and predicate(m["eventBody"]),
            QUIET,
            f"{self.actor.name}: {description}",
        )

    def seen(self, conversation_id: str, predicate: Callable[[Any], bool]) -> bool:
        """Whether any message received so far (consumed or not) of this conversation matches."""
        for message in self.ws.messages:
            try:
                if (
                    message["topicName"] == self.actor.calls_topic
                    and message["eventBody"]["id"] == conversation_id
                    and predicate(message["eventBody"])
                ):
                    return True
            except (KeyError, TypeError):
                continue
        return False

    def await_target_seconds(self, seconds: float, interval: float) -> None:
        """Let at least ``seconds`` pass on the target's own clock: heartbeats come every ``interval`` (set short
        through the lab), so ``ceil(seconds / interval) + 1`` new ones span more than ``seconds``."""
        stale = sum(1 for m in self.ws.inbox.pending if is_heartbeat(m))
        if stale:
            self.ws.await_messages(stale, is_heartbeat, 0.1, "heartbeats received earlier")
        count = math.ceil(seconds / interval) + 1
        self.ws.await_messages(
            count,
            is_heartbeat,
            seconds + count * interval + self.kit.config.timeouts.notification,
            f"{count} heartbeats ({seconds:g} s on the target's clock)",
        )

    def close(self) -> None:
        self.ws.close()


def is_heartbeat(message: Any) -> bool:
    heartbeat: bool = (
        message.get("topicName") == "channel.metadata" and message.get("eventBody", {}).get("message") != "pong"
    )
    return heartbeat


# ---- users ---------------------------------------------------------------------------------------------------------
class Actor:
    """A configured Platform user with a user token: a bearer client, the user id, a notification watcher."""

    def __init__(self, kit: PlatformKit, index: int, token: str, user_id: str, client: HttpClient) -> None:
        self.kit = kit
        self.index = index
        self.token = token
        self.user_id = user_id
        self.client = client
        self.name = f"user {chr(ord('A') + index)}"
        self._watcher: Watcher | None = None

    @property
    def calls_topic(self) -> str:
        return f"v2.users.{self.user_id}.conversations.calls"

    @property
    def presence_topic(self) -> str:
        return f"v2.users.{self.user_id}.presence"

    def watch(self) -> Watcher:
        """This user's notification channel (opened once per test, before what it must see)."""
        if self._watcher is None:
            self._watcher = self.kit.watcher(self)
        return self._watcher

    # -- calls
    def make_call(self, body: dict[str, Any]) -> str:
        """POST /api/v2/conversations/calls as this user: 200–205 with a CreateCallResponse (E402, E403); the new
        conversation's id. The call is torn down after the test."""
        response = self.client.post("/api/v2/conversations/calls", json=body)
        created = expect_accepted(response, 200, "Make Call answers a CreateCallResponse (E402, E403)")
        conversation_id = str(created["id"])
        self.kit.undo(lambda: self.client.post(f"/api/v2/conversations/{conversation_id}/disconnect"))
        return conversation_id

    def call(self, conversation_id: str) -> dict[str, Any]:
        """GET /api/v2/conversations/calls/{id}: a CallConversation."""
        return dict(expect(self.client.get(f"/api/v2/conversations/calls/{conversation_id}"), status=200))

    def answer(self, conversation_id: str, participant_id: str, endpoint: str = "calls") -> HttpResponse:
        """PATCH participant {"state": "connected"} (000 l.42-44): accepted with 200–205, 202 expected (E418)."""
        response = self.client.patch(
            participant_path(endpoint, conversation_id, participant_id), json={"state": "connected"}
        )
        expect_accepted(response, 202, "an answer request is accepted (E418)")
        return response

    def hang_up(self, conversation_id: str, participant_id: str) -> None:
        response = self.client.patch(
            participant_path("calls", conversation_id, participant_id), json={"state": "disconnected"}
        )
        expect_accepted(response, 202, "a hang-up request is accepted (E418, E453)")

    def conversations(self) -> list[dict[str, Any]]:
        """GET /api/v2/conversations: the user's active conversations."""
        body = expect(self.client.get("/api/v2/conversations"), status=200)
        return list(body.get("entities") or [])

    # -- awaiting state
    def await_leg(self, conversation_id: str, participant_id: str, state: str, why: str) -> dict[str, Any]:
        """The participant reaches ``state``: notified, then confirmed by GET."""
        self.watch().await_call(
            conversation_id,
            lambda b: state_of(b, pid=participant_id) == state,
            f"participant {participant_id} {state} ({why})",
        )
        return self.confirm(conversation_id, participant_id, state, why)

    def confirm(self, conversation_id: str, participant_id: str, state: str, why: str) -> dict[str, Any]:
        body = self.call(conversation_id)
        if state_of(body, pid=participant_id) != state:
            raise ConformanceFailure(
                f"GET /api/v2/conversations/calls/{conversation_id} as {self.name}: participant "
                f"{participant_id} is {state_of(body, pid=participant_id)!r}, expected "
                f"{state!r} ({why}); participants: {summary(body)}"
            )
        return body

    def expect_unanswered(self, conversation_id: str, participant_id: str, why: str) -> dict[str, Any]:
        """The answer was not processed (E412): no notification shows the participant connected, GET still shows
        it alerting."""
        self.watch().expect_no_call(
            conversation_id,
            lambda b: state_of(b, pid=participant_id) == "connected",
            f"participant {participant_id} must not connect ({why})",
        )
        return self.confirm(conversation_id, participant_id, "alerting", why)

    # -- presence
    def presence_definitions(self) -> dict[str, str]:
        """systemPresence → definition id (GET /api/v2/presence/definitions, E420)."""
        body = expect(self.client.get("/api/v2/presence/definitions"), status=200)
        found: dict[str, str] = {}
        for item in body.get("entities") or []:
            found.setdefault(str(item.get("systemPresence")), str(item.get("id")))
        return found

    def set_presence(self, definition_id: str) -> dict[str, Any]:
        response = self.client.patch(
            f"/api/v2/users/{self.user_id}/presences/purecloud", json={"presenceDefinition": {"id": definition_id}}
        )
        return dict(expect(response, status=200))

    def presence(self) -> str:
        body = expect(self.client.get(f"/api/v2/users/{self.user_id}/presences/purecloud"), status=200)
        return str(body["presenceDefinition"]["id"])


# ---- the kit -------------------------------------------------------------------------------------------------------
class PlatformKit:
    """Everything a Platform test needs: logins, clients, watchers, the lab and the undo list of the test."""

    def __init__(self, target: RunningTarget, make_client: Callable[..., HttpClient], login: HttpClient) -> None:
        self.target = target
        self.config = target.config
        self.make_client = make_client
        self.login = login
        self.lab = PlatformLab(self.config)
        self._actors: dict[int, Actor] = {}
        self._watchers: list[Watcher] = []
        self._undo: list[Callable[[], Any]] = []

    # -- identities
    def platform_user(self, index: int) -> PlatformUser:
        users = self.config.platform.users
        if len(users) <= index:
            not_run(
                f"this test needs platform.users[{index}] ({index + 1} Platform users configured: {len(users)} are)"
            )
        return users[index]

    def user(self, index: int) -> Actor:
        """``platform.users[index]`` logged in (its configured token, else the authorization-code grant)."""
        if index not in self._actors:
            token = self.platform_user(index).token or self.grant_token(index)
            self._actors[index] = self.actor(index, token)
        return self._actors[index]

    def actor(self, index: int, token: str) -> Actor:
        """An actor for ``platform.users[index]`` with this token (its id from the configuration, else
        GET /api/v2/users/me)."""
        client = self.make_client(token)
        user_id = self.platform_user(index).user_id
        if not user_id:
            user_id = str(expect(client.get("/api/v2/users/me"), status=200)["id"])
        return Actor(self, index, token, user_id, client)

    def grant_token(self, index: int, grant: str | None = None, client: OAuthClient | None = None) -> str:
        """A user token of ``platform.users[index]`` from a real grant (``authorization_code``, ``pkce``,
        ``implicit`` of ``client``, default ``platform.code_client``; or ``saml2_bearer``). The login page and the
        identity provider are the control API's (E457): a vendor's need a person."""
        if grant == "saml2_bearer":
            return self.saml_token(index)
        user = self.platform_user(index)
        client = client or self.config.platform.code_client
        if client is None:
            not_run("no authorization-code client (platform.code_client) to log Platform users in")
        if grant is None:
            grant = "authorization_code" if client.client_secret else "pkce"
        if grant == "authorization_code" and not client.client_secret:
            not_run("the authorization-code grant needs platform.code_client.client_secret")
        self.lab.require(f"logging platform.users[{index}] in with the {grant} grant (a login page)")
        self.lab.login_as(user.user_id or str(user.username))
        assert client.redirect_uri
        state = secrets.token_hex(8)
        params = {
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "state": state,
            "response_type": "token" if grant == "implicit" else "code",
        }
        verifier = challenge = None
        if grant == "pkce":
            verifier, challenge = pkce_pair()
            params.update(code_challenge=challenge, code_challenge_method="S256")
        with step(f"log platform.users[{index}] in: {grant} grant"):
            values = self.authorize(params)
            if grant == "implicit":
                return values["access_token"]
            form = {"grant_type": "authorization_code", "code": values["code"], "redirect_uri": client.redirect_uri}
            headers = {}
            if grant == "pkce":
                form.update(code_verifier=str(verifier), client_id=client.client_id)
            else:
                headers["Authorization"] = basic(client.client_id, str(client.client_secret))
            body = expect(self.login.post("/oauth/token", data=form, headers=headers), status=200)
            return str(body["access_token"])

    def narrow_token(self, index: int) -> str:
        """A user token of ``platform.users[index]`` from an OAuth client of the lab whose scopes lack
        ``conversations`` (001 l.311-314 calls it conversation:call:create, E413)."""
        self.lab.require("a user token of an OAuth client without the conversations scope")
        code = self.config.platform.code_client
        if code is None or not code.redirect_uri:
            not_run("no authorization-code client (platform.code_client) to copy the redirect URI from")
        secret = secrets.token_urlsafe(16)
        created = self.lab.add_client(
            name="voicekit read-only",
            secret=secret,
            grants=["authorization_code"],
            redirectUris=[code.redirect_uri],
            scopes=["users:readonly", "presence:readonly", "notifications"],
        )
        return self.grant_token(index, "authorization_code", OAuthClient(str(created["id"]), secret, code.redirect_uri))

    def saml_setup(self, index: int) -> tuple[str, str, str, str]:
        """(client id, secret, orgName, base64 assertion) for a SAML2 bearer grant of ``platform.users[index]``: an
        SSO client of the lab, which trusts an unsigned assertion naming the user's email (E457)."""
        self.lab.require("a SAML2 identity provider (the lab's SSO client trusts unsigned assertions)")
        me = expect(self.user(index).client.get("/api/v2/users/me", params={"expand": "organization"}), status=200)
        email = me.get("email") or self.platform_user(index).username
        secret = secrets.token_urlsafe(16)
        created = self.lab.add_client(name="voicekit SSO", secret=secret, grants=["saml2_bearer"])
        xml = (
            '<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><saml2:Subject><saml2:NameID>'
            f"{email}</saml2:NameID></saml2:Subject></saml2:Assertion>"
        )
        org = str((me.get("organization") or {}).get("name") or "")
        return str(created["id"]), secret, org, base64.b64encode(xml.encode()).decode("ascii")

    def saml_token(self, index: int) -> str:
        """A user token from the SAML2 bearer grant (000 l.92), as the SDK's get_saml2bearer_token asks for it."""
        client_id, secret, org, assertion = self.saml_setup(index)
        form = {"grant_type": SAML2_GRANT, "orgName": org, "assertion": assertion}
        response = self.login.post("/oauth/token", data=form, headers={"Authorization": basic(client_id, secret)})
        return str(expect(response, status=200)["access_token"])

    def authorize(self, params: dict[str, str]) -> dict[str, str]:
        """GET /oauth/authorize → 302 to the redirect URI; the parameters of its query and fragment."""
        response = self.login.get("/oauth/authorize", params=params)
        location = response.headers.get("location", "")
        if response.status != 302 or not location.startswith(params["redirect_uri"]):
            raise ConformanceFailure(
                f"GET /oauth/authorize answered {response.status} (Location {location!r}), "
                "expected a 302 to the redirect URI",
                title="Authorization refused",
            )
        parts = urlsplit(location)
        values = {k: v[0] for k, v in parse_qs(parts.query).items()}
        values.update({k: v[0] for k, v in parse_qs(parts.fragment).items()})
        if "error" in values or values.get("state") != params["state"]:
            raise ConformanceFailure(
                f"GET /oauth/authorize redirected with {sorted(values)} (error "
                f"{values.get('error')!r}); expected a code or token and the state back",
                title="Authorization refused",
            )
        return values

    def cc_token(self) -> str:
        """A client-credentials token of ``platform.client_credentials`` (001 l.24-52), as the SDK obtains it."""
        cc = self.config.platform.client_credentials
        if cc is None:
            not_run("no client-credentials client (platform.client_credentials)")
        response = self.login.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(cc.client_id, str(cc.client_secret))},
        )
        return str(expect(response, status=200)["access_token"])

    def client_credentials(self) -> HttpClient:
        """A client with a client-credentials token (no user context: 000 l.96-99)."""
        return self.make_client(self.cc_token())

    # -- calls
    def ringing_call(self, callee: Actor, caller: Actor | None = None) -> tuple[str, str]:
        """A call alerting at ``callee``: an external caller through the lab, else ``caller`` (default user B)
        calling through the Platform API. (conversation id, the callee's participant id) once notified."""
        watcher = callee.watch()
        if self.lab.available:
            conversation_id, participant_id = self.lab.inbound_call(callee.user_id)
            watcher.await_call(
                conversation_id, lambda b: state_of(b, pid=participant_id) == "alerting", "the inbound call alerts"
            )
            return conversation_id, participant_id
        caller = caller or self.user(1 if callee.index != 1 else 0)
        conversation_id = caller.make_call({"callUserId": callee.user_id})
        try:
            body = watcher.await_call(
                conversation_id,
                lambda b: state_of(b, user_id=callee.user_id) == "alerting",
                f"{caller.name}'s call alerts",
            )
        except ConformanceFailure as failure:
            not_run(
                f"{callee.name} got no alerting call from {caller.name} ({failure.message[:200]}); without the "
                f"control API the suite rings a user only through another user's phone, which must place calls "
                "by itself (managed SIP or Broadsoft)"
            )
        found = leg(body, user_id=callee.user_id)
        assert found is not None
        return conversation_id, str(found["id"])

    # -- lifetime
    def watcher(self, actor: Actor, topics: list[str] | None = None) -> Watcher:
        watcher = Watcher(self, actor, topics)
        self._watchers.append(watcher)
        return watcher

    def undo(self, action: Callable[[], Any]) -> None:
        """An undo through the Platform API, run after the test unless the lab's reset restores everything."""
        self._undo.append(action)

    def close(self) -> None:
        problems = []
        for watcher in self._watchers:
            watcher.close()
        if not self.lab.changed:
            while self._undo:
                try:
                    self._undo.pop()()
                except Exception as exc:  # an undo must not hide the test's outcome
                    problems.append(str(exc))
        self._undo.clear()
        self.lab.close()
        if problems:
            raise EventFailed("undoing the test's changes failed: " + "; ".join(problems[:3]))


def require_phone(
    kit: PlatformKit,
    actor: Actor,
    kind: str,
    *,
    persistent: bool | None = None,
    allow_placing: bool | None = None,
    active: bool = False,
) -> None:
    kit.lab.phone(actor.user_id, kind, persistent=persistent, allow_placing=allow_placing, active=active)
