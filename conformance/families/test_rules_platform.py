"""Platform call-control rules (profiles ``platform-calls`` and ``platform-auth-rules``): every rule of seed 000 (the
official Genesys article on answering and placing calls through the Platform API) in both directions, and the error
cases of seed 001 where they do not contradict 000, as specs/errata/platform.yaml (E400–E421) and
specs/errata/platform-mock.yaml (E450–E462) decide them.

Why the tests look the way they do:

* **Tokens are real OAuth tokens.** A configured ``platform.users[i].token`` is used as is; otherwise the user is
  logged in with the authorization-code (or PKCE) grant of ``platform.code_client``. Nobody can click through a
  vendor's login page for the suite, so without a token that login needs the voicekit control API
  (``PUT /control/platform/login`` names who logs in, E457); without either, the test is not run.
* **State is awaited, never slept for.** 000 answers an answer with nothing but an acceptance (E418: 202, the
  change arrives afterwards); each test watches the users concerned on a notification channel
  (``v2.users.{id}.conversations.calls``) and, once the change is notified, reads the conversation back with
  ``GET /api/v2/conversations/calls/{id}`` — both views must agree. "Not processed" (E412) is "no notification
  of the change for a while, and GET still says alerting".
* **Phones are set up, not guessed.** A user's phone type, "Maintain Persistent Connection", "placing calls with
  another app", an active persistent connection, an external caller, the person picking up the phone, a callback,
  the rate limit and short timers are external events (:class:`PlatformLab`: the control API of
  ``events.control_url``). A vendor's system cannot be configured by the suite: those tests are not run with the
  reason. What the lab changed is undone at the end of the test by the control API's reset; what a test did
  through the Platform API alone (a call, a presence) is undone through the Platform API.
* **Every answer is checked against the contract**: errors are ErrorBodies (``platform_error_body`` and the
  ErrorBody schema of the operation), successes match the OpenAPI schema of the status the errata decide (Make
  Call: any of 200–205 with a CreateCallResponse, 200 expected, E402; answer: 200–205, 202 expected, E418), and
  every notification awaited matches its AsyncAPI message.

Rules of 001 that only 001 states and the errata make optional (E406 caller presence) belong to the optional
profile ``platform-samples`` (001's documented error samples) with severity *minor*, so they inform without failing
a certificate; 001's E.164 rule (E414), missing-scope (E413) and rate-limit (E417) errors are required.

The helpers (:class:`PlatformKit`, the ``plat`` fixture, :class:`Watcher`, the participant readers) are shared
with ``test_notifications_platform.py`` and ``test_replay_platform.py``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conformance.advisory import advise
from conformance.checks import expect
from conformance.config import OAuthClient, PlatformUser, TargetConfig
from conformance.events import EventFailed
from conformance.evidence import attach, step
from conformance.failures import ConformanceFailure
from conformance.loading import default_contracts
from conformance.outcomes import not_run
from conformance.target import RunningTarget
from conformance.transport.http import HttpClient, HttpResponse
from conformance.transport.ws import WsClient

__all__ = [
    "ACCEPTED",
    "BROADSOFT",
    "DOC000",
    "DOC001",
    "EXTERNAL",
    "FORCE_DISCONNECT",
    "FORMATTED",
    "GENERIC_SIP",
    "MANAGED",
    "REMOTE",
    "VALID_E164",
    "WEBRTC",
    "Actor",
    "PlatformKit",
    "PlatformLab",
    "Watcher",
    "active_legs",
    "basic",
    "ended",
    "expect_accepted",
    "expect_error",
    "leg",
    "note",
    "others",
    "participants",
    "pkce_challenge",
    "pkce_pair",
    "plat",
    "state_of",
    "summary",
    "user_of",
    "validated_message",
]

DOC000 = "000_93daa2df7fee66d1.txt"
DOC001 = "001_cc58f66bf961a7d3.txt"
CALLS, AUTH, OPTIONAL = "platform-calls", "platform-auth-rules", "platform-samples"

ACCEPTED = (200, 201, 202, 203, 204, 205)  # what the SDK takes for Make Call and answer (E402, E418)
USER_CONTEXT = (
    "This request requires a user context. Client credentials cannot be used for requests to this resource."  # E408
)
NOT_VALID_STATE = "User is not in a valid state"  # 001 l.307, E406
INVALID_PHONE = "Invalid phone number format"  # 001 l.303, E414
INSUFFICIENT = "Insufficient permissions"  # 001 l.311, E413
EXTERNAL = "+15551234567"  # 001 l.101 and l.264: the tutorial's E.164 recipient
VALID_E164 = "+14155552671"  # 001 l.306: the documented good form
FORMATTED = "(415) 555-2671"  # the same number with the formatting 001 l.305-306 forbids (E414's replay value)
CALLER = "+15551230100"  # an external caller for inbound calls
FORCE_DISCONNECT = "ForceDisconnect@localhost"  # 000 l.244-251
SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
QUIET = 1.0  # seconds without a notification that show a request was not processed (E412)
ACTIVE = frozenset({"alerting", "dialing", "contacting", "offering", "connected"})

# Phone types of the control API (000 "Support by Phone Type").
WEBRTC, MANAGED, BROADSOFT, GENERIC_SIP, REMOTE = "webrtc", "managed", "generic-sip-broadsoft", "generic-sip", "remote"
PHONE_NAMES = {
    WEBRTC: "a Genesys Cloud WebRTC phone",
    MANAGED: "a managed SIP phone",
    BROADSOFT: "a generic SIP phone with Broadsoft talk events",
    GENERIC_SIP: "a generic SIP phone without remote answer",
    REMOTE: "a remote phone",
}


# ---- participants --------------------------------------------------------------------------------------------------
def participants(body: Any) -> list[dict[str, Any]]:
    items = body.get("participants") if isinstance(body, dict) else None
    return [p for p in items or [] if isinstance(p, dict)]


def user_of(participant: dict[str, Any]) -> str | None:
    user = participant.get("user")
    if isinstance(user, dict) and user.get("id"):
        return str(user["id"])
    return str(participant["userId"]) if participant.get("userId") else None


def leg(body: Any, *, pid: str | None = None, user_id: str | None = None) -> dict[str, Any] | None:
    """The participant with id ``pid`` or (the latest one) of user ``user_id``, in a CallConversation or an event."""
    found = [
        p
        for p in participants(body)
        if (pid is None or p.get("id") == pid) and (user_id is None or user_of(p) == user_id)
    ]
    return found[-1] if found else None


def state_of(body: Any, *, pid: str | None = None, user_id: str | None = None) -> str | None:
    found = leg(body, pid=pid, user_id=user_id)
    return None if found is None else found.get("state")


def active_legs(body: Any) -> list[dict[str, Any]]:
    return [p for p in participants(body) if p.get("state") in ACTIVE]


def ended(body: Any) -> bool:
    """Every participant has left (a call that is over)."""
    legs = participants(body)
    return bool(legs) and not active_legs(body)


def others(body: Any, user_id: str) -> list[dict[str, Any]]:
    """The participants that are not ``user_id``'s (the far end, a flow, the other user)."""
    return [p for p in participants(body) if user_of(p) != user_id]


def summary(body: Any) -> str:
    """``purpose/state`` of each participant, for failure messages."""
    return (
        ", ".join(
            f"{p.get('purpose')}({user_of(p) or p.get('address') or '-'})={p.get('state')}" for p in participants(body)
        )
        or "no participants"
    )


def participant_path(endpoint: str, conversation_id: str, participant_id: str) -> str:
    """The two answer endpoints of 000 l.42 and l.44."""
    if endpoint == "calls":
        return f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}"
    return f"/api/v2/conversations/{conversation_id}/participants/{participant_id}"


# ---- checks --------------------------------------------------------------------------------------------------------
def note(text: str) -> None:
    """A remark that is not a failure (e.g. another accepted 2xx than the one the errata expect)."""
    with step(f"note: {text}"):
        attach(text, "note", "text")


def schema_problems(response: HttpResponse, status: int) -> list[str]:
    """Problems of the body against the OpenAPI schema of ``status`` (for bodies answered with another accepted
    status, which the contract does not declare)."""
    contracts = default_contracts()
    op = contracts.find_operation("platform", response.method, response.path.split("?", 1)[0])
    refs = contracts.response_schema_refs(op, status) if op is not None else []
    if not refs:
        return []
    body = response.json_or_none()
    found = [contracts.errors(ref, body) for ref in refs]
    return [] if any(not f for f in found) else found[0]


def expect_accepted(response: HttpResponse, expected: int, what: str) -> Any:
    """A success the SDK accepts (200–205): the body must still match the schema of ``expected``; another status
    is noted, not failed (E402, E418)."""
    body = expect(response, status=ACCEPTED)
    problems = schema_problems(response, expected)
    if problems:
        raise ConformanceFailure(
            f"{response.method} {response.path} answered {response.status} with a body that is "
            f"not the documented one ({what}): " + "; ".join(problems[:4]),
            title="Response does not match the schema",
        )
    if response.status != expected:
        note(
            f"{what}: {response.method} {response.path} answered {response.status}; the errata expect {expected} "
            "(the SDK accepts 200-205)"
        )
    return body


MESSAGE_TEXT_BASIS = (
    "the ErrorBody message is human-readable text: 000 l.96-98 give the HTTP status only, and "
    "001 l.303-314 quote texts as examples of what a client sees"
)


def expect_error(response: HttpResponse, status: int, code: str | None = None, message: str | None = None) -> Any:
    """An ErrorBody (checks ``platform_error_body`` and the operation's error schema) with the decided status and
    ``code``; another ``message`` text than the documented one is an advisory finding."""
    body = expect(response, status=status)
    problems = []
    if code is not None and body.get("code") != code:
        problems.append(f"code is {body.get('code')!r}, expected {code!r}")
    if message is not None and body.get("message") != message:
        advise(
            f"{response.method} {response.path} → {status}: message is {body.get('message')!r}, the documents "
            f"show {message!r}",
            basis=MESSAGE_TEXT_BASIS,
        )
    if problems:
        raise ConformanceFailure(
            f"{response.method} {response.path} → {status}: " + "; ".join(problems), title="Wrong error"
        )
    return body


def validated_message(message: Any, name: str) -> Any:
    """``message`` once it matches the AsyncAPI message ``name`` of specs/platform.asyncapi.yaml."""
    contracts = default_contracts()
    refs = dict(contracts.message_payload_refs("platform"))
    problems = contracts.errors(refs[name], message)
    if problems:
        raise ConformanceFailure(
            f"platform notification is not a {name}: " + "; ".join(problems[:5]),
            title="Notification does not match the AsyncAPI contract",
        )
    return message


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic client authentication of the token endpoint."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier (RFC 7636; the SDK's compute_pkce_code_challenge)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636; what the SDK's compute_pkce_code_challenge makes)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


# ---- the lab: what only the control API can cause ------------------------------------------------------------------
class PlatformLab:
    """The voicekit control API (``events.control_url``, under ``/platform``) for the events no Platform client can
    cause. Every method requires it: without one the test is not run, with the reason."""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self.changed = False
        self._client: HttpClient | None = None

    @property
    def available(self) -> bool:
        return bool(self.config.events.control_url)

    def require(self, what: str) -> None:
        """Not run when there is no control API to cause ``what``."""
        if not self.available:
            not_run(
                f"{what} needs the voicekit control API (events.control_url): the suite cannot configure "
                "phones, persistent connections or callers of a vendor's system"
            )

    def call(self, method: str, path: str, body: Any = None, *, what: str = "") -> dict[str, Any]:
        self.require(what or f"{method} /platform{path}")
        if self._client is None:
            events = self.config.events
            assert events.control_url
            self._client = HttpClient(
                events.control_url,
                token=events.control_token,
                csrf="off",
                timeout=self.config.timeouts.request,
                verify=self.config.ssl_verify(),
                name="control API",
            )
        if method != "GET":
            self.changed = True
        response = self._client.request(method, f"/platform{path}" if path.startswith("/") else path, json=body)
        data = response.json_or_none()
        if response.status // 100 != 2:
            message = data.get("error") if isinstance(data, dict) else response.text[:200]
            raise EventFailed(
                f"the control API refused {method} /platform{path}: {response.status} {message}",
                status=response.status,
                body=data,
            )
        return data if isinstance(data, dict) else {}

    def phone(
        self,
        user_id: str,
        kind: str,
        *,
        persistent: bool | None = None,
        allow_placing: bool | None = None,
        active: bool = False,
    ) -> dict[str, Any]:
        """Give the user ``kind`` of phone with these settings; ``active`` opens (or drops) its persistent
        connection (000 l.141-160)."""
        what = f"giving the user {PHONE_NAMES.get(kind, kind)}"
        body: dict[str, Any] = {"type": kind}
        if persistent is not None:
            body["persistentConnection"] = persistent
        if allow_placing is not None:
            body["allowPlacingCalls"] = allow_placing
        with step(
            f"lab: user {user_id} gets {PHONE_NAMES.get(kind, kind)} {body}, persistent connection "
            f"{'active' if active else 'inactive'}"
        ):
            self.call("PUT", f"/users/{user_id}/phone", body, what=what)
            return self.call("PUT", f"/users/{user_id}/persistent-connection", {"active": active}, what=what)

    def settings(self, **values: Any) -> dict[str, Any]:
        with step(f"lab: settings {values}"):
            return self.call("PUT", "/settings", values, what=f"setting {', '.join(values)}")

    def login_as(self, user: str) -> None:
        """Who logs in on /oauth/authorize next (E457)."""
        self.call("PUT", "/login", {"user": user}, what="logging a user in without a password")

    def add_client(self, **body: Any) -> dict[str, Any]:
        return self.call("POST", "/clients", body, what="an OAuth client with chosen grants and scopes")

    def inbound_call(self, user_id: str, caller: str = CALLER) -> tuple[str, str]:
        """An external caller rings the user directly; (conversation id, the user's alerting participant id)."""
        with step(f"lab: {caller} calls user {user_id}"):
            data = self.call("POST", f"/users/{user_id}/calls", {"from": caller}, what="an external caller")
        return str(data["conversationId"]), str(data["participantId"])

    def phone_answer(self, user_id: str) -> None:
        """The person picks up the ringing phone by hand (000 l.212)."""
        with step(f"lab: user {user_id} answers the phone by hand"):
            self.call("POST", f"/users/{user_id}/phone/answer", what="answering a phone by hand")

    def remote_answer(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} answers"):
            self.call("POST", f"/conversations/{conversation_id}/remote/answer", what="the far end answering")

    def remote_hangup(self, conversation_id: str) -> None:
        with step(f"lab: the far end of {conversation_id} hangs up"):
            self.call("POST", f"/conversations/{conversation_id}/remote/hangup", what="the far end hanging up")

    def callback(self, user_id: str, numbers: list[str]) -> str:
        with step(f"lab: a callback to {numbers} for user {user_id}"):
            data = self.call("POST", f"/users/{user_id}/callbacks", {"numbers": numbers}, what="a callback")
        return str(data["conversationId"])

    def expire_channel(self, channel_id: str) -> None:
        self.call("POST", f"/channels/{channel_id}/expire", what="expiring a notification channel")

    def close(self) -> None:
        """Undo every change: the control API restores the target's seed."""
        if self._client is not None:
            try:
                if self.changed:
                    response = self._client.request("POST", "/reset")
                    if response.status // 100 != 2:
                        raise EventFailed(f"the control API refused POST /reset: {response.status}")
            finally:
                self._client.close()
                self._client = None
        self.changed = False


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


@pytest.fixture
def plat(
    vk_target: RunningTarget, platform_client: Callable[..., HttpClient], platform_login: HttpClient
) -> Iterator[PlatformKit]:
    """The Platform kit of one test; what it changed is undone afterwards."""
    kit = PlatformKit(vk_target, platform_client, platform_login)
    try:
        yield kit
    finally:
        kit.close()


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


# ================================================================================================================
# platform-auth-rules: who may answer and place calls (000 l.84-99)
# ================================================================================================================
def expect_user_context_refusal(response: HttpResponse) -> None:
    """000 l.96-99: 400; E408: the user-context ErrorBody."""
    expect_error(response, 400, message=USER_CONTEXT)


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-001",
    document=DOC000,
    lines=(96, 99),
    title="A client-credentials token cannot make a call: 400, a user context is required",
)
@pytest.mark.operations(
    "platform.postOauthToken", "platform.postConversationsCalls", "platform.postConversationsCallsUserUserId"
)
@pytest.mark.fixture_id("platform.auth.client-credentials-make-call-refused")
def test_client_credentials_cannot_make_call(plat: PlatformKit) -> None:
    cc = plat.client_credentials()
    expect_user_context_refusal(cc.post("/api/v2/conversations/calls", json={"phoneNumber": EXTERNAL}))
    # E400: the refusal comes before the body is read: 001's own {from, to} body gets it too.
    expect_user_context_refusal(
        cc.post("/api/v2/conversations/calls", json={"from": {"userId": "me"}, "to": {"phoneNumber": EXTERNAL}})
    )
    # E461: placing the call "for" a user is still making a call, which a Data Action cannot (000 l.96-99).
    users = plat.config.platform.users
    user_id = users[0].user_id if users else None
    if user_id:  # the user must exist, or the refusal could be the unknown user's 404
        expect_user_context_refusal(
            cc.post(f"/api/v2/conversations/calls/user/{user_id}", json={"phoneNumber": EXTERNAL})
        )


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-002",
    document=DOC000,
    lines=(96, 99),
    title="A client-credentials token cannot answer a call: 400, the participant keeps alerting",
)
@pytest.mark.operations(
    "platform.postOauthToken",
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.auth.client-credentials-answer-refused")
@pytest.mark.parametrize("endpoint", ["calls", "conversations"])
def test_client_credentials_cannot_answer(plat: PlatformKit, endpoint: str) -> None:
    a = plat.user(0)
    if plat.lab.available:  # a phone that would connect at once, had the request been processed
        require_phone(plat, a, MANAGED)
    conversation_id, participant_id = plat.ringing_call(a)
    cc = plat.client_credentials()
    expect_user_context_refusal(
        cc.patch(participant_path(endpoint, conversation_id, participant_id), json={"state": "connected"})
    )
    a.expect_unanswered(conversation_id, participant_id, "a refused answer changes nothing")


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-003",
    document=DOC000,
    lines=(90, 93),
    title="User tokens (implicit, authorization code, PKCE, SAML2 bearer) make calls as their user",
)
@pytest.mark.operations(
    "platform.getOauthAuthorize",
    "platform.postOauthToken",
    "platform.getUsersMe",
    "platform.postConversationsCalls",
    "platform.getConversationsCall",
)
@pytest.mark.fixture_id("platform.calls.make-call-listing-python")
@pytest.mark.parametrize("grant", ["authorization_code", "pkce", "implicit", "saml2_bearer"])
def test_user_token_can_make_call(plat: PlatformKit, grant: str) -> None:
    expected = plat.platform_user(0).user_id
    a = plat.actor(0, plat.grant_token(0, grant))
    me = expect(a.client.get("/api/v2/users/me"), status=200)
    if expected and me.get("id") != expected:
        raise ConformanceFailure(f"the {grant} token of platform.users[0] belongs to {me.get('id')}, not {expected}")
    conversation_id = a.make_call({"phoneNumber": EXTERNAL})
    body = a.call(conversation_id)
    caller = leg(body, user_id=a.user_id)
    if caller is None:
        raise ConformanceFailure(
            f"the call placed with the {grant} token of {a.user_id} has no participant of that "
            f"user (000 l.93: the caller is the token's user); participants: {summary(body)}"
        )


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-004",
    document=DOC000,
    lines=(88, 93),
    title="Only the participant's own user may answer: another user's token gets 403 not.authorized",
)
@pytest.mark.operations(
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.auth.token-not-participant-answer-refused")
@pytest.mark.parametrize("endpoint", ["calls", "conversations"])
def test_only_the_participants_user_can_answer(plat: PlatformKit, endpoint: str) -> None:
    a, b = plat.user(0), plat.user(1)
    if plat.lab.available:
        require_phone(plat, a, MANAGED)
    conversation_id, participant_id = plat.ringing_call(a)
    path = participant_path(endpoint, conversation_id, participant_id)
    expect_error(b.client.patch(path, json={"state": "connected"}), 403, code="not.authorized")  # E407
    a.expect_unanswered(conversation_id, participant_id, "another user's answer changes nothing")
    a.answer(conversation_id, participant_id, endpoint)  # the other direction: the user's own token
    if plat.lab.available:  # a managed phone answers at once (000 l.201-203)
        a.await_leg(conversation_id, participant_id, "connected", "the user's own answer is processed")


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-005",
    document=DOC000,
    lines=(88, 99),
    title="A callback's call is placed only by its agent's user token (000 l.48)",
)
@pytest.mark.operations("platform.postConversationsCall", "platform.ws.conversationsCalls")
@pytest.mark.fixture_id("platform.calls.callback-place-call")
def test_callback_call_is_placed_by_its_agent_only(plat: PlatformKit) -> None:
    plat.lab.require("a callback conversation")
    a, b = plat.user(0), plat.user(1)
    require_phone(plat, a, MANAGED)
    watcher = a.watch()
    conversation_id = plat.lab.callback(a.user_id, [EXTERNAL])
    path = f"/api/v2/conversations/calls/{conversation_id}"
    expect_user_context_refusal(plat.client_credentials().post(path, json={}))  # E400
    expect_error(b.client.post(path, json={}), 403, code="not.authorized")  # E407
    placed = expect(a.client.post(path, json={}), status=200)  # E462: the Conversation
    if placed.get("id") != conversation_id:
        raise ConformanceFailure(f"POST {path} answered the conversation {placed.get('id')!r}")
    watcher.await_call(
        conversation_id,
        lambda body: state_of(body, user_id=a.user_id) == "connected",
        "the agent's call leg of the callback connects (managed phone)",
    )


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-006",
    document=DOC001,
    lines=(311, 314),
    title="A token without the conversations scope cannot make a call: 403 missing.permissions",
)
@pytest.mark.operations("platform.getOauthAuthorize", "platform.postOauthToken", "platform.postConversationsCalls")
@pytest.mark.fixture_id("platform.errors.missing-scope")
def test_token_without_call_scope_cannot_make_call(plat: PlatformKit) -> None:
    narrow = plat.make_client(plat.narrow_token(0))
    expect_error(
        narrow.post("/api/v2/conversations/calls", json={"phoneNumber": VALID_E164}),
        403,
        code="missing.permissions",
        message=INSUFFICIENT,
    )
    plat.user(0).make_call({"phoneNumber": VALID_E164})  # the other direction: the full-scope client's token


@pytest.mark.profile(AUTH)
@pytest.mark.rule(
    "PLATFORM-AUTH-007",
    document=DOC000,
    lines=(90, 93),
    title="Conversation reads need the user's token: without one, or with a forged one, nothing is served (401)",
)
@pytest.mark.operations("platform.getConversations", "platform.getConversationsCall")
def test_conversation_reads_need_a_token(plat: PlatformKit) -> None:
    """000 l.90-93 (and 001 l.25, l.204): the API is used with an OAuth access token. The documents show no
    status for a missing one; a refusal is required (401 or 403, an ErrorBody, no conversation), 401 — what
    OAuth bearer clients expect (RFC 6750 §3.1, E458) — is advised."""
    a = plat.user(0)
    conversation_id = a.make_call({"phoneNumber": VALID_E164})
    a.call(conversation_id)  # the other direction: the user's own token reads it
    for label, token in (("no token", None), ("a forged token", f"vk-forged-{secrets.token_hex(16)}")):
        client = plat.make_client(token)
        for path in ("/api/v2/conversations", f"/api/v2/conversations/calls/{conversation_id}"):
            response = client.get(path)
            body = expect(response, status=[401, 403])
            if conversation_id in str(body):
                raise ConformanceFailure(f"GET {path} with {label} names the conversation: {str(body)[:300]}")
            if response.status != 401:
                advise(
                    f"GET {path} with {label} answered {response.status}, not 401",
                    basis="000/001 show no status for a request without a valid token",
                )


# ================================================================================================================
# platform-calls: phone types and the persistent connection (000 l.141-216, Appendix A)
# ================================================================================================================
SIP_WITH_TALK = [
    pytest.param(MANAGED, True, "calls", id="managed-persistent-on"),
    pytest.param(MANAGED, False, "conversations", id="managed-persistent-off"),
    pytest.param(BROADSOFT, True, "conversations", id="broadsoft-persistent-on"),
    pytest.param(BROADSOFT, False, "calls", id="broadsoft-persistent-off"),
]


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-001",
    document=DOC000,
    lines=(201, 204),
    title="Managed SIP and Broadsoft SIP phones answer via the API, with or without persistent connection",
)
@pytest.mark.operations(
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.getConversationsCall",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.calls.answer-participant")
@pytest.mark.parametrize(("kind", "persistent", "endpoint"), SIP_WITH_TALK)
def test_sip_phone_with_remote_talk_answers(plat: PlatformKit, kind: str, persistent: bool, endpoint: str) -> None:
    a = plat.user(0)
    require_phone(plat, a, kind, persistent=persistent)
    conversation_id, participant_id = plat.ringing_call(a)
    a.answer(conversation_id, participant_id, endpoint)
    a.await_leg(conversation_id, participant_id, "connected", f"{PHONE_NAMES[kind]} answers remotely")


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-002",
    document=DOC000,
    lines=(201, 204),
    title="Managed SIP and Broadsoft SIP phones place calls via the API by themselves",
)
@pytest.mark.operations(
    "platform.postConversationsCalls", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.fixture_id("platform.calls.make-call")
@pytest.mark.parametrize(
    ("kind", "persistent"), [pytest.param(p.values[0], p.values[1], id=p.id) for p in SIP_WITH_TALK]
)
def test_sip_phone_with_remote_talk_places_calls(plat: PlatformKit, kind: str, persistent: bool) -> None:
    a = plat.user(0)
    require_phone(plat, a, kind, persistent=persistent)
    watcher = a.watch()
    conversation_id = a.make_call({"phoneNumber": EXTERNAL})
    watcher.await_call(
        conversation_id,
        lambda b: (
            state_of(b, user_id=a.user_id) == "connected"
            and any(p.get("state") in ACTIVE for p in others(b, a.user_id))
        ),
        "the caller's leg connects by itself and the number is dialled",
    )
    body = a.call(conversation_id)
    if state_of(body, user_id=a.user_id) != "connected" or not any(
        p.get("state") in ACTIVE for p in others(body, a.user_id)
    ):
        raise ConformanceFailure(
            f"GET after Make Call from {PHONE_NAMES[kind]}: {summary(body)}; expected the "
            "caller connected and the far end reached"
        )


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-003",
    document=DOC000,
    lines=(182, 187),
    title="A WebRTC phone answers via the API only with persistent connection enabled AND active",
)
@pytest.mark.operations(
    "platform.patchConversationsCallParticipant", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.fixture_id("platform.calls.answer-without-persistent-connection")
@pytest.mark.parametrize(
    ("persistent", "active", "answered"),
    [
        pytest.param(False, False, False, id="persistent-off"),
        pytest.param(True, False, False, id="persistent-on-inactive"),
        pytest.param(True, True, True, id="persistent-on-active"),
    ],
)
def test_webrtc_answer_needs_an_active_persistent_connection(
    plat: PlatformKit, persistent: bool, active: bool, answered: bool
) -> None:
    a = plat.user(0)
    require_phone(plat, a, WEBRTC, persistent=persistent, allow_placing=True, active=active)
    conversation_id, participant_id = plat.ringing_call(a)
    a.answer(conversation_id, participant_id)  # accepted either way (E412, E418)
    if answered:
        a.await_leg(conversation_id, participant_id, "connected", "l.186: during an active persistent connection")
    else:
        a.expect_unanswered(
            conversation_id,
            participant_id,
            "l.184: persistent connection disabled"
            if not persistent
            else "l.186: outside an active persistent connection",
        )


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-004",
    document=DOC000,
    lines=(171, 180),
    title='A WebRTC phone places calls via the API only with "placing calls with another app"',
)
@pytest.mark.operations(
    "platform.postConversationsCalls", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.parametrize("allowed", [pytest.param(True, id="allowed"), pytest.param(False, id="not-allowed")])
def test_webrtc_places_calls_only_when_allowed(plat: PlatformKit, allowed: bool) -> None:
    a = plat.user(0)
    require_phone(plat, a, WEBRTC, persistent=True, allow_placing=allowed)
    watcher = a.watch()
    conversation_id = a.make_call({"phoneNumber": EXTERNAL})  # 200 either way (E419)
    if allowed:
        body = watcher.await_call(
            conversation_id,
            lambda b: state_of(b, user_id=a.user_id) == "connected",
            "the caller's WebRTC leg connects (l.193-196 met)",
        )
        caller = leg(body, user_id=a.user_id)
        assert caller is not None
        a.confirm(conversation_id, str(caller["id"]), "connected", "the WebRTC phone placed the call")
        return
    body = watcher.await_call(
        conversation_id,
        lambda b: state_of(b, user_id=a.user_id) in ("disconnected", "terminated"),
        "the caller's WebRTC leg ends (E419)",
    )
    if watcher.seen(conversation_id, lambda b: state_of(b, user_id=a.user_id) == "connected"):
        raise ConformanceFailure(
            "the WebRTC leg connected although the user does not allow placing calls with another app (000 l.174, E419)"
        )
    caller = leg(body, user_id=a.user_id)
    assert caller is not None
    a.confirm(conversation_id, str(caller["id"]), str(caller["state"]), "E419: the leg ends, never connected")


REMOTE_KINDS = [pytest.param(REMOTE, id="remote"), pytest.param(GENERIC_SIP, id="generic-sip")]


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-005",
    document=DOC000,
    lines=(209, 211),
    title="Remote and generic SIP phones answer via the API only during an active persistent connection",
)
@pytest.mark.operations(
    "platform.patchConversationsCallParticipant", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.fixture_id("platform.calls.answer-without-persistent-connection")
@pytest.mark.parametrize("kind", REMOTE_KINDS)
@pytest.mark.parametrize("active", [pytest.param(False, id="no-connection"), pytest.param(True, id="connection")])
def test_remote_phone_answers_only_on_a_persistent_connection(plat: PlatformKit, kind: str, active: bool) -> None:
    a = plat.user(0)
    require_phone(plat, a, kind, persistent=True, active=active)  # l.160: the feature exists on every phone type
    conversation_id, participant_id = plat.ringing_call(a)
    a.answer(conversation_id, participant_id)  # accepted either way (E412)
    if active:
        a.await_leg(conversation_id, participant_id, "connected", "l.211: on an active persistent connection")
    else:
        a.expect_unanswered(conversation_id, participant_id, "l.211: the request will not be processed otherwise")


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PHONE-006",
    document=DOC000,
    lines=(209, 213),
    title="A call placed from a remote or generic SIP phone alerts on the phone until answered by hand",
)
@pytest.mark.operations(
    "platform.postConversationsCalls", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.fixture_id("platform.calls.make-call")
@pytest.mark.parametrize("kind", REMOTE_KINDS)
@pytest.mark.parametrize("active", [pytest.param(False, id="no-connection"), pytest.param(True, id="connection")])
def test_remote_phone_placed_call_alerts_until_answered(plat: PlatformKit, kind: str, active: bool) -> None:
    a = plat.user(0)
    require_phone(plat, a, kind, persistent=True, active=active)
    watcher = a.watch()
    conversation_id = a.make_call({"phoneNumber": EXTERNAL})  # supported (l.212), 200
    if active:  # E451: the phone is already on a voice session
        body = watcher.await_call(
            conversation_id,
            lambda b: state_of(b, user_id=a.user_id) == "connected",
            "E451: during an active persistent connection the leg connects by itself",
        )
        mine = leg(body, user_id=a.user_id)
        assert mine is not None  # the awaited event shows this user's leg connected
        a.confirm(conversation_id, str(mine["id"]), "connected", "E451")
        return
    body = watcher.await_call(
        conversation_id,
        lambda b: state_of(b, user_id=a.user_id) == "alerting",
        "l.212: the two-way call rings the agent's phone first",
    )
    ringing = leg(body, user_id=a.user_id)
    assert ringing is not None  # the awaited event shows this user's leg alerting
    caller = str(ringing["id"])
    watcher.expect_no_call(
        conversation_id,
        lambda b: state_of(b, pid=caller) == "connected",
        "the agent's leg must not connect before the phone is answered",
    )
    rest = a.confirm(conversation_id, caller, "alerting", "l.212: the agent must answer the phone")
    if any(p.get("state") in ACTIVE for p in others(rest, a.user_id)):
        raise ConformanceFailure(f"the far end was dialled before the agent answered the phone: {summary(rest)}")
    plat.lab.phone_answer(a.user_id)  # the agent picks up the phone

    def answered(body: Any) -> bool:
        return state_of(body, pid=caller) == "connected" and any(
            p.get("state") in ACTIVE for p in others(body, a.user_id)
        )

    watcher.await_call(conversation_id, answered, "answered on the phone, then the far end is dialled")
    rest = a.confirm(conversation_id, caller, "connected", "answered on the phone")
    if not any(p.get("state") in ACTIVE for p in others(rest, a.user_id)):
        raise ConformanceFailure(f"the far end was not dialled once the agent answered the phone: {summary(rest)}")


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-PERSIST-001",
    document=DOC000,
    lines=(147, 153),
    title="A persistent connection outlives the call until its timeout; GET /api/v2/conversations "
    "lists nothing meanwhile",
)
@pytest.mark.operations(
    "platform.postConversationsCalls",
    "platform.getConversations",
    "platform.patchConversationsCallParticipant",
    "platform.ws.conversationsCalls",
    "platform.ws.heartbeat",
)
@pytest.mark.fixture_id("platform.conversations.persistent-connection-no-conversation")
def test_persistent_connection_outlives_the_call_until_its_timeout(plat: PlatformKit) -> None:
    plat.lab.require('a WebRTC phone with "Maintain Persistent Connection" and a short persistent-connection timeout')
    a = plat.user(0)
    require_phone(plat, a, WEBRTC, persistent=True, allow_placing=True)
    watcher = a.watch()
    # l.147: a call connects the phone to Genesys Cloud; when it ends the connection stays.
    first = a.make_call({"phoneNumber": EXTERNAL})
    watcher.await_call(first, lambda b: state_of(b, user_id=a.user_id) == "connected", "the WebRTC leg connects")
    plat.lab.remote_hangup(first)
    watcher.await_call(first, ended, "the customer hangs up: the call is over")
    listed = a.conversations()
    if listed:  # l.149-151
        raise ConformanceFailure(
            f"GET /api/v2/conversations lists {[c.get('id') for c in listed]} while only the "
            "persistent connection is up (000 l.150: no conversation context is returned)"
        )
    second, participant = plat.ringing_call(a)
    a.answer(second, participant)
    a.await_leg(second, participant, "connected", "l.186: the persistent connection outlived the previous call")
    # l.153: it ends when the timeout elapses without a new conversation (timeout shortened on the target).
    timeout, beat = 1.0, 0.25
    plat.lab.settings(persistentConnectionTimeoutSeconds=timeout, heartbeatSeconds=beat)
    a.hang_up(second, participant)
    watcher.await_call(second, ended, "the call is over")
    if a.conversations():
        raise ConformanceFailure("GET /api/v2/conversations lists a conversation after the call ended (l.150)")
    watcher.await_target_seconds(2 * timeout, beat)
    third, participant = plat.ringing_call(a)
    a.answer(third, participant)
    a.expect_unanswered(third, participant, "l.153: the persistent connection timed out")


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-FLOW-001",
    document=DOC000,
    lines=(228, 251),
    title="A call to ForceDisconnect@localhost is answered, then disconnected, and leaves the WebRTC "
    "phone on a persistent connection",
)
@pytest.mark.operations(
    "platform.postConversationsCalls",
    "platform.getConversations",
    "platform.patchConversationsCallParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.calls.force-disconnect-sample")
def test_force_disconnect_flow_answers_then_disconnects(plat: PlatformKit) -> None:
    a = plat.user(0)
    silence = 3.0  # l.240 recommends 3 s of silence before the Disconnect action
    if plat.lab.available:  # the setup of l.193-196, and a short silence
        require_phone(plat, a, WEBRTC, persistent=True, allow_placing=True)
        silence = 0.5
        plat.lab.settings(forceDisconnectSilenceSeconds=silence)
    watcher = a.watch()
    conversation_id = a.make_call({"phoneNumber": FORCE_DISCONNECT})  # the sample request of l.246-251
    watcher.await_call(
        conversation_id,
        lambda b: (
            state_of(b, user_id=a.user_id) == "connected"
            and any(p.get("state") == "connected" for p in others(b, a.user_id))
        ),
        "the flow answers the call",
    )
    watcher.await_call(
        conversation_id,
        ended,
        "the flow disconnects the call by itself (l.244)",
        timeout=silence + plat.config.timeouts.notification,
    )
    listed = a.conversations()
    if listed:  # E410, l.244: non-ACD, no wrap-up keeps it
        raise ConformanceFailure(
            f"GET /api/v2/conversations lists {[c.get('id') for c in listed]} after the flow disconnected the call"
        )
    if plat.lab.available:  # l.186-187, 232: the flow's call left the phone on a persistent connection
        second, participant = plat.ringing_call(a)
        a.answer(second, participant)
        a.await_leg(second, participant, "connected", "the ForceDisconnect call opened a persistent connection")


# ================================================================================================================
# platform-calls: calls between users and to numbers (000 l.46-47)
# ================================================================================================================
def expect_same_views(first: Actor, second: Actor, conversation_id: str, why: str) -> dict[str, Any]:
    """Both users read the same participants in the same states, each seeing the other."""
    one, two = first.call(conversation_id), second.call(conversation_id)
    left = {p.get("id"): (user_of(p), p.get("state")) for p in participants(one)}
    right = {p.get("id"): (user_of(p), p.get("state")) for p in participants(two)}
    if left != right:
        raise ConformanceFailure(
            f"{first.name} and {second.name} read different participants of "
            f"{conversation_id} ({why}): {summary(one)} vs {summary(two)}"
        )
    for actor in (first, second):
        if leg(one, user_id=actor.user_id) is None:
            raise ConformanceFailure(f"{actor.name} has no participant in {conversation_id} ({why}): {summary(one)}")
    return one


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-CALL-001",
    document=DOC000,
    lines=(46, 47),
    title="A call from one user to another is real on both sides: both see each other, states agree",
)
@pytest.mark.operations(
    "platform.postConversationsCalls",
    "platform.patchConversationsCallParticipant",
    "platform.getConversationsCall",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.calls.make-call")
def test_call_between_two_users_is_real_on_both_sides(plat: PlatformKit) -> None:
    plat.lab.require("two users with phones that place and answer calls by themselves (managed SIP)")
    a, b = plat.user(0), plat.user(1)
    require_phone(plat, a, MANAGED)
    require_phone(plat, b, MANAGED)
    wa, wb = a.watch(), b.watch()
    conversation_id = b.make_call({"callUserId": a.user_id})  # the caller is B, the token's user (l.93, E401)

    def ringing(body: Any) -> bool:
        return state_of(body, user_id=b.user_id) == "connected" and state_of(body, user_id=a.user_id) == "alerting"

    wa.await_call(conversation_id, ringing, "B's call alerts at A")
    wb.await_call(conversation_id, ringing, "B's own leg is connected, A's alerting")
    body = expect_same_views(a, b, conversation_id, "while ringing")
    callee = leg(body, user_id=a.user_id)
    assert callee is not None
    a.answer(conversation_id, str(callee["id"]))

    def talking(body: Any) -> bool:
        return state_of(body, user_id=b.user_id) == "connected" and state_of(body, user_id=a.user_id) == "connected"

    wa.await_call(conversation_id, talking, "A answered: both connected")
    wb.await_call(conversation_id, talking, "B sees A connected")
    expect_same_views(a, b, conversation_id, "while talking")
    caller = leg(body, user_id=b.user_id)
    assert caller is not None
    b.hang_up(conversation_id, str(caller["id"]))
    wa.await_call(conversation_id, ended, "B hung up: A's side ends too")
    wb.await_call(conversation_id, ended, "B's side ends")
    expect_same_views(a, b, conversation_id, "after the call")


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-CALL-002",
    document=DOC000,
    lines=(46, 47),
    title="A call to an external number dials it; the far end answers and hangs up",
)
@pytest.mark.operations(
    "platform.postConversationsCalls",
    "platform.getConversationsCall",
    "platform.getConversations",
    "platform.ws.conversationsCalls",
)
@pytest.mark.fixture_id("platform.calls.monitor-call-listing")
def test_call_to_an_external_number(plat: PlatformKit) -> None:
    plat.lab.require("a far end that answers and hangs up")
    a = plat.user(0)
    require_phone(plat, a, MANAGED)
    watcher = a.watch()
    conversation_id = a.make_call({"phoneNumber": EXTERNAL})
    body = watcher.await_call(
        conversation_id,
        lambda b: (
            state_of(b, user_id=a.user_id) == "connected"
            and any(p.get("state") in ("dialing", "contacting") for p in others(b, a.user_id))
        ),
        "the agent is connected and the number is being dialled (E405)",
    )
    far = others(body, a.user_id)[-1]
    if [c.get("id") for c in a.conversations()] != [conversation_id]:
        raise ConformanceFailure(f"GET /api/v2/conversations does not list exactly the call {conversation_id}")
    plat.lab.remote_answer(conversation_id)
    a.await_leg(conversation_id, str(far["id"]), "connected", "the far end answered")
    plat.lab.remote_hangup(conversation_id)
    watcher.await_call(conversation_id, ended, "the far end hung up: the call is over")
    a.confirm(conversation_id, str(far["id"]), "disconnected", "the far end hung up")


# ================================================================================================================
# 001's errors (l.302-318) where they do not contradict 000
# ================================================================================================================
@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-ERR-003", document=DOC001, lines=(315, 318), title="Over the Make Call rate limit: 429 with Retry-After"
)
@pytest.mark.operations("platform.postConversationsCalls")
@pytest.mark.fixture_id("platform.errors.rate-limited")
def test_rate_limited_make_call_says_when_to_retry(plat: PlatformKit) -> None:
    plat.lab.require("a Make Call rate limit the suite can reach (exceeding a production limit places real calls)")
    plat.lab.settings(rateLimit=1, rateLimitWindowSeconds=60)
    a = plat.user(0)
    a.make_call({"phoneNumber": VALID_E164})
    response = a.client.post("/api/v2/conversations/calls", json={"phoneNumber": VALID_E164})
    body = expect_error(response, 429)
    retry_after = response.headers.get("Retry-After")
    if retry_after is None or not retry_after.strip().isdigit():
        raise ConformanceFailure(
            f"the 429 carries Retry-After {retry_after!r}; 001 l.317-318 and E417 require the "
            "number of seconds to wait (the SDK retries only with it)"
        )
    if not str(body.get("code", "")).startswith("too.many.requests"):
        raise ConformanceFailure(
            f"the 429's ErrorBody code is {body.get('code')!r}, expected too.many.requests.retry.after (E417)"
        )


@pytest.mark.profile(CALLS)
@pytest.mark.rule(
    "PLATFORM-ERR-001",
    document=DOC001,
    lines=(303, 306),
    title="Make Call refuses a number that is not E.164 (spaces, dashes, parentheses): 400 (E414)",
)
@pytest.mark.operations("platform.postConversationsCalls")
@pytest.mark.fixture_id("platform.errors.invalid-phone-number")
def test_formatted_phone_number_is_refused(plat: PlatformKit) -> None:
    """001 l.110-112 and l.303-306: the number MUST be E.164; 000 says nothing against it (E414). The status is
    required; the ErrorBody's code and message are advised (001 quotes the message, no document the code)."""
    a = plat.user(0)
    body = expect_error(a.client.post("/api/v2/conversations/calls", json={"phoneNumber": FORMATTED}), 400)
    if body.get("code") != "invalid.value" or body.get("message") != INVALID_PHONE:
        advise(
            f"the refusal has code {body.get('code')!r} and message {body.get('message')!r}; expected "
            f"invalid.value and {INVALID_PHONE!r}",
            basis="001 l.303 quotes the message; no document the code",
        )
    a.make_call({"phoneNumber": VALID_E164})  # the other direction: the documented form (l.305-306)


@pytest.mark.profile(OPTIONAL)
@pytest.mark.severity("minor")
@pytest.mark.rule(
    "PLATFORM-ERR-002",
    document=DOC001,
    lines=(307, 310),
    title="An Offline, Meal or Break caller is refused: 403 (optional: only 001 says so, E406)",
)
@pytest.mark.operations(
    "platform.getPresenceDefinitions",
    "platform.getUserPresencesPurecloud",
    "platform.patchUserPresencesPurecloud",
    "platform.postConversationsCalls",
)
@pytest.mark.fixture_id("platform.errors.user-not-in-valid-state")
@pytest.mark.parametrize("presence", ["Offline", "Meal", "Break"])
def test_caller_not_in_a_valid_state_is_refused(plat: PlatformKit, presence: str) -> None:
    a = plat.user(0)
    definitions = a.presence_definitions()
    missing = [p for p in (presence, "Available") if p not in definitions]
    if missing:
        not_run(f"the organization has no {' or '.join(missing)} presence definition")
    original = a.presence()
    plat.undo(lambda: a.set_presence(original))
    a.set_presence(definitions[presence])
    expect_error(
        a.client.post("/api/v2/conversations/calls", json={"phoneNumber": VALID_E164}),
        403,
        code="not.authorized",
        message=NOT_VALID_STATE,
    )
    a.set_presence(definitions["Available"])  # the other direction: an Available caller may call (l.309)
    a.make_call({"phoneNumber": VALID_E164})
