"""Judge a request's query string by what went over the wire, not by what the generator meant to send.

Why: a schemathesis "negative" case can serialize into a valid query — ``divisionId=0`` from the integer ``0``
for an array of strings, an unknown parameter with an empty list that vanishes, a made-up credential that the
configured one replaced. A target that accepts such a request accepted valid input; blaming it for "invalid
input accepted" would be a false finding. The query is read back the way a server reads it: declared array
parameters collect every occurrence (split on commas for ``style: form, explode: false``), a scalar occurs at
most once, text is coerced to the declared type, and undeclared names are ignored (a server may treat them as
filters; schemathesis does not count them as invalid either).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft202012Validator

_INTEGER = re.compile(r"-?\d+")


def sent_query_is_valid(operation: Any, url: str) -> bool:
    """Whether the query of ``url`` satisfies ``operation``'s declared query parameters (a schemathesis
    ``APIOperation``)."""
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    parameters = {p.name: p for p in operation.query}
    values: dict[str, Any] = {}
    for name in {n for n, _ in pairs if n in parameters}:
        sent = [v for n, v in pairs if n == name]
        definition = parameters[name].definition
        schema = definition.get("schema") or {}
        if schema.get("type") == "array":
            if definition.get("explode", definition.get("style", "form") == "form") is False:
                sent = [item for value in sent for item in value.split(",")]
            values[name] = [_typed(item, schema.get("items") or {}) for item in sent]
        elif len(sent) == 1:
            values[name] = _typed(sent[0], schema)
        else:
            values[name] = sent  # a scalar sent twice is not a scalar: the schema rejects the list
    return Draft202012Validator(operation.query.validation_schema).is_valid(values)


def _typed(text: str, schema: dict[str, Any]) -> Any:
    """``text`` as the declared type, when it reads as one (otherwise the text, which the schema judges)."""
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text
