"""The fixtures the families share (pytest picks this file up for every module of the directory, both under
``voicekit certify`` and when tests/ run the families). The clients they hand out live in
:mod:`conformance.support`; the plugin's own fixtures (``gws_agent``, ``gws_notifications``, ``platform_client``,
``bus``, ``vk_cleanup``…) are the wiring these build on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.config import TargetConfig
from conformance.outcomes import not_run
from conformance.support.connect import Bus, clean_agent
from conformance.support.gws import GwsAgent
from conformance.support.gws_line import Line, open_line
from conformance.support.lab import ConnectLab
from conformance.support.platform_kit import PlatformKit
from conformance.target import RunningTarget
from conformance.transport.http import HttpClient
from conformance.transport.ws import WsClient


# ---- GWS: an agent with the notifications of the test ------------------------------------------------------------
@pytest.fixture
def line_a(vk_gws_agent: GwsAgent, vk_gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent A with its notifications."""
    return open_line(vk_gws_agent, vk_gws_notifications, vk_cleanup)


@pytest.fixture
def line_b(vk_gws_agent_b: GwsAgent, vk_gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent B with its notifications."""
    return open_line(vk_gws_agent_b, vk_gws_notifications, vk_cleanup)


@pytest.fixture
def line_c(vk_config: TargetConfig, vk_gws_client: Any, vk_gws_notifications: Any, vk_cleanup: Any) -> Line:
    """Agent C (``gws.agents[2]``): the third party of transfers and conferences; not run without one."""
    if len(vk_config.gws.agents) < 3:
        not_run("transfers and conferences need a third GWS agent (gws.agents[2])")
    return open_line(vk_gws_client(vk_config.gws.agents[2], "agent C"), vk_gws_notifications, vk_cleanup)


# ---- Platform: the kit of one test -------------------------------------------------------------------------------
@pytest.fixture
def plat(
    vk_target: RunningTarget, vk_platform_client: Callable[..., HttpClient], vk_platform_login: HttpClient
) -> Iterator[PlatformKit]:
    """The Platform kit of one test; what it changed is undone afterwards."""
    kit = PlatformKit(vk_target, vk_platform_client, vk_platform_login)
    try:
        yield kit
    finally:
        kit.close()


# ---- Connect: clean agents and their bus -------------------------------------------------------------------------
@pytest.fixture
def connect_events(vk_config: TargetConfig, vk_cleanup: Any) -> ConnectLab:
    """The Connect events (EventSource); closed after the test's resets (cleanups run last-in, first-out)."""
    events = ConnectLab(vk_config)
    vk_cleanup(events.close, description="close the control API client")
    return events


def _clean_connect_agent(
    config: TargetConfig, index: int, events: ConnectLab, bus: Callable[..., WsClient], vk_cleanup: Any
) -> str:
    """``connect.agents[index]``, clean (no contact, Available) now and again after the test."""
    if len(config.connect.agents) <= index:
        not_run(f"this rule needs connect.agents[{index}] in the configuration")
    agent = config.connect.agents[index]
    clean_agent(agent, events, bus)
    vk_cleanup(clean_agent, agent, events, bus, description=f"reset Connect agent {agent}")
    return agent


@pytest.fixture
def agent_a(
    vk_config: TargetConfig, connect_events: ConnectLab, vk_bus: Callable[..., WsClient], vk_cleanup: Any
) -> str:
    """Connect agent A (``connect.agents[0]``), clean at the start of the test and afterwards."""
    return _clean_connect_agent(vk_config, 0, connect_events, vk_bus, vk_cleanup)


@pytest.fixture
def agent_b(
    vk_config: TargetConfig, connect_events: ConnectLab, vk_bus: Callable[..., WsClient], vk_cleanup: Any
) -> str:
    """Connect agent B (``connect.agents[1]``), clean like agent A."""
    return _clean_connect_agent(vk_config, 1, connect_events, vk_bus, vk_cleanup)


@pytest.fixture
def bus_a(agent_a: str, vk_bus: Callable[..., WsClient]) -> Bus:
    """Connect agent A's bus."""
    return Bus(vk_bus(agent_a), agent_a)
