"""A fresh mock app per test (Flask's test client) for the mock's tests; real-socket tests live elsewhere."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler


@pytest.fixture
def app() -> Flask:
    return create_app({"csrf": False}, scheduler=ManualScheduler())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
