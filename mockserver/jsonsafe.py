"""Strict JSON in, standard JSON out, within the limits of specs/schemas/control/JsonLimits.json.

Every adapter parses its JSON input here, so one definition of "acceptable JSON" holds everywhere: a
value the mock accepted can always be copied, stored, exported and sent back (a userData nested 500
deep once created a call and then broke every later read of it; NaN was echoed as bare ``NaN``).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

from flask.json.provider import DefaultJSONProvider

from voicekit.contracts import shared_contracts

LIMITS_SCHEMA = "schemas/control/JsonLimits.json"


@dataclass(frozen=True)
class JsonLimits:
    max_body_bytes: int
    max_depth: int
    max_members: int
    max_string_length: int


class JsonRefused(ValueError):
    """Not JSON, not standard JSON, or beyond the limits; the message says which."""


@functools.cache
def limits() -> JsonLimits:
    """The values of the contract, checked against the contract's own schema of them."""
    contracts = shared_contracts()
    values = contracts.document(LIMITS_SCHEMA)["x-voicekit-limits"]
    problems = contracts.errors(contracts.uri_of(LIMITS_SCHEMA) + "#", values)
    if problems:
        raise RuntimeError(f"{LIMITS_SCHEMA}: x-voicekit-limits is invalid: {problems[0]}")
    return JsonLimits(values["maxBodyBytes"], values["maxDepth"], values["maxMembers"], values["maxStringLength"])


def loads(text: str | bytes | bytearray, bounds: JsonLimits | None = None) -> Any:
    """Parse ``text`` as RFC 8259 JSON (no NaN/Infinity, no number beyond a double) within the limits."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRefused("the body is not UTF-8") from None
    bounds = bounds or limits()
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise JsonRefused(f"nested deeper than {bounds.max_depth} levels") from None
    except JsonRefused:
        raise
    except ValueError as exc:
        raise JsonRefused(f"not JSON ({str(exc).split(':')[0]})") from None
    check(value, bounds)
    return value


def check(value: Any, bounds: JsonLimits | None = None) -> None:
    """Depth, member count and string lengths of an already-parsed value (iteratively: no recursion)."""
    bounds = bounds or limits()
    members = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > bounds.max_depth:
                raise JsonRefused(f"nested deeper than {bounds.max_depth} levels")
            members += len(node)
            if members > bounds.max_members:
                raise JsonRefused(f"more than {bounds.max_members} members and items in all")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                if isinstance(key, str) and len(key) > bounds.max_string_length:
                    raise JsonRefused(f"a member name is longer than {bounds.max_string_length} characters")
                stack.append((item, depth + 1))
        elif isinstance(node, str) and len(node) > bounds.max_string_length:
            raise JsonRefused(f"a string is longer than {bounds.max_string_length} characters")
        elif isinstance(node, float) and not math.isfinite(node):
            raise JsonRefused("NaN and Infinity are not JSON numbers")


def dumps(value: Any, **options: Any) -> str:
    """Standard JSON only: a NaN that slipped in is an error here, never a bare ``NaN`` on the wire."""
    return json.dumps(value, allow_nan=False, **options)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's ``jsonify`` and ``request.get_json`` with the same rules as :func:`dumps` and :func:`loads`."""

    sort_keys = False  # keep members in the order the documents show them

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"{text} is out of range for a JSON number")
    return value


# One decoder for every body (``json.loads`` with hooks builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
