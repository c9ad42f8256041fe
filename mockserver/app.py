"""The application factory: one process serving GWS, CometD, the Platform API, the Connect bus and the
control API, each as an adapter over its domain (see domain/README.md)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mockserver.config import MockConfig
from mockserver.domain.clock import RealScheduler, Scheduler
from mockserver.domain.events import EventBus
from mockserver.domain.gws.seed import build_world
from mockserver.gws import envelope
from mockserver.gws import routes as gws_routes
from mockserver.variants import parse as parse_variants
from voicekit.contracts import shared_contracts

log = logging.getLogger("voicekit.mock")


def load_seed(path: Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def create_app(config: MockConfig | dict[str, Any] | None = None, *, scheduler: Scheduler | None = None) -> Flask:
    if not isinstance(config, MockConfig):
        config = MockConfig.load(config)
    config.variants = sorted(parse_variants(config.variants))  # unknown names are refused before anything starts
    app = Flask("voicekit-mock")
    app.json.sort_keys = False  # keep members in the order the documents show them
    app.config["VOICEKIT"] = config
    app.config["MAX_CONTENT_LENGTH"] = None  # bodies are bounded by the adapters, with their own envelopes
    scheduler = scheduler or RealScheduler()
    bus = EventBus()
    seed = load_seed(config.seed)
    contracts = shared_contracts()
    world = build_world(seed.get("gws", {}), scheduler, bus)
    world.variants = frozenset(config.variants)
    gws = gws_routes.GwsContext(world=world, contracts=contracts, config=config)
    app.extensions["voicekit.seed"] = seed
    app.extensions["voicekit.bus"] = bus
    app.extensions["voicekit.scheduler"] = scheduler
    gws_routes.init_app(app, gws)
    _init_optional(app, gws)
    from mockserver.control import routes as control_routes

    control_routes.init_app(app)
    from mockserver.control import journal

    journal.init_app(app)
    from mockserver import dashboard

    dashboard.init_app(app)
    from mockserver.control import scenario

    runner = scenario.init_app(app)
    pages = app.extensions["voicekit.dashboard"]
    runner.listeners.append(lambda line: pages.send("scenario", line))
    from mockserver.connect import init_app as init_connect; init_connect(app)  # noqa: E702, I001
    from mockserver.platform import init_app as init_platform; init_platform(app)  # noqa: E702, I001
    _register_fallbacks(app, config)
    return app


def _init_optional(app: Flask, gws: gws_routes.GwsContext) -> None:
    """Adapters that live in their own packages register themselves when present."""
    try:
        from mockserver.cometd_wiring import init_app as init_cometd
    except ImportError:  # pragma: no cover - the CometD adapter is part of the package
        return
    init_cometd(app, gws)


def _register_fallbacks(app: Flask, config: MockConfig) -> None:
    """Whatever goes wrong, the answer is the system's JSON envelope — never an HTML page."""

    def shaped(status: int, message: str) -> Response:
        if request.path.startswith(config.platform_prefix):
            from mockserver.platform_errors import error_body

            return error_body(status, message)
        if request.path.startswith(config.control_prefix):
            response = jsonify({"error": message, "status": status})
            response.status_code = status
            return response
        code = {404: 6, 405: 3, 413: 10, 415: 10, 400: 10}.get(status, 4)
        return envelope.error(code, message, status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return shaped(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return shaped(500, "An internal error occurred")
