"""The application factory: one process serving GWS, CometD, the Platform API, the Connect bus and the
control API, each as an adapter over its domain (see domain/README.md)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mockserver import jsonsafe, limits
from mockserver.cometd_wiring import PREFIX as NOTIFICATIONS
from mockserver.config import MockConfig
from mockserver.domain.clock import RealScheduler, Scheduler
from mockserver.domain.events import EventBus
from mockserver.domain.gws.seed import build_world
from mockserver.domain.throttle import FailureThrottle
from mockserver.gws import envelope
from mockserver.gws import routes as gws_routes
from mockserver.gws.security import Sessions
from mockserver.variants import parse as parse_variants
from voicekit.contracts import shared_contracts

log = logging.getLogger("voicekit.mock")
# Refusals of a Bayeux message itself (malformed, too large) are answered by the CometD endpoint as a list of
# failed messages; when the app refuses one first (the body limit), it answers the same way.
BAYEUX_STATUSES = {400, 413, 414, 415}
SYNC_MEMO = 1024  # callables whose ensure_sync answer MockFlask remembers


class MockFlask(Flask):
    """Flask, remembering which views and filters are plain functions: ``ensure_sync`` runs for every filter
    and view of every request, and asking ``inspect`` each time cost more than some filters themselves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        try:
            return self._sync[func]
        except KeyError:
            wrapped = super().ensure_sync(func)
            if len(self._sync) < SYNC_MEMO:  # bounded: per-request callables (after_this_request) pass here too
                self._sync[func] = wrapped
            return wrapped
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def load_seed(path: Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def create_app(config: MockConfig | dict[str, Any] | None = None, *, scheduler: Scheduler | None = None) -> Flask:
    if not isinstance(config, MockConfig):
        config = MockConfig.load(config)
    config.variants = sorted(parse_variants(config.variants))  # unknown names are refused before anything starts
    app = MockFlask("voicekit-mock")
    # No redirects: /api/v2//me and a missing or extra slash are answered by the route or a 404 in the
    # system's envelope, never a 308 HTML page (set before any rule is added: rules bind these at add time).
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.json = jsonsafe.StrictJSONProvider(app)  # standard JSON out (no NaN), strict JSON in
    app.config["VOICEKIT"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes  # enforced while a chunked body streams in
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": limits.websocket_message_cap(config.max_body_bytes)}
    scheduler = scheduler or RealScheduler()
    bus = EventBus()
    seed = load_seed(config.seed)
    contracts = shared_contracts()
    world = build_world(seed.get("gws", {}), scheduler, bus)
    world.bound_history(config.history_limit)
    world.variants = frozenset(config.variants)
    throttle = FailureThrottle(config.auth_failure_limit, config.auth_failure_window)
    gws = gws_routes.GwsContext(
        world=world,
        contracts=contracts,
        config=config,
        sessions=Sessions(throttle, config.session_idle_timeout, config.max_sessions),
    )
    app.extensions["voicekit.seed"] = seed
    app.extensions["voicekit.bus"] = bus
    app.extensions["voicekit.scheduler"] = scheduler
    gws_routes.init_app(app, gws)
    app.extensions.setdefault("voicekit.housekeeping", []).append(gws.sessions.expire_idle)
    _init_optional(app, gws)
    from mockserver.control import routes as control_routes

    control_routes.init_app(app)
    from mockserver.control import journal, target_config

    journal.init_app(app)
    target_config.init_app(app)
    from mockserver import dashboard

    dashboard.init_app(app)
    from mockserver.control import scenario

    runner = scenario.init_app(app)
    pages = app.extensions["voicekit.dashboard"]
    runner.listeners.append(lambda line: pages.send("scenario", line))
    from mockserver.connect import init_app as init_connect

    init_connect(app)
    from mockserver.platform import init_app as init_platform

    init_platform(app)
    limits.init_app(app)
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
        if request.path.startswith(NOTIFICATIONS) and status in BAYEUX_STATUSES:  # as the endpoint itself would
            return Response(
                jsonsafe.dumps([{"successful": False, "error": f"{status}::{message}"}]),
                status,
                content_type="application/json;charset=UTF-8",
            )
        if request.path.startswith(config.platform_prefix):
            from mockserver.platform_errors import error_body

            return error_body(status, message)
        if request.path.startswith(config.control_prefix):
            response = jsonify({"error": message, "status": status})
            response.status_code = status
            return response
        code = {404: 6, 405: 3, 413: 10, 414: 10, 415: 10, 400: 10}.get(status, 4)
        return envelope.error(code, message, status)

    app.extensions["voicekit.shaped_error"] = shaped

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return shaped(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The last frames only: a deep recursion must not cost ~150 kB of log per request.
        log.error("unexpected error on %s %s\n%s", request.method, request.path[:200], _summary(exc))
        return shaped(500, "An internal error occurred")


def _summary(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc, limit=-12))
    return text if len(text) <= 6000 else "…" + text[-6000:]


def error_bytes(app: Flask, path: str, status: int, message: str) -> bytes:
    """A complete HTTP response in the envelope of ``path``'s system, for errors the WSGI server produces
    before the application runs (request line too long, malformed request)."""
    with app.test_request_context(path or "/"):
        response = app.extensions["voicekit.shaped_error"](status, message)
    body = response.get_data()
    head = [f"HTTP/1.1 {status} {response.status.partition(' ')[2] or 'Error'}"]
    head += [f"{name}: {value}" for name, value in response.headers.items() if name.lower() != "content-length"]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
