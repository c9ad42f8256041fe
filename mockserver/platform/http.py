"""Request reading and answer writing for /api/v2: JSON bodies bounded and validated against the contract,
query parameters checked against their declared schemas, every refusal an ErrorBody."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, g, jsonify, request
from jsonschema.exceptions import best_match

from mockserver import jsonsafe
from mockserver.domain.platform import errors
from mockserver.platform.context import PlatformContext
from mockserver.platform_errors import error_body
from voicekit.contracts import Operation

# jsonschema keywords whose failure means "a value is wrong" (invalid.value) rather than "the request is
# malformed" (bad.request).
_VALUE_KEYWORDS = {"enum", "const", "format", "pattern", "minLength", "maxLength", "minimum", "maximum"}


class TooLarge(errors.PlatformError):
    status, code = 413, "request.too.large"


class UnsupportedMediaType(errors.PlatformError):
    status, code = 415, "unsupported.media.type"


def respond(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def empty(status: int = 202) -> Response:
    return Response(status=status)


def refusal(exc: errors.PlatformError) -> Response:
    return error_body(exc.status, exc.message, exc.code, details=exc.details, params=exc.params, headers=exc.headers)


def read_json(context: PlatformContext, op: Operation) -> Any:
    """The body as JSON, valid against the operation's request schema (or a PlatformError)."""
    limit = context.config.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request body exceeds {limit} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise TooLarge(f"The request body exceeds {limit} bytes")
    if not raw.strip():
        raise errors.BadRequest("A request body is required")
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type {mimetype} is not supported; use application/json")
    try:
        body = jsonsafe.loads(raw)
    except jsonsafe.JsonRefused as exc:
        raise errors.BadRequest(f"The request body could not be parsed as JSON: {exc}") from None
    ref = context.contracts.request_schema_ref(op)
    if ref is not None:
        _validate(context, ref, body)
    return body


def _validate(context: PlatformContext, ref: str, value: Any) -> None:
    try:
        found = list(context.contracts.validator(ref).iter_errors(value))
    except RecursionError:
        raise errors.BadRequest("The request body is nested too deeply") from None
    if not found:
        return
    if any(e.validator == "anyOf" and not e.absolute_path for e in found):  # only CreateCallRequest has one
        raise errors.BadRequest(
            "The request names no destination: phoneNumber, callUserId, callQueueId, participants or conversationIds"
        )
    error = best_match(found)
    where = ".".join(str(p) for p in error.absolute_path) or None
    problems = context.contracts.errors(ref, value)
    detail = problems[0] if problems else error.message
    kind = errors.InvalidValue if error.validator in _VALUE_KEYWORDS else errors.BadRequest
    raise kind(f"Invalid request body: {detail}", field=where)


def check_query(context: PlatformContext, op: Operation) -> None:
    """Declared query parameters must fit their schema; undeclared ones are ignored (as the SDK sends none).

    The checked values are kept for ``query()``, so a route reads exactly the value that was validated. Only
    array parameters may repeat."""
    checked: dict[str, Any] = {}
    for index in range(len(context.contracts.operation_object(op).get("parameters") or [])):
        where, param = context.contracts.locate(f"{op.ref}/parameters/{index}")
        if param.get("in") != "query" or param["name"] not in request.args:
            continue
        raw = request.args.getlist(param["name"])
        schema = param.get("schema") or {}
        value = _coerce(schema, raw)
        problems = [] if value is _INVALID else context.contracts.errors(f"{where}/schema", value)
        if value is _INVALID or problems:
            raise errors.InvalidValue(
                f"Invalid value for query parameter {param['name']}: {', '.join(raw)}", field=param["name"]
            )
        checked[param["name"]] = value
    g.platform_query = checked


def query(name: str, default: Any = None) -> Any:
    """The validated value of the declared query parameter ``name`` (see ``check_query``), or ``default``."""
    return getattr(g, "platform_query", {}).get(name, default)


_INVALID = object()
_INTEGER = re.compile(r"-?\d+")


def _coerce(schema: dict[str, Any], raw: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return [item for value in raw for item in value.split(",") if item != ""]
    if len(raw) != 1:
        return _INVALID  # a scalar parameter given twice: which one was meant is a guess the mock does not make
    return _scalar(kind, raw[0])


def _scalar(kind: Any, value: str) -> Any:
    if kind == "integer":
        return int(value) if _INTEGER.fullmatch(value) else _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(value.lower(), _INVALID)
    return value


def expand() -> set[str]:
    return {item.strip() for value in request.args.getlist("expand") for item in value.split(",") if item.strip()}
