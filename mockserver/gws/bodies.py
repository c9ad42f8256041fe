"""Request bodies: JSON only, bounded, and valid against the same OpenAPI schema the suite checks."""

from __future__ import annotations

from typing import Any

from flask import Request

from mockserver import jsonsafe
from mockserver.domain.errors import MissingParameter, ValidationFailed
from voicekit.contracts import Contracts


class UnsupportedMediaType(ValidationFailed):
    """A body that is not application/json (HTTP 415, statusCode 10)."""


class TooLarge(ValidationFailed):
    """A body over the configured limit (HTTP 413, statusCode 10)."""


def json_body(request: Request, max_bytes: int, *, required: bool = True) -> Any:
    length = request.content_length
    if length is not None and length > max_bytes:
        raise TooLarge(f"The request body exceeds {max_bytes} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise TooLarge(f"The request body exceeds {max_bytes} bytes")
    if not raw.strip():
        if required:
            raise MissingParameter("A required parameter is missing: the request body")
        return None
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {mimetype}")
    try:
        data = jsonsafe.loads(raw)
    except jsonsafe.JsonRefused as exc:
        raise ValidationFailed(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict | list):
        raise ValidationFailed("The request body must be a JSON object")
    return data


def validate_query(contracts: Contracts, method: str, path: str, query: dict[str, str]) -> None:
    """Documented query parameters must satisfy the contract (e.g. the fields and sortBy syntax)."""
    if not query:  # nothing to check (most requests): skip the operation lookup
        return
    op = contracts.find_operation("gws", method, path)
    problems = contracts.query_errors(op, query, undocumented=False) if op else []
    if problems:
        raise ValidationFailed(f"Invalid parameter: {problems[0]}")


def validate(contracts: Contracts, method: str, path: str, body: Any) -> None:
    """Refuse a body the contract does not allow: missing members → 1, anything else → 10."""
    op = contracts.find_operation("gws", method, path)
    ref = contracts.request_schema_ref(op) if op else None
    if ref is None:
        return
    if not isinstance(body, dict) and not isinstance(body, list):
        raise ValidationFailed("The request body must be a JSON object")
    key = _valid_key(ref, body)
    if key is not None and key in contracts.valid_memo:
        return
    problems = contracts.errors(ref, body)
    if not problems:
        if key is not None:
            if len(contracts.valid_memo) >= VALID_CACHE_SIZE:
                contracts.valid_memo.clear()
            contracts.valid_memo.add(key)
        return
    names = contracts.operation_names(op) if op else set()
    name = body.get("operationName") if isinstance(body, dict) else None
    if not isinstance(name, str | None):
        raise ValidationFailed("operationName must be a string")
    if names and name is not None and name not in names:
        raise ValidationFailed(f"Invalid operation {name!r} for this resource")
    missing = [p.split("'")[1] for p in problems if p.endswith("is a required property") and "'" in p]
    if missing:
        raise MissingParameter(f"A required parameter is missing: {missing[0]}")
    raise ValidationFailed(f"Invalid request: {problems[0]}")


# Bodies already found valid, per schema: validating a discriminated body (oneOf over every operationName) is most
# of a request's cost, and clients repeat the same small bodies (Hold, Retrieve, Ready). Validation depends only on
# the schema and the value, so a value seen valid stays valid. Keyed by the canonical JSON of small bodies; bounded.
VALID_CACHE_SIZE = 4096
VALID_KEY_MAX = 2048


def _valid_key(ref: str, body: Any) -> tuple[str, str] | None:
    try:
        text = jsonsafe.dumps(body, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return (ref, text) if len(text) <= VALID_KEY_MAX else None
