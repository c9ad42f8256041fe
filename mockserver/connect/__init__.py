"""The Amazon Connect CTI bus adapter (seed 004): a WebSocket per agent plus its control API.

``init_app(app)`` builds the domain (``mockserver.domain.connect``) from the seed's ``connect:`` section,
registers the bus and the read-only agent view under ``connect_prefix`` and the control routes under
``{control_prefix}/connect``, subscribes the socket hub to the shared EventBus and adds a reset hook.
"""

from __future__ import annotations

from flask import Flask

from mockserver.connect import control, routes
from mockserver.connect.frames import FrameReader
from mockserver.connect.routes import ConnectContext
from mockserver.domain.connect import ConnectCenter
from mockserver.domain.events import EventBus
from voicekit.contracts import Contracts


def init_app(app: Flask) -> ConnectContext:
    config = app.config["VOICEKIT"]
    seed = app.extensions.get("voicekit.seed") or {}
    bus: EventBus = app.extensions["voicekit.bus"]
    center = ConnectCenter(seed.get("connect"), scheduler=app.extensions.get("voicekit.scheduler"), bus=bus)
    gws = app.extensions.get("voicekit.gws")
    contracts = getattr(gws, "contracts", None) or Contracts()
    context = ConnectContext(center=center, reader=FrameReader(contracts, config.max_body_bytes))
    bus.subscribe(context.hub.on_notification)
    app.extensions["voicekit.connect"] = context
    app.extensions.setdefault("voicekit.reset_hooks", []).append(center.reset)
    app.register_blueprint(routes.bp, url_prefix=config.connect_prefix)
    app.register_blueprint(control.bp, url_prefix=f"{config.control_prefix}/connect")
    return context
