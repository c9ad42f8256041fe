"""Job: fixtures. The running target (``vk_target``/``vk_config``: started and health-checked once per session),
the per-test scope every test gets — with, for profile-marked tests, the guard (run timeout, target health,
configuration and event requirements) and the mock's reset — and the clients of each system, closed after the
test. Each fixture is a thin wrapper over a public class (``GwsAgent``, ``HttpClient``, ``CometdClient``,
``WsClient``, ``EventSource``)."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance import profiles as profile_registry
from conformance.config import GwsUser, TargetConfig
from conformance.control import ControlClient
from conformance.events import EventSource
from conformance.outcomes import not_run
from conformance.pytest_plugin.scope import Cleanup, TestScope
from conformance.pytest_plugin.state import TargetUnhealthy, VkState, get_state, profile_name
from conformance.support.gws import GwsAgent
from conformance.target import RunningTarget
from conformance.transport.cometd import DEFAULT_CHANNELS, CometdClient
from conformance.transport.http import HttpClient
from conformance.transport.ws import WsClient

__all__: list[str] = []


@pytest.fixture(autouse=True)
def _vk_scope(request: pytest.FixtureRequest) -> Iterator[TestScope]:
    """Every test gets a scope (cheap); profile-marked tests also get the guard: run timeout, target health,
    configuration and event requirements, and the mock reset."""
    scope = TestScope()
    state = get_state(request.config)
    if state.active and request.node.get_closest_marker("vk_profile") is not None:
        _guard(request, state)
    yield scope
    for problem in scope.close():
        warnings.warn(problem, pytest.PytestWarning, stacklevel=1)


def _guard(request: pytest.FixtureRequest, state: VkState) -> None:
    item = request.node
    profile = profile_registry.get(profile_name(item))
    if state.deadline is not None and time.monotonic() > state.deadline:
        state.interrupted = state.interrupted or "whole-run timeout exceeded"
        request.session.shouldstop = state.interrupted
        not_run(state.interrupted)
    target: RunningTarget = request.getfixturevalue("vk_target")
    reason = target.config.missing_all((profile.system, *profile.needs))
    if reason:
        not_run(reason)
    problem = target.unhealthy_reason(profile.system)
    if problem:
        raise TargetUnhealthy(problem)
    if item.get_closest_marker("vk_needs_event") is not None:
        source = EventSource(target.config)
        for marker in item.iter_markers("vk_needs_event"):
            source.require(str(marker.args[0]))
    _maybe_reset(request, state, target)


def _maybe_reset(request: pytest.FixtureRequest, state: VkState, target: RunningTarget) -> None:
    events = target.config.events
    scope = state.options.reset
    if not events.control_url or scope == "none":
        return
    key = {
        "test": request.node.nodeid,
        "module": str(getattr(request.node, "path", request.node.nodeid)),
        "session": "session",
    }[scope]
    if state.reset_key is None:
        state.reset_key = key  # a freshly started target needs no reset
        return
    if key == state.reset_key:
        return
    state.reset_key = key
    with ControlClient.for_target(target.config, record=False) as control:
        control.reset()


@pytest.fixture(scope="session")
def vk_target(request: pytest.FixtureRequest) -> RunningTarget:
    """The running target: starts the mock for ``--vk-target mock`` (stopped at the end of the session) and
    checks each system's health once."""
    return get_state(request.config).open()


@pytest.fixture(scope="session")
def vk_config(vk_target: RunningTarget) -> TargetConfig:
    """The final target configuration."""
    return vk_target.config


@pytest.fixture(scope="session")
def vk_contracts() -> Any:
    """The loaded specs (``voicekit.contracts.Contracts``)."""
    from conformance.loading import default_contracts

    return default_contracts()


@pytest.fixture(scope="session")
def vk_corpus() -> Any:
    """The fixtures, catalog and errata (``voicekit.corpus.Corpus``)."""
    from conformance.loading import default_corpus

    return default_corpus()


def _gws_client(target: RunningTarget, state: VkState, scope: TestScope, user: GwsUser, role: str) -> GwsAgent:
    config = target.config
    if not config.gws.url:
        not_run("no gws URL configured")
    client = GwsAgent(
        config.gws.url,
        user,
        role=role,
        device_cache=state.device_cache,
        csrf=config.gws.csrf,
        timeout=config.timeouts.request,
        verify=config.ssl_verify(),
    )
    scope.own(client.close)
    return client


def _configured_agent(request: pytest.FixtureRequest, index: int, role: str) -> GwsAgent:
    target: RunningTarget = request.getfixturevalue("vk_target")
    agents = target.config.gws.agents
    if len(agents) <= index:
        not_run(f"{role} needs gws.agents[{index}] in the configuration")
    return _gws_client(target, get_state(request.config), request.getfixturevalue("_vk_scope"), agents[index], role)


@pytest.fixture
def vk_gws_agent(request: pytest.FixtureRequest) -> GwsAgent:
    """Agent A (``gws.agents[0]``): an HTTP client with ``.device_id`` and ``.phone_number``."""
    return _configured_agent(request, 0, "agent A")


@pytest.fixture
def vk_gws_agent_b(request: pytest.FixtureRequest) -> GwsAgent:
    """Agent B (``gws.agents[1]``)."""
    return _configured_agent(request, 1, "agent B")


@pytest.fixture
def vk_gws_supervisor(request: pytest.FixtureRequest, vk_target: RunningTarget) -> GwsAgent:
    """The supervisor (``gws.supervisor``)."""
    if vk_target.config.gws.supervisor is None:
        not_run("no GWS supervisor credentials (gws.supervisor)")
    return _gws_client(
        vk_target,
        get_state(request.config),
        request.getfixturevalue("_vk_scope"),
        vk_target.config.gws.supervisor,
        "supervisor",
    )


@pytest.fixture
def vk_gws_admin(request: pytest.FixtureRequest, vk_target: RunningTarget) -> GwsAgent:
    """The administrator (``gws.admin``)."""
    if vk_target.config.gws.admin is None:
        not_run("no GWS admin credentials (gws.admin)")
    return _gws_client(
        vk_target, get_state(request.config), request.getfixturevalue("_vk_scope"), vk_target.config.gws.admin, "admin"
    )


def _plain_client(
    scope: TestScope, config: TargetConfig, system: str, name: str, *, root: str | None = None, token: str | None = None
) -> HttpClient:
    """An HTTP client without GWS credentials or CSRF handling (anonymous, a Platform bearer token, the login
    root) at ``root`` (default: the system's URL), closed after the test."""
    root = root or config.url_of(system)
    if not root:
        not_run(f"no {system} URL configured")
    client = HttpClient(
        root,
        token=token,
        csrf="off",
        timeout=config.timeouts.request,
        verify=config.ssl_verify(),
        name=name,
        system=system,
    )
    scope.own(client.close)
    return client


@pytest.fixture
def vk_gws_anonymous(request: pytest.FixtureRequest, vk_target: RunningTarget) -> HttpClient:
    """An HTTP client for GWS without credentials (anonymous and authentication tests)."""
    return _plain_client(request.getfixturevalue("_vk_scope"), vk_target.config, "gws", "anonymous")


@pytest.fixture
def vk_gws_client(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., GwsAgent]:
    """Factory: ``gws_client(user)`` — a client for a ``GwsUser``, a named user of ``gws.users``, or any
    ``(username, password)`` (wrong credentials for security tests)."""
    state = get_state(request.config)
    scope: TestScope = request.getfixturevalue("_vk_scope")

    def make(user: GwsUser | str | tuple[str, str], role: str = "") -> GwsAgent:
        if isinstance(user, str):
            named = vk_target.config.gws.users.get(user)
            if named is None:
                not_run(f"no GWS user {user!r} in gws.users")
            user = named
        elif isinstance(user, tuple):
            user = GwsUser(*user)
        return _gws_client(vk_target, state, scope, user, role or user.username)

    return make


@pytest.fixture
def vk_gws_notifications(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., CometdClient]:
    """Factory: ``gws_notifications(client, channels=("/v2/me/*",), open=True)`` — a CometD session with the
    client's identity (handshake, subscribe, connect loop), disconnected after the test."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(
        client: HttpClient,
        channels: tuple[str, ...] | list[str] = DEFAULT_CHANNELS,
        *,
        open: bool = True,
        append_paths: bool = True,
    ) -> CometdClient:
        if not config.gws.url:
            not_run("no gws URL configured")
        cometd = CometdClient(
            f"{config.gws.url}/api/v2/notifications",
            http=client,
            notification_timeout=config.timeouts.notification,
            append_paths=append_paths,
        )
        scope.own(cometd.close)
        if open:
            cometd.open(channels)
        return cometd

    return make


@pytest.fixture
def vk_events(request: pytest.FixtureRequest, vk_target: RunningTarget) -> EventSource:
    """The :class:`EventSource` of the target (control API, driver, manual, or not run)."""
    config = request.config
    scope: TestScope = request.getfixturevalue("_vk_scope")

    def announce(text: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        writer = config.get_terminal_writer()
        context = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with context:
            writer.line(text)

    source = EventSource(vk_target.config, announce=announce)
    scope.own(source.close)
    return source


@pytest.fixture
def vk_platform_client(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., HttpClient]:
    """Factory: ``platform_client(token=None)`` — an HTTP client for the Platform API with a bearer token
    (``token="user:0"`` takes the pre-obtained token of ``platform.users[0]``)."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(token: str | None = None) -> HttpClient:
        if not config.platform.url:
            not_run("no platform URL configured")
        if token and token.startswith("user:"):
            index = int(token.split(":", 1)[1])
            users = config.platform.users
            if len(users) <= index or not users[index].token:
                not_run(f"platform.users[{index}] has no token")
            token = users[index].token
        return _plain_client(scope, config, "platform", "platform", token=token)

    return make


@pytest.fixture
def vk_platform_login(request: pytest.FixtureRequest, vk_target: RunningTarget) -> HttpClient:
    """An unauthenticated HTTP client at the Platform login root (``/oauth/token``, ``/oauth/authorize``)."""
    config = vk_target.config
    root = config.platform.login_url or config.platform.url
    return _plain_client(request.getfixturevalue("_vk_scope"), config, "platform", "platform login", root=root)


@pytest.fixture
def vk_bus(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., WsClient]:
    """Factory: ``bus(agent_id=None, open=True)`` — the Connect CTI bus WebSocket of an agent (default
    ``connect.agents[0]``), closed after the test."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(agent_id: str | None = None, *, open: bool = True, headers: dict[str, str] | None = None) -> WsClient:
        if not config.connect.url:
            not_run("no connect URL configured")
        if agent_id is None:
            if not config.connect.agents:
                not_run("no Connect agent ids (connect.agents)")
            agent_id = config.connect.agents[0]
        sent = {**config.connect.headers(agent_id), **(headers or {})}
        client = WsClient(
            config.connect.bus_url(agent_id),
            headers=sent,
            timeout=config.timeouts.request,
            notification_timeout=config.timeouts.notification,
            verify=config.ssl_verify(),
            transport="connect-bus",
            channel_key="topic",
            name=agent_id,
        )
        scope.own(client.close)
        if open:
            client.open()
        return client

    return make


@pytest.fixture
def vk_cleanup(_vk_scope: TestScope) -> Cleanup:
    """Register undo actions: ``vk_cleanup(agent.hang_up_all)``; they run after the test (LIFO), before its
    clients close, even when it fails."""
    return _vk_scope.cleanup
