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
  the rate limit and short timers are external events (:class:`PlatformLab`, through
  :class:`~conformance.events.EventSource`: the control API ``events.control_url`` or a vendor's driver command
  ``events.driver_command``); without one those tests are not run with the reason. What the lab changed is undone at
  the end of the test by the control API's reset (or the driver's ``reset``); what a test did
  through the Platform API alone (a call, a presence) is undone through the Platform API.
* **Every answer is checked against the contract**: errors are ErrorBodies (``platform_error_body`` and the
  ErrorBody schema of the operation), successes match the OpenAPI schema of the status the errata decide (Make
  Call: any of 200–205 with a CreateCallResponse, 200 expected, E402; answer: 200–205, 202 expected, E418), and
  every notification awaited matches its AsyncAPI message.

Rules of 001 that only 001 states and the errata make optional (E406 caller presence) belong to the optional
profile ``platform-samples`` (001's documented error samples) with severity *minor*, so they inform without failing
a certificate; 001's E.164 rule (E414), missing-scope (E413) and rate-limit (E417) errors are required.

The helpers (:class:`PlatformKit`, :class:`Watcher`, the participant readers) are in :mod:`conformance.support`,
the ``plat`` fixture in ``conftest.py``.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from conformance.advisory import advise
from conformance.checks import expect
from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run
from conformance.support.lab import BROADSOFT, GENERIC_SIP, MANAGED, PHONE_NAMES, REMOTE, WEBRTC
from conformance.support.platform import (
    ACTIVE,
    EXTERNAL,
    FORCE_DISCONNECT,
    FORMATTED,
    INSUFFICIENT,
    INVALID_PHONE,
    NOT_VALID_STATE,
    USER_CONTEXT,
    VALID_E164,
    ended,
    expect_error,
    leg,
    others,
    participant_path,
    participants,
    state_of,
    summary,
    user_of,
)
from conformance.support.platform_kit import Actor, PlatformKit, require_phone
from conformance.transport.http import HttpResponse

DOC000 = "000_93daa2df7fee66d1.txt"
DOC001 = "001_cc58f66bf961a7d3.txt"
CALLS, AUTH, OPTIONAL = "platform-calls", "platform-auth-rules", "platform-samples"


# ================================================================================================================
# platform-auth-rules: who may answer and place calls (000 l.84-99)
# ================================================================================================================
def expect_user_context_refusal(response: HttpResponse) -> None:
    """000 l.96-99: 400; E408: the user-context ErrorBody."""
    expect_error(response, 400, message=USER_CONTEXT)


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-001",
    document=DOC000,
    lines=(96, 99),
    title="A client-credentials token cannot make a call: 400, a user context is required",
)
@pytest.mark.vk_operations(
    "platform.postOauthToken", "platform.postConversationsCalls", "platform.postConversationsCallsUserUserId"
)
@pytest.mark.vk_fixture_id("platform.auth.client-credentials-make-call-refused")
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


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-002",
    document=DOC000,
    lines=(96, 99),
    title="A client-credentials token cannot answer a call: 400, the participant keeps alerting",
)
@pytest.mark.vk_operations(
    "platform.postOauthToken",
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.auth.client-credentials-answer-refused")
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


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-003",
    document=DOC000,
    lines=(90, 93),
    title="User tokens (implicit, authorization code, PKCE, SAML2 bearer) make calls as their user",
)
@pytest.mark.vk_operations(
    "platform.getOauthAuthorize",
    "platform.postOauthToken",
    "platform.getUsersMe",
    "platform.postConversationsCalls",
    "platform.getConversationsCall",
)
@pytest.mark.vk_fixture_id("platform.calls.make-call-listing-python")
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


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-004",
    document=DOC000,
    lines=(88, 93),
    title="Only the participant's own user may answer: another user's token gets 403 not.authorized",
)
@pytest.mark.vk_operations(
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.auth.token-not-participant-answer-refused")
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


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-005",
    document=DOC000,
    lines=(88, 99),
    title="A callback's call is placed only by its agent's user token (000 l.48)",
)
@pytest.mark.vk_operations("platform.postConversationsCall", "platform.ws.conversationsCalls")
@pytest.mark.vk_fixture_id("platform.calls.callback-place-call")
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


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-006",
    document=DOC001,
    lines=(311, 314),
    title="A token without the conversations scope cannot make a call: 403 missing.permissions",
)
@pytest.mark.vk_operations("platform.getOauthAuthorize", "platform.postOauthToken", "platform.postConversationsCalls")
@pytest.mark.vk_fixture_id("platform.errors.missing-scope")
def test_token_without_call_scope_cannot_make_call(plat: PlatformKit) -> None:
    narrow = plat.make_client(plat.narrow_token(0))
    expect_error(
        narrow.post("/api/v2/conversations/calls", json={"phoneNumber": VALID_E164}),
        403,
        code="missing.permissions",
        message=INSUFFICIENT,
    )
    plat.user(0).make_call({"phoneNumber": VALID_E164})  # the other direction: the full-scope client's token


@pytest.mark.vk_profile(AUTH)
@pytest.mark.vk_rule(
    "PLATFORM-AUTH-007",
    document=DOC000,
    lines=(90, 93),
    title="Conversation reads need the user's token: without one, or with a forged one, nothing is served (401)",
)
@pytest.mark.vk_operations("platform.getConversations", "platform.getConversationsCall")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-001",
    document=DOC000,
    lines=(201, 204),
    title="Managed SIP and Broadsoft SIP phones answer via the API, with or without persistent connection",
)
@pytest.mark.vk_operations(
    "platform.patchConversationsCallParticipant",
    "platform.patchConversationParticipant",
    "platform.getConversationsCall",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.calls.answer-participant")
@pytest.mark.parametrize(("kind", "persistent", "endpoint"), SIP_WITH_TALK)
def test_sip_phone_with_remote_talk_answers(plat: PlatformKit, kind: str, persistent: bool, endpoint: str) -> None:
    a = plat.user(0)
    require_phone(plat, a, kind, persistent=persistent)
    conversation_id, participant_id = plat.ringing_call(a)
    a.answer(conversation_id, participant_id, endpoint)
    a.await_leg(conversation_id, participant_id, "connected", f"{PHONE_NAMES[kind]} answers remotely")


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-002",
    document=DOC000,
    lines=(201, 204),
    title="Managed SIP and Broadsoft SIP phones place calls via the API by themselves",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.vk_fixture_id("platform.calls.make-call")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-003",
    document=DOC000,
    lines=(182, 187),
    title="A WebRTC phone answers via the API only with persistent connection enabled AND active",
)
@pytest.mark.vk_operations(
    "platform.patchConversationsCallParticipant", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.vk_fixture_id("platform.calls.answer-without-persistent-connection")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-004",
    document=DOC000,
    lines=(171, 180),
    title='A WebRTC phone places calls via the API only with "placing calls with another app"',
)
@pytest.mark.vk_operations(
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-005",
    document=DOC000,
    lines=(209, 211),
    title="Remote and generic SIP phones answer via the API only during an active persistent connection",
)
@pytest.mark.vk_operations(
    "platform.patchConversationsCallParticipant", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.vk_fixture_id("platform.calls.answer-without-persistent-connection")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PHONE-006",
    document=DOC000,
    lines=(209, 213),
    title="A call placed from a remote or generic SIP phone alerts on the phone until answered by hand",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls", "platform.getConversationsCall", "platform.ws.conversationsCalls"
)
@pytest.mark.vk_fixture_id("platform.calls.make-call")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-PERSIST-001",
    document=DOC000,
    lines=(147, 153),
    title="A persistent connection outlives the call until its timeout; GET /api/v2/conversations "
    "lists nothing meanwhile",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls",
    "platform.getConversations",
    "platform.patchConversationsCallParticipant",
    "platform.ws.conversationsCalls",
    "platform.ws.heartbeat",
)
@pytest.mark.vk_fixture_id("platform.conversations.persistent-connection-no-conversation")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-FLOW-001",
    document=DOC000,
    lines=(228, 251),
    title="A call to ForceDisconnect@localhost is answered, then disconnected, and leaves the WebRTC "
    "phone on a persistent connection",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls",
    "platform.getConversations",
    "platform.patchConversationsCallParticipant",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.calls.force-disconnect-sample")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-CALL-001",
    document=DOC000,
    lines=(46, 47),
    title="A call from one user to another is real on both sides: both see each other, states agree",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls",
    "platform.patchConversationsCallParticipant",
    "platform.getConversationsCall",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.calls.make-call")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-CALL-002",
    document=DOC000,
    lines=(46, 47),
    title="A call to an external number dials it; the far end answers and hangs up",
)
@pytest.mark.vk_operations(
    "platform.postConversationsCalls",
    "platform.getConversationsCall",
    "platform.getConversations",
    "platform.ws.conversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.calls.monitor-call-listing")
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
@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-ERR-003", document=DOC001, lines=(315, 318), title="Over the Make Call rate limit: 429 with Retry-After"
)
@pytest.mark.vk_operations("platform.postConversationsCalls")
@pytest.mark.vk_fixture_id("platform.errors.rate-limited")
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


@pytest.mark.vk_profile(CALLS)
@pytest.mark.vk_rule(
    "PLATFORM-ERR-001",
    document=DOC001,
    lines=(303, 306),
    title="Make Call refuses a number that is not E.164 (spaces, dashes, parentheses): 400 (E414)",
)
@pytest.mark.vk_operations("platform.postConversationsCalls")
@pytest.mark.vk_fixture_id("platform.errors.invalid-phone-number")
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


@pytest.mark.vk_profile(OPTIONAL)
@pytest.mark.vk_severity("minor")
@pytest.mark.vk_rule(
    "PLATFORM-ERR-002",
    document=DOC001,
    lines=(307, 310),
    title="An Offline, Meal or Break caller is refused: 403 (optional: only 001 says so, E406)",
)
@pytest.mark.vk_operations(
    "platform.getPresenceDefinitions",
    "platform.getUserPresencesPurecloud",
    "platform.patchUserPresencesPurecloud",
    "platform.postConversationsCalls",
)
@pytest.mark.vk_fixture_id("platform.errors.user-not-in-valid-state")
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
