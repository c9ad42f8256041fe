"""The control API under its own prefix (default /control): JSON in, JSON out.

It is not part of any documented API; tests and vendors' local runs use it to cause what a client
cannot (inbound calls, remote parties, outages, T-Server faults) and to reset or snapshot the world.
"""

from __future__ import annotations

import copy
import hmac
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mockserver.control import gws as gws_control
from mockserver.domain.errors import VoicekitError

bp = Blueprint("control", __name__)


def _world() -> Any:
    return current_app.extensions["voicekit.gws"].world


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise VoicekitError("The body must be a JSON object")
    return data or {}


@bp.before_request
def guard() -> Response | None:
    token = current_app.config["VOICEKIT"].control_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, token):
            response = jsonify({"error": "control API token required", "status": 401})
            response.status_code = 401
            return response
    return None


@bp.errorhandler(VoicekitError)
def refused(exc: VoicekitError) -> Response:
    status = getattr(exc, "status_code", 10)
    http = {1: 400, 2: 409, 6: 404, 10: 400}.get(status, 400)
    response = jsonify({"error": exc.message, "status": http})
    response.status_code = http
    return response


@bp.post("/reset")
def reset() -> Response:
    for hook in current_app.extensions["voicekit.reset_hooks"]:
        hook()
    return jsonify({"reset": True})


@bp.get("/state")
def export_state() -> Response:
    world = _world()
    with world.lock:
        return jsonify({"gws": world.snapshot()})


@bp.put("/state")
def import_state() -> Response:
    data = _json()
    if not isinstance(data.get("gws"), dict):
        raise VoicekitError("The body must hold a gws snapshot")
    world = _world()
    with world.lock:
        world.restore(copy.deepcopy(data["gws"]))
    return jsonify({"imported": True})


@bp.get("/variants")
def get_variants() -> Response:
    from mockserver.variants import VARIANTS, describe

    names = current_app.config["VOICEKIT"].variants
    return jsonify({"variants": list(names), "active": describe(names), "known": list(VARIANTS)})


@bp.put("/variants")
def put_variants() -> Response:
    """``{"variants": ["mute-silent", ...]}`` (or a comma-separated string): switch the mock to exactly these
    documented alternatives, at once and for every later request (a reset keeps them)."""
    from mockserver.variants import parse

    body = _json()
    if "variants" not in body or not isinstance(body["variants"], list | str):
        raise VoicekitError("The body must be {\"variants\": [names]}")
    try:
        names = parse(body["variants"])
    except ValueError as exc:
        raise VoicekitError(str(exc)) from None
    world = _world()
    with world.lock:
        current_app.config["VOICEKIT"].variants = sorted(names)
        world.variants = names
    return get_variants()


@bp.get("/stats")
def stats() -> Response:
    """Counters for health pages and benchmarks (CometD sessions, held connects, queued messages)."""
    bayeux = current_app.extensions.get("voicekit.bayeux")
    return jsonify({"cometd": bayeux.stats() if bayeux is not None else None})


@bp.post("/gws/calls")
def inbound_call() -> Response:
    return jsonify(gws_control.inbound_call(_world(), _json()))


@bp.post("/gws/calls/<call_id>/<action>")
def remote(call_id: str, action: str) -> Response:
    gws_control.remote(_world(), call_id, action)
    return jsonify({"done": True})


@bp.put("/gws/services/voice")
def voice_service() -> Response:
    gws_control.set_voice_service(_world(), str(_json().get("state")))
    return jsonify({"state": _world().voice_service.state})


@bp.post("/gws/faults")
def fault() -> Response:
    gws_control.inject_fault(_world(), _json())
    return jsonify({"queued": True})


@bp.post("/gws/agents")
def agent() -> Response:
    return jsonify(gws_control.create_agent(_world(), _json()))


@bp.get("/gws/reporting-events")
def reporting_events() -> Response:
    world = _world()
    with world.lock:
        return jsonify({"events": list(world.reporting_events)})


@bp.get("/gws/push/<user_id>")
def push_outbox(user_id: str) -> Response:
    world = _world()
    with world.lock:
        return jsonify({"messages": list(world.push_outbox.get(user_id, []))})


def init_app(app: Flask) -> None:
    config = app.config["VOICEKIT"]
    world = app.extensions["voicekit.gws"].world
    initial = copy.deepcopy(world.snapshot())
    context = app.extensions["voicekit.gws"]

    def reset_gws() -> None:
        with world.lock:
            world.restore(copy.deepcopy(initial))
            world.faults.clear()
            world.reporting_events.clear()
            world.released.clear()
            world.queued_calls.clear()
            world.push_outbox.clear()
            for service in world.services.values():
                service.state = "Active"
        context.sessions.clear()

    app.extensions.setdefault("voicekit.reset_hooks", []).append(reset_gws)
    app.register_blueprint(bp, url_prefix=config.control_prefix)
