"""The contract verdict of one observed exchange: did a request, its response, a notification or a bus frame
follow ``specs/``, and if not, which rule, where, and which document lines the operation comes from.

Why here: the mock's request journal and a validation proxy judge the same exchanges against the same
contracts, and must never disagree — so the judgement lives in ``voicekit`` (imported by both sides, importing
neither). It is pure: no I/O, no framework; callers pass what they saw.

Rules (``Violation.rule``):

* ``contract.operation`` — no documented operation has this method and path;
* ``contract.query`` — a documented query parameter has a value its schema refuses;
* ``contract.request-body`` — the request body does not match the operation's request schema (or is not JSON);
* ``contract.response-status`` — the status is not one the operation declares;
* ``contract.response-body`` — the response body does not match the schema of that status;
* ``contract.message`` — a notification or bus frame matches none of its channel's AsyncAPI messages.

``side`` says whose fault it is: ``request`` (the client's) or ``response`` (the server's).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from voicekit.contracts import Contracts, Operation

__all__ = ["NO_BODY", "ExchangeJudge", "Verdict", "Violation", "parse_json"]

#: Marks "there was no body" (distinct from a JSON ``null``).
NO_BODY: Any = object()
#: Problems kept per verdict: the first ones say enough, and a verdict must stay small.
MAX_VIOLATIONS = 10


@dataclass(frozen=True)
class Violation:
    rule: str
    side: str
    where: str
    message: str
    sources: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [dict(s) for s in self.sources]
        return data


@dataclass(frozen=True)
class Verdict:
    """What the contracts say about one exchange."""

    system: str
    operation: str | None = None  # operationId, AsyncAPI message or bus subtopic
    operation_name: str | None = None  # GWS operationName of the request body
    violations: tuple[Violation, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "operation": self.operation,
            "operationName": self.operation_name,
            "violations": [v.as_dict() for v in self.violations],
        }


def parse_json(data: bytes | str | None) -> Any:
    """A body as JSON (strict: no NaN/Infinity), :data:`NO_BODY` when empty; raises ValueError otherwise."""
    if data is None or (isinstance(data, bytes | str) and not data.strip()):
        return NO_BODY

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    def finite(text: str) -> float:
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"{text[:20]} is out of range")
        return value

    return json.loads(data, parse_constant=refuse, parse_float=finite)


class ExchangeJudge:
    """Judges exchanges against one set of contracts (cheap to keep; validators are compiled once by them)."""

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts

    # ---- HTTP ------------------------------------------------------------------------------------------------
    def http(
        self,
        system: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        request_body: Any = NO_BODY,
        request_is_json: bool = True,
        request_type: str = "application/json",
        status: int | None = None,
        response_body: Any = NO_BODY,
        response_is_json: bool = True,
    ) -> Verdict:
        """The verdict of one HTTP exchange. ``path`` is the API path without any mount prefix or query;
        ``status``/``response_body`` None/NO_BODY when there was no response (judge the request alone)."""
        op = self.contracts.find_operation(system, method, path)
        operation_name = request_body.get("operationName") if isinstance(request_body, dict) else None
        operation_name = operation_name if isinstance(operation_name, str) else None
        if op is None:
            return Verdict(
                system,
                None,
                operation_name,
                (
                    Violation(
                        "contract.operation",
                        "request",
                        f"{method.upper()} {path}",
                        f"no documented {system} operation is {method.upper()} {path}",
                    ),
                ),
            )
        sources = self._sources(op)
        found: list[Violation] = []

        def add(rule: str, side: str, where: str, messages: list[str]) -> None:
            found.extend(Violation(rule, side, where, m, sources) for m in messages)

        add(
            "contract.query", "request", "query", self.contracts.query_errors(op, dict(query or {}), undocumented=False)
        )
        media = "application/x-www-form-urlencoded" if "x-www-form-urlencoded" in request_type else "application/json"
        request_ref = self.contracts.request_schema_ref(op, media)
        if not request_is_json:
            add("contract.request-body", "request", "body", ["the request body is not JSON"])
        elif request_ref is not None and request_body is not NO_BODY:
            add("contract.request-body", "request", "body", self.contracts.errors(request_ref, request_body))
        if status is not None:
            declared = self.contracts.declared_statuses(op)
            if not _declared(status, declared):
                add(
                    "contract.response-status",
                    "response",
                    "status",
                    [f"HTTP {status} is not declared for {op.operation_id} (declared: {', '.join(declared)})"],
                )
            elif not response_is_json:
                add("contract.response-body", "response", "body", ["the response body is not JSON"])
            elif response_body is not NO_BODY:
                refs = self.contracts.response_schema_refs(op, status)
                if refs and all(self.contracts.errors(ref, response_body) for ref in refs):
                    add("contract.response-body", "response", "body", self.contracts.errors(refs[0], response_body))
        return Verdict(system, op.operation_id, operation_name, tuple(found[:MAX_VIOLATIONS]))

    # ---- messages ----------------------------------------------------------------------------------------------
    def message(
        self, system: str, channel: str | None, message: Any, *, side: str = "response", operation: str | None = None
    ) -> Verdict:
        """The verdict of one notification (CometD, Platform WebSocket) or bus frame."""
        problems = self.contracts.validate_message(system, channel, message)
        where = channel or "message"
        return Verdict(
            system,
            operation or channel,
            None,
            tuple(Violation("contract.message", side, where, p) for p in problems[:MAX_VIOLATIONS]),
        )

    def _sources(self, op: Operation) -> tuple[dict[str, Any], ...]:
        listed = self.contracts.operation_object(op).get("x-voicekit-sources") or []
        return tuple(
            {"document": s.get("document"), "lines": list(s.get("lines") or [])}
            for s in listed
            if isinstance(s, Mapping)
        )


def _declared(status: int, declared: list[str]) -> bool:
    text = str(status)
    return text in declared or f"{text[0]}XX" in declared or "default" in declared
