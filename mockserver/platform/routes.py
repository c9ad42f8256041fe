"""Every operation of specs/platform.openapi.yaml under ``platform_prefix`` (default /platform), so the SDK works
with ``configuration.host = "http://localhost:PORT/platform"`` (login and API on one host).

Order of checks on /api/v2 (E400): bearer token (401) → rate limit of Make Call (429, E417) → user context for
operations marked x-voicekit-requires-user-token (400, E408) → OAuth scope from the operation's security (403,
E413) → query parameters (400) → in the view: ids (404), ownership or the caller's presence (403, E406, E407) →
the body (400/413/415) → the action.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, g, request

from mockserver.domain.platform import calls, errors, notifications, oauth, presence, views
from mockserver.domain.platform.model import Token
from mockserver.platform.context import ctx
from mockserver.platform.http import check_query, empty, expand, query, read_json, refusal, respond
from mockserver.platform_errors import correlation_id, oauth_error

log = logging.getLogger("voicekit.platform")

bp = Blueprint("voicekit_platform", __name__)

MAKE_CALL = {"postConversationsCalls", "postConversationsCallsUserUserId"}
FORM = "application/x-www-form-urlencoded"


# ---- the guard -----------------------------------------------------------------------------------------------
@bp.before_request
def guard() -> Response | None:
    g.platform_correlation_id = str(uuid.uuid4())
    context = ctx()
    path = request.path[len(context.config.platform_prefix.rstrip("/")) :]
    if request.endpoint == "voicekit_platform.socket":
        channel_id = (request.view_args or {}).get("channel_id", "")
        if not notifications.is_open(context.world, channel_id):
            raise errors.NotFound(f"Channel {channel_id} not found or expired", params={"channelId": channel_id})
        return None
    if not path.startswith("/api/v2/"):
        return None
    method = "GET" if request.method == "HEAD" else request.method
    op = context.contracts.find_operation("platform", method, path)
    if op is None:  # OPTIONS: Flask answers with Allow
        return None
    g.platform_op = op
    token = oauth.authenticate(context.world, request.headers.get("Authorization"))
    g.platform_token = token
    if op.operation_id in MAKE_CALL:
        with context.world.lock:
            settings = context.world.settings
            context.world.rate_limiter.hit(
                token.value, settings.rate_limit, settings.rate_limit_window, settings.retry_after
            )
    if context.requires_user(op) and token.user_id is None:
        raise errors.UserContextRequired()
    oauth.require_scope(token, context.required_scopes(op))
    check_query(context, op)
    return None


@bp.after_request
def correlate(response: Response) -> Response:
    response.headers.setdefault("ININ-Correlation-Id", correlation_id())
    return response


@bp.errorhandler(errors.PlatformError)
def platform_refusal(exc: errors.PlatformError) -> Response:
    return refusal(exc)


@bp.errorhandler(errors.OAuthFailure)
def oauth_refusal(exc: errors.OAuthFailure) -> Response:
    return oauth_error(exc.status, exc.error, exc.description)


def token() -> Token:
    return g.platform_token


def user_id() -> str:
    """The token's user (the guard already refused client credentials where a user is required)."""
    return oauth.require_user(ctx().world, token()).id


def body() -> Any:
    return read_json(ctx(), g.platform_op)


# ---- OAuth (login host) ----------------------------------------------------------------------------------------
@bp.post("/oauth/token")
def post_oauth_token() -> Response:
    context = ctx()
    if (request.mimetype or "").lower() != FORM:
        raise errors.OAuthFailure("invalid_request", f"Content-Type must be {FORM}")
    if (request.content_length or 0) > context.config.max_body_bytes:
        raise errors.OAuthFailure("invalid_request", "The request body is too large", 413)
    form = {key: request.form.get(key, "") for key in request.form}
    grant_type = form.get("grant_type")
    if grant_type in ("client_credentials", "authorization_code", "refresh_token", oauth.SAML2_GRANT_TYPE):
        op = context.contracts.find_operation("platform", "POST", "/oauth/token")
        ref = context.contracts.request_schema_ref(op, FORM) if op else None
        problems = context.contracts.errors(ref, form) if ref else []
        if problems:
            raise errors.OAuthFailure("invalid_request", f"Invalid token request: {problems[0]}")
    answer = oauth.token_request(context.world, form, _basic())
    response = respond(answer)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _basic() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise errors.OAuthFailure("invalid_client", "client authentication must be HTTP Basic", 401)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.OAuthFailure("invalid_client", "malformed Basic credentials", 401) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise errors.OAuthFailure("invalid_client", "malformed Basic credentials", 401)
    return client_id, secret


@bp.get("/oauth/authorize")
def get_oauth_authorize() -> Response:
    for name in ("response_type", "client_id", "redirect_uri"):
        if not request.args.get(name):
            raise errors.OAuthFailure("invalid_request", f"{name} is required")
    location = oauth.authorize(ctx().world, request.args.to_dict())
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})  # no HTML page


# ---- conversations -------------------------------------------------------------------------------------------
def _created(conv_id: str) -> Response:
    return respond({"id": conv_id, "selfUri": f"/api/v2/conversations/calls/{conv_id}"})


@bp.post("/api/v2/conversations/calls")
def post_conversations_calls() -> Response:
    world = ctx().world
    caller = user_id()
    calls.check_caller(world, world.user(caller))  # E406 before the body (E400's order)
    return _created(calls.make_call(world, caller, body()).id)


@bp.post("/api/v2/conversations/calls/user/<caller_id>")
def post_conversations_calls_user(caller_id: str) -> Response:
    world = ctx().world
    calls.check_caller(world, world.user(caller_id))
    return _created(calls.make_call(world, caller_id, body()).id)


@bp.get("/api/v2/conversations/calls")
def get_conversations_calls() -> Response:
    world = ctx().world
    with world.lock:
        entities = [views.call_conversation(world, c) for c in calls.active_for(world, user_id(), calls_only=True)]
        return respond(views.listing(entities, "/api/v2/conversations/calls", page_size=max(25, len(entities))))


@bp.get("/api/v2/conversations/calls/<conversation_id>")
def get_conversations_call(conversation_id: str) -> Response:
    world = ctx().world
    with world.lock:
        return respond(views.call_conversation(world, calls.readable(world, token(), conversation_id)))


@bp.post("/api/v2/conversations/calls/<conversation_id>")
def post_conversations_call(conversation_id: str) -> Response:
    world = ctx().world
    me = user_id()
    calls.callback_agent(world, me, conversation_id)  # 404 / 403 (E407) before the body
    conv = calls.place_callback_call(world, me, conversation_id, body())
    with world.lock:
        return respond(views.conversation(world, conv))


def _patch_participant(conversation_id: str, participant_id: str) -> Response:
    world = ctx().world
    me = user_id()
    calls.owned_participant(world, me, conversation_id, participant_id)  # 404 / 403 (E407) before the body
    outcome = calls.update_participant(world, me, conversation_id, participant_id, body())
    if not outcome.processed:
        log.info("answer of %s/%s accepted, not processed: %s", conversation_id, participant_id, outcome.reason)
    return empty(202)


@bp.patch("/api/v2/conversations/calls/<conversation_id>/participants/<participant_id>")
def patch_conversations_call_participant(conversation_id: str, participant_id: str) -> Response:
    return _patch_participant(conversation_id, participant_id)


@bp.patch("/api/v2/conversations/<conversation_id>/participants/<participant_id>")
def patch_conversation_participant(conversation_id: str, participant_id: str) -> Response:
    return _patch_participant(conversation_id, participant_id)


@bp.get("/api/v2/conversations")
def get_conversations() -> Response:
    world = ctx().world
    kind = query("communicationType")
    with world.lock:
        found = calls.active_for(world, user_id(), calls_only=kind is not None and kind.lower() == "call")
        if kind is not None and kind.lower() not in ("call", "callback"):
            found = []
        entities = [views.conversation(world, c) for c in found]
        return respond(views.listing(entities, "/api/v2/conversations", page_size=max(25, len(entities))))


@bp.get("/api/v2/conversations/<conversation_id>")
def get_conversation(conversation_id: str) -> Response:
    world = ctx().world
    with world.lock:
        return respond(views.conversation(world, calls.readable(world, token(), conversation_id)))


@bp.post("/api/v2/conversations/<conversation_id>/disconnect")
def post_conversation_disconnect(conversation_id: str) -> Response:
    calls.disconnect_conversation(ctx().world, token(), conversation_id)
    return respond(f"Conversation {conversation_id} disconnected", 202)


# ---- users and presence --------------------------------------------------------------------------------------
@bp.get("/api/v2/users/me")
def get_users_me() -> Response:
    world = ctx().world
    with world.lock:
        me = world.user(user_id())
        current = token()
        client = world.clients.get(current.client_id)
        info = {
            "organization": {"id": world.org["id"], "name": world.org["name"]},
            "homeOrganization": {"id": world.org["id"], "name": world.org["name"]},
            "authorizedScope": sorted(current.scopes) if current.scopes is not None else ["*"],
            "OAuthClient": {"id": current.client_id, "name": client.name if client else current.client_id},
            "expiresAt": views.iso(world.wall() + (current.expires - world.now())),
        }
        return respond(views.user_me(world, me, expand(), info))


@bp.get("/api/v2/users/<uid>")
def get_user(uid: str) -> Response:
    world = ctx().world
    with world.lock:
        record = world.user(uid)
        wanted_state = query("state")
        if wanted_state is not None and record.state != wanted_state:
            raise errors.NotFound(f"User {uid} not found in state {wanted_state}", params={"userId": uid})
        return respond(views.user(world, record, expand()))


def _source(source_id: str) -> None:
    if source_id.lower() != "purecloud":
        raise errors.NotFound(f"Presence source {source_id} not found", params={"sourceId": source_id})


def _presence_patch(uid: str) -> Response:
    world = ctx().world
    world.user(uid)
    data = body()
    definition = data.get("presenceDefinition") if isinstance(data, dict) else None
    if not isinstance(definition, dict) or not definition.get("id"):
        raise errors.BadRequest("presenceDefinition.id is required", field="presenceDefinition.id")
    record = presence.set_presence(world, uid, definition_id=str(definition["id"]), message=data.get("message"))
    with world.lock:
        return respond(views.presence(world, record))


def _presence_get(uid: str) -> Response:
    world = ctx().world
    with world.lock:
        return respond(views.presence(world, world.user(uid)))


@bp.get("/api/v2/users/<uid>/presences/purecloud")
def get_user_presences_purecloud(uid: str) -> Response:
    return _presence_get(uid)


@bp.patch("/api/v2/users/<uid>/presences/purecloud")
def patch_user_presences_purecloud(uid: str) -> Response:
    return _presence_patch(uid)


@bp.get("/api/v2/users/<uid>/presences/<source_id>")
def get_user_presence(uid: str, source_id: str) -> Response:
    ctx().world.user(uid)
    _source(source_id)
    return _presence_get(uid)


@bp.patch("/api/v2/users/<uid>/presences/<source_id>")
def patch_user_presence(uid: str, source_id: str) -> Response:
    ctx().world.user(uid)
    _source(source_id)
    return _presence_patch(uid)


@bp.get("/api/v2/presence/definitions")
def get_presence_definitions() -> Response:
    world = ctx().world
    with world.lock:
        entities = (
            []
            if query("deactivated") == "true"
            else [views.organization_presence_definition(d) for d in world.presences.values()]
        )
        return respond({"total": len(entities), "entities": entities, "selfUri": "/api/v2/presence/definitions"})


@bp.get("/api/v2/presencedefinitions")
def get_presencedefinitions() -> Response:
    world = ctx().world
    page_size = query("pageSize", 25)
    page_number = query("pageNumber", 1)
    with world.lock:
        entities = (
            [] if query("deleted") == "true" else [views.organization_presence(d) for d in world.presences.values()]
        )
        return respond(
            views.listing(entities, "/api/v2/presencedefinitions", page_size=page_size, page_number=page_number)
        )


# ---- notifications -------------------------------------------------------------------------------------------
def _connect_uri(channel_id: str) -> str:
    scheme = "wss" if request.scheme == "https" else "ws"
    return f"{scheme}://{request.host}{ctx().config.platform_prefix.rstrip('/')}/channels/{channel_id}"


@bp.post("/api/v2/notifications/channels")
def post_notifications_channels() -> Response:
    channel = notifications.create_channel(ctx().world, token())
    return respond(views.channel(channel, _connect_uri(channel.id)))


@bp.get("/api/v2/notifications/channels")
def get_notifications_channels() -> Response:
    found = notifications.channels_of(ctx().world, token(), query("includechannels", "token"))
    return respond({"entities": [views.channel(c, _connect_uri(c.id)) for c in found]})


def _topics() -> list[dict[str, Any]]:
    data = body()
    return [item for item in data if isinstance(item, dict)]


def _ignore_errors() -> bool:
    return bool(query("ignoreErrors", False))


@bp.get("/api/v2/notifications/channels/<channel_id>/subscriptions")
def get_notifications_channel_subscriptions(channel_id: str) -> Response:
    world = ctx().world
    with world.lock:
        return respond({"entities": notifications.listing(notifications.channel_of(world, token(), channel_id))})


@bp.post("/api/v2/notifications/channels/<channel_id>/subscriptions")
def post_notifications_channel_subscriptions(channel_id: str) -> Response:
    world = ctx().world
    notifications.channel_of(world, token(), channel_id)
    entities = notifications.subscribe(world, token(), channel_id, _topics(), _ignore_errors())
    return respond({"entities": entities})


@bp.put("/api/v2/notifications/channels/<channel_id>/subscriptions")
def put_notifications_channel_subscriptions(channel_id: str) -> Response:
    world = ctx().world
    notifications.channel_of(world, token(), channel_id)
    entities = notifications.subscribe(world, token(), channel_id, _topics(), _ignore_errors(), replace=True)
    return respond({"entities": entities})


@bp.delete("/api/v2/notifications/channels/<channel_id>/subscriptions")
def delete_notifications_channel_subscriptions(channel_id: str) -> Response:
    notifications.unsubscribe_all(ctx().world, token(), channel_id)
    return empty(204)
