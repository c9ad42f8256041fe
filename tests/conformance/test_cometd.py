"""The Bayeux long-polling client: against the real mock (started by the launcher) and, for the recovery
paths the mock cannot be told to take on demand, against a scripted Bayeux server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from conformance.config import GwsUser
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable
from conformance.support.gws import GwsAgent
from conformance.transport.cometd import BayeuxError, CometdClient
from conformance.transport.http import HttpClient

JSMITH = GwsUser("jsmith@uppercape.ca", "password", "5001")


def agent(url: str, user: GwsUser = JSMITH, **kwargs: Any) -> GwsAgent:
    return GwsAgent(url, user, role="agent A", timeout=5, **kwargs)


@pytest.fixture
def agent_a(fresh_mock: str) -> Iterator[GwsAgent]:
    with agent(fresh_mock) as client:
        yield client


def set_state(client: HttpClient, state: str) -> None:
    response = client.post("/api/v2/me/channels/voice", json={"operationName": state})
    assert response.status == 200, response.text


def is_ready(message: dict[str, Any]) -> bool:
    return message["channel"] == "/v2/me/devices" and message["data"]["devices"][0]["userState"]["state"] == "Ready"


# ---- the real mock ---------------------------------------------------------------------------------------------
def test_handshake_subscribe_receive_disconnect(agent_a: GwsAgent, fresh_mock: str) -> None:
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a, notification_timeout=5) as cometd:
        cometd.open()
        assert cometd.client_id and cometd.handshake_reply and cometd.handshake_reply["successful"] is True
        assert cometd.channels == ["/v2/me/*"]
        set_state(agent_a, "Ready")
        message = cometd.await_message(is_ready, description="Ready")
        assert message["data"]["messageType"] == "DeviceStateChangeMessage"
        assert cometd.connects >= 1
        reply = cometd.disconnect()
        assert reply is not None and reply["successful"] is True
        assert cometd.client_id is None


def test_cookie_is_shared_with_the_http_client(agent_a: GwsAgent, fresh_mock: str) -> None:
    agent_a.get("/api/v2/me")
    session = next(c.value for c in agent_a.cookies if c.name == "JSESSIONID")
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a) as cometd:
        cometd.open()
        sent = [r for r in agent_a.cookies if r.name == "JSESSIONID"]
        assert [c.value for c in sent] == [session], "the Bayeux requests run in the agent's HTTP session"


def test_waits_fail_with_what_was_received(agent_a: GwsAgent, fresh_mock: str) -> None:
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a, notification_timeout=0.3) as cometd:
        cometd.open()
        set_state(agent_a, "Ready")
        cometd.await_message(is_ready)
        set_state(agent_a, "NotReady")
        with pytest.raises(ConformanceFailure) as caught:
            cometd.await_message({"channel": "/v2/me/calls"}, timeout=0.5)
        assert "no cometd notification" in caught.value.message and "within 0.5 s" in caught.value.message
        assert "NotReady" in caught.value.message, "what arrived meanwhile is listed"
        assert len(cometd.drain()) == 1
        cometd.expect_none({"channel": "/v2/me/calls"}, quiet_for=0.2)
        set_state(agent_a, "Ready")
        with pytest.raises(ConformanceFailure, match="unexpected cometd notification"):
            cometd.expect_none({"channel": "/v2/me/devices"}, quiet_for=5)


def test_await_messages_in_arrival_order_and_out_of_order_waits(agent_a: GwsAgent, fresh_mock: str) -> None:
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a, notification_timeout=5) as cometd:
        cometd.open(["/v2/me/devices"])
        set_state(agent_a, "Ready")
        set_state(agent_a, "NotReady")
        states = [m["data"]["devices"][0]["userState"]["state"] for m in cometd.await_messages(2)]
        assert states == ["Ready", "NotReady"]
        set_state(agent_a, "Ready")
        set_state(agent_a, "NotReady")
        second = cometd.await_message(lambda m: m["data"]["devices"][0]["userState"]["state"] == "NotReady")
        first = cometd.await_message(is_ready)
        assert second["data"]["devices"][0]["userState"]["state"] == "NotReady"
        assert first["data"]["devices"][0]["userState"]["state"] == "Ready"


def test_refused_subscription_and_unauthenticated_handshake(agent_a: GwsAgent, fresh_mock: str) -> None:
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a) as cometd:
        cometd.handshake()
        with pytest.raises(BayeuxError) as caught:
            cometd.subscribe("/v2/someone-else/calls")
        assert caught.value.error and caught.value.error.startswith("403")
        replies = cometd.subscribe("/v2/me/calls", "/v2/nope", check=False)
        assert [r["successful"] for r in replies] == [True, False]
    with (
        CometdClient(f"{fresh_mock}/api/v2/notifications") as anonymous,
        pytest.raises(ProtocolViolation, match="answered HTTP 401"),
    ):
        anonymous.handshake()


def test_rehandshake_after_the_server_forgets_the_client(agent_a: GwsAgent, fresh_mock: str) -> None:
    with CometdClient(f"{fresh_mock}/api/v2/notifications", http=agent_a, notification_timeout=5) as cometd:
        cometd.open(["/v2/me/devices"])
        first_id = cometd.client_id
        httpx.post(f"{fresh_mock}/control/reset", timeout=5).raise_for_status()  # drops every Bayeux session
        assert cometd.wait_until(lambda: cometd.rehandshakes >= 1 and cometd.channels == ["/v2/me/devices"], 5)
        assert cometd.client_id != first_id
        set_state(agent_a, "Ready")
        assert is_ready(cometd.await_message(is_ready))


def test_unreachable_endpoint(closed_port_url: str) -> None:
    with (
        CometdClient(f"{closed_port_url}/api/v2/notifications", timeout=2) as cometd,
        pytest.raises(TargetUnreachable, match="cannot connect"),
    ):
        cometd.handshake()


def test_csrf_protected_mock() -> None:
    from conformance.launcher import MockProcess

    with MockProcess(csrf=True) as mock:
        assert mock.base_url
        with agent(mock.base_url) as client:
            with client.csrf_disabled():
                refused = client.post("/api/v2/me/channels/voice", json={"operationName": "Ready"})
            assert refused.status == 403
            set_state(client, "NotReady")  # primes: GET, then the POST carries the token
            assert client.csrf_token and client.csrf_header == "X-CSRF-TOKEN"
            sent = client.last.exchange.request_headers if client.last else {}
            assert sent.get("x-csrf-token") == client.csrf_token
            with CometdClient(f"{mock.base_url}/api/v2/notifications", http=client, notification_timeout=5) as c:
                c.open(["/v2/me/devices"])
                set_state(client, "Ready")
                assert is_ready(c.await_message(is_ready))


# ---- a scripted Bayeux server ----------------------------------------------------------------------------------
class ScriptedBayeux:
    """Just enough Bayeux to script recovery: ``forget()`` makes the next connect a 402, ``refuse_connects``
    answers connects with reconnect none, ``publish()`` queues a message for the current client."""

    def __init__(self) -> None:
        self.handshakes = 0
        self.subscriptions: list[str] = []
        self.client_id: str | None = None
        self.refuse_connects = False
        self.queue: list[dict[str, Any]] = []
        self.wake = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body = json.dumps(server.handle(batch)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/cometd"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def handle(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for message in batch:
            channel = message["channel"]
            if channel == "/meta/handshake":
                self.handshakes += 1
                self.client_id = f"client-{self.handshakes}"
                out.append(
                    {
                        "channel": channel,
                        "id": message["id"],
                        "successful": True,
                        "version": "1.0",
                        "clientId": self.client_id,
                        "supportedConnectionTypes": ["long-polling"],
                        "advice": {"reconnect": "retry", "interval": 0, "timeout": 1000},
                    }
                )
            elif message.get("clientId") != self.client_id:
                out.append(
                    {
                        "channel": channel,
                        "id": message.get("id"),
                        "successful": False,
                        "error": "402::Unknown client",
                        "advice": {"reconnect": "handshake", "interval": 0},
                    }
                )
            elif channel == "/meta/subscribe":
                self.subscriptions.append(message["subscription"])
                out.append(
                    {
                        "channel": channel,
                        "id": message["id"],
                        "successful": True,
                        "subscription": message["subscription"],
                    }
                )
            elif channel == "/meta/connect":
                if self.refuse_connects:
                    out.append(
                        {
                            "channel": channel,
                            "id": message["id"],
                            "successful": False,
                            "error": "500::going away",
                            "advice": {"reconnect": "none"},
                        }
                    )
                    continue
                timeout = (message.get("advice") or {}).get("timeout", 1000) / 1000
                if not self.queue and timeout:
                    self.wake.wait(timeout)
                self.wake.clear()
                out += self.queue
                self.queue = []
                out.append({"channel": channel, "id": message["id"], "successful": True, "clientId": self.client_id})
            elif channel == "/meta/disconnect":
                self.client_id = None
                self.wake.set()
                out.append({"channel": channel, "id": message["id"], "successful": True})
        return out

    def forget(self) -> None:
        self.client_id = "forgotten"
        self.wake.set()

    def publish(self, channel: str, data: Any) -> None:
        self.queue.append({"channel": channel, "data": data})
        self.wake.set()

    def close(self) -> None:
        self.wake.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedBayeux]:
    server = ScriptedBayeux()
    yield server
    server.close()


def test_scripted_rehandshake_resubscribes(scripted: ScriptedBayeux) -> None:
    with CometdClient(scripted.url, notification_timeout=5) as cometd:
        cometd.open(["/v2/me/calls", "/v2/me/devices"])
        scripted.forget()
        assert cometd.wait_until(lambda: cometd.rehandshakes == 1 and len(cometd.channels) == 2, 5)
        assert scripted.handshakes == 2
        assert scripted.subscriptions == ["/v2/me/calls", "/v2/me/devices"] * 2
        scripted.publish("/v2/me/calls", {"n": 1})
        assert cometd.await_message({"data": {"n": 1}})["channel"] == "/v2/me/calls"


def test_scripted_reconnect_none_ends_waits_at_once(scripted: ScriptedBayeux) -> None:
    with CometdClient(scripted.url, notification_timeout=30) as cometd:
        cometd.open(["/v2/me/calls"])
        scripted.refuse_connects = True
        scripted.wake.set()
        started = time.monotonic()
        with pytest.raises(BayeuxError, match="reconnect none"):
            cometd.await_message({"channel": "/v2/me/calls"})
        assert time.monotonic() - started < 10, "a broken session does not wait for the notification timeout"
