"""The target under test: URLs, credentials, timeouts and event sources, as one typed ``TargetConfig``.

Why a single object: every fixture, transport and reporter reads the same values, and the certificate
prints where they came from. Layers, later ones win:

1. defaults;
2. the configuration file (TOML via ``tomllib``, or YAML), sections below;
3. with ``--target mock``, what the running mock provides (URLs, seed users, ``events.control_url``) —
   :meth:`TargetConfig.for_mock`;
4. environment variables ``VOICEKIT_<SECTION>_<KEY>`` (see :data:`ENV_SECTIONS`);
5. explicit overrides (``--vk-set section.key=value`` and the CLI options).

File layout (TOML; YAML takes the same tree)::

    [target]
    name = "Acme GWS lab"
    tls_verify = true                  # or the path of a CA bundle
    allow_destructive = false

    [gws]
    url = "https://gws.example.com"    # the root under which /api/v2 lives
    csrf = "auto"                      # on | off | auto (follow X-CSRF-* headers when they appear)
    agents = [                         # at least one; two for call tests (agent B dials agent A)
      {username = "a@example.com", password = "…", phone_number = "5001"},
      {username = "b@example.com", password = "…"},
    ]
    supervisor = {username = "sup@example.com", password = "…"}
    admin = {username = "admin@example.com", password = "…"}   # a Contact Center Admin (not a Cloud Admin)
    users = {public_network_agent = {username = "p@example.com", password = "…"}}  # optional, named

    [platform]
    url = "https://api.example.com"    # API root (/api/v2/...)
    login_url = "https://login.example.com"   # token endpoint root; default: url
    client_credentials = {client_id = "…", client_secret = "…"}
    code_client = {client_id = "…", redirect_uri = "http://localhost:8085/cb"}   # authorization code + PKCE
    users = [{username = "u@example.com", password = "…"}, {token = "pre-obtained access token"}]

    [connect]
    url = "wss://bus.example.com/connect"   # or a template containing {agentId}
    agents = ["agent-1", "agent-2"]

    [timeouts]                         # seconds
    request = 10                       # one HTTP request / WebSocket operation
    notification = 10                  # waiting for one notification
    run = 1800                         # the whole run

    [limits]
    max_response_bytes = 16777216      # the most read of one response body or WebSocket frame (16 MiB)

    [events]                           # sources of events the suite cannot cause (conformance.events)
    control_url = "http://localhost:8080/control"   # the mock's control API (set for --target mock)
    control_token = "…"
    driver_command = "./driver {event} {args_json}"
    manual_events = false              # announce on the console and wait for a person
    manual_timeout = 120

    [mock]                             # only with --target mock: how the embedded mock is started
    variants = ["mute-silent"]         # documented alternatives it switches to (mockserver/variants.py);
                                       # also "a,b" (--set mock.variants=a,b, VOICEKIT_MOCK_VARIANTS)

User keys may also be written as the documents spell them (``userName``, ``phoneNumber``).

Environment: ``VOICEKIT_GWS_URL``, ``VOICEKIT_GWS_CSRF``, ``VOICEKIT_PLATFORM_URL``,
``VOICEKIT_PLATFORM_LOGIN_URL``, ``VOICEKIT_CONNECT_URL``, ``VOICEKIT_CONNECT_AGENTS`` (comma list or JSON),
``VOICEKIT_TARGET_NAME``, ``VOICEKIT_TARGET_TLS_VERIFY``, ``VOICEKIT_TARGET_ALLOW_DESTRUCTIVE``,
``VOICEKIT_TIMEOUTS_REQUEST``, ``VOICEKIT_TIMEOUTS_NOTIFICATION``, ``VOICEKIT_TIMEOUTS_RUN``,
``VOICEKIT_LIMITS_MAX_RESPONSE_BYTES``,
``VOICEKIT_EVENTS_CONTROL_URL``, ``VOICEKIT_EVENTS_CONTROL_TOKEN``, ``VOICEKIT_EVENTS_DRIVER_COMMAND``,
``VOICEKIT_EVENTS_MANUAL_EVENTS``, ``VOICEKIT_EVENTS_MANUAL_TIMEOUT``. A double underscore descends into
nested values, so secrets can stay out of the file: ``VOICEKIT_GWS_AGENTS__0__PASSWORD``,
``VOICEKIT_GWS_SUPERVISOR__PASSWORD``, ``VOICEKIT_PLATFORM_CLIENT_CREDENTIALS__CLIENT_SECRET``,
``VOICEKIT_PLATFORM_USERS__0__TOKEN``. A value starting with ``[`` or ``{`` is read as JSON
(``VOICEKIT_GWS_AGENTS='[{"username": "a", "password": "p"}]'``). Unknown keys in the environment are
ignored (the mock reads ``VOICEKIT_*`` too); unknown keys in a file are errors.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import ssl
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.errors import ConfigError

__all__ = [
    "ENV_SECTIONS",
    "SYSTEMS",
    "ConnectConfig",
    "EventsConfig",
    "GwsConfig",
    "GwsUser",
    "Limits",
    "MockOptions",
    "OAuthClient",
    "PlatformConfig",
    "PlatformUser",
    "TargetConfig",
    "Timeouts",
    "default_mock_seed",
    "mock_data",
    "parse_override",
]

SYSTEMS = ("gws", "platform", "connect")
ENV_SECTIONS = ("target", "gws", "platform", "connect", "timeouts", "limits", "events", "mock")
CSRF_MODES = ("on", "off", "auto")


# ---- the typed tree ------------------------------------------------------------------------------------------
@dataclass
class GwsUser:
    """A GWS login (HTTP Basic), with the phone number of its device when the target's layout is known."""

    username: str
    password: str = field(repr=False)  # secrets stay out of reprs: pytest prints them in tracebacks
    phone_number: str | None = None


@dataclass
class GwsConfig:
    url: str | None = None
    csrf: str = "auto"
    agents: list[GwsUser] = field(default_factory=list)
    supervisor: GwsUser | None = None
    admin: GwsUser | None = None
    users: dict[str, GwsUser] = field(default_factory=dict)


@dataclass
class OAuthClient:
    """An OAuth client: client credentials (id + secret) or authorization code/PKCE (id + redirect URI)."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str | None = None


@dataclass
class PlatformUser:
    """A Platform user: a password for the authorization-code flow, or a token obtained beforehand. On the
    mock, a user may have neither: its control API logs users in (``PUT /control/platform/login``) and mints
    tokens (``POST /control/platform/tokens``)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    user_id: str | None = None


@dataclass
class PlatformConfig:
    url: str | None = None
    login_url: str | None = None
    client_credentials: OAuthClient | None = None
    code_client: OAuthClient | None = None
    users: list[PlatformUser] = field(default_factory=list)

    @property
    def token_url(self) -> str | None:
        root = self.login_url or self.url
        return f"{root.rstrip('/')}/oauth/token" if root else None


@dataclass
class ConnectConfig:
    url: str | None = None
    agents: list[str] = field(default_factory=list)
    #: Bus credentials by agent id, sent as ``Authorization: Bearer`` on the WebSocket upgrade (E516).
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    #: on: the bus must refuse sockets without the agent's credential or from a foreign Origin; auto: required when
    #: the target is seen refusing an unauthenticated socket, advisory otherwise; off: not checked.
    auth: str = "auto"

    def headers(self, agent_id: str) -> dict[str, str]:
        """What a socket of ``agent_id`` sends on its upgrade request."""
        token = self.tokens.get(agent_id)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def bus_url(self, agent_id: str) -> str:
        """The WebSocket URL of an agent's bus."""
        if not self.url:
            raise ConfigError("no connect URL configured")
        if "{agentId}" in self.url:
            return self.url.replace("{agentId}", agent_id)
        return f"{self.url.rstrip('/')}/agents/{agent_id}/bus"


@dataclass
class Timeouts:
    request: float = 10.0
    notification: float = 10.0
    run: float = 1800.0


@dataclass
class Limits:
    """What the kit reads of one answer: a target that streams without end is refused, not buffered."""

    max_response_bytes: int = 16 * 1024 * 1024


@dataclass
class EventsConfig:
    control_url: str | None = None
    control_token: str | None = field(default=None, repr=False)
    driver_command: str | None = None
    manual_events: bool = False
    manual_timeout: float = 120.0


@dataclass
class MockOptions:
    """How ``--target mock`` starts the embedded mock (ignored for other targets)."""

    variants: list[str] = field(default_factory=list)


@dataclass
class TargetConfig:
    """Everything the suite knows about the target. Build it with :meth:`load` or :meth:`for_mock`."""

    name: str = "unnamed target"
    tls_verify: bool | str = True
    allow_destructive: bool = False
    gws: GwsConfig = field(default_factory=GwsConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    connect: ConnectConfig = field(default_factory=ConnectConfig)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    events: EventsConfig = field(default_factory=EventsConfig)
    mock: MockOptions = field(default_factory=MockOptions)
    sources: list[str] = field(default_factory=list)

    # ---- construction ----------------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        mock_base_url: str | None = None,
        mock_seed: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> TargetConfig:
        """Defaults, then ``path``, then the mock's data when ``mock_base_url`` is given, then the
        environment, then ``overrides`` (dotted keys: ``{"timeouts.request": 5}``); validated.

        Raises:
            ConfigError: unreadable file, unknown key, bad value.
        """
        tree: dict[str, Any] = {}
        sources = ["defaults"]
        if path is not None:
            _merge(tree, read_file(Path(path)))
            sources.append(str(path))
        if mock_base_url is not None:
            _merge(tree, mock_data(mock_base_url, mock_seed))
            sources.append(f"mock at {mock_base_url}")
        env = os.environ if environ is None else environ
        env_values = _from_environ(env)
        for key_path, value, name in env_values:  # set in place: AGENTS__1__PASSWORD keeps agents[1]'s username
            _set_path(tree, key_path, value, where=name)
        if env_values:
            sources.append("environment: " + ", ".join(sorted(name for _, _, name in env_values)))
        if overrides:
            for key, value in overrides.items():
                _set_path(tree, key.split("."), value, where=f"override {key}")
            sources.append("overrides: " + ", ".join(sorted(overrides)))
        config = cls.from_mapping(tree)
        config.sources = sources
        return config

    @classmethod
    def for_mock(cls, base_url: str, seed: str | Path | None = None) -> TargetConfig:
        """The configuration of the embedded mock at ``base_url``, users taken from its seed file."""
        config = cls.from_mapping(mock_data(base_url, seed))
        config.sources = [f"mock at {base_url}"]
        return config

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TargetConfig:
        """Build and validate from a plain tree (the file layout)."""
        data = _normalise(data)
        _only(data, ("target", *ENV_SECTIONS[1:]), "")
        target = _section(data, "target", ("name", "tls_verify", "allow_destructive"))
        config = cls(
            name=_str(target.get("name", "unnamed target"), "target.name"),
            tls_verify=_tls(target.get("tls_verify", True)),
            allow_destructive=_bool(target.get("allow_destructive", False), "target.allow_destructive"),
            gws=_gws(_section(data, "gws", ("url", "csrf", "agents", "supervisor", "admin", "users"))),
            platform=_platform(
                _section(data, "platform", ("url", "login_url", "client_credentials", "code_client", "users"))
            ),
            connect=_connect(_section(data, "connect", ("url", "agents", "tokens", "auth"))),
            timeouts=_timeouts(_section(data, "timeouts", ("request", "notification", "run"))),
            limits=_limits(_section(data, "limits", ("max_response_bytes",))),
            events=_events(
                _section(
                    data,
                    "events",
                    ("control_url", "control_token", "driver_command", "manual_events", "manual_timeout"),
                )
            ),
            mock=MockOptions(variants=_names(_section(data, "mock", ("variants",)).get("variants"), "mock.variants")),
        )
        for i, user in enumerate(config.platform.users):
            if not user.token and not user.password and not config.events.control_url:
                raise ConfigError(
                    f"platform.users[{i}] needs username and password, or a token (only the mock, "
                    "through its control API, logs users in without them)"
                )
        return config

    # ---- questions the suite asks ----------------------------------------------------------------------------
    def url_of(self, system: str) -> str | None:
        return {"gws": self.gws.url, "platform": self.platform.url, "connect": self.connect.url}[system]

    def missing(self, need: str) -> str | None:
        """Why a requirement (``gws.agent_b``, ``platform.client_credentials``…) is not met, or None."""
        system = need.split(".", 1)[0]
        if system in SYSTEMS and not self.url_of(system):
            return f"no {system} URL configured"
        checks = {
            "gws": None,
            "gws.agent": "no GWS agent credentials configured (gws.agents)" if not self.gws.agents else None,
            "gws.agent_b": "a second GWS agent is needed (gws.agents[1])" if len(self.gws.agents) < 2 else None,
            "gws.supervisor": None if self.gws.supervisor else "no GWS supervisor credentials (gws.supervisor)",
            "gws.admin": None if self.gws.admin else "no GWS admin credentials (gws.admin)",
            "platform": None,
            "platform.client_credentials": None
            if self.platform.client_credentials
            else "no Platform client-credentials client (platform.client_credentials)",
            "platform.code_client": None
            if self.platform.code_client
            else "no Platform authorization-code client (platform.code_client)",
            "platform.user": None if self.platform.users else "no Platform test user (platform.users)",
            "connect": None,
            "connect.agent": None if self.connect.agents else "no Connect agent ids (connect.agents)",
        }
        if need not in checks:
            raise ConfigError(f"unknown requirement {need!r}")
        return checks[need]

    def missing_all(self, needs: Iterable[str]) -> str | None:
        for need in needs:
            reason = self.missing(need)
            if reason:
                return reason
        return None

    def ssl_verify(self) -> bool | ssl.SSLContext:
        """What httpx and websockets take: True/False, or a context trusting the configured CA bundle."""
        if isinstance(self.tls_verify, str):
            return ssl.create_default_context(cafile=self.tls_verify)
        return self.tls_verify

    def describe(self) -> dict[str, Any]:
        """A secret-free summary for the certificate."""
        return {
            "name": self.name,
            "gws": self.gws.url,
            "platform": self.platform.url,
            "connect": self.connect.url,
            "event_sources": self.event_sources(),
            "allow_destructive": self.allow_destructive,
            "csrf": self.gws.csrf,
            "timeouts": asdict(self.timeouts),
            "limits": asdict(self.limits),
            "sources": list(self.sources),
            **({"mock_variants": list(self.mock.variants)} if self.mock.variants else {}),
        }

    def event_sources(self) -> list[str]:
        out = []
        if self.events.control_url:
            out.append("control")
        if self.events.driver_command:
            out.append("driver")
        if self.events.manual_events:
            out.append("manual")
        return out

    def validate_for(self, profiles: Iterable[Any]) -> None:
        """Raise when an explicitly selected profile cannot run (profiles run by default are reported
        not-run with the same reason instead).

        Raises:
            ConfigError: the first unmet requirement, naming the profile.
        """
        for profile in profiles:
            reason = self.missing_all(profile.needs)
            if reason:
                raise ConfigError(f"profile {profile.name} cannot run: {reason}")


# ---- reading ----------------------------------------------------------------------------------------------------
def read_file(path: Path) -> dict[str, Any]:
    """A TOML (``.toml``) or YAML (``.yaml``/``.yml``/``.json``) configuration file as a tree."""
    if not path.is_file():
        raise ConfigError(f"configuration file {path} not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml", ".json"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"{path}: use a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table/mapping")
    return data


def _from_environ(env: Mapping[str, str]) -> list[tuple[list[str], Any, str]]:
    """``(key path, value, variable name)`` for each ``VOICEKIT_<SECTION>_<KEY>`` this module knows."""
    out: list[tuple[list[str], Any, str]] = []
    for name, raw in sorted(env.items()):
        if not name.startswith("VOICEKIT_"):
            continue
        rest = name[len("VOICEKIT_") :].lower()
        section = next((s for s in ENV_SECTIONS if rest.startswith(s + "_")), None)
        if section is None:
            continue
        key_path = [section, *rest[len(section) + 1 :].split("__")]
        if not _known_path(key_path):
            continue  # VOICEKIT_CONNECT_PREFIX and friends belong to the mock
        value: Any = raw
        if raw.strip()[:1] in ("[", "{"):
            try:
                value = json.loads(raw)
            except ValueError:
                raise ConfigError(f"{name} starts like JSON but is not valid JSON") from None
        elif key_path == ["connect", "agents"]:
            value = [a.strip() for a in raw.split(",") if a.strip()]
        out.append((key_path, value, name))
    return out


_TOP_KEYS = {
    "target": {"name", "tls_verify", "allow_destructive"},
    "gws": {"url", "csrf", "agents", "supervisor", "admin", "users"},
    "platform": {"url", "login_url", "client_credentials", "code_client", "users"},
    "connect": {"url", "agents", "tokens", "auth"},
    "timeouts": {"request", "notification", "run"},
    "limits": {"max_response_bytes"},
    "events": {"control_url", "control_token", "driver_command", "manual_events", "manual_timeout"},
    "mock": {"variants"},
}


def _known_path(path: list[str]) -> bool:
    return len(path) >= 2 and path[1] in _TOP_KEYS.get(path[0], set())


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` (``--vk-set``) as a (dotted key, value) pair; JSON values are decoded."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected section.key=value")
    path = key.strip().split(".")
    if not _known_path(path):
        raise ConfigError(f"override {text!r}: unknown key {key.strip()!r}")
    raw: Any = value.strip()
    if raw[:1] in ("[", "{"):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ConfigError(f"override {text!r}: the value is not valid JSON") from None
    return key.strip(), raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any, *, where: str) -> None:
    node: Any = tree
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not key.isdigit():
                raise ConfigError(f"{where}: {key!r} is not a list index")
            index = int(key)
            while len(node) <= index:
                node.append({})
            if last:
                node[index] = value
            else:
                if not isinstance(node[index], dict | list):
                    node[index] = {}
                node = node[index]
            continue
        if last:
            node[key] = value
            return
        child = node.get(key)
        if child is None or not isinstance(child, dict | list):
            child = [] if path[i + 1].isdigit() else {}
            node[key] = child
        node = child


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Tables merge key by key; anything else (lists included) replaces."""
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


# ---- building and validating -------------------------------------------------------------------------------------
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ALIASES = {
    "user_name": "username",
    "user": "username",
    "email": "username",
    "phone": "phone_number",
    "number": "phone_number",
    "secret": "client_secret",
    "id": "client_id",
    "access_token": "token",
}


def _key(name: str) -> str:
    return _CAMEL.sub(r"_\1", str(name)).lower().replace("-", "_")


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in snake_case (``phoneNumber`` → ``phone_number``), recursively."""
    return {
        _key(k): (
            _normalise(v)
            if isinstance(v, Mapping)
            else [_normalise(i) if isinstance(i, Mapping) else i for i in v]
            if isinstance(v, list)
            else v
        )
        for k, v in data.items()
    }


def _only(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        place = f"[{where}] " if where else ""
        raise ConfigError(f"{place}unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _section(data: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    section = data.get(name) or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    _only(section, keys, name)
    return dict(section)


def _str(value: Any, where: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ConfigError(f"{where} is required")
        return ""
    if isinstance(value, bool | dict | list):
        raise ConfigError(f"{where} must be a string, not {type(value).__name__}")
    return str(value)


def _opt(value: Any, where: str) -> str | None:
    return _str(value, where, required=False) or None


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    if isinstance(value, int):
        return bool(value)
    raise ConfigError(f"{where} must be true or false, not {value!r}")


def _seconds(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number of seconds, not {value!r}") from None
    if not number > 0:
        raise ConfigError(f"{where} must be > 0 seconds, not {value!r}")
    return number


def _url(value: Any, where: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    text = _opt(value, where)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{where}: {text!r} is not a {'/'.join(schemes)} URL")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{where}: {text!r} has an invalid port") from None
    return text.rstrip("/")


def _tls(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        return _bool(value, "target.tls_verify")
    text = _str(value, "target.tls_verify")
    if not Path(text).is_file():
        raise ConfigError(f"target.tls_verify: CA bundle {text!r} not found (use true, false or a file path)")
    return text


def _gws_user(value: Any, where: str) -> GwsUser:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table with username and password")
    value = {_ALIASES.get(k, k): v for k, v in value.items()}
    _only(value, ("username", "password", "phone_number"), where)
    return GwsUser(
        _str(value.get("username"), f"{where}.username"),
        _str(value.get("password"), f"{where}.password"),
        _opt(value.get("phone_number"), f"{where}.phone_number"),
    )


def _gws(data: dict[str, Any]) -> GwsConfig:
    csrf = str(data.get("csrf", "auto")).lower()
    if csrf in ("true", "1", "yes"):
        csrf = "on"
    elif csrf in ("false", "0", "no"):
        csrf = "off"
    if csrf not in CSRF_MODES:
        raise ConfigError(f"gws.csrf must be one of {', '.join(CSRF_MODES)}, not {data.get('csrf')!r}")
    agents = data.get("agents") or []
    if not isinstance(agents, list):
        raise ConfigError("gws.agents must be a list of {username, password, phone_number?}")
    users = data.get("users") or {}
    if not isinstance(users, Mapping):
        raise ConfigError("gws.users must be a table of named users")
    return GwsConfig(
        url=_url(data.get("url"), "gws.url"),
        csrf=csrf,
        agents=[_gws_user(a, f"gws.agents[{i}]") for i, a in enumerate(agents)],
        supervisor=_gws_user(data["supervisor"], "gws.supervisor") if data.get("supervisor") else None,
        admin=_gws_user(data["admin"], "gws.admin") if data.get("admin") else None,
        users={str(k): _gws_user(v, f"gws.users.{k}") for k, v in users.items()},
    )


def _client(value: Any, where: str, *, secret: bool) -> OAuthClient | None:
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table with client_id")
    value = {_ALIASES.get(k, k): v for k, v in value.items()}
    _only(value, ("client_id", "client_secret", "redirect_uri"), where)
    client = OAuthClient(
        _str(value.get("client_id"), f"{where}.client_id"),
        _opt(value.get("client_secret"), f"{where}.client_secret"),
        _url(value.get("redirect_uri"), f"{where}.redirect_uri"),
    )
    if secret and not client.client_secret:
        raise ConfigError(f"{where}.client_secret is required for the client-credentials grant")
    if not secret and not client.redirect_uri:
        raise ConfigError(f"{where}.redirect_uri is required for the authorization-code grant")
    return client


def _platform_user(value: Any, where: str) -> PlatformUser:
    if isinstance(value, str):
        value = {"token": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table (username + password, or token)")
    value = {_ALIASES.get(k, k) if k != "id" else "user_id": v for k, v in value.items()}
    _only(value, ("username", "password", "token", "user_id"), where)
    user = PlatformUser(
        _opt(value.get("username"), f"{where}.username"),
        _opt(value.get("password"), f"{where}.password"),
        _opt(value.get("token"), f"{where}.token"),
        _opt(value.get("user_id"), f"{where}.user_id"),
    )
    if not user.token and not user.username:
        raise ConfigError(f"{where} needs username and password, or a token")
    return user


def _platform(data: dict[str, Any]) -> PlatformConfig:
    users = data.get("users") or []
    if not isinstance(users, list):
        raise ConfigError("platform.users must be a list")
    return PlatformConfig(
        url=_url(data.get("url"), "platform.url"),
        login_url=_url(data.get("login_url"), "platform.login_url"),
        client_credentials=_client(data.get("client_credentials"), "platform.client_credentials", secret=True),
        code_client=_client(data.get("code_client"), "platform.code_client", secret=False),
        users=[_platform_user(u, f"platform.users[{i}]") for i, u in enumerate(users)],
    )


def _connect(data: dict[str, Any]) -> ConnectConfig:
    agents = data.get("agents") or []
    if isinstance(agents, str):
        agents = [a.strip() for a in agents.split(",") if a.strip()]
    if not isinstance(agents, list):
        raise ConfigError("connect.agents must be a list of agent ids")
    url = data.get("url")
    checked = _url(
        str(url).replace("{agentId}", "agent") if url else None, "connect.url", ("ws", "wss", "http", "https")
    )
    tokens = data.get("tokens") or {}
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in tokens.items()
    ):
        raise ConfigError("connect.tokens must map agent ids to their bus credentials (non-empty strings)")
    auth = str(data.get("auth") or "auto").lower()
    if auth not in ("on", "off", "auto"):
        raise ConfigError(f"connect.auth must be on, off or auto (not {auth!r})")
    return ConnectConfig(
        url=str(url).rstrip("/") if checked else None,
        agents=[_str(a, f"connect.agents[{i}]") for i, a in enumerate(agents)],
        tokens=dict(tokens),
        auth=auth,
    )


def _timeouts(data: dict[str, Any]) -> Timeouts:
    default = Timeouts()
    return Timeouts(
        **{
            name: _seconds(data.get(name, getattr(default, name)), f"timeouts.{name}")
            for name in ("request", "notification", "run")
        }
    )


def _limits(data: dict[str, Any]) -> Limits:
    value = data.get("max_response_bytes", Limits.max_response_bytes)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).strip().isdigit()
        or int(value) < 1024
    ):
        raise ConfigError(f"limits.max_response_bytes must be a whole number of bytes >= 1024, not {value!r}")
    return Limits(max_response_bytes=int(value))


def _names(value: Any, where: str) -> list[str]:
    """A list of names: a list, or a comma-separated string (``--set mock.variants=a,b``)."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{where} is a list of names or a comma-separated string, not {value!r}")
    return list(dict.fromkeys(i.strip() for i in items if i.strip()))


def _events(data: dict[str, Any]) -> EventsConfig:
    command = _opt(data.get("driver_command"), "events.driver_command")
    if command and "{event}" not in command:
        raise ConfigError("events.driver_command must contain {event} (and usually {args_json})")
    return EventsConfig(
        control_url=_url(data.get("control_url"), "events.control_url"),
        control_token=_opt(data.get("control_token"), "events.control_token"),
        driver_command=command,
        manual_events=_bool(data.get("manual_events", False), "events.manual_events"),
        manual_timeout=_seconds(data.get("manual_timeout", 120), "events.manual_timeout"),
    )


# ---- the embedded mock ------------------------------------------------------------------------------------------
def default_mock_seed() -> Path:
    """The seed the mock starts with: ``VOICEKIT_SEED`` (the mock reads it too), else the built-in one.

    Located without importing ``mockserver``: the suite talks to the mock only over the wire.
    """
    override = os.environ.get("VOICEKIT_SEED")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("mockserver")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the mock's seed cannot be found (is voicekit installed with its mock?)")
    return Path(next(iter(spec.submodule_search_locations))) / "seed" / "default.yaml"


def mock_data(base_url: str, seed: str | Path | None = None) -> dict[str, Any]:
    """The configuration tree of the mock at ``base_url``, users read from its seed file.

    GWS: agents are the ``ROLE_AGENT`` users with a device, in seed order (users whose device is on the
    ``Public`` telephony network go to ``gws.users`` as ``public_network_agent``, …); the first
    ``ROLE_SUPERVISOR`` and ``ROLE_ADMIN`` users. Platform and Connect are configured only when the seed has
    ``platform:``/``connect:`` sections, whose clients, users and agents are read leniently.
    """
    path = Path(seed) if seed else default_mock_seed()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the mock's seed {path}: {exc}") from None
    base = base_url.rstrip("/")
    tree: dict[str, Any] = {"target": {"name": "voicekit mock"}, "events": {"control_url": f"{base}/control"}}
    if "gws" in doc:
        tree["gws"] = _mock_gws(base, doc["gws"] or {})
    if "platform" in doc:
        tree["platform"] = _mock_platform(f"{base}/platform", doc["platform"] or {})
    if "connect" in doc:
        ws = "ws" + base[len("http") :] if base.startswith("http") else base
        section = doc["connect"] or {}
        tree["connect"] = {
            "url": f"{ws}/connect",
            "agents": _mock_connect_agents(section),
            "tokens": _mock_connect_tokens(section),
            "auth": "on",
        }
    return tree


def _mock_gws(base: str, gws: Mapping[str, Any]) -> dict[str, Any]:
    devices = {str(d.get("phoneNumber")): d for d in gws.get("devices", []) if isinstance(d, Mapping)}
    out: dict[str, Any] = {"url": base, "agents": [], "users": {}}
    for user in gws.get("users", []):
        roles = user.get("roles") or []
        numbers = [str(n) for n in user.get("devices") or []]
        login = {"username": user["userName"], "password": str(user.get("password", "password"))}
        if numbers:
            login["phone_number"] = numbers[0]
        if "ROLE_SUPERVISOR" in roles:
            out.setdefault("supervisor", login)
        elif "ROLE_ADMIN" in roles:
            out.setdefault("admin", login)
        elif "ROLE_AGENT" in roles and numbers:
            network = str((devices.get(numbers[0]) or {}).get("telephonyNetwork") or "Private")
            if network.lower() == "public":
                out["users"].setdefault("public_network_agent", login)
            else:
                out["agents"].append(login)
    return out


def _first(item: Mapping[str, Any], *names: str) -> Any:
    return next((item[n] for n in names if item.get(n) not in (None, "", [])), None)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _mock_platform(url: str, platform: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": url}
    clients = platform.get("clients") or platform.get("oauthClients") or platform.get("oauth_clients") or []
    for client in clients if isinstance(clients, list) else []:
        if not isinstance(client, Mapping):
            continue
        client_id = _first(client, "clientId", "client_id", "id")
        secret = _first(client, "clientSecret", "client_secret", "secret")
        grants = " ".join(
            _as_list(
                _first(
                    client,
                    "grantTypes",
                    "grant_types",
                    "authorizedGrantTypes",
                    "grants",
                    "grantType",
                    "grant_type",
                    "type",
                )
            )
        ).lower()
        redirects = _as_list(_first(client, "redirectUris", "redirect_uris", "redirectUri", "redirect_uri"))
        if client_id and secret and "client" in grants and "client_credentials" not in out:
            out["client_credentials"] = {"client_id": client_id, "client_secret": secret}
        if client_id and redirects and ("code" in grants or "pkce" in grants) and "code_client" not in out:
            out["code_client"] = {"client_id": client_id, "redirect_uri": redirects[0]}
            if secret:
                out["code_client"]["client_secret"] = secret
    users = []
    for user in platform.get("users") or []:
        if not isinstance(user, Mapping):
            continue
        name = _first(user, "username", "userName", "email", "name")
        password = _first(user, "password")
        token = _first(user, "token", "accessToken", "access_token")
        if name or token:  # without password or token: the mock's control API logs the user in
            entry = {
                "username": name,
                "password": password,
                "token": token,
                "user_id": _first(user, "id", "userId", "user_id"),
            }
            users.append({k: str(v) for k, v in entry.items() if v is not None})
    out["users"] = users
    return out


def _mock_connect_tokens(connect: Mapping[str, Any]) -> dict[str, str]:
    agents = connect.get("agents") or []
    return {str(a["id"]): str(a["token"]) for a in agents if isinstance(a, Mapping) and a.get("id") and a.get("token")}


def _mock_connect_agents(connect: Mapping[str, Any]) -> list[str]:
    agents = connect.get("agents") or []
    out = []
    for agent in agents if isinstance(agents, list) else []:
        if isinstance(agent, Mapping):
            value = _first(agent, "id", "agentId", "agent_id", "username")
            if value:
                out.append(str(value))
        elif agent:
            out.append(str(agent))
    return out
