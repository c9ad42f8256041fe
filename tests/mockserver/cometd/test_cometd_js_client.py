"""The official CometD JavaScript client (npm cometd + cometd-nodejs-client) against the live blueprint."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCRIPT = HERE / "js_client.mjs"

pytestmark = [
    pytest.mark.skipif(
        not (ROOT / "node_modules" / "cometd").is_dir()
        or not (ROOT / "node_modules" / "cometd-nodejs-client").is_dir(),
        reason="node_modules/cometd is missing: run `npm ci` (make setup) to test the official JS client",
    ),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


class JsClient:
    """One ``node js_client.mjs`` process; stdout lines (received messages) arrive on a queue."""

    def __init__(self, url: str, credentials: str, channel: str, count: int, timeout_ms: int = 20000) -> None:
        self.process = subprocess.Popen(
            ["node", str(SCRIPT), url, credentials, channel, str(count), str(timeout_ms)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def next_message(self, timeout: float = 15.0) -> dict[str, Any]:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"the JS client exited early: {''.join(self.stderr)}"
        return json.loads(line)

    def meta(self, kind: str) -> list[dict[str, Any]]:
        events = [json.loads(line) for line in list(self.stderr) if line.startswith("{")]
        return [e for e in events if e.get("meta") == kind]

    def wait(self, timeout: float = 20.0) -> int:
        """The exit status, once everything the process wrote has been read."""
        status = self.process.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=5)
        return status

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def js_client() -> Iterator[Callable[..., JsClient]]:
    started: list[JsClient] = []

    def start(*args: Any, **kwargs: Any) -> JsClient:
        client = JsClient(*args, **kwargs)
        started.append(client)
        return client

    yield start
    for client in started:
        client.kill()


def subscribed(live: Any, user: str, channel: str, exclude: set[str] | None = None) -> Callable[[], bool]:
    return lambda: any(
        channel in s.subscriptions and s.client_id not in (exclude or set()) for s in live.bayeux.sessions_of(user)
    )


def test_js_client_receives_exactly_its_messages_in_order(
    live: Any, js_client: Callable[..., JsClient], wait_until: Callable[..., None]
) -> None:
    expected = [
        ("/v2/me/calls", {"notificationType": "StatusChange", "call": {"id": "c1", "state": "Ringing"}}),
        ("/v2/me/devices", {"messageType": "DeviceStateChangeMessage", "devices": [{"id": "d1"}]}),
        ("/v2/me/calls", {"notificationType": "StatusChange", "call": {"id": "c1", "state": "Established"}}),
        ("/v2/me/calls", {"text": "ünïcödé ☎"}),
    ]
    client = js_client(live.url, "alice:alice-secret", "/v2/me/*", len(expected))
    wait_until(subscribed(live, "alice", "/v2/me/*"))
    bayeux = live.bayeux
    noise = [
        ("/v2/me/calls", {"for": "bob"}, "bob"),  # same channel, another user
        ("/notifications/services", {"not": "subscribed"}, None),
        ("/v2/me/calls/deeper", {"not": "one segment"}, "alice"),
    ]
    for n, (channel, data) in enumerate(expected):
        if n < len(noise):
            noise_channel, noise_data, audience = noise[n]
            bayeux.publish(noise_channel, noise_data, audience=audience)
        bayeux.publish(channel, data, audience="alice")
    received = [client.next_message() for _ in expected]
    assert client.wait() == 0, "".join(client.stderr)
    assert [(m["channel"], m["data"]) for m in received] == expected
    ids = [int(m["id"]) for m in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert client.lines.get(timeout=5) is None, "nothing more was printed"
    assert [h["successful"] for h in client.meta("handshake")] == [True]
    assert client.meta("disconnected") and not client.meta("timeout")
    assert live.bayeux.sessions_of("alice") == []  # it disconnected cleanly


def test_js_client_rehandshakes_by_itself_after_402_and_keeps_receiving(
    live: Any, js_client: Callable[..., JsClient], wait_until: Callable[..., None]
) -> None:
    client = js_client(live.url, "alice:alice-secret", "/v2/me/calls", 2)
    wait_until(subscribed(live, "alice", "/v2/me/calls"))
    live.bayeux.publish("/v2/me/calls", {"n": 1}, audience="alice")
    assert client.next_message()["data"] == {"n": 1}
    wait_until(lambda: any(s.held for s in live.bayeux.sessions_of("alice")))
    [old] = live.bayeux.sessions_of("alice")

    assert live.bayeux.drop_user("alice") == 1  # the server forgets the client: its held connect gets 402

    wait_until(subscribed(live, "alice", "/v2/me/calls", exclude={old.client_id}))
    [new] = live.bayeux.sessions_of("alice")
    assert new.client_id != old.client_id
    live.bayeux.publish("/v2/me/calls", {"n": 2}, audience="alice")
    assert client.next_message()["data"] == {"n": 2}
    assert client.wait() == 0, "".join(client.stderr)
    handshakes = client.meta("handshake")
    assert [(h["successful"], h["clientId"]) for h in handshakes] == [
        (True, old.client_id),
        (True, new.client_id),
    ]
    assert any(u.get("error") == "402::Unknown client" for u in client.meta("unsuccessful"))


def test_js_client_with_wrong_credentials_never_gets_a_session(live: Any, js_client: Callable[..., JsClient]) -> None:
    client = js_client(live.url, "alice:wrong", "/v2/me/calls", 1, timeout_ms=1500)
    assert client.wait() == 3, "".join(client.stderr)  # timed out without any message
    assert client.meta("timeout") == [{"meta": "timeout", "received": 0}]
    assert client.meta("handshake") and all(h["successful"] is False for h in client.meta("handshake"))
    assert client.lines.get(timeout=5) is None
    assert live.bayeux.sessions_of("alice") == []
