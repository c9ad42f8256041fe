"""The filter in front of every control API route (/control/..., also /control/platform and /control/connect).

The control API can reset or replace the world, so a browser page must not be able to drive it: with a
token, ``Authorization: Bearer <token>`` exactly (compared in constant time on UTF-8 bytes, so a non-ASCII
value is a wrong token, not an error); with or without one, a request from a foreign Origin (neither the
address the mock is bound to nor a configured --allow-origin) and a body of a type a cross-site form or a
no-cors fetch can send without a preflight are refused."""

from __future__ import annotations

from flask import Response, jsonify, request

from mockserver.config import MockConfig
from mockserver.gws.security import own_origins, same_secret

# What a cross-site form or a no-cors fetch can send without a CORS preflight (Fetch: CORS-safelisted
# request-header Content-Type), plus no Content-Type at all.
SIMPLE_TYPES = {"", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def refusal(config: MockConfig) -> Response | None:
    if config.control_token:
        scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not same_secret(given.strip(), config.control_token):
            return _reply(401, "control API token required (Authorization: Bearer <token>)")
    origin = request.headers.get("Origin")
    if origin is not None and origin not in own_origins(request.environ) and origin not in config.allow_origins:
        return _reply(403, f"Origin {origin} may not use the control API")
    has_body = request.method in ("POST", "PUT", "DELETE", "PATCH") and (request.content_length or request.mimetype)
    if has_body and (request.mimetype or "").lower() in SIMPLE_TYPES:
        return _reply(
            415,
            "The control API takes application/json bodies (application/yaml for a scenario), "
            f"not {request.mimetype or 'a body without a Content-Type'}",
        )
    return None


def _reply(status: int, message: str) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    return response
