"""Every control request checked against specs/control.openapi.yaml before a route sees it.

Why here and not in each route: the control API spans five blueprints (GWS, Platform, Connect, journal,
scenario); one filter, through the same ``voicekit.contracts`` lookups the GWS and Platform adapters use
(operation by path, path and query parameters, request body schema), keeps the document and the routes from
drifting apart. A request the document does not allow gets the control API's documented ``ControlError``
(400, or 415 for a media type the operation does not take) and changes nothing; an unknown route is left to
Flask (404/405, shaped by the app's fallbacks).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from mockserver import jsonsafe
from voicekit.contracts import Contracts

__all__ = ["SYSTEM", "refusal"]

SYSTEM = "control"  # the key of specs/control.openapi.yaml in voicekit.contracts.CONTROL_DOCUMENTS
MAX_PROBLEMS = 20


def refusal(contracts: Contracts, prefix: str) -> Response | None:
    """The ControlError for a request under ``prefix`` that the control API's contract refuses, else None."""
    path = request.path[len(prefix) :] or "/"
    method = "GET" if request.method == "HEAD" else request.method
    op = contracts.find_operation(SYSTEM, method, path)
    if op is None:
        return None
    problems = contracts.path_errors(op, path)
    if problems:
        return _reply(400, f"Invalid path: {problems[0]}", problems)
    problems = contracts.query_errors(op, request.args.to_dict(), undocumented=False)
    if problems:
        return _reply(400, f"Invalid parameter: {problems[0]}", problems)
    body = contracts.operation_object(op).get("requestBody")
    return _body_refusal(contracts, op, body) if body else None


def _body_refusal(contracts: Contracts, op: Any, declared: Any) -> Response | None:
    raw = request.get_data(cache=True)
    if not raw.strip():
        required = contracts.locate(f"{op.ref}/requestBody")[1].get("required", False)
        return _reply(400, "A request body is required") if required else None
    mimetype = (request.mimetype or "").lower()
    ref = contracts.request_schema_ref(op, mimetype)
    if ref is None:
        media = contracts.locate(f"{op.ref}/requestBody")[1].get("content", {})
        if mimetype.endswith("+json") and "application/json" in media:
            ref = contracts.request_schema_ref(op)
        else:
            return _reply(415, f"This control request takes {' or '.join(media)}, not {mimetype or 'no type'}")
    if "json" not in mimetype:
        return None  # a YAML scenario: the route parses it and validates it against the same schema
    try:
        value = jsonsafe.loads(raw)
    except jsonsafe.JsonRefused as exc:
        return _reply(400, f"The body is not valid JSON: {exc}")
    try:
        problems = contracts.errors(ref, value) if ref else []
    except RecursionError:
        problems = ["(root): nested too deeply"]
    if problems:
        return _reply(400, f"Invalid request body: {problems[0]}", problems)
    return None


def _reply(status: int, message: str, problems: list[str] | None = None) -> Response:
    payload: dict[str, Any] = {"error": message, "status": status}
    if problems:
        payload["problems"] = problems[:MAX_PROBLEMS]
    response = jsonify(payload)
    response.status_code = status
    return response
