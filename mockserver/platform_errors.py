"""Platform ErrorBody shaping, shared by the fallbacks until the Platform adapter takes over."""

from __future__ import annotations

import uuid

from flask import Response, jsonify

CODES = {400: "bad.request", 401: "authentication.required", 403: "not.authorized", 404: "not.found",
         405: "method.not.allowed", 409: "conflict", 413: "request.too.large", 415: "unsupported.media.type",
         429: "too.many.requests", 500: "internal.server.error", 503: "service.unavailable"}


def error_body(status: int, message: str, code: str | None = None) -> Response:
    response = jsonify({"message": message, "code": code or CODES.get(status, "error"), "status": status,
                        "messageWithParams": message, "messageParams": {}, "contextId": str(uuid.uuid4()),
                        "details": [], "errors": []})
    response.status_code = status
    return response
