"""The Genesys Cloud Platform API adapter (seeds 000 and 001): REST and OAuth under ``platform_prefix``, the
notification WebSocket at each channel's connectUri, and the control API under ``{control_prefix}/platform``.

``init_app(app)`` builds the domain (``mockserver.domain.platform``) from the seed's ``platform:`` section with
MockConfig's token lifetime and rate limit, registers the blueprints, subscribes the socket hub to the shared
EventBus and adds a reset hook that restores the seed. See README.md.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from mockserver.domain.events import EventBus
from mockserver.domain.platform import PlatformWorld, build, oauth
from mockserver.domain.platform.model import Settings
from mockserver.domain.throttle import FailureThrottle
from mockserver.platform import control, socket
from mockserver.platform.context import PlatformContext
from mockserver.platform.hub import NotificationHub
from mockserver.platform.routes import bp
from voicekit.contracts import shared_contracts

__all__ = ["PlatformContext", "init_app"]


def _subscribed(world: PlatformWorld) -> Callable[[str, str], bool]:
    """Whether an open channel is subscribed to a topic (the hub asks for each message)."""

    def check(channel_id: str, topic: str) -> bool:
        with world.lock:
            channel = world.channels.get(channel_id)
            return channel is not None and not channel.closed and topic in channel.topics

    return check


def init_app(app: Flask) -> PlatformContext:
    config = app.config["VOICEKIT"]
    seed = app.extensions.get("voicekit.seed") or {}
    bus: EventBus = app.extensions["voicekit.bus"]
    scheduler = app.extensions["voicekit.scheduler"]
    world = build(
        seed.get("platform"),
        scheduler,
        bus,
        Settings(token_lifetime=config.token_lifetime, rate_limit=config.rate_limit),
    )
    world.auth_failures = FailureThrottle(config.auth_failure_limit, config.auth_failure_window)
    world.max_tokens = config.max_tokens
    context = PlatformContext(
        world=world, contracts=shared_contracts(), config=config, hub=NotificationHub(_subscribed(world))
    )
    bus.subscribe(context.hub.on_notification)
    app.extensions["voicekit.platform"] = context

    def reset() -> None:
        context.hub.close_all()
        world.reset()

    app.extensions.setdefault("voicekit.reset_hooks", []).append(reset)
    app.extensions.setdefault("voicekit.housekeeping", []).extend(
        [lambda: oauth.prune_expired(world), lambda: world.forget_ended(config.history_limit)]
    )
    assert socket.sock is not None  # the WebSocket route is registered on bp by importing the module
    app.register_blueprint(bp, url_prefix=config.platform_prefix.rstrip("/"))
    app.register_blueprint(control.bp, url_prefix=f"{config.control_prefix}/platform")
    return context
