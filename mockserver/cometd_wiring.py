"""Wire the Bayeux server to GWS: the same authentication as REST, the domain's notifications delivered
to each agent's own /v2/me/* subscriptions, service state to everyone, and mobile push (003 l.10768-10983)
for users whose CometD sessions are all gone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, Request, Response, request

from mockserver import jsonsafe
from mockserver.cometd import BayeuxServer, channel_matches, make_blueprint
from mockserver.domain.events import Notification
from mockserver.domain.gws.views import absolutize
from mockserver.gws import envelope, security
from mockserver.gws.routes import GwsContext

PREFIX = "/api/v2/notifications"
CHANNELS = ("/v2/me/devices", "/v2/me/calls", "/notifications/services")
JSONP = re.compile(r"(/\*\*/[A-Za-z_$][\w$.]*\()(.*)(\);?)", re.S)


@dataclass(frozen=True)
class GwsPrincipal:
    user_id: str


def can_subscribe(_principal: Any, subscription: str) -> bool:
    """Only the documented channels, directly or through a wildcard that reaches one of them."""
    return any(channel_matches(subscription, channel) for channel in CHANNELS)


def push_message(data: dict[str, Any]) -> dict[str, Any] | None:
    """The minimal push format (003 l.10905-10945); errors and service messages are never pushed (E319)."""
    if data.get("messageType") == "CallStateChangeMessage":
        return {
            "callId": data["call"]["id"],
            "messageType": "CallStateChangeMessage",
            "notificationType": data["notificationType"],
        }
    if data.get("messageType") == "DeviceStateChangeMessage":
        return {"deviceId": data["devices"][0]["id"], "messageType": "DeviceStateChangeMessage"}
    return None


def push_filter_allows(filter_text: str | None, user_id: str, channel: str) -> bool:
    """gws.api.v2.users.<id>.* (all), ….calls.*, ….devices.* (003 l.10813-10823)."""
    if not filter_text:
        return True
    kind = channel.rsplit("/", 1)[-1]
    prefix = f"gws.api.v2.users.{user_id}."
    return filter_text in (prefix + "*", f"{prefix}{kind}.*")


def init_app(app: Flask, gws: GwsContext) -> BayeuxServer:
    config = gws.config
    server = BayeuxServer(
        can_subscribe=can_subscribe, timeout_ms=config.cometd_timeout_ms, max_interval_ms=config.cometd_max_interval_ms
    )
    world = gws.world

    def authenticate(req: Request) -> GwsPrincipal | None:
        with world.lock:
            user, session = security.authenticate(world, gws.sessions, req)
        if user is None:
            return None
        if config.csrf and not security.csrf_ok(req, session):
            return None
        return GwsPrincipal(user.id)

    def unauthenticated() -> Response:
        return envelope.error(20, "User is not authenticated")

    def deliver(notification: Notification) -> None:
        if notification.system != "gws":
            return
        server.publish(notification.channel, notification.data, audience=notification.audience)
        if notification.audience is not None:
            _push(notification)

    def _push(notification: Notification) -> None:
        user = world.users.get(notification.audience or "")
        mobile = (user.session or {}).get("mobileSession") if user else None
        if not mobile or server.sessions_of(user.id):  # type: ignore[union-attr]
            return
        message = push_message(notification.data)
        if message and push_filter_allows(mobile.get("filter"), user.id, notification.channel):  # type: ignore[union-attr]
            box = world.push_outbox.setdefault(user.id, [])  # type: ignore[union-attr]
            box.append(message)
            if config.history_limit and len(box) > config.history_limit:
                del box[: -config.history_limit]  # the newest only: nobody may ever collect them

    world.bus.subscribe(deliver)
    gws.on_session_end.append(server.drop_user)
    app.extensions.setdefault("voicekit.reset_hooks", []).append(server.close)
    app.extensions["voicekit.bayeux"] = server
    app.extensions.setdefault("voicekit.housekeeping", []).append(server.sweep)
    app.register_blueprint(
        make_blueprint(
            server,
            authenticate,
            url_prefix=PREFIX,
            on_unauthenticated=unauthenticated,
            max_body_bytes=config.max_body_bytes,
            parse_json=jsonsafe.loads,
        )
    )

    @app.after_request
    def absolute_uris(response: Response) -> Response:
        """Delivered messages carry server-relative URIs until here; each client gets its own host (E002)."""
        if (
            not request.path.startswith(PREFIX)
            or response.direct_passthrough
            or response.mimetype not in ("application/json", "text/javascript")
        ):
            return response
        text = response.get_data(as_text=True)
        jsonp = JSONP.fullmatch(text) if response.mimetype == "text/javascript" else None
        try:
            payload = json.loads(jsonp.group(2) if jsonp else text)
        except ValueError:
            return response
        if isinstance(payload, list):
            base = request.host_url.rstrip("/")
            payload = [absolutize(m, base) if isinstance(m, dict) and "data" in m else m for m in payload]
            body = jsonsafe.dumps(payload, separators=(",", ":"))
            response.set_data(f"{jsonp.group(1)}{body}{jsonp.group(3)}" if jsonp else body)
        return response

    return server
