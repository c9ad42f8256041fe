"""The session-level health check that turns a dead, hanging or garbled target into one clear reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.config import TargetConfig
from conformance.target import MOCK, check_health, mock_config, mock_csrf, open_target


def test_every_system_of_the_mock_is_healthy(mock_url: str) -> None:
    config = mock_config(mock_url)
    health = check_health(config, ["gws", "platform", "connect"])
    assert health["gws"]["ok"] and health["gws"]["detail"].startswith("GWS version ")
    for system in ("platform", "connect"):
        if config.url_of(system):  # present when the seed configures the system
            assert health[system]["ok"], health[system]


def test_unconfigured_systems_are_not_probed() -> None:
    config = TargetConfig.from_mapping({"gws": {"url": None}})
    assert check_health(config, ["gws", "platform", "connect"]) == {}


def test_broken_targets(closed_port_url: str, bad_server: Callable[[str], Any]) -> None:
    def probe(url: str) -> dict[str, Any]:
        config = TargetConfig.from_mapping(
            {
                "gws": {"url": url},
                "platform": {"url": url},
                "connect": {"url": url.replace("http", "ws"), "agents": ["a"]},
                "timeouts": {"request": 0.5},
            }
        )
        return check_health(config, ["gws", "platform", "connect"])

    dead = probe(closed_port_url)
    assert all(not state["ok"] and "connection refused" in state["detail"] for state in dead.values())
    hung = probe(bad_server("hang").url)
    assert all(not state["ok"] and "no answer within 0.5 s" in state["detail"] for state in hung.values())
    garbage = probe(bad_server("garbage").url)
    assert not garbage["gws"]["ok"] and "not JSON" in garbage["gws"]["detail"]
    assert not garbage["platform"]["ok"]
    assert garbage["connect"]["ok"], "the bus probe only needs an HTTP answer"


@pytest.mark.parametrize(
    ("overrides", "protected"), [(None, True), ({"gws.csrf": "on"}, True), ({"gws.csrf": "off"}, False)]
)
def test_the_mock_target_starts_with_csrf_unless_the_kit_turns_it_off(
    overrides: dict[str, str] | None, protected: bool
) -> None:
    """``--target mock`` certifies the CSRF rules too (auto/on), and ``gws.csrf = off`` still gets a bare mock."""
    running = open_target(MOCK, None, overrides=overrides, systems=("gws",))
    try:
        agent = running.config.gws.agents[0]
        reply = httpx.get(f"{running.config.gws.url}/api/v2/me", auth=(agent.username, agent.password), timeout=10)
        assert reply.status_code == 200
        assert ("X-CSRF-TOKEN" in reply.headers) is protected
        assert ("X-CSRF-HEADER" in reply.headers) is protected
    finally:
        running.close()


def test_mock_csrf_follows_the_kit_mode() -> None:
    assert [mock_csrf(mode) for mode in ("auto", "on", "off")] == [True, True, False]
