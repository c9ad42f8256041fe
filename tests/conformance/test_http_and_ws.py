"""The HTTP and WebSocket clients: evidence, redaction, transport failures as conformance failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.server import ServerConnection, serve

from conformance import evidence
from conformance.config import GwsUser
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable
from conformance.support.gws import GwsAgent
from conformance.transport.http import HttpClient
from conformance.transport.ws import WsClient, WsRejected


@pytest.fixture(autouse=True)
def fresh_evidence() -> Iterator[evidence.EvidenceLog]:
    log = evidence.begin("test")
    yield log
    evidence.end()


def test_exchanges_are_recorded_raw_and_reported_redacted(
    fresh_mock: str, fresh_evidence: evidence.EvidenceLog
) -> None:
    with HttpClient(fresh_mock, auth=("jsmith@uppercape.ca", "password"), system="gws", name="A") as client:
        response = client.get("/api/v2/me", params={"fields": "*"})
    assert response.status == 200 and response.path == "/api/v2/me?fields=%2A"
    assert response.json()["user"]["userName"] == "jsmith@uppercape.ca"
    [exchange] = fresh_evidence.exchanges
    assert exchange.request_headers["authorization"].startswith("Basic ") and exchange.status == 200
    shown = json.dumps(exchange.redacted())
    assert "Basic ***" in shown and "password" not in exchange.summary()
    assert "JSESSIONID=***" in shown, "the session cookie the target set is masked"
    assert exchange.summary().startswith("GET /api/v2/me?fields=%2A → 200")


def test_session_cookie_is_kept(fresh_mock: str) -> None:
    with HttpClient(fresh_mock, auth=("jsmith@uppercape.ca", "password")) as client:
        client.get("/api/v2/me")
        first = [c.value for c in client.cookies if c.name == "JSESSIONID"]
        client.get("/api/v2/me")
        assert client.last is not None
        assert "set-cookie" not in {k.lower() for k in client.last.exchange.response_headers}
        assert f"JSESSIONID={first[0]}" in client.last.exchange.request_headers.get("cookie", "")


def test_base_url_with_a_path_gives_contract_paths(fresh_mock: str) -> None:
    with HttpClient(f"{fresh_mock}/platform", csrf="off") as client:
        response = client.get("/api/v2/users/me")
    assert response.path == "/api/v2/users/me"


def test_refused_connection(closed_port_url: str, fresh_evidence: evidence.EvidenceLog) -> None:
    with HttpClient(closed_port_url, timeout=2) as client, pytest.raises(TargetUnreachable) as caught:
        client.get("/api/v2/diagnostics/version")
    assert "cannot connect (connection refused)" in caught.value.message
    assert isinstance(caught.value, ConformanceFailure) and isinstance(caught.value, AssertionError)
    [exchange] = fresh_evidence.exchanges
    assert exchange.status is None and "ConnectError" in (exchange.error or "")
    assert "no response" in exchange.summary()


def test_hanging_target_times_out(bad_server: Callable[[str], Any]) -> None:
    server = bad_server("hang")
    started = time.monotonic()
    with HttpClient(server.url, timeout=0.5) as client, pytest.raises(TargetUnreachable, match="no answer within"):
        client.get("/api/v2/diagnostics/version")
    assert time.monotonic() - started < 5


def test_garbage_is_a_protocol_violation(bad_server: Callable[[str], Any]) -> None:
    with HttpClient(bad_server("garbage").url, timeout=2) as client:
        response = client.get("/api/v2/diagnostics/version")
        assert response.status == 200 and response.text == "not json"
        with pytest.raises(ProtocolViolation, match="not JSON"):
            response.json()
        assert response.json_or_none() is None


def test_gws_agent_discovers_its_device(fresh_mock: str) -> None:
    cache: dict[str, dict[str, Any]] = {}
    with GwsAgent(fresh_mock, GwsUser("paveld@redwings.com", "password"), device_cache=cache) as client:
        assert client.phone_number == "5000"
        assert client.device_id == "74152ed8-858f-4a33-9e96-36213a678d30"
    assert "paveld@redwings.com" in cache
    with (
        GwsAgent(fresh_mock, GwsUser("paveld@redwings.com", "password", "9999")) as wrong,
        pytest.raises(ConformanceFailure, match="no device with phone number 9999"),
    ):
        wrong.discover_device()


def test_csrf_auto_primes_once_and_off_never(fresh_mock: str) -> None:
    with HttpClient(fresh_mock, auth=("jsmith@uppercape.ca", "password")) as auto:
        auto.post("/api/v2/me/channels/voice", json={"operationName": "Ready"})
        auto.post("/api/v2/me/channels/voice", json={"operationName": "NotReady"})
        methods = [e.method for e in evidence.current().exchanges]
        assert methods == ["GET", "POST", "POST"], "one priming GET (the mock has CSRF off: no token learnt)"
    evidence.begin("next")
    with HttpClient(fresh_mock, auth=("jsmith@uppercape.ca", "password"), csrf="off") as off:
        off.post("/api/v2/me/channels/voice", json={"operationName": "Ready"})
        assert [e.method for e in evidence.current().exchanges] == ["POST"]


# ---- WebSocket -------------------------------------------------------------------------------------------------
@pytest.fixture
def ws_server() -> Iterator[str]:
    def handler(connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else "/"
        if path == "/close":
            connection.close(4000, "bye")
            return
        for frame in connection:
            if frame == "garbage":
                connection.send("this is not json")
            else:
                data = json.loads(frame)
                connection.send(json.dumps({"topic": "Echo", "subtopic": "Reply", "data": data}))

    def process_request(connection: ServerConnection, request: Any) -> Any:
        if request.path == "/refuse":
            return connection.respond(404, "no such agent\n")
        return None

    with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.socket.getsockname()[:2]
        yield f"ws://{host}:{port}"
        server.shutdown()


def test_ws_request_reply_and_evidence(ws_server: str, fresh_evidence: evidence.EvidenceLog) -> None:
    with WsClient(f"{ws_server}/bus", notification_timeout=5, transport="connect-bus") as ws:
        reply = ws.request({"topic": "Agent", "subtopic": "Update", "data": {"password": "hunter2"}}, {"topic": "Echo"})
        assert reply["data"]["data"] == {"password": "hunter2"}
    summaries = " ".join(fresh_evidence.summaries())
    assert "connect-bus Agent/Update →" in summaries and "Echo/Reply ←" in summaries
    assert "hunter2" not in summaries


def test_ws_garbage_frame_fails_the_wait(ws_server: str) -> None:
    with WsClient(ws_server, notification_timeout=30) as ws:
        ws.send("garbage")
        with pytest.raises(ProtocolViolation, match="not JSON"):
            ws.await_message({"topic": "Echo"})


def test_ws_server_close_ends_waits_at_once(ws_server: str) -> None:
    with WsClient(f"{ws_server}/close", notification_timeout=30) as ws:
        assert ws.await_close(5) == (4000, "bye")
        started = time.monotonic()
        with pytest.raises(TargetUnreachable, match="closed the WebSocket"):
            ws.await_message()
        assert time.monotonic() - started < 5


def test_ws_refused_and_unreachable(ws_server: str, closed_port_url: str) -> None:
    with pytest.raises(WsRejected) as caught:
        WsClient(f"{ws_server}/refuse").open()
    assert caught.value.status == 404
    with pytest.raises(TargetUnreachable, match="cannot connect"):
        WsClient(closed_port_url.replace("http", "ws"), timeout=2).open()


def test_ws_hanging_server_times_out(bad_server: Callable[[str], Any]) -> None:
    with pytest.raises(TargetUnreachable, match="no answer within"):
        WsClient(bad_server("hang").url.replace("http", "ws"), timeout=0.5).open()
