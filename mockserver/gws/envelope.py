"""The GWS response envelope; the HTTP status of each statusCode comes from specs/tables (erratum E001)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify

from mockserver.domain.errors import GwsError, ServiceUnavailable
from voicekit.tables import gws_http_status

OK_BODY = '{"statusCode":0}\n'


def ok(**members: Any) -> Response:
    if not members:  # most operations: the same bytes every time, as jsonify would write them
        return current_app.response_class(OK_BODY, mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]
    return jsonify({"statusCode": 0, **members})


def error(status_code: int, message: str, http_status: int | None = None) -> Response:
    response = jsonify({"statusCode": status_code, "statusMessage": message})
    response.status_code = http_status or gws_http_status(status_code)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="GWS"'
    return response


def from_exception(exc: GwsError) -> Response:
    return error(
        exc.status_code, exc.message, gws_http_status(exc.status_code, unavailable=isinstance(exc, ServiceUnavailable))
    )
