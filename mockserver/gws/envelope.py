"""The GWS response envelope and the one table from statusCode to HTTP status (erratum E001)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from mockserver.domain.errors import GwsError

HTTP_STATUS = {1: 400, 2: 400, 3: 403, 4: 500, 5: 403, 6: 404, 10: 400, 11: 400, 12: 500, 13: 500, 14: 500,
               15: 500, 16: 500, 17: 500, 18: 409, 19: 409, 20: 401}


def ok(**members: Any) -> Response:
    return jsonify({"statusCode": 0, **members})


def error(status_code: int, message: str, http_status: int | None = None) -> Response:
    response = jsonify({"statusCode": status_code, "statusMessage": message})
    response.status_code = http_status or HTTP_STATUS.get(status_code, 500)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="GWS"'
    return response


def from_exception(exc: GwsError) -> Response:
    http = 503 if exc.status_code == 4 and "not available" in exc.message else None
    return error(exc.status_code, exc.message, http)
