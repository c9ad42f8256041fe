"""Fixtures of the Platform mock tests: the pure world, the Flask app with a manual clock, the real server."""

from __future__ import annotations

from collections.abc import Iterator

import platform_mock_helpers as h
import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler


@pytest.fixture
def app_and_clock() -> tuple[Flask, ManualScheduler]:
    scheduler = ManualScheduler()
    return create_app({}, scheduler=scheduler), scheduler


@pytest.fixture
def client(app_and_clock: tuple[Flask, ManualScheduler]) -> FlaskClient:
    return app_and_clock[0].test_client()


@pytest.fixture
def clock(app_and_clock: tuple[Flask, ManualScheduler]) -> ManualScheduler:
    return app_and_clock[1]


@pytest.fixture(scope="session")
def platform_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[h.LiveServer]:
    with h.live_server(tmp_path_factory.mktemp("platform-mock")) as server:
        yield server


@pytest.fixture
def live(platform_live: h.LiveServer) -> Iterator[h.LiveServer]:
    """The running server, reset to its seed before and after the test."""
    platform_live.reset()
    yield platform_live
    platform_live.reset()
