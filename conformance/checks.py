"""Checks: small functions that look at one response (or one notification) and raise a
:class:`ConformanceFailure` when it breaks a rule — registered by name, so families and runs pick them by name.

Why a registry: the same check ("the body matches the OpenAPI schema of the operation") is used by every
family; naming it keeps failures comparable across families and lets a run add its own checks the same way
(``@check("my_rule")``).

A check takes ``(ctx, subject)``: ``ctx`` is a :class:`CheckContext` (contracts, system, expectations) and
``subject`` an :class:`~conformance.transport.http.HttpResponse` or an
:class:`~conformance.evidence.Exchange` (``kind="http"``), or a notification message (``kind="notification"``).
It returns None or raises. Built-in checks carry a default rule id (``VK-…``) used when neither the failure
nor the test's ``rule`` marker names one.

Families call them through :func:`expect` (HTTP) and :func:`expect_notification`::

    response = gws_agent.get("/api/v2/me")
    expect(response, "status_class", "gws_envelope", "response_schema", status=200)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import safejson
from conformance.evidence import Exchange
from conformance.failures import (
    SEVERITIES,
    ConformanceFailure,
    Evidence,
    ProtocolViolation,
    TargetUnreachable,
)
from conformance.loading import default_contracts
from conformance.transport.http import HttpResponse
from voicekit.contracts import Contracts

__all__ = [
    "CHECKS",
    "DEFAULT_GWS_CHECKS",
    "DEFAULT_PLATFORM_CHECKS",
    "SEVERITIES",
    "Check",
    "CheckContext",
    "ConformanceFailure",
    "Evidence",
    "ProtocolViolation",
    "Registry",
    "TargetUnreachable",
    "check",
    "expect",
    "expect_notification",
    "run_checks",
]


@dataclass
class CheckContext:
    """What a check may need besides the subject.

    Args:
        contracts: The loaded specs (default: the shared copy).
        system: ``gws``, ``platform`` or ``connect`` (default: the response's client's system).
        status: The expected status: an int (``200``), a class (``"2xx"``) or a collection of either.
        channel: For notifications, the channel they arrived on.
        extra: Anything a custom check wants.
    """

    contracts: Contracts = field(default_factory=default_contracts)
    system: str | None = None
    status: Any = None
    channel: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Check = Callable[[CheckContext, Any], None]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    func: Check
    kind: str
    rule: str
    title: str


class Registry:
    """Checks by name. ``run`` applies them in the order asked."""

    def __init__(self) -> None:
        self._checks: dict[str, RegisteredCheck] = {}

    def register(self, name: str, func: Check, *, kind: str = "http", rule: str = "", title: str = "") -> Check:
        if name in self._checks and self._checks[name].func is not func:
            raise ValueError(f"a check named {name!r} is already registered")
        self._checks[name] = RegisteredCheck(name, func, kind, rule, title or name.replace("_", " "))
        return func

    def get(self, name: str) -> RegisteredCheck:
        try:
            return self._checks[name]
        except KeyError:
            raise KeyError(f"no check named {name!r} (known: {', '.join(sorted(self._checks))})") from None

    def names(self, kind: str | None = None) -> list[str]:
        return [n for n, c in self._checks.items() if kind is None or c.kind == kind]

    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def run(self, names: Iterable[str], ctx: CheckContext, subject: Any) -> list[ConformanceFailure]:
        """Every failure of the named checks (a check that raises a non-failure is a kit bug: re-raised)."""
        failures = []
        for name in names:
            registered = self.get(name)
            try:
                registered.func(ctx, subject)
            except ConformanceFailure as failure:
                failure.check = name  # type: ignore[attr-defined]
                failure.default_rule = registered.rule  # type: ignore[attr-defined]
                if failure.title == ConformanceFailure.default_title:
                    failure.title = registered.title
                failures.append(failure)
        return failures


CHECKS = Registry()


def check(name: str, *, kind: str = "http", rule: str = "", title: str = "") -> Callable[[Check], Check]:
    """Register a check under ``name`` in :data:`CHECKS`.

    Args:
        name: How runs and families refer to it.
        kind: ``http`` (the subject is a response or exchange) or ``notification`` (a message).
        rule: The rule id reported when neither the failure nor the test names one.
        title: A short title for its failures.
    """

    def decorate(func: Check) -> Check:
        return CHECKS.register(name, func, kind=kind, rule=rule, title=title)

    return decorate


def run_checks(subject: Any, names: Iterable[str], ctx: CheckContext | None = None) -> list[ConformanceFailure]:
    """The failures of the named checks on ``subject`` (empty when it passes them all)."""
    return CHECKS.run(names, ctx or CheckContext(), subject)


def _raise_first(failures: list[ConformanceFailure]) -> None:
    if not failures:
        return
    first = failures[0]
    for other in failures[1:]:
        first.evidence.details.append(f"also: {other}")
    raise first


def expect(
    response: HttpResponse | Exchange,
    *names: str,
    status: Any = None,
    system: str | None = None,
    contracts: Contracts | None = None,
    **extra: Any,
) -> Any:
    """Run HTTP checks on a response; returns its parsed JSON body (or None) when they all pass.

    Without names, runs the defaults of the response's system (:data:`DEFAULT_GWS_CHECKS`,
    :data:`DEFAULT_PLATFORM_CHECKS`).

    Raises:
        ConformanceFailure: the first failure; the others are listed in its evidence details.
    """
    system = system or getattr(response, "system", None)
    ctx = CheckContext(contracts or default_contracts(), system, status, extra=dict(extra))
    if not names:
        names = DEFAULT_PLATFORM_CHECKS if system == "platform" else DEFAULT_GWS_CHECKS
    _raise_first(run_checks(response, names, ctx))
    return _json(response)


def expect_notification(
    message: Any, *names: str, system: str = "gws", channel: str | None = None, contracts: Contracts | None = None
) -> None:
    """Run notification checks (default: ``notification_schema``) on a received message.

    Raises:
        ConformanceFailure: the first failure.
    """
    if channel is None and isinstance(message, Mapping) and isinstance(message.get("channel"), str):
        channel = message["channel"]
    ctx = CheckContext(contracts or default_contracts(), system, channel=channel)
    _raise_first(run_checks(message, names or ("notification_schema",), ctx))


# ---- reading a subject -------------------------------------------------------------------------------------------
def _status(subject: Any) -> int:
    status = subject.status
    if status is None:
        raise TargetUnreachable(f"{subject.method} {subject.url}: no response ({getattr(subject, 'error', '')})")
    return int(status)


def _path(subject: Any) -> str:
    return str(subject.path).split("?", 1)[0]


def _content_type(subject: Any) -> str:
    if isinstance(subject, HttpResponse):
        return subject.content_type
    return (subject.header("content-type") or "").split(";", 1)[0].strip().lower()


def _text(subject: Any) -> str:
    return subject.text if isinstance(subject, HttpResponse) else (subject.response_body or "")


def _json(subject: Any) -> Any:
    text = _text(subject)
    if not text.strip():
        return None
    try:
        return safejson.loads(text)
    except ValueError:
        return None


def _require_json(subject: Any) -> Any:
    text = _text(subject)
    try:
        return safejson.loads(text)
    except ValueError:
        raise ProtocolViolation(
            f"{subject.method} {_path(subject)} answered {_status(subject)} with a body "
            f"that is not JSON: {text[:120]!r}"
        ) from None


def _label(subject: Any) -> str:
    return f"{subject.method} {_path(subject)} → {_status(subject)}"


def _status_ok(expected: Any, status: int) -> bool:
    if expected is None:
        return True
    if isinstance(expected, list | tuple | set | frozenset):
        return any(_status_ok(e, status) for e in expected)
    if isinstance(expected, int):
        return status == expected if expected >= 100 else status // 100 == expected
    text = str(expected).strip().lower()
    if len(text) == 3 and text.endswith("xx") and text[0].isdigit():
        return status // 100 == int(text[0])
    return text.isdigit() and status == int(text)


# ---- built-in HTTP checks ------------------------------------------------------------------------------------
@check("not_server_error", rule="VK-HTTP-001", title="Server error")
def not_server_error(ctx: CheckContext, subject: Any) -> None:
    """No 5xx: a documented request must never crash the target."""
    status = _status(subject)
    if status >= 500:
        raise ConformanceFailure(f"{_label(subject)}: a server error ({_text(subject)[:200]!r})")


@check("status_class", rule="VK-HTTP-002", title="Unexpected status")
def status_class(ctx: CheckContext, subject: Any) -> None:
    """The status is the expected one (``ctx.status``: 200, "2xx" or several); 2xx when none is given."""
    expected = ctx.status if ctx.status is not None else "2xx"
    status = _status(subject)
    if not _status_ok(expected, status):
        raise ConformanceFailure(f"{_label(subject)}: expected {expected}, got {status} ({_text(subject)[:200]!r})")


@check("json_content_type", rule="VK-HTTP-003", title="Not JSON")
def json_content_type(ctx: CheckContext, subject: Any) -> None:
    """A response with a body says it is JSON, and is."""
    if not _text(subject).strip():
        return
    kind = _content_type(subject)
    if "json" not in kind:
        raise ConformanceFailure(f"{_label(subject)}: Content-Type is {kind or 'missing'}, not application/json")
    _require_json(subject)


@check("gws_envelope", rule="VK-GWS-001", title="GWS envelope")
def gws_envelope(ctx: CheckContext, subject: Any) -> None:
    """Every GWS body is an object with an integer ``statusCode``; an error (HTTP >= 400) body is exactly
    ``{statusCode, statusMessage}`` with a non-zero code (003 l.3476-3507)."""
    body = _require_json(subject)
    if not isinstance(body, dict):
        raise ConformanceFailure(f"{_label(subject)}: the body is a {type(body).__name__}, not an object")
    code = body.get("statusCode")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ConformanceFailure(f"{_label(subject)}: statusCode is missing or not an integer ({code!r})")
    if _status(subject) >= 400:
        keys = set(body)
        if keys != {"statusCode", "statusMessage"}:
            extra = sorted(keys - {"statusCode", "statusMessage"})
            missing = sorted({"statusCode", "statusMessage"} - keys)
            raise ConformanceFailure(
                f"{_label(subject)}: an error body must be exactly {{statusCode, "
                f"statusMessage}} (extra: {extra}, missing: {missing})"
            )
        if code == 0:
            raise ConformanceFailure(f"{_label(subject)}: HTTP error with statusCode 0")
        if not isinstance(body.get("statusMessage"), str):
            raise ConformanceFailure(f"{_label(subject)}: statusMessage is not a string")


@check("status_declared", rule="VK-OAS-002", title="Undocumented status")
def status_declared(ctx: CheckContext, subject: Any) -> None:
    """The status is one the OpenAPI operation declares (exactly, as ``4XX``, or through ``default``)."""
    op = _operation(ctx, subject)
    status = str(_status(subject))
    declared = ctx.contracts.declared_statuses(op)
    if status not in declared and f"{status[0]}XX" not in declared and "default" not in declared:
        raise ConformanceFailure(
            f"{_label(subject)}: status {status} is not declared for "
            f"{op.method} {op.template} (declared: {', '.join(declared)})"
        )


@check("response_schema", rule="VK-OAS-001", title="Response does not match the schema")
def response_schema(ctx: CheckContext, subject: Any) -> None:
    """The body matches a schema the OpenAPI operation declares for the status."""
    op = _operation(ctx, subject)
    refs = ctx.contracts.response_schema_refs(op, _status(subject))
    if not refs:
        return
    body = _require_json(subject)
    problems: list[str] = []
    for ref in refs:
        errors = ctx.contracts.errors(ref, body)
        if not errors:
            return
        problems = problems or errors
    raise ConformanceFailure(
        f"{_label(subject)} does not match {op.method} {op.template} "
        f"({op.operation_id or 'no operationId'}): " + "; ".join(problems[:5])
    )


def _operation(ctx: CheckContext, subject: Any) -> Any:
    system = ctx.system or getattr(subject, "system", None) or "gws"
    op = ctx.contracts.find_operation(system, subject.method, _path(subject))
    if op is None:
        raise ConformanceFailure(
            f"{subject.method} {_path(subject)} is not an operation of the {system} contract", title="Unknown operation"
        )
    return op


@check("platform_error_body", rule="VK-PLAT-001", title="Platform ErrorBody")
def platform_error_body(ctx: CheckContext, subject: Any) -> None:
    """A Platform error (HTTP >= 400) is an ErrorBody: ``message`` and ``code`` strings and ``status`` equal to
    the HTTP status."""
    status = _status(subject)
    if status < 400:
        return
    body = _require_json(subject)
    if not isinstance(body, dict):
        raise ConformanceFailure(f"{_label(subject)}: the error body is not an object")
    problems = []
    if not isinstance(body.get("message"), str):
        problems.append("message is missing or not a string")
    if not isinstance(body.get("code"), str):
        problems.append("code is missing or not a string")
    if body.get("status") != status:
        problems.append(f"status is {body.get('status')!r}, not {status}")
    if problems:
        raise ConformanceFailure(f"{_label(subject)}: not an ErrorBody: " + "; ".join(problems))


# ---- built-in notification checks --------------------------------------------------------------------------------
@check("notification_schema", kind="notification", rule="VK-ASYNC-001", title="Notification does not match")
def notification_schema(ctx: CheckContext, message: Any) -> None:
    """The message matches one of the AsyncAPI messages of its channel (for CometD, the whole Bayeux message
    ``{channel, data, …}``, as the documents print it)."""
    system = ctx.system or "gws"
    problems = ctx.contracts.validate_message(system, ctx.channel, message)
    if problems:
        raise ConformanceFailure(
            f"{system} notification on {ctx.channel or '(any channel)'}: " + "; ".join(problems[:5])
        )


DEFAULT_GWS_CHECKS = ("not_server_error", "json_content_type", "gws_envelope", "status_class", "response_schema")
DEFAULT_PLATFORM_CHECKS = ("not_server_error", "status_class", "platform_error_body", "response_schema")
