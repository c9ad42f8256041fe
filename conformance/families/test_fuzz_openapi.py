"""Schema fuzzing family: schemathesis generates requests from the OpenAPI contracts (``specs/gws.openapi.yaml``,
profile ``gws-fuzz``; ``specs/platform.openapi.yaml``, profile ``platform-fuzz``) and every answer is checked
against the contract of its operation.

Why a family of its own: the behaviour families send the requests the documents show; fuzzing sends the ones
nobody wrote down — wrong types, missing members, odd characters, unknown parameters — which is where servers
crash or quietly accept garbage. One test per operation (``test_gws_operation[getMe]``), so a failure names the
operation; its message names each failing check with a redacted curl that reproduces it.

Per operation, ``max_examples`` positive cases (valid by the schema) and as many negative ones (invalid) are
generated and sent with the configured credentials, and each answer goes through these schemathesis checks:

* ``not_a_server_error`` — no 5xx;
* ``status_code_conformance`` — the status is one the operation documents;
* ``content_type_conformance`` — the Content-Type is one documented for that status;
* ``response_schema_conformance`` — the body matches the documented schema (a GWS ``fields`` projection other
  than ``*`` is checked member by member with the required members waived: 003 l.2975-2990 and l.3046-3064
  document that such a request returns only the named members);
* ``negative_data_rejection`` — invalid input is refused with a 4xx;
* ``ignored_auth`` — an operation that requires authentication refuses the same request without, and with
  wrong, credentials.

A stateful test then follows the OpenAPI ``links`` of the contract (created resource → read it back) with the
same checks plus ``ensure_resource_availability``; schemathesis' own link inference is switched off, since it
guesses links the documents do not state. No schemathesis configuration file is read (``schemathesis.toml`` in
the working directory would otherwise change the run).

Budget (the ``[fuzz]`` section of TargetConfig, so a run can be tuned without touching the suite:
``VOICEKIT_FUZZ_<KEY>`` or ``--set fuzz.<key>=``): ``max_examples`` (default 25, per generation mode and
operation), ``stateful_examples`` (default 10 scenarios), ``seed`` (default: derandomized — the same cases on
every run, so results are reproducible).

Destructive operations only run with ``--vk-allow-destructive``: GWS POST/PUT/DELETE on settings, users, features
and groups (they change the target's configuration), and the Platform operations that place a call to a generated
number (Make Call, call on behalf of a user, callback — on a real organization those reach real phones). The
stateful tests follow only the links between non-destructive operations without it; every GWS link starts at
createUser/createGroup, so that test is then not run.
Platform: the API root and login root come from ``platform.url``/``platform.login_url``; the Bearer user token
is ``platform.users[0].token``, or is obtained with the authorization-code + PKCE grant of
``platform.code_client`` for ``platform.users[0]`` (the login step names the user in ``login_hint`` and sends its
password, when configured, with HTTP Basic to ``/oauth/authorize`` — a lab/mock convention; a target with an
interactive login page needs a pre-obtained token). Without a Platform URL, or when the target has no Platform
OAuth endpoint, the tests are not run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.errors import NoLinksFound, SchemathesisError, SerializationNotPossible
from schemathesis.specs.openapi import checks as oas

from conformance.config import FuzzConfig, TargetConfig
from conformance.errors import VoicekitError
from conformance.evidence import Exchange, attach, report_exchange, step
from conformance.failures import ConformanceFailure, Evidence, TargetUnreachable
from conformance.loading import default_contracts, default_corpus
from conformance.outcomes import not_run
from conformance.redact import redact_body, redact_header, redact_json, redact_text, redact_url
from conformance.wire_query import sent_query_is_valid
from voicekit.contracts import load_document
from voicekit.paths import specs_dir

# ---- budget ---------------------------------------------------------------------------------------------------
STATEFUL_MAX_STEPS = 6
MAX_FINDINGS = 12  # distinct findings kept per test; the rest is counted


@dataclass(frozen=True)
class Budget:
    """How much to generate: the ``[fuzz]`` settings (see the module docstring)."""

    max_examples: int = FuzzConfig.max_examples
    stateful_examples: int = FuzzConfig.stateful_examples
    seed: int | None = None

    @classmethod
    def of(cls, config: FuzzConfig) -> Budget:
        return cls(config.max_examples, config.stateful_examples, config.seed)

    def settings(self, max_examples: int, *, stateful: bool = False) -> settings:
        """Hypothesis settings: no example database, no deadline, no shrinking (each shrink step is a request
        to the target; findings are collected, not raised), derandomized unless a seed is given."""
        extra: dict[str, Any] = {"stateful_step_count": STATEFUL_MAX_STEPS} if stateful else {}
        return settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=self.seed is None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            print_blob=False,
            **extra,
        )

    def seeded(self, test: Callable[..., Any]) -> Callable[..., Any]:
        return seed(self.seed)(test) if self.seed is not None else test


# ---- the contracts and their operations -----------------------------------------------------------------------
SPECS = {"gws": "gws.openapi.yaml", "platform": "platform.openapi.yaml"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
GWS_DESTRUCTIVE_PREFIXES = ("/api/v2/settings", "/api/v2/users", "/api/v2/features", "/api/v2/groups")
#: Platform operations that place a call to a generated number (Make Call, call on behalf of a user, callback):
#: on a real organization that is a phone call to whoever owns the number, so they need --vk-allow-destructive.
PLATFORM_DESTRUCTIVE = frozenset(
    {
        ("POST", "/api/v2/conversations/calls"),
        ("POST", "/api/v2/conversations/calls/user/{userId}"),
        ("POST", "/api/v2/conversations/calls/{conversationId}"),
    }
)
GWS_AGENT_TAGS = frozenset({"diagnostics", "session", "calls", "devices", "agent-state"})


@dataclass(frozen=True)
class OperationInfo:
    """What the suite needs to know about one OpenAPI operation before talking to the target."""

    system: str
    method: str
    path: str
    operation_id: str
    tags: tuple[str, ...]
    destructive: bool
    document: str | None
    lines: tuple[int, int] | None
    catalog_ids: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def spec_path(system: str) -> Path:
    return specs_dir() / SPECS[system]


@cache
def raw_spec(system: str) -> dict[str, Any]:
    spec: dict[str, Any] = load_document(spec_path(system))
    return spec


@cache
def operations(system: str) -> tuple[OperationInfo, ...]:
    """Every operation of a contract, in document order (read at collection, so each gets its own test)."""
    catalog: dict[tuple[str, str], list[str]] = {}
    for entry in default_corpus().catalog:
        if entry.system == system and "method" in entry.data and "path" in entry.data:
            catalog.setdefault((str(entry.data["method"]).upper(), str(entry.data["path"])), []).append(entry.id)
    out = []
    for path, item in (raw_spec(system).get("paths") or {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            sources = op.get("x-voicekit-sources") or []
            first = sources[0] if sources else {}
            lines = tuple(first["lines"]) if first.get("lines") else None
            destructive = (system == "gws" and method != "get" and path.startswith(GWS_DESTRUCTIVE_PREFIXES)) or (
                system == "platform" and (method.upper(), path) in PLATFORM_DESTRUCTIVE
            )
            out.append(
                OperationInfo(
                    system,
                    method.upper(),
                    path,
                    str(op.get("operationId") or f"{method} {path}"),
                    tuple(op.get("tags") or ()),
                    destructive,
                    first.get("document"),
                    lines,
                    tuple(catalog.get((method.upper(), path), ())),
                )
            )
    return tuple(out)


def _params(system: str) -> list[Any]:
    params = []
    for info in operations(system):
        marks = [
            pytest.mark.vk_rule(
                "VK-FUZZ-001",
                document=info.document,
                lines=info.lines,
                title=f"{info.label} honours its contract under generated input",
            )
        ]
        if info.catalog_ids:
            marks.append(pytest.mark.vk_operations(*info.catalog_ids))
        if info.destructive:
            marks.append(pytest.mark.vk_destructive)
        params.append(pytest.param(info, id=info.operation_id, marks=marks))
    return params


@cache
def load_schema(system: str) -> Any:
    """The schemathesis schema: explicit configuration (no schemathesis.toml discovery), link inference off."""
    config = SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}})
    return schemathesis.openapi.from_path(spec_path(system), config=config)


def schema_operation(info: OperationInfo) -> Any:
    try:
        return load_schema(info.system)[info.path][info.method]
    except (KeyError, SchemathesisError) as exc:
        raise VoicekitError(f"schemathesis cannot load {info.label} of {SPECS[info.system]}: {exc}") from None


# ---- checks ----------------------------------------------------------------------------------------------------
CHECKS: dict[str, Any] = {
    "not_a_server_error": not_a_server_error,
    "status_code_conformance": oas.status_code_conformance,
    "content_type_conformance": oas.content_type_conformance,
    "response_schema_conformance": oas.response_schema_conformance,
    "negative_data_rejection": oas.negative_data_rejection,
    "ignored_auth": oas.ignored_auth,
}
STATEFUL_CHECKS: dict[str, Any] = {**CHECKS, "ensure_resource_availability": oas.ensure_resource_availability}
RULES = {
    "not_a_server_error": ("VK-HTTP-001", "Server error"),
    "status_code_conformance": ("VK-OAS-002", "Undocumented status"),
    "content_type_conformance": ("VK-OAS-003", "Undocumented content type"),
    "response_schema_conformance": ("VK-OAS-001", "Response does not match the schema"),
    "negative_data_rejection": ("VK-OAS-004", "Invalid input accepted"),
    "ignored_auth": ("VK-OAS-005", "Authentication not enforced"),
    "ensure_resource_availability": ("VK-OAS-006", "Created resource not available"),
}


#: The lines of a schemathesis failure message worth repeating in the report (what was wrong, not the schema).
_DETAIL_LINES = ("Invalid component", "- ", "Expected", "Received", "Documented", "Actual", "Validated against")


@dataclass
class Finding:
    """One distinct check failure, with what reproduces it (redacted)."""

    check: str
    title: str
    message: str
    status: int | None
    operation: str
    curl: str
    mode: str
    exchange: Exchange | None = None

    @property
    def key(self) -> tuple[str, str, str, int | None]:
        return (self.operation, self.check, self.title, self.status)

    def describe(self) -> str:
        lines = [line.strip() for line in self.message.splitlines() if line.strip()]
        keep = lines[:1] + [line for line in lines[1:] if line.startswith(_DETAIL_LINES)][:4]
        return redact_text(
            f"{self.operation}: {self.check} — {self.title} (HTTP {self.status}, {self.mode} input): "
            f"{' / '.join(keep)}\n  reproduce: {self.curl}"
        )


@dataclass(repr=False)
class Findings:
    """Distinct findings of one test; the first example of each is kept."""

    operation: str
    items: dict[tuple[str, str, str, int | None], Finding] = field(default_factory=dict)
    repeats: int = 0
    examples: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    unreachable: str | None = None

    def add(self, finding: Finding) -> None:
        if finding.key in self.items:
            self.repeats += 1
            return
        if len(self.items) >= MAX_FINDINGS:
            self.repeats += 1
            return
        self.items[finding.key] = finding
        if finding.exchange is not None:
            report_exchange(finding.exchange)
        attach(finding.describe(), f"finding: {finding.check}", "text")

    def __repr__(self) -> str:
        return f"<Findings {self.operation}: {len(self.items)} distinct in {self.examples} requests>"

    def raise_if_any(self) -> None:
        __tracebackhide__ = True
        if self.unreachable:
            raise TargetUnreachable(f"{self.operation}: {self.unreachable}")
        if not self.items:
            return
        found = list(self.items.values())
        checks = list(dict.fromkeys(f.check for f in found))
        rule, title = RULES.get(found[0].check, ("VK-FUZZ-001", "Contract violation"))
        summary = "; ".join(f"{f.check}: {f.title} (HTTP {f.status}, {f.mode} input)" for f in found[:6])
        more = f" (+{len(found) - 6} more distinct)" if len(found) > 6 else ""
        repeated = f"; {self.repeats} more failing example(s) repeat these" if self.repeats else ""
        message = (
            f"{self.operation}: {len(found)} distinct contract violation(s) in {self.examples} generated "
            f"request(s) — {summary}{more}{repeated}. First reproduction ({found[0].check}): {found[0].curl}"
        )
        failure = ConformanceFailure(
            redact_text(message),
            rule=rule,
            title=f"Fuzzing: {title}",
            evidence=Evidence(details=[f.describe() for f in found] + self.notes),
        )
        failure.check = ",".join(checks)  # type: ignore[attr-defined]  # read by the plugin
        raise failure


#: Checks that bind an answer to its operation: they do not apply to an answer for another URL.
OPERATION_BOUND = frozenset({"status_code_conformance", "content_type_conformance", "response_schema_conformance"})
#: Operations whose protocol refuses bad input in band (HTTP 200): Bayeux answers each message it cannot
#: process with an unsuccessful reply {successful: false, error} (Bayeux 1.0; contract: BayeuxReplies).
IN_BAND_REFUSAL = frozenset({("gws", "bayeux"), ("gws", "bayeuxSlash"), ("gws", "bayeuxSuffixed")})


def _title(failure: Failure) -> str:
    return str(getattr(failure, "title", None) or type(failure).__name__)


def _off_route(case: Any, response: Any) -> bool:
    """A 404 to a negative path parameter: the URL is not one of the operation's (``/notifications/%3B``), so
    the operation's documented statuses, media types and schemas say nothing about the answer."""
    meta = case.meta
    return response.status_code == 404 and meta is not None and meta.is_negative_at(ParameterLocation.PATH)


def _valid_as_sent(case: Any, response: Any) -> bool:
    """A case negative only in its query whose query, as sent, is valid (see ``conformance.wire_query``)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    negative = {location for location, info in meta.components.items() if info.mode.is_negative}
    return negative == {ParameterLocation.QUERY} and sent_query_is_valid(case.operation, response.request.url)


def _refused_in_band(response: Any) -> bool:
    """HTTP 200 whose Bayeux replies are all unsuccessful: the server refused every message."""
    if response.status_code != 200:
        return False
    try:
        replies = json.loads(response.content or b"")
    except ValueError:
        return False
    return (
        isinstance(replies, list)
        and bool(replies)
        and all(isinstance(r, dict) and r.get("successful") is False for r in replies)
    )


def _is_projection(case: Any) -> bool:
    """A GWS ``fields`` projection other than ``*``: the answer holds only the named members (003 l.2975-2990)."""
    query = case.query or {}
    value = query.get("fields") if hasattr(query, "get") else None
    return isinstance(value, str) and value.strip() not in ("", "*")


def projection_schema_problems(system: str, case: Any, response: Any) -> list[str]:
    """Schema problems of a projection answer, required members waived (the project's contracts validator)."""
    contracts = default_contracts()
    op = contracts.find_operation(system, case.method, case.formatted_path)
    if op is None:
        return []
    refs = contracts.response_schema_refs(op, response.status_code)
    if not refs or "json" not in (response.headers.get("content-type") or [""])[0]:
        return []
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        return ["the body is not JSON"]
    problems: list[str] = []
    for ref in refs:
        errors = contracts.errors(ref, body, ignore_required=True)
        if not errors:
            return []
        problems = problems or errors
    return problems


# ---- reproduction (redacted) ------------------------------------------------------------------------------------
_SKIP_CURL_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "connection", "content-length", "accept", "x-schemathesis-testcaseid"}
)
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")


def _shell(text: str | bytes) -> str:
    """Quote for a POSIX shell; anything but printable ASCII as UTF-8 bytes in ANSI-C quoting (``$'…'``)."""
    if isinstance(text, str) and _PRINTABLE.match(text):
        return shlex.quote(text)
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    out = []
    for byte in data:
        char = chr(byte)
        if char in "\\'":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def _request_body(request: requests.PreparedRequest) -> str | None:
    body = request.body
    if body is None:
        return None
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("latin-1")
    return str(body)


def curl_of(request: requests.PreparedRequest) -> str:
    """A curl command that replays ``request``, with credentials, cookies, tokens and secret members masked."""
    parts = ["curl", "-X", str(request.method)]
    content_type = None
    for name, value in request.headers.items():
        if name.lower() in _SKIP_CURL_HEADERS:
            continue
        if name.lower() == "content-type":
            content_type = value
        parts += ["-H", _shell(f"{name}: {redact_header(name, str(value))}")]
    raw = request.body
    if raw:
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogatepass")
        try:
            body = data.decode("utf-8")
        except UnicodeDecodeError:
            body = None  # not text: shown byte for byte (nothing to redact in it that redaction could parse)
        shown: str | bytes = data
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if body is not None and kind == "application/json":
            try:
                parsed = json.loads(body)
            except ValueError:
                shown = redact_text(body)
            else:  # re-serialised only when something was masked: otherwise the bytes sent, exactly
                masked = redact_json(parsed)
                shown = body if masked == parsed else json.dumps(masked, ensure_ascii=False, separators=(", ", ": "))
        elif body is not None:
            masked_text = redact_body(body, content_type)
            shown = body if _same_form(body, masked_text, kind) else masked_text
        encoded = shown.encode("utf-8", "surrogatepass") if isinstance(shown, str) else shown
        if b"\x00" in encoded:  # a NUL cannot travel in an argument: the body comes from printf on stdin
            parts += ["--data-binary", "@-"]
            parts.append(_shell(redact_url(str(request.url))))
            return f"printf {_printf_format(encoded)} | " + " ".join(parts)
        parts += ["--data-binary", _shell(shown)]
    parts.append(_shell(redact_url(str(request.url))))
    return " ".join(parts)


def _same_form(body: str, masked: str, kind: str) -> bool:
    """Whether masking changed nothing but the encoding (a form body is re-encoded even without secrets)."""
    if kind != "application/x-www-form-urlencoded":
        return masked == body
    try:
        return parse_qsl(body, keep_blank_values=True) == parse_qsl(masked, keep_blank_values=True)
    except ValueError:
        return False


def _printf_format(data: bytes) -> str:
    """A single-quoted printf format that prints ``data`` byte for byte."""
    out = []
    for byte in data:
        if byte == 0x25:
            out.append("%%")
        elif byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x27 or not 0x20 <= byte < 0x7F:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "'" + "".join(out) + "'"


def exchange_of(response: Any) -> Exchange:
    request = response.request
    headers = {k: ", ".join(v) for k, v in response.headers.items()}
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        text = f"<{len(response.content)} bytes of binary data>"
    return Exchange(
        str(request.method),
        str(request.url),
        dict(request.headers.items()),
        _request_body(request),
        response.status_code,
        headers,
        text,
        float(response.elapsed or 0.0),
    )


# ---- the target side ---------------------------------------------------------------------------------------------
@dataclass
class FuzzTarget:
    """Where and as whom the generated requests go, for one system."""

    system: str
    config: TargetConfig
    base_url: str
    login_url: str | None = None
    # Credentials: kept out of the repr, which pytest prints in tracebacks. ``logins``: GWS, when CSRF needs a
    # session per request.
    identities: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    logins: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    @property
    def timeout(self) -> float:
        return self.config.timeouts.request

    @property
    def verify(self) -> bool | str:
        return self.config.tls_verify

    def base_for(self, info: OperationInfo) -> str:
        if self.system == "platform" and info.path.startswith("/oauth/"):
            return self.login_url or self.base_url
        return self.base_url

    def headers_for(self, info: OperationInfo) -> dict[str, str]:
        if self.system == "gws":
            wanted = "agent" if set(info.tags) & GWS_AGENT_TAGS else "admin"
            wanted = wanted if wanted in self.identities else "agent"
            if wanted in self.logins:  # CSRF: a fresh session and token, since generated requests end sessions
                return _gws_identity(self.config, *self.logins[wanted])
            return dict(self.identities[wanted])
        if info.path.startswith("/oauth/"):
            return dict(self.identities.get("client") or {})
        return dict(self.identities["user"])

    def call_kwargs(self, info: OperationInfo) -> dict[str, Any]:
        return {
            "base_url": self.base_for(info),
            "headers": self.headers_for(info),
            "timeout": self.timeout,
            "verify": self.verify,
        }


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _gws_identity(config: TargetConfig, username: str, password: str) -> dict[str, str]:
    """Basic credentials, plus the session cookie and CSRF token when the target protects unsafe methods
    (003 l.4401-4419): learnt from one GET, as a browser client would."""
    headers = {"Authorization": _basic(username, password)}
    if config.gws.csrf == "off":
        return headers
    assert config.gws.url
    try:
        response = requests.get(
            f"{config.gws.url}/api/v2/me", headers=headers, timeout=config.timeouts.request, verify=config.tls_verify
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"GET /api/v2/me as {username}: {exc}") from None
    token = response.headers.get("X-CSRF-TOKEN")
    if token:
        headers[response.headers.get("X-CSRF-HEADER") or "X-CSRF-TOKEN"] = token
        cookies = "; ".join(f"{c.name}={c.value}" for c in response.cookies)
        if cookies:
            headers["Cookie"] = cookies
    elif config.gws.csrf == "on":
        raise ConformanceFailure(
            f"GET /api/v2/me as {username} returned no X-CSRF-TOKEN although gws.csrf is on", title="CSRF token missing"
        )
    return headers


def gws_target(config: TargetConfig) -> FuzzTarget:
    if not config.gws.url:
        not_run("no gws URL configured")
    if not config.gws.agents:
        not_run("no GWS agent credentials configured (gws.agents)")
    agent = config.gws.agents[0]
    users = {"agent": (agent.username, agent.password)}
    if config.gws.admin is not None:
        users["admin"] = (config.gws.admin.username, config.gws.admin.password)
    identities = {role: _gws_identity(config, *login) for role, login in users.items()}
    logins = {role: login for role, login in users.items() if len(identities[role]) > 1}
    return FuzzTarget("gws", config, config.gws.url, identities=identities, logins=logins)


def _pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return verifier, challenge.decode("ascii")


def platform_user_token(config: TargetConfig) -> str:
    """A Bearer token issued to ``platform.users[0]`` (see the module docstring).

    Raises:
        NotRunnable: the target has no Platform OAuth endpoint, or no way to obtain a user token is configured.
    """
    platform = config.platform
    user = platform.users[0]
    if user.token:
        return user.token
    login = (platform.login_url or platform.url or "").rstrip("/")
    client = platform.code_client
    if client is None or not client.redirect_uri:
        not_run(
            "platform.users[0] has no token and no authorization-code client (platform.code_client) is "
            "configured to obtain one"
        )
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8),
    }
    if user.username or user.user_id:
        params["login_hint"] = str(user.username or user.user_id)
    login_headers = {"Authorization": _basic(user.username, user.password)} if user.username and user.password else {}
    try:
        answer = requests.get(
            f"{login}/oauth/authorize",
            params=params,
            allow_redirects=False,
            headers=login_headers,
            timeout=config.timeouts.request,
            verify=config.tls_verify,
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"GET {redact_url(login)}/oauth/authorize: {exc}") from None
    if answer.status_code == 404:
        not_run(f"the target has no Platform OAuth endpoint (GET {redact_url(login)}/oauth/authorize answered 404)")
    code = parse_qs(urlsplit(answer.headers.get("Location", "")).query).get("code", [None])[0]
    if answer.status_code not in (302, 303) or not code:
        not_run(
            f"no authorization code for platform.users[0] from /oauth/authorize (HTTP {answer.status_code}); "
            "configure a pre-obtained token (platform.users[0].token)"
        )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
        "client_id": client.client_id,
    }
    auth = (client.client_id, client.client_secret) if client.client_secret else None
    try:
        token = requests.post(
            f"{login}/oauth/token", data=form, auth=auth, timeout=config.timeouts.request, verify=config.tls_verify
        )
    except requests.RequestException as exc:
        raise TargetUnreachable(f"POST {redact_url(login)}/oauth/token: {exc}") from None
    body = token.json() if "json" in token.headers.get("content-type", "") else {}
    if token.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        not_run(
            f"the token endpoint refused the authorization code (HTTP {token.status_code}); configure a "
            "pre-obtained token (platform.users[0].token)"
        )
    return str(body["access_token"])


def platform_target(config: TargetConfig) -> FuzzTarget:
    platform = config.platform
    if not platform.url:
        not_run("no platform URL configured")
    if not platform.users:
        not_run("no Platform test user (platform.users)")
    identities = {"user": {"Authorization": f"Bearer {platform_user_token(config)}"}}
    if platform.client_credentials and platform.client_credentials.client_secret:
        cc = platform.client_credentials
        identities["client"] = {"Authorization": _basic(cc.client_id, cc.client_secret or "")}
    return FuzzTarget("platform", config, platform.url, platform.login_url or platform.url, identities)


# ---- running -------------------------------------------------------------------------------------------------------
def check_response(
    target: FuzzTarget,
    info: OperationInfo,
    case: Any,
    response: Any,
    findings: Findings,
    kwargs: dict[str, Any],
    checks: dict[str, Any],
    mode: str,
    recorder: Any = None,
) -> None:
    """Run each check on one answer; failures become findings (never raised: the run goes on)."""
    for name, check in checks.items():
        if name in OPERATION_BOUND and _off_route(case, response):
            continue
        if (
            name == "negative_data_rejection"
            and (target.system, info.operation_id) in IN_BAND_REFUSAL
            and _refused_in_band(response)
        ):
            continue
        if name == "negative_data_rejection" and _valid_as_sent(case, response):
            continue
        if name == "response_schema_conformance" and target.system == "gws" and _is_projection(case):
            problems = projection_schema_problems(target.system, case, response)
            if problems:
                findings.add(
                    Finding(
                        name,
                        "Response violates schema (fields projection)",
                        "; ".join(problems[:5]),
                        response.status_code,
                        info.label,
                        curl_of(response.request),
                        mode,
                        exchange_of(response),
                    )
                )
            continue
        try:
            extra = {"recorder": recorder} if recorder is not None else {}
            case.validate_response(
                response, checks=[check], headers=kwargs["headers"], transport_kwargs=kwargs, **extra
            )
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.add(
                    Finding(
                        name,
                        _title(failure),
                        str(failure.message or ""),
                        response.status_code,
                        info.label,
                        curl_of(response.request),
                        mode,
                        exchange_of(response),
                    )
                )
        except requests.RequestException as exc:
            findings.unreachable = findings.unreachable or f"a {name} probe could not be sent: {exc}"


def apply_identity(case: Any, headers: dict[str, str]) -> None:
    """The configured credentials replace what the generator made up for the same security parameters (a random
    ``X-CSRF-TOKEN`` or ``JSESSIONID`` would otherwise win over them and every request would be refused)."""
    names = {name.lower() for name in headers}
    # Containers are reassigned, not edited in place: schemathesis then re-judges the case by what is sent. A
    # "negative" case whose only violation was a made-up credential is valid once the real one replaces it, and
    # must not count as invalid input the target accepted.
    if case.headers and any(k.lower() in names for k in case.headers):
        case.headers = {k: v for k, v in case.headers.items() if k.lower() not in names}
    if "cookie" in names and case.cookies:
        case.cookies = {}


def send(case: Any, kwargs: dict[str, Any], findings: Findings) -> Any | None:
    """Send one generated case; None when it cannot be sent as generated (counted) or the target is gone."""
    apply_identity(case, kwargs["headers"])
    try:
        return case.call(**kwargs)
    except (
        SerializationNotPossible,
        requests.exceptions.InvalidHeader,
        requests.exceptions.InvalidURL,
        UnicodeError,
        ValueError,
    ):
        findings.skipped += 1  # the HTTP client refuses to send it (e.g. a header value with a newline)
        return None
    except (requests.ConnectionError, requests.Timeout) as exc:
        findings.unreachable = f"{case.method} {case.formatted_path}: {exc}"
        return None


def _case_runner(target: FuzzTarget, info: OperationInfo, findings: Findings, mode: str) -> Callable[[Any], None]:
    """The body Hypothesis runs for each generated case: send it, check the answer, collect findings."""

    def one(case: Any) -> None:
        if findings.unreachable:
            return
        findings.examples += 1
        kwargs = target.call_kwargs(info)
        response = send(case, kwargs, findings)
        if response is not None:
            check_response(target, info, case, response, findings, kwargs, CHECKS, mode)

    return one


def fuzz_operation(target: FuzzTarget, info: OperationInfo, budget: Budget) -> None:
    """Positive then negative generation for one operation; raises one ConformanceFailure listing every
    distinct finding."""
    operation = schema_operation(info)
    findings = Findings(f"{info.label} ({info.operation_id})")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        with step(f"{mode.value} cases for {info.label} (max {budget.max_examples})"):
            one = _case_runner(target, info, findings, mode.value)
            test = budget.seeded(
                budget.settings(budget.max_examples)(given(case=operation.as_strategy(generation_mode=mode))(one))
            )
            try:
                test()
            except Unsatisfiable:
                findings.notes.append(f"no {mode.value} cases can be generated for {info.label}")
            except SchemathesisError as exc:
                raise VoicekitError(
                    f"schemathesis cannot generate {mode.value} cases for {info.label}: {exc}"
                ) from None
    if findings.skipped:
        findings.notes.append(f"{findings.skipped} generated case(s) could not be sent by the HTTP client")
    findings.raise_if_any()


def fuzz_links(target: FuzzTarget, budget: Budget) -> None:
    """Sequences along the contract's OpenAPI links (schemathesis state machine); without
    ``--vk-allow-destructive`` only the links between non-destructive operations are followed."""
    schema = load_schema(target.system)
    by_label = {(i.method, i.path): i for i in operations(target.system)}
    destructive = [i.operation_id for i in operations(target.system) if i.destructive]
    if destructive and not target.config.allow_destructive:
        schema = schema.exclude(operation_id=destructive)
    findings = Findings(f"{target.system} links")
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return target.call_kwargs(by_label[(case.method.upper(), case.path)])

        def call(self, case: Any, **kwargs: Any) -> Any:
            if findings.unreachable:
                raise _Stop()
            findings.examples += 1
            response = send(case, kwargs, findings)
            if response is None:
                if findings.unreachable:
                    raise _Stop()
                reject()  # a case the HTTP client cannot send: this scenario is discarded, the run goes on
            return response

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            info = by_label[(case.method.upper(), case.path)]
            mode = case.meta.generation.mode.value if case.meta is not None else "positive"
            check_response(
                target,
                info,
                case,
                response,
                findings,
                kwargs,
                STATEFUL_CHECKS,
                mode,
                recorder=getattr(self, "recorder", None),
            )

    try:
        Machine()
    except NoLinksFound:
        if destructive and not target.config.allow_destructive:
            not_run(
                f"{SPECS[target.system]} has no OpenAPI links between non-destructive operations "
                "(the others need --vk-allow-destructive)"
            )
        not_run(f"{SPECS[target.system]} has no OpenAPI links to follow")
    title = f"stateful sequences along the links of {SPECS[target.system]} (max {budget.stateful_examples})"
    with step(title), contextlib.suppress(_Stop):
        Machine.run(settings=budget.settings(budget.stateful_examples, stateful=True))
    findings.raise_if_any()


class _Stop(Exception):
    """Ends a stateful scenario early (a case the client cannot send, or the target is gone)."""


# ---- fixtures and tests --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_budget(vk_config: TargetConfig) -> Budget:
    return Budget.of(vk_config.fuzz)


@pytest.fixture(scope="module")
def gws_fuzz_target(vk_config: TargetConfig) -> FuzzTarget:
    return gws_target(vk_config)


@pytest.fixture(scope="module")
def platform_fuzz_target(vk_config: TargetConfig) -> FuzzTarget:
    return platform_target(vk_config)


@pytest.mark.vk_profile("gws-fuzz")
@pytest.mark.parametrize("info", _params("gws"))
def test_gws_operation(info: OperationInfo, gws_fuzz_target: FuzzTarget, fuzz_budget: Budget) -> None:
    """Stateless fuzzing of one GWS operation."""
    fuzz_operation(gws_fuzz_target, info, fuzz_budget)


@pytest.mark.vk_profile("gws-fuzz")
@pytest.mark.vk_rule("VK-FUZZ-002", title="GWS link sequences honour the contract")
def test_gws_links(gws_fuzz_target: FuzzTarget, fuzz_budget: Budget) -> None:
    """Stateful fuzzing along the GWS links (createUser → getUser…); every GWS link starts at a destructive
    operation, so without --vk-allow-destructive it is not run."""
    fuzz_links(gws_fuzz_target, fuzz_budget)


@pytest.mark.vk_profile("platform-fuzz")
@pytest.mark.parametrize("info", _params("platform"))
def test_platform_operation(info: OperationInfo, platform_fuzz_target: FuzzTarget, fuzz_budget: Budget) -> None:
    """Stateless fuzzing of one Platform operation."""
    fuzz_operation(platform_fuzz_target, info, fuzz_budget)


@pytest.mark.vk_profile("platform-fuzz")
@pytest.mark.vk_rule("VK-FUZZ-002", title="Platform link sequences honour the contract")
def test_platform_links(platform_fuzz_target: FuzzTarget, fuzz_budget: Budget) -> None:
    """Stateful fuzzing along the Platform links, when the contract has any."""
    fuzz_links(platform_fuzz_target, fuzz_budget)
