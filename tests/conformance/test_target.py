"""The session-level health check that turns a dead, hanging or garbled target into one clear reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.config import TargetConfig
from conformance.target import check_health


def test_every_system_of_the_mock_is_healthy(mock_url: str) -> None:
    config = TargetConfig.for_mock(mock_url)
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
        config = TargetConfig.from_mapping({"gws": {"url": url}, "platform": {"url": url},
                                            "connect": {"url": url.replace("http", "ws"), "agents": ["a"]},
                                            "timeouts": {"request": 0.5}})
        return check_health(config, ["gws", "platform", "connect"])

    dead = probe(closed_port_url)
    assert all(not state["ok"] and "connection refused" in state["detail"] for state in dead.values())
    hung = probe(bad_server("hang").url)
    assert all(not state["ok"] and "no answer within 0.5 s" in state["detail"] for state in hung.values())
    garbage = probe(bad_server("garbage").url)
    assert not garbage["gws"]["ok"] and "not JSON" in garbage["gws"]["detail"]
    assert not garbage["platform"]["ok"]
    assert garbage["connect"]["ok"], "the bus probe only needs an HTTP answer"
