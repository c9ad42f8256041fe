"""The official SDK (purecloudplatformclientv2, import PureCloudPlatformClientV2) against the real server, with
``host`` pointed at the mock's Platform prefix (no ``//api.``: login and API on the same host, field notes).

A client-credentials token and user tokens through the mock's code and PKCE flows; then Make Call → get call →
answer (PATCH) → hold → disconnect as users; ApiException with the decided status where the rules refuse; and the
SDK's own urllib3 retry of a 429 that carries Retry-After (E417).
"""

from __future__ import annotations

import json
import time
from typing import Any

import platform_mock_helpers as h
import pytest
import requests

pc = pytest.importorskip("PureCloudPlatformClientV2")
from PureCloudPlatformClientV2.rest import ApiException  # noqa: E402


def model(cls: type, **members: Any) -> Any:
    """SDK models take no constructor arguments; members are set afterwards."""
    instance = cls()
    for name, value in members.items():
        setattr(instance, name, value)
    return instance


def sdk(live: h.LiveServer) -> Any:
    return pc.ApiClient(host=live.host)


def code_login(live: h.LiveServer, login: str, *, pkce: bool) -> Any:
    """A user ApiClient: /oauth/authorize (no login page; login_hint names the test user), then the SDK's own
    get_pkce_token or get_code_authorization_token."""
    client = sdk(live)
    params = {
        "response_type": "code",
        "client_id": h.APP_CLIENT,
        "redirect_uri": h.REDIRECT,
        "state": "sdk",
        "login_hint": login,
    }
    verifier = client.generate_pkce_code_verifier(64) if pkce else None
    if verifier:
        params.update(code_challenge=client.compute_pkce_code_challenge(verifier), code_challenge_method="S256")
    redirect = requests.get(f"{live.host}/oauth/authorize", params=params, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    code = h.location_params(redirect.headers["Location"])["code"]
    if verifier:
        _, token = client.get_pkce_token(h.APP_CLIENT, verifier, code, h.REDIRECT)
    else:
        _, token = client.get_code_authorization_token(h.APP_CLIENT, h.APP_SECRET, code, h.REDIRECT)
    assert token["token_type"] == "bearer" and token["refresh_token"]
    return client


def refused(action: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        action()
    body = json.loads(caught.value.body)
    assert h.error_problems("/api/v2", body) == [], body
    return caught.value.status, body


def states(conversations: Any, conversation_id: str) -> list[tuple[str, str, bool]]:
    call = conversations.get_conversations_call(conversation_id)
    return [(p.purpose, p.state, bool(p.held)) for p in call.participants]


def test_client_credentials_token_reads_but_cannot_place_or_answer(live):
    client = sdk(live).get_client_credentials_token(h.CC_CLIENT, h.CC_SECRET)
    user = pc.UsersApi(client).get_user(h.CAROL)
    assert (user.id, user.name, user.state) == (h.CAROL, "Carol Managed", "active")
    conversations = pc.ConversationsApi(client)
    status, body = refused(
        lambda: conversations.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+15551234567"))
    )
    assert (status, body["code"], body["message"]) == (400, "bad.request", h.USER_CONTEXT)
    delivered = live.inbound(h.CAROL)
    status, body = refused(
        lambda: conversations.patch_conversations_call_participant(
            delivered["conversationId"],
            delivered["participantId"],
            model(pc.MediaParticipantRequest, state="connected"),
        )
    )
    assert (status, body["message"]) == (400, h.USER_CONTEXT)
    status, _ = refused(lambda: pc.UsersApi(client).get_users_me())
    assert status == 400


def test_make_call_get_answer_hold_disconnect_as_users(live):
    carol = code_login(live, "carol@voicekit.example", pkce=True)  # managed SIP phone, the caller
    dave = code_login(live, "dave@voicekit.example", pkce=False)  # Broadsoft SIP phone, the callee
    assert pc.UsersApi(carol).get_users_me().id == h.CAROL
    carol_calls, dave_calls = pc.ConversationsApi(carol), pc.ConversationsApi(dave)

    created = carol_calls.post_conversations_calls(model(pc.CreateCallRequest, call_user_id=h.DAVE))
    assert created.id and created.self_uri == f"/api/v2/conversations/calls/{created.id}"
    assert states(carol_calls, created.id) == [("agent", "connected", False), ("user", "alerting", False)]

    call = dave_calls.get_conversations_call(created.id)
    mine = next(p for p in call.participants if p.user and p.user.id == h.DAVE)
    status, body = refused(
        lambda: carol_calls.patch_conversations_call_participant(  # not Carol's participant
            created.id, mine.id, model(pc.MediaParticipantRequest, state="connected")
        )
    )
    assert (status, body["code"]) == (403, "not.authorized")

    answered = dave_calls.patch_conversations_call_participant(
        created.id, mine.id, model(pc.MediaParticipantRequest, state="connected")
    )
    assert answered is None  # 202, empty body (E418)
    assert states(dave_calls, created.id) == [("agent", "connected", False), ("user", "connected", False)]

    dave_calls.patch_conversation_participant(created.id, mine.id, model(pc.MediaParticipantRequest, held=True))
    assert states(carol_calls, created.id) == [("agent", "connected", False), ("user", "connected", True)]
    dave_calls.patch_conversations_call_participant(created.id, mine.id, model(pc.MediaParticipantRequest, held=False))

    dave_calls.patch_conversations_call_participant(
        created.id, mine.id, model(pc.MediaParticipantRequest, state="disconnected")
    )
    ended = carol_calls.get_conversations_call(created.id)
    assert [(p.state, p.disconnect_type) for p in ended.participants] == [
        ("disconnected", "peer"),
        ("disconnected", "client"),
    ]
    assert carol_calls.get_conversations_calls().entities == []

    again = carol_calls.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+15551234567"))
    assert isinstance(carol_calls.post_conversation_disconnect(again.id), str)  # 202 with a string body
    assert {p.state for p in carol_calls.get_conversations_call(again.id).participants} == {"disconnected"}


def test_rules_refuse_with_api_exception(live):
    carol = pc.ConversationsApi(code_login(live, "carol@voicekit.example", pkce=True))
    grace = pc.ConversationsApi(code_login(live, "grace@voicekit.example", pkce=True))  # Offline
    status, body = refused(
        lambda: grace.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+14155552671"))
    )
    assert (status, body["code"], body["message"]) == (403, "not.authorized", "User is not in a valid state")
    status, body = refused(
        lambda: carol.post_conversations_calls(model(pc.CreateCallRequest, phone_number="(415) 555-2671"))
    )
    assert (status, body["code"], body["message"]) == (400, "invalid.value", "Invalid phone number format")

    limited = pc.ApiClient(host=live.host)
    limited.access_token = live.token(h.CAROL, h.LIMITED_CLIENT)
    status, body = refused(
        lambda: pc.ConversationsApi(limited).post_conversations_calls(
            model(pc.CreateCallRequest, phone_number="+14155552671")
        )
    )
    assert (status, body["code"]) == (403, "missing.permissions")


def test_wrong_phone_type_is_accepted_but_not_processed(live):
    """E412: the answer request of a phone that cannot answer remotely is 202 (no ApiException); the call keeps
    alerting until the phone is picked up. E419: a WebRTC user without "placing calls with another app" gets 200
    and a call whose own leg never connects."""
    bob = pc.ConversationsApi(code_login(live, "bob@voicekit.example", pkce=True))  # WebRTC, no persistence
    delivered = live.inbound(h.BOB)
    assert (
        bob.patch_conversations_call_participant(
            delivered["conversationId"],
            delivered["participantId"],
            model(pc.MediaParticipantRequest, state="connected"),
        )
        is None
    )
    assert states(bob, delivered["conversationId"]) == [("customer", "connected", False), ("user", "alerting", False)]
    live.control("POST", f"/platform/users/{h.BOB}/phone/answer")
    assert states(bob, delivered["conversationId"])[1] == ("user", "connected", False)

    ivan = pc.ConversationsApi(code_login(live, "ivan@voicekit.example", pkce=True))
    created = ivan.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+15551234567"))
    (agent,) = ivan.get_conversations_call(created.id).participants
    assert (agent.state, agent.disconnect_type) == ("disconnected", "error")


def test_sdk_retries_a_429_with_retry_after_by_itself(live):
    live.settings(rateLimit=1, rateLimitWindowSeconds=1)  # Retry-After: 1
    carol = pc.ConversationsApi(code_login(live, "carol@voicekit.example", pkce=True))
    made = []
    for number in ("+15551234567", "+15557654321", "+15557654322"):  # back to back: the 2nd is refused, unless
        made.append(carol.post_conversations_calls(model(pc.CreateCallRequest, phone_number=number)).id)
        if live.control("GET", "/platform/rate-limit").json()["refused"]:  # a stalled machine let 1 s pass
            break
    counts = live.control("GET", "/platform/rate-limit").json()
    assert counts["refused"] >= 1 and counts["allowed"] == len(made) == len(set(made))  # refused, retried, made


def test_sdk_gives_up_after_ten_retries_with_api_exception_429(live):
    """When every retry is refused too, urllib3's Retry stops retrying after 10 and the SDK raises
    ApiException(429) with the last answer: 11 requests reached the mock."""
    live.settings(rateLimit=1, retryAfterSeconds=0)  # Retry-After: 0 — the retries come at once
    carol = pc.ConversationsApi(code_login(live, "carol@voicekit.example", pkce=True))
    carol.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+15551234567"))
    status, body = refused(
        lambda: carol.post_conversations_calls(model(pc.CreateCallRequest, phone_number="+15557654321"))
    )
    assert (status, body["code"]) == (429, "too.many.requests.retry.after")
    assert live.control("GET", "/platform/rate-limit").json() == {"allowed": 1, "refused": 11}


def test_sdk_refreshes_an_expired_code_token(live):
    made = live.control(
        "POST",
        "/platform/clients",
        {
            "id": "short-lived",
            "secret": "s",
            "tokenLifetimeSeconds": 1,
            "grants": ["authorization_code", "refresh_token"],
            "redirectUris": [h.REDIRECT],
        },
    )
    assert made.status_code == 201
    client = sdk(live)
    redirect = requests.get(
        f"{live.host}/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        params={"response_type": "code", "client_id": "short-lived", "redirect_uri": h.REDIRECT, "login_hint": h.DAVE},
    )
    code = h.location_params(redirect.headers["Location"])["code"]
    client.get_code_authorization_token("short-lived", "s", code, h.REDIRECT)
    first = client.access_token
    time.sleep(1.1)  # let the token expire: the next call gets 401, the SDK refreshes and repeats it
    assert pc.UsersApi(client).get_users_me().id == h.DAVE
    assert client.access_token != first
