"""Control API of the Connect bus, under {control_prefix}/connect: what no bus client can cause.

JSON in, JSON out, errors as ``{"error", "status"}`` like mockserver/control/routes.py:

- ``POST   /agents`` ``{id, name?, state?}`` — create an agent (state: an agent-state code; default
  Offline).
- ``POST   /agents/<id>/calls`` ``{from, to?, queue?, connectionId?, contactId?, ringTimeout?}`` — deliver an
  incoming call: agent PendingBusy, event ``connecting`` on the agent's bus.
- ``POST   /agents/<id>/calls/current/hangup`` — the remote party hangs up: event ``Dropped``.
- ``PUT    /agents/<id>/state`` ``{label?, code?, type?, ReasonCodeId?}`` — set a state; event SetAgentState.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from mockserver.domain.connect import ConnectCenter
from mockserver.domain.connect.errors import ControlRefusal

bp = Blueprint("voicekit_connect_control", __name__)

_HTTP = {"not-found": 404, "conflict": 409, "invalid": 400}


class BadBody(ControlRefusal):
    kind = "invalid"


def _center() -> ConnectCenter:
    return current_app.extensions["voicekit.connect"].center


def _body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadBody("The body must be a JSON object")
    return data


def _reply(payload: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


@bp.errorhandler(ControlRefusal)
def refused(exc: ControlRefusal) -> Response:
    status = _HTTP[exc.kind]
    return _reply({"error": exc.message, "status": status}, status)


@bp.post("/agents")
def create_agent() -> Response:
    body = _body()
    state = body.get("state")
    if state is not None and not isinstance(state, str):
        raise BadBody("state must be an agent-state code (a string)")
    return _reply(_center().create_agent(body.get("id"), body.get("name"), state, token=body.get("token")), 201)


@bp.post("/agents/<agent_id>/calls")
def incoming_call(agent_id: str) -> Response:
    body = _body()
    options: dict[str, Any] = {}
    if "ringTimeout" in body:
        options["ring_timeout"] = body["ringTimeout"]
    view = _center().offer_call(
        agent_id,
        body.get("from"),
        body.get("to"),
        body.get("queue"),
        connection_id=body.get("connectionId"),
        contact_id=body.get("contactId"),
        **options,
    )
    return _reply(view, 201)


@bp.post("/agents/<agent_id>/calls/current/hangup")
def hangup(agent_id: str) -> Response:
    return _reply(_center().remote_hangup(agent_id))


@bp.put("/agents/<agent_id>/state")
def set_state(agent_id: str) -> Response:
    return _reply(_center().set_state(agent_id, _body()))
