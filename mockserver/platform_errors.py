"""Platform error shaping, used by the Platform adapter (mockserver/platform) and by the app's fallbacks.

/api/v2 answers ErrorBody {message, code, status, messageWithParams, messageParams, contextId, details, errors}
with the same id in the ININ-Correlation-Id header; a 401 also carries ``WWW-Authenticate: Bearer``. The login
host (/oauth/*) answers {error, description} instead (OAuthError, E400/openapi conventions).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, current_app, g, has_request_context, jsonify, request

CODES = {
    400: "bad.request",
    401: "authentication.required",
    403: "not.authorized",
    404: "not.found",
    405: "method.not.allowed",
    409: "conflict",
    413: "request.too.large",
    415: "unsupported.media.type",
    429: "too.many.requests",
    500: "internal.server.error",
    503: "service.unavailable",
}
OAUTH_CODES = {
    400: "invalid_request",
    401: "invalid_client",
    404: "not_found",
    405: "method_not_allowed",
    413: "invalid_request",
    415: "invalid_request",
    429: "too_many_requests",
    500: "server_error",
}


def correlation_id() -> str:
    """One id per request: the ErrorBody's contextId and the ININ-Correlation-Id header."""
    if not has_request_context():
        return str(uuid.uuid4())
    value = g.get("platform_correlation_id")
    if value is None:
        value = g.platform_correlation_id = str(uuid.uuid4())
    return value


def _on_login_host() -> bool:
    if not has_request_context():
        return False
    prefix = current_app.config["VOICEKIT"].platform_prefix.rstrip("/")
    return request.path.startswith(f"{prefix}/oauth/")


def _variant(name: str) -> bool:
    return has_request_context() and name in (current_app.config["VOICEKIT"].variants or ())


def error_body(
    status: int,
    message: str,
    code: str | None = None,
    *,
    details: list[dict[str, str]] | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _on_login_host() and code is None:
        return oauth_error(status, OAUTH_CODES.get(status, "invalid_request"), message)
    context = correlation_id()
    if _variant("platform-error-texts"):  # same status and code, another human text (000 l.96-98: status only)
        message = f"The request was refused ({code or CODES.get(status, 'error')}, HTTP {status})"
    response = jsonify(
        {
            "message": message,
            "code": code or CODES.get(status, "error"),
            "status": status,
            "messageWithParams": message,
            "messageParams": dict(params or {}),
            "contextId": context,
            "details": list(details or []),
            "errors": [],
        }
    )
    response.status_code = status
    response.headers["ININ-Correlation-Id"] = context
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def oauth_error(status: int, error: str, description: str, headers: dict[str, Any] | None = None) -> Response:
    response = jsonify({"error": error, "description": description, "error_description": description})
    response.status_code = status
    response.headers["ININ-Correlation-Id"] = correlation_id()
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="login"'
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response
