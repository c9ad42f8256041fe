"""The target of a run: its configuration, the embedded mock when ``--target mock``, and a health check per
system made once per session.

Why a session-level health check: a target that refuses connections, hangs or answers garbage would
otherwise cost every test its full timeout. One bounded request per system decides; the tests of an
unhealthy system then fail at once with the reason, and the certificate says why. A system that passes the
check and then stops answering is given up the same way once :data:`OUTAGE_STRIKES` tests in a row have
seen it hang or refuse connections (:meth:`RunningTarget.observe`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.config import TargetConfig
from conformance.control import ControlClient, ControlRefused
from conformance.errors import ConfigError
from conformance.failures import ConformanceFailure
from conformance.launcher import MockProcess
from conformance.transport.http import HttpClient, set_response_limit

__all__ = [
    "MOCK",
    "MOCK_CONFIG_PATH",
    "OUTAGE_STRIKES",
    "RunningTarget",
    "check_health",
    "is_mock",
    "load_config",
    "mock_config",
    "mock_csrf",
    "mock_data",
    "open_target",
]

MOCK = "mock"
#: Where a running mock publishes the configuration a suite needs to test it (a tree valid under
#: specs/schemas/config/TargetConfig.json): its URLs, seed users and clients, bus agents, control API.
MOCK_CONFIG_PATH = "/control/target-config"
#: Tests in a row that saw a system hang or refuse connections, after which its remaining tests fail at once.
OUTAGE_STRIKES = 2


@dataclass
class RunningTarget:
    """What the fixtures use: the final configuration, the mock process (if any) and the health verdicts."""

    config: TargetConfig
    kind: str
    mock: MockProcess | None = None
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    strikes: dict[str, int] = field(default_factory=dict)

    @property
    def is_mock(self) -> bool:
        return self.kind == MOCK

    def unhealthy(self, system: str) -> str | None:
        state = self.health.get(system)
        return None if state is None or state.get("ok") else str(state.get("detail"))

    def unhealthy_reason(self, system: str) -> str | None:
        """Why the tests of ``system`` fail at once (the health check, or the outages seen during the run)."""
        detail = self.unhealthy(system)
        if detail is None:
            return None
        return f"{system} {self.health[system].get('verdict', 'health check failed')}: {detail}"

    def observe(self, system: str, failure: BaseException | None) -> None:
        """Count a finished test of ``system``: a failure with an ``outage`` (it hung or refused the
        connection) is a strike, anything else shows the system answering and clears the count. At
        :data:`OUTAGE_STRIKES` the system is marked down with that failure as the cause."""
        if self.unhealthy(system) is not None:
            return
        outage = getattr(failure, "outage", None)
        if outage is None:
            self.strikes[system] = 0
            return
        self.strikes[system] = self.strikes.get(system, 0) + 1
        if self.strikes[system] >= OUTAGE_STRIKES:
            message = getattr(failure, "message", None) or str(failure)
            self.health[system] = {
                "ok": False,
                "verdict": "stopped answering during the run",
                "outage": outage,
                "detail": f"{message} ({self.strikes[system]} tests in a row)",
            }

    def close(self) -> None:
        if self.mock is not None:
            self.mock.stop()
            self.mock = None


def mock_data(base_url: str, *, token: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The configuration tree the mock at ``base_url`` publishes (``GET /control/target-config``), its URLs
    rebased on ``base_url``: the mock as the kit reaches it (through a proxy, say), whatever host it saw.

    Raises:
        ConfigError: the mock did not publish a configuration.
    """
    base = base_url.rstrip("/")
    try:
        with ControlClient(f"{base}/control", token=token, timeout=timeout, record=False) as control:
            tree = control.target_config()
    except ControlRefused as exc:
        raise ConfigError(f"the mock at {base} refused {MOCK_CONFIG_PATH}: {exc}") from None
    except ConformanceFailure as exc:
        raise ConfigError(f"the mock at {base} did not answer {MOCK_CONFIG_PATH}: {exc.message}") from None
    if not tree:
        raise ConfigError(f"the mock at {base} answered {MOCK_CONFIG_PATH} with no configuration")
    return _rebase(tree, base)


_URL_KEYS = (
    ("gws", "url"),
    ("platform", "url"),
    ("platform", "login_url"),
    ("connect", "url"),
    ("events", "control_url"),
)


def _rebase(tree: dict[str, Any], base: str) -> dict[str, Any]:
    served = urlsplit(str((tree.get("events") or {}).get("control_url") or "")).netloc
    wanted = urlsplit(base)
    for section, key in _URL_KEYS:
        value = (tree.get(section) or {}).get(key)
        if not isinstance(value, str) or not served:
            continue
        parts = urlsplit(value)
        if parts.netloc != served:
            continue
        web = parts.scheme in ("http", "https")
        scheme = wanted.scheme if web else ("wss" if wanted.scheme == "https" else "ws")
        tree[section][key] = urlunsplit((scheme, wanted.netloc, parts.path, parts.query, parts.fragment))
    return tree


def mock_config(base_url: str, *, token: str | None = None) -> TargetConfig:
    """The configuration of the running mock at ``base_url`` alone (no file, no environment)."""
    tree = mock_data(base_url, token=token)
    return TargetConfig.load(None, mock=tree, mock_source=_mock_source(base_url), environ={})


def _mock_source(base_url: str) -> str:
    return f"mock {base_url.rstrip('/')}{MOCK_CONFIG_PATH}"


def is_mock(target: str | None, config_path: str | Path | None) -> bool:
    """``--target mock``, or no target and no configuration file at all."""
    return target == MOCK or (target is None and config_path is None)


def load_config(
    target: str | None,
    config_path: str | Path | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    override_sources: Mapping[str, str] | None = None,
    mock_base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> TargetConfig:
    """The configuration for ``--target``/``--config``: ``mock`` (optionally tuned by a config file) or a
    configuration file (``--target path`` and ``--config path`` are the same thing). For the mock, what the
    running mock at ``mock_base_url`` publishes is read; before it runs (no URL), the file and options alone."""
    path: str | Path | None = config_path
    if target and target != MOCK:
        if config_path and str(config_path) != str(target):
            raise ConfigError("give the configuration file once: --target FILE or --config FILE")
        path = target
    layers: dict[str, Any] = {"environ": environ, "overrides": overrides, "override_sources": override_sources}
    if is_mock(target, path) and mock_base_url is not None:
        before = TargetConfig.load(path, **layers)  # the control token and timeout to ask the mock with
        tree = mock_data(mock_base_url, token=before.events.control_token, timeout=before.timeouts.request)
        return TargetConfig.load(path, mock=tree, mock_source=_mock_source(mock_base_url), **layers)
    return TargetConfig.load(path, **layers)


def open_target(
    target: str | None,
    config_path: str | Path | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    override_sources: Mapping[str, str] | None = None,
    systems: Iterable[str] = ("gws", "platform", "connect"),
    startup_timeout: float = 30.0,
) -> RunningTarget:
    """Start the mock when needed, build the final configuration and check the health of ``systems``.

    Raises:
        ConfigError: bad configuration.
        LaunchError: the mock did not start.
    """
    given: dict[str, Any] = {"overrides": overrides, "override_sources": override_sources}
    if not is_mock(target, config_path):
        config = load_config(target, config_path, **given)
        running = RunningTarget(config, "config")
    else:
        pre = load_config(MOCK, config_path, **given)
        mock = MockProcess(csrf=mock_csrf(pre.gws.csrf), startup_timeout=startup_timeout, variants=pre.mock.variants)
        base = mock.start()
        try:
            config = load_config(MOCK, config_path, mock_base_url=base, **given)
        except Exception:
            mock.stop()
            raise
        running = RunningTarget(config, MOCK, mock)
    set_response_limit(running.config.limits.max_response_bytes)
    running.health = check_health(running.config, systems)
    return running


def mock_csrf(mode: str) -> bool:
    """Whether the embedded mock starts with GWS CSRF protection, given the kit's ``gws.csrf`` mode.

    003 leaves CSRF to the deployment (l.376, l.4418-4419), so a certificate of the reference mock should show
    both the protected behaviour and the kit's handling of it: ``auto`` (the default) and ``on`` start the mock
    with CSRF on, so the CSRF rules and samples run instead of being reported as not run; only an explicit
    ``off`` starts it unprotected. (``voicekit mock`` itself stays off unless ``--csrf on``.)
    """
    return mode != "off"


def check_health(config: TargetConfig, systems: Iterable[str]) -> dict[str, dict[str, Any]]:
    """One bounded probe per configured system among ``systems``: ``{"ok", "detail", "elapsed_ms"}``.

    * GWS: ``GET /api/v2/diagnostics/version`` (anonymous, 003 l.97-221) answers 200 with a JSON envelope;
    * Platform: ``GET /api/v2/users/me`` without credentials answers JSON (any status);
    * Connect: the first agent's bus accepts a WebSocket, or refuses it with an HTTP status.
    """
    out: dict[str, dict[str, Any]] = {}
    for system in dict.fromkeys(systems):
        if not config.url_of(system):
            continue
        started = time.monotonic()
        try:
            detail = _PROBES[system](config)
            state: dict[str, Any] = {"ok": True, "detail": detail}
        except ConformanceFailure as exc:
            state = {"ok": False, "detail": exc.message}
        state["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        out[system] = state
    return out


def _http(config: TargetConfig, url: str) -> HttpClient:
    return HttpClient(url, timeout=config.timeouts.request, verify=config.ssl_verify(), csrf="off", record=False)


def _probe_gws(config: TargetConfig) -> str:
    assert config.gws.url
    with _http(config, config.gws.url) as client:
        response = client.get("/api/v2/diagnostics/version")
        body = response.json()
        if response.status != 200 or not isinstance(body, dict) or body.get("statusCode") != 0:
            raise ConformanceFailure(
                f"GET /api/v2/diagnostics/version answered {response.status}: {response.text[:200]!r}"
            )
        return f"GWS version {body.get('version', 'unknown')}"


def _probe_platform(config: TargetConfig) -> str:
    assert config.platform.url
    with _http(config, config.platform.url) as client:
        response = client.get("/api/v2/users/me")
        response.json()
        return f"Platform answered {response.status}"


def _probe_connect(config: TargetConfig) -> str:
    """A plain GET (no upgrade) of an agent's bus URL: any HTTP answer shows the server is there, without
    opening a bus (which could log the agent in and disturb the first test)."""
    agent = config.connect.agents[0] if config.connect.agents else "voicekit-health"
    url = config.connect.bus_url(agent)
    url = "http" + url[2:] if url.startswith("ws") else url
    with _http(config, url) as client:
        response = client.get("")
        return f"the bus endpoint answered HTTP {response.status}"


_PROBES = {"gws": _probe_gws, "platform": _probe_platform, "connect": _probe_connect}
