"""The pure domain (mockserver.domain.platform) rule by rule, each shown allowed and refused, on a manual clock.

000 is the authority for who may answer or place a call and for what each phone type does; 001 adds the error
cases (E406 presence, E413 scope, E414 phone numbers, E417 rate limit); the errata decide the statuses.
"""

from __future__ import annotations

import platform_mock_helpers as h
import pytest

from mockserver.domain.platform import calls, errors, notifications, oauth, phones, presence
from mockserver.domain.platform.world import SOCKET_CLOSING


def _agent_leg(world, conv):
    return next(p for p in conv.participants if p.purpose == "agent")


def _leg_of(conv, user_id):
    return next(p for p in conv.participants if p.user_id == user_id)


# ---- 1. OAuth authorization type (000 l.88-99) ------------------------------------------------------------
def test_user_token_has_a_user_context_client_credentials_has_none():
    world, _, _ = h.make_world()
    assert oauth.require_user(world, h.user_token(world, h.CAROL)).id == h.CAROL
    with pytest.raises(errors.UserContextRequired) as refused:
        oauth.require_user(world, h.cc_token(world))
    assert (refused.value.status, refused.value.code, refused.value.message) == (400, "bad.request", h.USER_CONTEXT)


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        (None, errors.AuthenticationRequired),
        ("", errors.AuthenticationRequired),
        ("Basic abc", errors.AuthenticationRequired),
        ("Bearer forged-token", errors.BadCredentials),
    ],
)
def test_missing_malformed_or_forged_bearer_is_401(header, refusal):
    world, _, _ = h.make_world()
    with pytest.raises(refusal) as refused:
        oauth.authenticate(world, header)
    assert refused.value.status == 401


def test_token_expires_after_its_lifetime():
    world, clock, _ = h.make_world(tokenLifetimeSeconds=60)
    token = h.user_token(world, h.CAROL)
    assert oauth.authenticate(world, f"Bearer {token.value}") is token
    clock.advance(59)
    assert oauth.authenticate(world, f"Bearer {token.value}") is token
    clock.advance(1)
    with pytest.raises(errors.CredentialsExpired):
        oauth.authenticate(world, f"Bearer {token.value}")


def test_client_token_lifetime_overrides_the_setting():
    world, _, _ = h.make_world()
    world.clients[h.CC_CLIENT].token_lifetime = 120
    answer = oauth.token_request(world, {"grant_type": "client_credentials"}, (h.CC_CLIENT, h.CC_SECRET))
    assert answer["expires_in"] == 120 and "refresh_token" not in answer


@pytest.mark.parametrize(
    ("granted", "needed", "ok"),
    [
        (None, ["conversations"], True),
        (frozenset({"conversations"}), ["conversations"], True),
        (frozenset({"conversation:call:create"}), ["conversations"], True),  # 001's name, alias (E413)
        (frozenset({"conversations"}), ["conversations:readonly"], True),  # write implies read
        (frozenset({"users:readonly"}), ["conversations"], False),
        (frozenset({"conversations:readonly"}), ["conversations"], False),
        (frozenset({"user:read"}), ["users:readonly"], True),
    ],
)
def test_scopes_and_seed_001_aliases(granted, needed, ok):
    world, _, _ = h.make_world()
    token = h.user_token(world, h.CAROL, scopes=granted)
    assert oauth.has_scope(token, needed) is ok
    if not ok:
        with pytest.raises(errors.MissingPermissions) as refused:
            oauth.require_scope(token, needed)
        assert (refused.value.status, refused.value.message) == (403, "Insufficient permissions")


# ---- OAuth grants ------------------------------------------------------------------------------------------
def _code(world, **params):
    query = {"response_type": "code", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT, "state": "s1", **params}
    return h.location_params(oauth.authorize(world, query))


def test_authorization_code_grant_gives_a_user_token_with_refresh():
    world, _, _ = h.make_world()
    got = _code(world, login_hint="carol@voicekit.example")
    assert got["state"] == "s1"
    answer = oauth.token_request(
        world,
        {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": h.REDIRECT},
        (h.APP_CLIENT, h.APP_SECRET),
    )
    token = world.tokens[answer["access_token"]]
    assert token.user_id == h.CAROL and answer["refresh_token"]
    with pytest.raises(errors.OAuthFailure) as reused:  # a code is used once
        oauth.token_request(
            world,
            {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": h.REDIRECT},
            (h.APP_CLIENT, h.APP_SECRET),
        )
    assert reused.value.error == "invalid_grant"


def test_code_expires_and_needs_the_same_redirect_uri():
    world, clock, _ = h.make_world(authorizationCodeLifetimeSeconds=10)
    form = {"grant_type": "authorization_code", "code": _code(world)["code"], "redirect_uri": "http://evil/cb"}
    with pytest.raises(errors.OAuthFailure, match="redirect_uri"):
        oauth.token_request(world, form, (h.APP_CLIENT, h.APP_SECRET))
    form = {"grant_type": "authorization_code", "code": _code(world)["code"], "redirect_uri": h.REDIRECT}
    clock.advance(10)
    with pytest.raises(errors.OAuthFailure, match="invalid or expired"):
        oauth.token_request(world, form, (h.APP_CLIENT, h.APP_SECRET))


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce_verifier_must_match_the_challenge(method):
    world, _, _ = h.make_world()
    challenge = h.CHALLENGE if method == "S256" else h.VERIFIER
    good = _code(world, code_challenge=challenge, code_challenge_method=method)["code"]
    form = {
        "grant_type": "authorization_code",
        "code": good,
        "code_verifier": h.VERIFIER,
        "client_id": h.APP_CLIENT,
        "redirect_uri": h.REDIRECT,
    }
    assert world.tokens[oauth.token_request(world, form, None)["access_token"]].user_id == h.ALICE
    bad = _code(world, code_challenge=challenge, code_challenge_method=method)["code"]
    with pytest.raises(errors.OAuthFailure) as refused:
        oauth.token_request(world, dict(form, code=bad, code_verifier="x" * 43), None)
    assert refused.value.error == "invalid_grant"


def test_fixture_challenge_is_the_s256_of_the_fixture_verifier():
    assert oauth.pkce_challenge(h.VERIFIER, "S256") == h.CHALLENGE


def test_implicit_grant_puts_the_token_in_the_fragment_for_the_login_user():
    world, _, _ = h.make_world()
    location = oauth.authorize(
        world, {"response_type": "token", "client_id": h.APP_CLIENT, "redirect_uri": h.REDIRECT, "state": "abc"}
    )
    assert location.startswith(h.REDIRECT + "#access_token=")
    got = h.location_params(location)
    assert got["token_type"] == "bearer" and got["state"] == "abc"
    assert world.tokens[got["access_token"]].user_id == h.ALICE  # the client's loginUser


def test_authorize_refuses_unknown_client_and_foreign_redirect_without_redirecting():
    world, _, _ = h.make_world()
    with pytest.raises(errors.OAuthFailure):
        oauth.authorize(world, {"response_type": "token", "client_id": "nope", "redirect_uri": h.REDIRECT})
    with pytest.raises(errors.OAuthFailure):
        oauth.authorize(world, {"response_type": "token", "client_id": h.APP_CLIENT, "redirect_uri": "http://x/cb"})


def test_authorize_redirects_grant_errors():
    world, _, _ = h.make_world()
    got = _code(world, response_type="id_token")
    assert got["error"] == "unsupported_response_type" and got["state"] == "s1"
    got = _code(world, code_challenge=h.CHALLENGE, code_challenge_method="S512")
    assert got["error"] == "invalid_request" and "code" not in got
    limited = h.location_params(
        oauth.authorize(
            world,
            {
                "response_type": "code",
                "client_id": h.LIMITED_CLIENT,
                "redirect_uri": h.REDIRECT,
                "code_challenge": h.CHALLENGE,
            },
        )
    )
    assert "code" in limited  # a confidential code client may add PKCE
    world.clients[h.LIMITED_CLIENT].grants = frozenset({"implicit"})
    refused = h.location_params(
        oauth.authorize(world, {"response_type": "code", "client_id": h.LIMITED_CLIENT, "redirect_uri": h.REDIRECT})
    )
    assert refused["error"] == "unauthorized_client"


def test_client_credentials_needs_the_right_secret_and_grant():
    world, _, _ = h.make_world()
    with pytest.raises(errors.OAuthFailure) as wrong:
        oauth.token_request(world, {"grant_type": "client_credentials"}, (h.CC_CLIENT, "wrong"))
    assert (wrong.value.error, wrong.value.status) == ("invalid_client", 401)
    with pytest.raises(errors.OAuthFailure) as grant:
        oauth.token_request(world, {"grant_type": "client_credentials"}, (h.SSO_CLIENT, h.SSO_SECRET))
    assert grant.value.error == "unauthorized_client"
    with pytest.raises(errors.OAuthFailure) as unknown:
        oauth.token_request(world, {"grant_type": "password"}, (h.CC_CLIENT, h.CC_SECRET))
    assert unknown.value.error == "unsupported_grant_type"


def test_saml2_bearer_gives_the_token_of_the_asserted_user():
    world, _, _ = h.make_world()
    form = {
        "grant_type": oauth.SAML2_GRANT_TYPE,
        "orgName": "voicekit",
        "assertion": h.saml_assertion("dave@voicekit.example"),
    }
    answer = oauth.token_request(world, form, (h.SSO_CLIENT, h.SSO_SECRET))
    assert world.tokens[answer["access_token"]].user_id == h.DAVE
    for bad in ({"orgName": "other"}, {"assertion": h.saml_assertion("nobody@x")}, {"assertion": "%%%"}):
        with pytest.raises(errors.OAuthFailure):
            oauth.token_request(world, dict(form, **bad), (h.SSO_CLIENT, h.SSO_SECRET))


def test_refresh_token_rotates():
    world, _, _ = h.make_world()
    form = {"grant_type": "authorization_code", "code": _code(world)["code"], "redirect_uri": h.REDIRECT}
    first = oauth.token_request(world, form, (h.APP_CLIENT, h.APP_SECRET))
    second = oauth.token_request(
        world, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, (h.APP_CLIENT, h.APP_SECRET)
    )
    assert world.tokens[second["access_token"]].user_id == h.ALICE
    with pytest.raises(errors.OAuthFailure):
        oauth.token_request(
            world,
            {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            (h.APP_CLIENT, h.APP_SECRET),
        )


# ---- Make Call: presence (E406), numbers (E414), destinations (E401) -------------------------------------------
@pytest.mark.parametrize("system_presence", ["Offline", "Meal", "Break"])
def test_make_call_refused_while_offline_meal_or_break(system_presence):
    world, _, _ = h.make_world()
    presence.set_presence(world, h.CAROL, system_presence=system_presence)
    with pytest.raises(errors.NotAuthorized) as refused:
        calls.make_call(world, h.CAROL, {"phoneNumber": "+14155552671"})
    assert (refused.value.status, refused.value.message) == (403, "User is not in a valid state")
    assert world.conversations == {}


@pytest.mark.parametrize("system_presence", ["Available", "Busy", "Away", "Meeting", "Training", "OnQueue", "Idle"])
def test_make_call_allowed_in_other_presences(system_presence):
    world, _, _ = h.make_world()
    presence.set_presence(world, h.CAROL, system_presence=system_presence)
    assert calls.make_call(world, h.CAROL, {"phoneNumber": "+14155552671"}).id in world.conversations


def test_presence_rule_is_switchable():
    world, _, _ = h.make_world(presenceRule=False)
    assert calls.make_call(world, h.GRACE, {"phoneNumber": "+14155552671"})


@pytest.mark.parametrize(
    "number",
    [
        "+14155552671",
        "1003",
        "*86",
        "tel:+14155552671",
        "sip:agent@example.com",
        "ForceDisconnect@localhost",
        "someone@pbx.example.com:5060",
    ],
)
def test_dialable_numbers_accepted(number):
    world, _, _ = h.make_world()
    assert calls.make_call(world, h.CAROL, {"phoneNumber": number})


@pytest.mark.parametrize(
    "number", ["(415) 555-2671", "415-555-2671", "+1 415 555 2671", "call me", "", "+", "tel:(415)", "1"]
)
def test_formatted_numbers_refused(number):
    world, _, _ = h.make_world()
    with pytest.raises(errors.InvalidValue) as refused:
        calls.make_call(world, h.CAROL, {"phoneNumber": number})
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        400,
        "invalid.value",
        "Invalid phone number format",
    )


def test_body_without_destination_is_refused_like_001s_from_to():
    world, _, _ = h.make_world()
    with pytest.raises(errors.BadRequest):
        calls.make_call(world, h.CAROL, {"from": {"userId": h.CAROL}, "to": {"phoneNumber": "+15551234567"}})


@pytest.mark.parametrize(
    "body",
    [
        {"callUserId": "nobody"},
        {"callUserId": h.CAROL},
        {"callQueueId": "nope"},
        {"phoneNumber": "+15551234567", "callFromQueueId": "nope"},
        {"participants": [{"name": "no address"}]},
    ],
)
def test_unknown_or_self_destinations_refused(body):
    world, _, _ = h.make_world()
    with pytest.raises(errors.PlatformError) as refused:
        calls.make_call(world, h.CAROL, body)
    assert refused.value.status == 400
    assert world.conversations == {}


# ---- Make Call: the caller's leg by phone type (000, E412, E419) ----------------------------------------------------
@pytest.mark.parametrize("caller", [h.ALICE, h.BOB, h.CAROL, h.DAVE])
def test_placed_call_connects_the_callers_leg_by_itself(caller):
    world, _, recorder = h.make_world()
    conv = calls.make_call(world, caller, {"phoneNumber": "+15551234567"})
    agent = _agent_leg(world, conv)
    customer = next(p for p in conv.participants if p.purpose == "customer")
    assert (agent.state, agent.user_id, customer.state, customer.address) == (
        "connected",
        caller,
        "dialing",
        "tel:+15551234567",
    )
    states = [
        [p["state"] for p in m["eventBody"]["participants"]]
        for m in recorder.topic(f"v2.users.{caller}.conversations.calls")
    ]
    assert states == [["contacting"], ["connected", "dialing"]]  # E405: contacting, then connected + dialing


@pytest.mark.parametrize("caller", [h.ERIN, h.FRANK])
def test_placed_call_on_phone_without_remote_answer_alerts_until_the_phone_answers(caller):
    world, _, _ = h.make_world()
    conv = calls.make_call(world, caller, {"phoneNumber": "+15551234567"})
    agent = _agent_leg(world, conv)
    assert agent.state == "alerting" and len(conv.participants) == 1  # the destination waits for the agent
    outcome = calls.update_participant(world, caller, conv.id, agent.id, {"state": "connected"})
    assert not outcome.processed and agent.state == "alerting"  # no answer via API without a connection
    calls.phone_answer(world, caller)
    assert agent.state == "connected"
    assert [p.state for p in conv.participants if p.purpose == "customer"] == ["dialing"]


@pytest.mark.parametrize("caller", [h.ERIN, h.FRANK])
def test_placed_call_during_persistent_connection_connects_without_the_phone(caller):
    world, _, _ = h.make_world()
    presence.set_persistent_connection(world, caller, True)
    conv = calls.make_call(world, caller, {"phoneNumber": "+15551234567"})
    assert _agent_leg(world, conv).state == "connected"


def test_webrtc_without_placing_calls_with_another_app_never_connects():
    world, _, _ = h.make_world()
    conv = calls.make_call(world, h.IVAN, {"phoneNumber": "+15551234567"})
    agent = _agent_leg(world, conv)
    assert (agent.state, agent.disconnect_type) == ("disconnected", "error")
    assert conv.end_time is not None and len(conv.participants) == 1
    presence.configure_phone(world, h.IVAN, {"allowPlacingCalls": True})
    assert _agent_leg(world, calls.make_call(world, h.IVAN, {"phoneNumber": "+15551234567"})).state == "connected"


def test_make_call_leg_table():
    world, _, _ = h.make_world()
    table = {name: phones.make_call_leg(world.users[uid].phone) for name, uid in h.PHONE_USERS.items()}
    assert table == {
        "webrtc (persistent on)": "connect",
        "webrtc (persistent off)": "connect",
        "managed": "connect",
        "generic-sip-broadsoft": "connect",
        "generic-sip": "alert",
        "remote": "alert",
    }


# ---- Answer Call by phone type (000 l.182-216, E412) ----------------------------------------------------------
def _ring(world, user_id):
    conv = calls.deliver_call(world, ani="+15550001111", user_id=user_id)
    return conv, _leg_of(conv, user_id)


@pytest.mark.parametrize(
    ("name", "answers"),
    [
        ("managed", True),
        ("generic-sip-broadsoft", True),
        ("webrtc (persistent on)", False),
        ("webrtc (persistent off)", False),
        ("generic-sip", False),
        ("remote", False),
    ],
)
def test_answer_without_persistent_connection(name, answers):
    world, _, _ = h.make_world()
    user_id = h.PHONE_USERS[name]
    conv, leg = _ring(world, user_id)
    outcome = calls.update_participant(world, user_id, conv.id, leg.id, {"state": "connected"})
    assert outcome.processed is answers
    assert leg.state == ("connected" if answers else "alerting")


@pytest.mark.parametrize("name", ["webrtc (persistent on)", "generic-sip", "remote"])
def test_answer_during_an_active_persistent_connection(name):
    world, _, _ = h.make_world()
    user_id = h.PHONE_USERS[name]
    presence.set_persistent_connection(world, user_id, True)
    conv, leg = _ring(world, user_id)
    assert calls.update_participant(world, user_id, conv.id, leg.id, {"state": "connected"}).processed
    assert leg.state == "connected"


def test_webrtc_without_the_setting_cannot_even_open_a_persistent_connection():
    world, _, _ = h.make_world()
    with pytest.raises(errors.BadRequest):
        presence.set_persistent_connection(world, h.BOB, True)
    presence.configure_phone(world, h.BOB, {"persistentConnection": True})
    presence.set_persistent_connection(world, h.BOB, True)
    conv, leg = _ring(world, h.BOB)
    assert calls.update_participant(world, h.BOB, conv.id, leg.id, {"state": "connected"}).processed


def test_only_the_participants_user_may_answer():
    world, _, _ = h.make_world()
    conv, leg = _ring(world, h.CAROL)
    with pytest.raises(errors.NotAuthorized) as refused:
        calls.update_participant(world, h.DAVE, conv.id, leg.id, {"state": "connected"})
    assert (refused.value.status, refused.value.message) == (
        403,
        "Only the user associated with this participant can answer or place this call.",
    )
    assert leg.state == "alerting"
    customer = next(p for p in conv.participants if p.purpose == "customer")
    with pytest.raises(errors.NotAuthorized):  # nor the customer's leg, which no user owns
        calls.update_participant(world, h.CAROL, conv.id, customer.id, {"state": "disconnected"})
    calls.update_participant(world, h.CAROL, conv.id, leg.id, {"state": "connected"})
    assert leg.state == "connected"


def test_unknown_conversation_or_participant_is_404():
    world, _, _ = h.make_world()
    conv, _ = _ring(world, h.CAROL)
    for conv_id, participant_id in (("nope", "x"), (conv.id, "nope")):
        with pytest.raises(errors.NotFound):
            calls.owned_participant(world, h.CAROL, conv_id, participant_id)


# ---- ForceDisconnect and persistent connections (000 Appendix A, l.147-160, E410) ----------------------------------
def test_force_disconnect_flow_answers_then_hangs_up_after_its_silence():
    world, clock, recorder = h.make_world()
    conv = calls.make_call(world, h.CAROL, {"phoneNumber": "ForceDisconnect@localhost"})
    flow = next(p for p in conv.participants if p.purpose == "ivr")
    assert (flow.state, flow.name, flow.address) == ("connected", "ForceDisconnect", "sip:ForceDisconnect@localhost")
    clock.advance(2.9)
    assert flow.state == "connected"
    clock.advance(0.1)  # 000 l.240: 3 s of silence by default
    assert flow.state == "disconnected" and _agent_leg(world, conv).state == "disconnected"
    assert conv.end_time is not None
    last = recorder.topic(f"v2.users.{h.CAROL}.conversations.calls")[-1]
    assert {p["state"] for p in last["eventBody"]["participants"]} == {"disconnected"}


def test_force_disconnect_silence_is_configurable():
    world, clock, _ = h.make_world(forceDisconnectSilenceSeconds=0.5)
    conv = calls.make_call(world, h.CAROL, {"phoneNumber": "ForceDisconnect@localhost"})
    clock.advance(0.5)
    assert conv.end_time is not None


def test_force_disconnect_establishes_the_persistent_connection_that_lets_webrtc_answer():
    world, clock, _ = h.make_world(persistentConnectionTimeoutSeconds=60)
    conv, leg = _ring(world, h.ALICE)
    assert not calls.update_participant(world, h.ALICE, conv.id, leg.id, {"state": "connected"}).processed
    calls.remote_hangup(world, conv.id)

    calls.make_call(world, h.ALICE, {"phoneNumber": "ForceDisconnect@localhost"})
    clock.advance(3)
    assert world.users[h.ALICE].phone.persistent_active
    assert calls.active_for(world, h.ALICE, calls_only=False) == []  # E410: no conversation while only connected

    clock.advance(30)
    conv, leg = _ring(world, h.ALICE)
    assert calls.update_participant(world, h.ALICE, conv.id, leg.id, {"state": "connected"}).processed
    assert leg.state == "connected"


def test_persistent_connection_drops_after_its_idle_timeout():
    world, clock, _ = h.make_world(persistentConnectionTimeoutSeconds=60)
    calls.make_call(world, h.ALICE, {"phoneNumber": "ForceDisconnect@localhost"})
    clock.advance(3)
    clock.advance(59.9)
    assert world.users[h.ALICE].phone.persistent_active
    clock.advance(0.1)
    assert not world.users[h.ALICE].phone.persistent_active
    conv, leg = _ring(world, h.ALICE)
    assert not calls.update_participant(world, h.ALICE, conv.id, leg.id, {"state": "connected"}).processed


def test_a_new_conversation_before_the_timeout_keeps_the_connection():
    world, clock, _ = h.make_world(persistentConnectionTimeoutSeconds=60)
    calls.make_call(world, h.ALICE, {"phoneNumber": "ForceDisconnect@localhost"})
    clock.advance(50)
    conv, _ = _ring(world, h.ALICE)  # ringing for longer than the rest of the timeout
    clock.advance(30)
    assert world.users[h.ALICE].phone.persistent_active
    calls.remote_hangup(world, conv.id)
    clock.advance(60)
    assert not world.users[h.ALICE].phone.persistent_active


def test_force_disconnect_gives_no_persistent_connection_without_the_setting():
    world, clock, _ = h.make_world()
    calls.make_call(world, h.BOB, {"phoneNumber": "ForceDisconnect@localhost"})
    clock.advance(3)
    assert not world.users[h.BOB].phone.persistent_active


def test_turning_the_setting_off_drops_the_connection():
    world, _, _ = h.make_world()
    presence.set_persistent_connection(world, h.ALICE, True)
    presence.configure_phone(world, h.ALICE, {"persistentConnection": False})
    assert not world.users[h.ALICE].phone.persistent_active


# ---- other participant changes --------------------------------------------------------------------------------------
def _connected_call(world):
    conv = calls.make_call(world, h.CAROL, {"callUserId": h.DAVE})
    callee = _leg_of(conv, h.DAVE)
    calls.update_participant(world, h.DAVE, conv.id, callee.id, {"state": "connected"})
    return conv, _leg_of(conv, h.CAROL), callee


def test_user_to_user_call_hold_resume_mute_and_hang_up():
    world, _, recorder = h.make_world()
    conv, caller, callee = _connected_call(world)
    assert (caller.purpose, callee.purpose, caller.state, callee.state) == ("agent", "user", "connected", "connected")
    calls.update_participant(world, h.DAVE, conv.id, callee.id, {"held": True, "muted": True})
    assert callee.held and callee.muted and callee.hold_time is not None
    calls.update_participant(world, h.DAVE, conv.id, callee.id, {"held": False})
    assert not callee.held
    calls.update_participant(world, h.DAVE, conv.id, callee.id, {"state": "disconnected"})
    assert (callee.disconnect_type, caller.state, caller.disconnect_type) == ("client", "disconnected", "peer")
    for user_id in (h.CAROL, h.DAVE):  # both sides hear of every change, the last one included
        events = recorder.topic(f"v2.users.{user_id}.conversations.calls")
        assert events and {p["state"] for p in events[-1]["eventBody"]["participants"]} == {"disconnected"}
        assert all(h.message_problems(e) == [] for e in events)


def test_hold_needs_a_connected_participant_and_unknown_states_are_refused():
    world, _, _ = h.make_world()
    conv, leg = _ring(world, h.CAROL)
    with pytest.raises(errors.BadRequest):
        calls.update_participant(world, h.CAROL, conv.id, leg.id, {"held": True})
    with pytest.raises(errors.BadRequest):
        calls.update_participant(world, h.CAROL, conv.id, leg.id, {"state": "dialing"})
    assert (leg.state, leg.held) == ("alerting", False)
    calls.update_participant(world, h.CAROL, conv.id, leg.id, {"state": "disconnected"})
    with pytest.raises(errors.BadRequest):
        calls.update_participant(world, h.CAROL, conv.id, leg.id, {"state": "connected"})


def test_remote_party_answers_and_hangs_up():
    world, _, _ = h.make_world()
    conv = calls.make_call(world, h.CAROL, {"phoneNumber": "+15551234567"})
    customer = next(p for p in conv.participants if p.purpose == "customer")
    calls.remote_answer(world, conv.id)
    assert customer.state == "connected"
    calls.remote_hangup(world, conv.id)
    assert (customer.disconnect_type, _agent_leg(world, conv).disconnect_type) == ("endpoint", "peer")


def test_acd_call_alerts_an_on_queue_member_or_waits():
    world, _, _ = h.make_world()
    conv = calls.deliver_call(world, ani="+15550001111", queue_id=h.SUPPORT)
    agent = _agent_leg(world, conv)
    acd = next(p for p in conv.participants if p.purpose == "acd")
    assert (agent.user_id, agent.state, agent.queue_id, acd.state) == (h.HEIDI, "alerting", h.SUPPORT, "disconnected")
    waiting = calls.deliver_call(world, ani="+15550002222", queue_id=h.SUPPORT)  # Heidi busy, Alice not On Queue
    assert [p.purpose for p in waiting.participants] == ["customer", "acd"]
    presence.set_presence(world, h.ALICE, system_presence="OnQueue")
    assert _agent_leg(world, waiting).user_id == h.ALICE


def test_answered_acd_call_ends_in_after_call_work_until_the_wrapup():
    world, _, _ = h.make_world()
    conv = calls.deliver_call(world, ani="+15550001111", queue_id=h.SUPPORT)
    agent = _agent_leg(world, conv)
    calls.update_participant(world, h.HEIDI, conv.id, agent.id, {"state": "connected"})
    calls.remote_hangup(world, conv.id)
    assert (agent.state, agent.wrapup_required) == ("disconnected", True)
    assert calls.active_for(world, h.HEIDI, calls_only=False) == [conv]  # still the agent's, in ACW
    calls.update_participant(world, h.HEIDI, conv.id, agent.id, {"wrapup": {"code": "resolved", "notes": "ok"}})
    assert agent.state == "terminated" and agent.acw_end is not None
    assert calls.active_for(world, h.HEIDI, calls_only=False) == []


def test_non_acd_and_unanswered_calls_need_no_wrapup():
    world, _, _ = h.make_world()
    conv, leg = _ring(world, h.CAROL)
    calls.update_participant(world, h.CAROL, conv.id, leg.id, {"state": "connected"})
    calls.remote_hangup(world, conv.id)
    assert (leg.state, leg.wrapup_required) == ("disconnected", False)
    queued = calls.deliver_call(world, ani="+15550001111", queue_id=h.SUPPORT)
    calls.remote_hangup(world, queued.id)  # hung up while ringing at Heidi
    assert _agent_leg(world, queued).wrapup_required is False
    assert calls.active_for(world, h.HEIDI, calls_only=False) == []


def test_callback_call_is_placed_by_its_agent_only():
    world, _, _ = h.make_world()
    conv = calls.create_callback(world, h.CAROL, ["+15551234567", "+15557654321"])
    with pytest.raises(errors.NotAuthorized):
        calls.callback_agent(world, h.DAVE, conv.id)
    with pytest.raises(errors.InvalidValue):
        calls.place_callback_call(world, h.CAROL, conv.id, {"callNumber": "+15550000000"})
    calls.place_callback_call(world, h.CAROL, conv.id, {"callNumber": "+15557654321"})
    customer = next(p for p in conv.participants if p.purpose == "customer")
    assert (_agent_leg(world, conv).state, customer.state, customer.address) == (
        "connected",
        "dialing",
        "tel:+15557654321",
    )
    with pytest.raises(errors.BadRequest):  # already calling
        calls.place_callback_call(world, h.CAROL, conv.id, {})


def test_conversations_are_readable_by_their_participants_and_by_client_credentials():
    world, _, _ = h.make_world()
    conv, _ = _ring(world, h.CAROL)
    assert calls.readable(world, h.user_token(world, h.CAROL), conv.id) is conv
    assert calls.readable(world, h.cc_token(world), conv.id) is conv
    with pytest.raises(errors.NotAuthorized):
        calls.readable(world, h.user_token(world, h.DAVE), conv.id)


# ---- presence, rate limit, channels -------------------------------------------------------------------------------
def test_presence_change_is_published():
    world, _, recorder = h.make_world()
    presence.set_presence(world, h.CAROL, system_presence="Busy", message="at lunch soon")
    (message,) = recorder.topic(f"v2.users.{h.CAROL}.presence")
    assert message["eventBody"]["presenceDefinition"]["systemPresence"] == "Busy"
    assert h.message_problems(message) == []
    with pytest.raises(errors.InvalidValue):
        presence.set_presence(world, h.CAROL, definition_id="nope")


def test_rate_limit_refuses_over_the_limit_with_retry_after():
    world, clock, _ = h.make_world()
    limiter = world.rate_limiter
    limiter.hit("t", 2, 60)
    clock.advance(10)
    limiter.hit("t", 2, 60)
    with pytest.raises(errors.TooManyRequests) as refused:
        limiter.hit("t", 2, 60)
    assert refused.value.retry_after == 50 and refused.value.headers["Retry-After"] == "50"
    assert refused.value.message == "Rate limit exceeded the maximum. Retry the request in [50] seconds"
    limiter.hit("other", 2, 60)  # per token
    clock.advance(50)
    limiter.hit("t", 2, 60)
    limiter.hit("u", 0, 60)  # 0 = no limit
    with pytest.raises(errors.TooManyRequests) as fixed:  # a fixed Retry-After (settings.retryAfterSeconds)
        limiter.hit("t", 1, 60, retry_after=0)
    assert fixed.value.headers["Retry-After"] == "0"


def test_channel_topics_and_expiry():
    world, clock, recorder = h.make_world(channelLifetimeSeconds=100)
    token = h.user_token(world, h.CAROL)
    channel = notifications.create_channel(world, token)
    good = [{"id": f"v2.users.{h.CAROL}.conversations.calls"}, {"id": f"v2.users.{h.DAVE}.presence"}]
    assert [t["id"] for t in notifications.subscribe(world, token, channel.id, good)] == [g["id"] for g in good]
    with pytest.raises(errors.BadRequest):
        notifications.subscribe(world, token, channel.id, [{"id": "v2.users.nobody.presence"}])
    mixed = notifications.subscribe(world, token, channel.id, [{"id": "v2.bogus"}], ignore_errors=True)
    assert mixed[-1]["state"] == "Rejected" and len(channel.topics) == 2
    with pytest.raises(errors.NotFound):  # another user's token does not see the channel
        notifications.channel_of(world, h.user_token(world, h.DAVE), channel.id)
    assert notifications.subscribers(world, f"v2.users.{h.DAVE}.presence") == [channel.id]
    clock.advance(100)
    (closing,) = recorder.topic(SOCKET_CLOSING)
    assert h.message_problems(closing) == [] and not notifications.is_open(world, channel.id)
    assert notifications.subscribers(world, f"v2.users.{h.DAVE}.presence") == []


def test_reset_restores_the_seed():
    world, _, _ = h.make_world()
    presence.set_presence(world, h.CAROL, system_presence="Offline")
    calls.make_call(world, h.DAVE, {"phoneNumber": "+15551234567"})
    world.settings.rate_limit = 5
    world.reset()
    assert world.conversations == {} and world.settings.rate_limit == 0
    assert world.presence_of(world.users[h.CAROL]).system_presence == "Available"
