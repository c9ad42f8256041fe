"""Control API of the Platform mock, under {control_prefix}/platform: what no Platform client can cause.

JSON in, JSON out; errors ``{"error", "status"}`` like mockserver/control/routes.py. See README.md for the list.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from mockserver.domain.platform import calls, errors, notifications, oauth, presence, seed, views
from mockserver.domain.platform.model import Settings, User
from mockserver.platform.context import ctx

bp = Blueprint("voicekit_platform_control", __name__)


class BadBody(errors.BadRequest):
    """The control request itself is malformed."""


def _body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadBody("The body must be a JSON object")
    return data


def _reply(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


@bp.errorhandler(errors.PlatformError)
def refused(exc: errors.PlatformError) -> Response:
    status = exc.status if exc.status in (400, 403, 404, 409) else 400
    return _reply({"error": exc.message, "status": status}, status)


@bp.errorhandler(ValueError)
def invalid(exc: ValueError) -> Response:
    return _reply({"error": str(exc), "status": 400}, 400)


def _user_view(user: User) -> dict[str, Any]:
    world = ctx().world
    phone = user.phone
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "extension": user.extension,
        "presence": world.presence_of(user).system_presence,
        "phone": {
            "type": phone.type,
            "address": phone.address,
            "persistentConnection": phone.persistent_connection,
            "allowPlacingCalls": phone.allow_placing_calls,
            "persistentActive": phone.persistent_active,
            "canAnswerRemotely": calls.phones.can_answer_remotely(phone),
            "makeCallLeg": calls.phones.make_call_leg(phone),
        },
        "conversations": [c.id for c in calls.active_for(world, user.id, calls_only=False)],
    }


def _conversation_view(conversation_id: str) -> dict[str, Any]:
    world = ctx().world
    conv = world.conversation(conversation_id)
    return {
        "conversationId": conv.id,
        "conversation": views.conversation(world, conv),
        "call": views.call_conversation(world, conv),
    }


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise BadBody(f"{key} must be true or false")
    return value


# ---- settings, login, tokens, clients -----------------------------------------------------------------------------
@bp.get("/settings")
def get_settings() -> Response:
    return _reply(ctx().world.settings.snapshot())


@bp.put("/settings")
def put_settings() -> Response:
    context = ctx()
    world = context.world
    with world.lock:
        trial = seed.apply_settings(Settings(**vars(world.settings)), _body())
        world.settings = trial
    context.hub.wake_all()
    return _reply(world.settings.snapshot())


@bp.put("/login")
def put_login() -> Response:
    world = ctx().world
    key = _body().get("user")
    with world.lock:
        if key is not None and world.find_user(str(key)) is None:
            raise errors.NotFound(f"No user {key}")
        world.login_user = None if key is None else str(key)
        return _reply({"user": world.login_user})


@bp.post("/clients")
def post_client() -> Response:
    world = ctx().world
    with world.lock:
        client = seed.add_client(world, _body())
        return _reply(
            {
                "id": client.id,
                "name": client.name,
                "grants": sorted(client.grants),
                "redirectUris": list(client.redirect_uris),
                "scopes": None if client.scopes is None else sorted(client.scopes),
            },
            201,
        )


@bp.post("/tokens")
def post_token() -> Response:
    """Mint a token without the OAuth dance: {clientId, userId?, scopes?, expiresIn?}."""
    world = ctx().world
    data = _body()
    with world.lock:
        client = world.clients.get(str(data.get("clientId")))
        if client is None:
            raise errors.NotFound(f"No OAuth client {data.get('clientId')}")
        user = None
        if data.get("userId") is not None:
            user = world.find_user(str(data["userId"]))
            if user is None:
                raise errors.NotFound(f"No user {data['userId']}")
        scopes = data.get("scopes")
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
            raise BadBody("scopes must be a list of strings")
        lifetime = data.get("expiresIn")
        if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int | float)):
            raise BadBody("expiresIn must be a number of seconds")
        token = oauth.issue(
            world,
            client,
            user.id if user else None,
            "implicit" if user else "client_credentials",
            None if scopes is None else frozenset(scopes),
            lifetime,
        )
        return _reply(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": max(0, round(token.expires - token.issued)),
                "userId": token.user_id,
            },
            201,
        )


@bp.get("/rate-limit")
def rate_limit() -> Response:
    limiter = ctx().world.rate_limiter
    return _reply({"allowed": limiter.allowed, "refused": limiter.refused})


# ---- users, phones, presence -------------------------------------------------------------------------------------
@bp.get("/users")
def list_users() -> Response:
    world = ctx().world
    with world.lock:
        return _reply({"users": [_user_view(u) for u in world.users.values()]})


@bp.post("/users")
def post_user() -> Response:
    world = ctx().world
    with world.lock:
        return _reply(_user_view(seed.add_user(world, _body())), 201)


@bp.get("/users/<user_id>")
def get_user(user_id: str) -> Response:
    world = ctx().world
    with world.lock:
        return _reply(_user_view(world.user(user_id)))


@bp.put("/users/<user_id>/phone")
def put_phone(user_id: str) -> Response:
    world = ctx().world
    user = presence.configure_phone(world, user_id, _body())
    with world.lock:
        return _reply(_user_view(user))


@bp.put("/users/<user_id>/persistent-connection")
def put_persistent_connection(user_id: str) -> Response:
    world = ctx().world
    user = presence.set_persistent_connection(world, user_id, _flag(_body(), "active"))
    with world.lock:
        return _reply(_user_view(user))


@bp.put("/users/<user_id>/presence")
def put_presence(user_id: str) -> Response:
    world = ctx().world
    data = _body()
    definition_id, system_presence = data.get("presenceDefinitionId"), data.get("systemPresence")
    if definition_id is None and system_presence is None:
        raise BadBody("Name systemPresence (e.g. Available, Offline, Meal, Break, OnQueue) or presenceDefinitionId")
    user = presence.set_presence(
        world, user_id, definition_id=definition_id, system_presence=system_presence, message=data.get("message")
    )
    with world.lock:
        return _reply(_user_view(user))


# ---- calls --------------------------------------------------------------------------------------------------------
def _inbound(user_id: str | None, queue_id: str | None) -> Response:
    world = ctx().world
    data = _body()
    ani = data.get("from")
    if not isinstance(ani, str) or not ani:
        raise BadBody("from (the caller's number) is required")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise BadBody("attributes must be an object")
    conv = calls.deliver_call(
        world,
        ani=ani,
        user_id=user_id or data.get("userId"),
        queue_id=queue_id,
        dnis=data.get("dnis"),
        name=data.get("name"),
        attributes={str(k): str(v) for k, v in attributes.items()},
    )
    with world.lock:
        view = _conversation_view(conv.id)
        alerting = next((p.id for p in conv.participants if p.user_id and p.state == "alerting"), None)
        return _reply(dict(view, participantId=alerting), 201)


@bp.post("/users/<user_id>/calls")
def inbound_direct(user_id: str) -> Response:
    return _inbound(user_id, None)


@bp.post("/queues/<queue_id>/calls")
def inbound_acd(queue_id: str) -> Response:
    return _inbound(None, queue_id)


@bp.post("/users/<user_id>/callbacks")
def callback(user_id: str) -> Response:
    world = ctx().world
    data = _body()
    numbers = data.get("numbers")
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise BadBody("numbers must be a list of phone numbers")
    conv = calls.create_callback(world, user_id, numbers, data.get("name"))
    with world.lock:
        return _reply(_conversation_view(conv.id), 201)


@bp.post("/users/<user_id>/phone/<action>")
def phone(user_id: str, action: str) -> Response:
    world = ctx().world
    if action == "answer":
        conv = calls.phone_answer(world, user_id)
    elif action == "hangup":
        conv = calls.phone_hangup(world, user_id)
    else:
        raise errors.NotFound(f"No phone action {action}: answer or hangup")
    with world.lock:
        return _reply(_conversation_view(conv.id))


@bp.post("/conversations/<conversation_id>/remote/<action>")
def remote(conversation_id: str, action: str) -> Response:
    world = ctx().world
    participant = _body().get("participantId")
    if participant is not None and not isinstance(participant, str):
        raise BadBody("participantId must be a string")
    if action == "answer":
        calls.remote_answer(world, conversation_id, participant)
    elif action == "hangup":
        calls.remote_hangup(world, conversation_id, participant)
    else:
        raise errors.NotFound(f"No remote action {action}: answer or hangup")
    with world.lock:
        return _reply(_conversation_view(conversation_id))


@bp.get("/conversations/<conversation_id>")
def get_conversation(conversation_id: str) -> Response:
    world = ctx().world
    with world.lock:
        return _reply(_conversation_view(conversation_id))


# ---- notification channels ----------------------------------------------------------------------------------------
@bp.post("/channels/<channel_id>/expire")
def expire_channel(channel_id: str) -> Response:
    context = ctx()
    if not notifications.is_open(context.world, channel_id):
        raise errors.NotFound(f"No open channel {channel_id}")
    notifications.expire(context.world, channel_id)
    return _reply({"expired": channel_id, "sockets": context.hub.count(channel_id)})
