"""Shared fixtures of the Connect bus tests: message checks against the contract, and the real server.

The server is started the way users start it (``python -m mockserver.serve --port 0 --ready-file F``), so
the WebSocket runs under gevent's pywsgi with monkey-patching, not under a test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from voicekit.contracts import Contracts

ROOT = Path(__file__).resolve().parents[3]
RECV_TIMEOUT = 5.0  # seconds a test waits for a bus message before failing

MessageCheck = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def message_refs(contracts: Contracts) -> dict[str, str]:
    """AsyncAPI message name → payload schema ref, for the connect bus."""
    return dict(contracts.message_payload_refs("connect", None))


@pytest.fixture(scope="session")
def check_message(contracts: Contracts, message_refs: dict[str, str]) -> MessageCheck:
    """Assert that a bus message matches the contract — any of the bus's messages, and, when a name is
    given, that very AsyncAPI message. Returns the message for chaining."""

    def check(message: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        problems = contracts.validate_message("connect", None, message)
        assert problems == [], f"not a connect bus message: {problems}\n{message}"
        if name is not None:
            errors = contracts.errors(message_refs[name], message)
            assert errors == [], f"not a {name}: {errors}\n{message}"
        return message

    return check


def button_rule_problems(call: dict[str, Any]) -> list[str]:
    """E504's rules for the two button blocks of a call event: every item Enable or Hide, count equal to
    the number of items, ResponseActual.buttonStates with the same keys and true exactly for Enable."""
    problems = []
    items = call["ButtonStates"]["items"]
    flags = call["ResponseActual"]["buttonStates"]
    if call["ButtonStates"]["count"] != len(items):
        problems.append(f"count {call['ButtonStates']['count']} != {len(items)} items")
    if set(items) != set(flags):
        problems.append(f"ButtonStates.items keys {sorted(items)} != buttonStates keys {sorted(flags)}")
    for name, value in items.items():
        if value not in ("Enable", "Hide"):
            problems.append(f"{name}: {value!r} is neither Enable nor Hide")
        elif flags.get(name) is not (value == "Enable"):
            problems.append(f"{name}: {value} but buttonStates {flags.get(name)!r}")
    return problems


def enabled(call: dict[str, Any]) -> set[str]:
    return {name for name, value in call["ButtonStates"]["items"].items() if value == "Enable"}


@pytest.fixture(scope="session")
def button_rules() -> Callable[[dict[str, Any]], list[str]]:
    """E504's comparison rule for a call event's buttons (problems; empty when they hold)."""
    return button_rule_problems


@pytest.fixture(scope="session")
def enabled_buttons() -> Callable[[dict[str, Any]], set[str]]:
    """The buttons a call event shows as Enable."""
    return enabled


# ---- the real server -----------------------------------------------------------------------------
class MockServer:
    """A running ``mockserver.serve`` process and small clients for its control API and bus."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.ws_base = "ws" + base.removeprefix("http")

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.base}/control{path}", json=body, timeout=10)

    def reset(self) -> None:
        response = self.control("POST", "/reset")
        assert response.status_code == 200, response.text

    def offer(self, agent_id: str, **body: Any) -> dict[str, Any]:
        body.setdefault("from", "+15551230001")
        response = self.control("POST", f"/connect/agents/{agent_id}/calls", body)
        assert response.status_code == 201, response.text
        return response.json()

    def agent(self, agent_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.base}/connect/agents/{agent_id}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def bus(self, agent_id: str, check: MessageCheck) -> Bus:
        """The agent's socket, with its bus credential (the default seed's ``<agent>-bus-token``, E516)."""
        return Bus(
            connect(
                f"{self.ws_base}/connect/agents/{agent_id}/bus",
                max_size=None,
                open_timeout=10,
                close_timeout=5,
                additional_headers=bus_credential(agent_id),
            ),
            check,
        )


def bus_credential(agent_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {agent_id}-bus-token"}


class Bus:
    """One app's socket on an agent's bus; every message received is checked against the contract."""

    def __init__(self, ws: ClientConnection, check: MessageCheck) -> None:
        self.ws = ws
        self.check = check

    def __enter__(self) -> Bus:
        self.ws.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.ws.__exit__(*exc)

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def request(self, topic: str, subtopic: str, data: Any = None, *, source: str = "myapp") -> None:
        message: dict[str, Any] = {"channel": "Amazon", "topic": topic, "subtopic": subtopic, "source": source}
        if data is not None:
            message["data"] = data
        self.send(message)

    def recv(self, name: str | None = None) -> dict[str, Any]:
        raw = self.ws.recv(timeout=RECV_TIMEOUT)
        assert isinstance(raw, str), "the bus sends text frames"
        message = json.loads(raw)
        return self.check(message, name)

    def call(self, event: str, name: str) -> dict[str, Any]:
        """The next message, which must be an InboundCallStateChange with this event."""
        message = self.recv(name)
        assert message["message"]["call"]["event"] == event, message
        problems = button_rule_problems(message["message"]["call"])
        assert problems == [], problems
        return message["message"]["call"]

    def sentinel(self) -> dict[str, Any]:
        """Send a frame only this socket is answered for and return that answer: whatever this socket
        receives before it was delivered before the sentinel (each socket's writer keeps order)."""
        self.send("sentinel, not JSON")
        return self.recv("VoicekitError")


@pytest.fixture(scope="session")
def mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    ready = tmp_path_factory.mktemp("connect-mock") / "ready"
    log = ready.with_name("server.log")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text().strip()):
            if process.poll() is not None:
                pytest.fail(f"mock server exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"mock server not ready after 60 s:\n{log.read_text()}")
            time.sleep(0.05)
        yield MockServer(ready.read_text().strip())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Whatever the tests sent, the server must not have hit an unexpected error on the way.
    output = log.read_text()
    assert "Traceback" not in output, output[-5000:]


@pytest.fixture
def server(mock_server: MockServer) -> MockServer:
    """The running server, reset to its seed before the test."""
    mock_server.reset()
    return mock_server
