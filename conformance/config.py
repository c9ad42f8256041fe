"""The target under test and every setting of a run, as one typed ``TargetConfig``.

Why a single object: every fixture, transport, family and reporter reads the same values, and the certificate
prints each one with where it came from. The whole tree is declared once, as a JSON Schema
(``specs/schemas/config/TargetConfig.json``: keys, types, defaults, what each means); the merged tree is validated
against it before anything is collected, so a bad value is a configuration error naming the key and its source,
never a crash in a family. Layers, later ones win:

1. defaults (the schema's);
2. the configuration file (TOML via ``tomllib``, or YAML), sections below;
3. with ``--target mock``, what the running mock publishes at ``GET /control/target-config`` (URLs, seed users,
   ``events.control_url``) — :func:`conformance.target.mock_data`;
4. environment variables ``VOICEKIT_<SECTION>_<KEY>`` (see :data:`ENV_SECTIONS`);
5. explicit overrides (``--set section.key=value`` and the command-line options, conformance/options.py).

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
    unknown_dn = "59999"               # a DN no device has (T-Server refuses a call to it)
    queue = "8001"                     # inbound calls are delivered through it (default: the first voice queue)

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
    variants = ["mute-silent"]         # documented alternatives it switches to (mockserver/variants.py)

    [fuzz]                             # the generated-request family (test_fuzz_openapi.py)
    max_examples = 25                  # per generation mode and operation
    stateful_examples = 10
    seed = 1                           # default: derandomized

    [stateful]                         # the GWS state machines (test_stateful_gws.py)
    examples = 20
    steps = 20
    seed = 1
    reproduce = "<version>:<blob>"     # replays a reported failure
    shrink_seconds = 60
    debug = false

User keys may also be written as the documents spell them (``userName``, ``phoneNumber``).

Environment: every key above is ``VOICEKIT_<SECTION>_<KEY>`` (``VOICEKIT_GWS_UNKNOWN_DN``,
``VOICEKIT_TIMEOUTS_REQUEST``, ``VOICEKIT_FUZZ_MAX_EXAMPLES``, ``VOICEKIT_STATEFUL_REPRODUCE``…); the text is
read as the schema's type (numbers, ``true``/``false``/``1``/``0``, comma lists for ``connect.agents`` and
``mock.variants``; empty means unset). A double underscore descends into nested values, so secrets can stay out
of the file: ``VOICEKIT_GWS_AGENTS__0__PASSWORD``, ``VOICEKIT_GWS_SUPERVISOR__PASSWORD``,
``VOICEKIT_PLATFORM_CLIENT_CREDENTIALS__CLIENT_SECRET``, ``VOICEKIT_PLATFORM_USERS__0__TOKEN``. A value
starting with ``[`` or ``{`` is read as JSON (``VOICEKIT_GWS_AGENTS='[{"username": "a", "password": "p"}]'``).
Unknown keys in the environment are ignored (the mock reads ``VOICEKIT_*`` too); unknown keys in a file are
errors.
"""

from __future__ import annotations

import copy
import json
import os
import re
import ssl
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

from conformance.errors import ConfigError

__all__ = [
    "ENV_SECTIONS",
    "SYSTEMS",
    "ConnectConfig",
    "EventsConfig",
    "FuzzConfig",
    "GwsConfig",
    "GwsUser",
    "Limits",
    "MockOptions",
    "OAuthClient",
    "PlatformConfig",
    "PlatformUser",
    "StatefulConfig",
    "TargetConfig",
    "Timeouts",
    "config_schema",
    "parse_override",
]

SYSTEMS = ("gws", "platform", "connect")
CSRF_MODES = ("on", "off", "auto")
#: Keys whose values never leave the kit: shown as ``***`` in the certificate's list of settings.
SECRET_KEYS = frozenset({"password", "client_secret", "token", "control_token", "tokens"})


@cache
def config_schema() -> dict[str, Any]:
    """``specs/schemas/config/TargetConfig.json``: the one declaration of every setting."""
    from voicekit.paths import specs_dir

    path = specs_dir() / "schemas" / "config" / "TargetConfig.json"
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the configuration schema {path} cannot be read: {exc}") from None
    return schema


#: The sections of the tree, in the schema's order (``VOICEKIT_<SECTION>_<KEY>``).
ENV_SECTIONS = ("target", "gws", "platform", "connect", "timeouts", "limits", "events", "mock", "fuzz", "stateful")


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
    #: A DN of the switch's numbering plan that no device has: dialed to make T-Server refuse a call.
    unknown_dn: str = "59999"
    #: The queue inbound calls are delivered through; None: the first voice queue the target lists.
    queue: str | None = None


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
class FuzzConfig:
    """How much the generated-request family generates (a run can be tuned without touching the suite)."""

    max_examples: int = 25
    stateful_examples: int = 10
    seed: int | None = None


@dataclass
class StatefulConfig:
    """The budget of the GWS state machines, and how to replay a reported failure."""

    examples: int = 20
    steps: int = 20
    seed: int | None = None
    reproduce: str | None = None
    shrink_seconds: int = 60
    debug: bool = False


@dataclass
class TargetConfig:
    """Everything the suite knows about the target and the run. Build it with :meth:`load`."""

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
    fuzz: FuzzConfig = field(default_factory=FuzzConfig)
    stateful: StatefulConfig = field(default_factory=StatefulConfig)
    #: The layers read, in order ("defaults", the file, "environment: VOICEKIT_…", …).
    sources: list[str] = field(default_factory=list)
    #: Where each key set by a layer came from (``"gws.agents"`` → ``"file target.toml"``); the rest is default.
    origins: dict[str, str] = field(default_factory=dict)

    # ---- construction ----------------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        mock: Mapping[str, Any] | None = None,
        mock_source: str = "the mock",
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        override_sources: Mapping[str, str] | None = None,
    ) -> TargetConfig:
        """Defaults, then ``path``, then the tree the mock published (``mock``), then the environment, then
        ``overrides`` (dotted keys: ``{"timeouts.request": 5}``, their origins named by ``override_sources``,
        default ``--set KEY``); validated against the schema.

        Raises:
            ConfigError: unreadable file, unknown key, bad value (naming the key and where it came from).
        """
        tree: dict[str, Any] = {}
        origins: dict[str, str] = {}
        sources = ["defaults"]
        if path is not None:
            layer = read_file(Path(path))
            _merge(tree, layer)
            _record(origins, layer, f"file {path}")
            sources.append(str(path))
        if mock is not None:
            _merge(tree, mock)
            _record(origins, mock, mock_source)
            sources.append(mock_source)
        env = os.environ if environ is None else environ
        env_values = _from_environ(env)
        for key_path, value, name in env_values:  # set in place: AGENTS__1__PASSWORD keeps agents[1]'s username
            _set_path(tree, key_path, value, where=name)
            _record_path(origins, key_path, f"environment {name}")
        if env_values:
            sources.append("environment: " + ", ".join(sorted(name for _, _, name in env_values)))
        if overrides:
            for key, value in overrides.items():
                _set_path(tree, key.split("."), value, where=f"override {key}")
                _record_path(origins, key.split("."), (override_sources or {}).get(key) or f"--set {key}")
            sources.append("overrides: " + ", ".join(sorted(overrides)))
        config = cls.from_mapping(tree, origins)
        config.sources = sources
        return config

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> TargetConfig:
        """Build from a plain tree (the file layout), validated against the schema; ``origins`` name the source
        of each key in error messages."""
        tree = _prepare(data)
        origins = dict(origins or {})
        validate(tree, origins)
        return _build(tree, origins)

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

    def tree(self) -> dict[str, Any]:
        """The configuration in the file layout (secrets included: never print it as is)."""
        sections = {
            name: asdict(getattr(self, name))
            for name in ("gws", "platform", "connect", "timeouts", "limits", "events", "mock", "fuzz", "stateful")
        }
        target = {"name": self.name, "tls_verify": self.tls_verify, "allow_destructive": self.allow_destructive}
        tree: dict[str, Any] = _without_none({"target": target, **sections})
        return tree

    def settings(self) -> list[dict[str, Any]]:
        """Every setting with its value (secrets as ``***``) and its source: the file, the mock, the environment
        variable, the ``--set`` or option, or the default."""
        out = []
        for key, value in _leaves(self.tree()):
            secret = any(part in SECRET_KEYS for part in _parts(key))
            out.append({"key": key, "value": "***" if secret and value else value, "source": self.origin(key)})
        return out

    def origin(self, key: str) -> str:
        """Where ``key`` (``gws.agents[0].password``) was set: the nearest layer that set it or a parent."""
        parts = _parts(key)
        for end in range(len(parts), 0, -1):
            found = self.origins.get(_join(parts[:end]))
            if found:
                return found
        return "default"

    def describe(self) -> dict[str, Any]:
        """A secret-free summary for the certificate, with every setting and its source."""
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
            "settings": self.settings(),
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
    """``(key path, value, variable name)`` for each ``VOICEKIT_<SECTION>_<KEY>`` the schema declares."""
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
        out.append((key_path, value, name))
    return out


def _known_path(path: list[str]) -> bool:
    """A section and one of its keys, as the schema declares them."""
    if len(path) < 2:
        return False
    section = config_schema()["properties"].get(path[0])
    return section is not None and path[1] in section.get("properties", {})


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` (``--set``) as a (dotted key, value) pair; JSON values are decoded."""
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


# ---- where each key came from -------------------------------------------------------------------------------------
def _parts(key: str) -> list[str]:
    """``gws.agents[0].password`` → ``["gws", "agents", "0", "password"]``."""
    return [p for p in re.split(r"[.\[\]]+", key) if p]


def _join(parts: Iterable[str | int]) -> str:
    """The display form of a key path: dots, and ``[i]`` for list items."""
    out = ""
    for part in parts:
        text = str(part)
        out += f"[{text}]" if text.isdigit() else (f".{text}" if out else text)
    return out


def _record_path(origins: dict[str, str], path: list[str], source: str) -> None:
    key = _join(_key(p) for p in path)
    for known in [k for k in origins if k == key or k.startswith((key + ".", key + "["))]:
        del origins[known]
    origins[key] = source


def _record(origins: dict[str, str], layer: Mapping[str, Any], source: str) -> None:
    """Each table key of ``layer`` down to its values (a list is one value: a later list replaces it)."""
    for key, value in layer.items():
        section = _key(key)
        if isinstance(value, Mapping):
            for child in value:
                _record_path(origins, [section, str(child)], source)
        else:
            _record_path(origins, [section], source)


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping) and node and prefix[-1:] != ("tokens",):
        for key, value in node.items():
            yield from _leaves(value, (*prefix, str(key)))
    elif isinstance(node, list) and any(isinstance(i, Mapping) for i in node):
        for index, value in enumerate(node):
            yield from _leaves(value, (*prefix, str(index)))
    else:
        yield _join(prefix), node


def _without_none(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _without_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_none(i) for i in node]
    return node


# ---- preparing and validating ------------------------------------------------------------------------------------
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_USER_ALIASES = {"user_name": "username", "user": "username", "email": "username", "phone": "phone_number"}
_USER_ALIASES |= {"number": "phone_number", "access_token": "token"}
_CLIENT_ALIASES = {"id": "client_id", "secret": "client_secret"}
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _key(name: str) -> str:
    return _CAMEL.sub(r"_\1", str(name)).lower().replace("-", "_")


def _normalise(data: Any) -> Any:
    """Keys in snake_case (``phoneNumber`` → ``phone_number``), recursively."""
    if isinstance(data, Mapping):
        return {_key(k): _normalise(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalise(i) for i in data]
    return data


def _renamed(value: Any, aliases: Mapping[str, str]) -> Any:
    return {aliases.get(k, k): v for k, v in value.items()} if isinstance(value, Mapping) else value


def _prepare(data: Mapping[str, Any]) -> dict[str, Any]:
    """The tree as the schema spells it: snake_case keys, the documents' spellings of user keys, a token given
    alone as a Platform user, and text from the environment or ``--set`` read as the schema's types."""
    tree: dict[str, Any] = _normalise(data)
    gws = tree.get("gws")
    if isinstance(gws, dict):
        if isinstance(gws.get("agents"), list):
            gws["agents"] = [_renamed(a, _USER_ALIASES) for a in gws["agents"]]
        for role in ("supervisor", "admin"):
            gws[role] = _renamed(gws.get(role), _USER_ALIASES) or None
        if isinstance(gws.get("users"), Mapping):
            gws["users"] = {k: _renamed(v, _USER_ALIASES) for k, v in gws["users"].items()}
        if isinstance(gws.get("csrf"), str | bool):  # csrf = true/false reads as on/off
            csrf = str(gws["csrf"]).strip().lower()
            gws["csrf"] = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}.get(
                csrf, csrf
            )
    platform = tree.get("platform")
    if isinstance(platform, dict):
        for name in ("client_credentials", "code_client"):
            platform[name] = _renamed(platform.get(name), _CLIENT_ALIASES) or None
        if isinstance(platform.get("users"), list):
            platform["users"] = [
                {"token": u} if isinstance(u, str) else _renamed(u, {**_USER_ALIASES, "id": "user_id"})
                for u in platform["users"]
            ]
    connect = tree.get("connect")
    if isinstance(connect, dict) and isinstance(connect.get("auth"), str):
        connect["auth"] = connect["auth"].strip().lower() or "auto"
    return _coerce(tree, config_schema())  # type: ignore[no-any-return]


_UNSET = object()


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Text where the schema wants a number, a boolean or a list of names is read as one (the environment and
    ``--set`` give text); empty text is unset. Anything else is left for the schema to judge."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            if branch.get("type") != "null":
                return _coerce(value, branch)
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, Mapping) else {})
            coerced = _coerce(item, sub)
            if coerced is not _UNSET:
                out[key] = coerced
        return out
    if isinstance(value, list):
        return [_coerce(i, schema.get("items", {})) for i in value]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value
    if isinstance(value, int):
        return bool(value) if types == ["boolean"] and value in (0, 1) else value
    text = value.strip()
    if not text and "string" not in types and types:
        return None if "null" in types else _UNSET
    if "boolean" in types and text.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[text.lower()]
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            return value
    if "array" in types:
        return [_coerce(i.strip(), schema.get("items", {})) for i in text.split(",") if i.strip()]
    return value


_TYPE_NAMES = {
    "boolean": "true or false",
    "number": "a number",
    "integer": "a whole number",
    "string": "a string",
    "array": "a list",
    "object": "a table",
    "null": "empty",
}


def _url_problem(value: Any, schemes: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.replace("{agentId}", "agent"))
    if parts.scheme not in schemes or not parts.hostname:
        return f"{value!r} is not a {'/'.join(schemes)} URL"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"{value!r} has an invalid port"
    return None


def _url_schemes(schema: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The schemes of a ``voicekit-<schemes>-url`` format, or None."""
    form = str(schema.get("format", ""))
    if not (form.startswith("voicekit-") and form.endswith("-url")):
        return None
    return tuple(form[len("voicekit-") : -len("-url")].split("-"))


def _checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    for form in ("voicekit-http-https-url", "voicekit-ws-wss-http-https-url"):
        schemes = tuple(form[len("voicekit-") : -len("-url")].split("-"))

        def check(value: object, schemes: tuple[str, ...] = schemes) -> bool:
            return _url_problem(value, schemes) is None

        checker.checks(form)(check)
    return checker


def validate(tree: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> None:
    """Check ``tree`` (the file layout, prepared) against ``TargetConfig.json``, then what a schema cannot say
    (a CA bundle that exists, credentials the mock would not supply).

    Raises:
        ConfigError: the most relevant problem, naming the key and its source.
    """
    validator = jsonschema.Draft202012Validator(config_schema(), format_checker=_checker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(tree))
    if error is not None:
        raise ConfigError(_message(error, origins or {}))
    tls = (tree.get("target") or {}).get("tls_verify")
    if isinstance(tls, str) and not Path(tls).is_file():
        raise ConfigError(f"target.tls_verify: CA bundle {tls!r} not found (use true, false or a file path)")
    mock_logs_in = bool((tree.get("events") or {}).get("control_url"))
    for i, user in enumerate((tree.get("platform") or {}).get("users") or []):
        if not user.get("token") and not user.get("password") and not mock_logs_in:
            raise ConfigError(
                f"platform.users[{i}] needs username and password, or a token (only the mock, "
                "through its control API, logs users in without them)"
            )


def _message(error: jsonschema.ValidationError, origins: Mapping[str, str]) -> str:
    """A schema error as the kit says it: the key, what is wrong, where the value came from."""
    path = [str(p) for p in error.absolute_path]
    where = _join(path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.instance
    kind = error.validator
    if kind == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(known))
        text = f"{f'[{where}] ' if where else ''}unknown key {unknown[0]!r} (known: {', '.join(known)})"
        path = [*path, unknown[0]]
    elif kind == "required":
        missing = next(r for r in schema["required"] if r not in value)
        text = f"{_join([*path, missing])} is required"
    elif "x-error" in schema:
        text = f"{where} {schema['x-error']}"
    elif _url_schemes(schema) and kind in ("format", "pattern"):
        text = f"{where}: {_url_problem(value, _url_schemes(schema) or ()) or f'{value!r} is not a URL'}"
    elif kind == "enum":
        text = f"{where} must be one of {', '.join(map(str, schema['enum']))}, not {value!r}"
    elif kind == "type":
        types = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        text = f"{where} must be {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, not {value!r}"
    elif kind == "exclusiveMinimum":
        text = f"{where} must be > {schema['exclusiveMinimum']:g}, not {value!r}"
    elif kind == "minimum":
        text = f"{where} must be >= {schema['minimum']:g}, not {value!r}"
    elif kind == "minLength":
        text = f"{where} is required (not empty)"
    else:
        text = f"{where or 'the configuration'}: {error.message}"
    origin = _origin_of(path, origins)
    return f"{text} (from {origin})" if origin else text


def _origin_of(path: list[str], origins: Mapping[str, str]) -> str | None:
    for end in range(len(path), 0, -1):
        found = origins.get(_join(path[:end]))
        if found:
            return found
    return None


# ---- building --------------------------------------------------------------------------------------------------
def _gws_user(data: Mapping[str, Any] | None) -> GwsUser | None:
    if not data:
        return None
    return GwsUser(str(data["username"]), str(data["password"]), data.get("phone_number"))


def _client(data: Mapping[str, Any] | None) -> OAuthClient | None:
    if not data:
        return None
    redirect = data.get("redirect_uri")
    return OAuthClient(data["client_id"], data.get("client_secret"), redirect.rstrip("/") if redirect else None)


def _url(value: str | None) -> str | None:
    return value.rstrip("/") if value else None


def _build(tree: Mapping[str, Any], origins: dict[str, str]) -> TargetConfig:
    """The typed configuration of a validated tree (what is absent takes the dataclasses' defaults, which are the
    schema's — ``tests/conformance/test_config.py`` keeps them equal)."""

    def section(name: str) -> dict[str, Any]:
        return dict(tree.get(name) or {})

    target, gws, platform, connect = section("target"), section("gws"), section("platform"), section("connect")
    events = section("events")
    agents = [_gws_user(a) for a in gws.get("agents") or []]
    return TargetConfig(
        name=target.get("name", TargetConfig.name),
        tls_verify=target.get("tls_verify", True),
        allow_destructive=target.get("allow_destructive", False),
        gws=GwsConfig(
            url=_url(gws.get("url")),
            csrf=gws.get("csrf", "auto"),
            agents=[a for a in agents if a is not None],
            supervisor=_gws_user(gws.get("supervisor")),
            admin=_gws_user(gws.get("admin")),
            users={str(k): u for k, v in (gws.get("users") or {}).items() if (u := _gws_user(v)) is not None},
            unknown_dn=gws.get("unknown_dn", GwsConfig.unknown_dn),
            queue=gws.get("queue"),
        ),
        platform=PlatformConfig(
            url=_url(platform.get("url")),
            login_url=_url(platform.get("login_url")),
            client_credentials=_client(platform.get("client_credentials")),
            code_client=_client(platform.get("code_client")),
            users=[
                PlatformUser(u.get("username"), u.get("password"), u.get("token"), u.get("user_id"))
                for u in platform.get("users") or []
            ],
        ),
        connect=ConnectConfig(
            url=_url(connect.get("url")),
            agents=list(connect.get("agents") or []),
            tokens=dict(connect.get("tokens") or {}),
            auth=connect.get("auth", "auto"),
        ),
        timeouts=Timeouts(**{k: float(v) for k, v in section("timeouts").items()}),
        limits=Limits(**section("limits")),
        events=EventsConfig(
            control_url=_url(events.get("control_url")),
            control_token=events.get("control_token"),
            driver_command=events.get("driver_command"),
            manual_events=events.get("manual_events", False),
            manual_timeout=float(events.get("manual_timeout", EventsConfig.manual_timeout)),
        ),
        mock=MockOptions(variants=list(dict.fromkeys(section("mock").get("variants") or []))),
        fuzz=FuzzConfig(**section("fuzz")),
        stateful=StatefulConfig(**section("stateful")),
        origins=origins,
    )
