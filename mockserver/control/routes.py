"""The control API under its own prefix (default /control): JSON in, JSON out.

It is not part of any documented API; tests and vendors' local runs use it to cause what a client
cannot (inbound calls, remote parties, outages, T-Server faults) and to reset or snapshot the world.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mockserver import jsonsafe
from mockserver.control import contract, snapshot
from mockserver.control import guard as control_guard
from mockserver.control import gws as gws_control
from mockserver.domain.errors import VoicekitError

bp = Blueprint("control", __name__)


def _world() -> Any:
    return current_app.extensions["voicekit.gws"].world


def _json() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = jsonsafe.loads(raw)
    except jsonsafe.JsonRefused as exc:
        raise VoicekitError(f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise VoicekitError("The body must be a JSON object")
    return data


def guard() -> Response | None:
    """The control API's filter (mockserver/control/guard.py); ``init_app`` applies it to every route under the
    control prefix, so a blueprint there that adds it too changes nothing."""
    return control_guard.refusal(current_app.config["VOICEKIT"])


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
    snapshot.import_snapshot(_world(), current_app.extensions["voicekit.gws"].contracts, _json())
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
        raise VoicekitError('The body must be {"variants": [names]}')
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

    contracts = app.extensions["voicekit.gws"].contracts

    @app.before_request
    def control_guard() -> Response | None:
        """One filter for every route under the control prefix (GWS, Platform, Connect, journal, scenario): the
        guard, then the contract (specs/control.openapi.yaml)."""
        if request.path == config.control_prefix or request.path.startswith(config.control_prefix + "/"):
            return guard() or contract.refusal(contracts, config.control_prefix)
        return None

    world = app.extensions["voicekit.gws"].world
    world.mark_initial()
    context = app.extensions["voicekit.gws"]

    def reset_gws() -> None:
        world.reset()
        context.sessions.clear()

    app.extensions.setdefault("voicekit.reset_hooks", []).append(reset_gws)
    app.register_blueprint(bp, url_prefix=config.control_prefix)
