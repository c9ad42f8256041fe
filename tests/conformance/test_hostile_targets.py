"""The transports against hostile targets (the ``bad_server`` harness of conftest.py): whatever a target sends —
nothing, an endless or trickled body, HTML, a redirect loop, JSON nested 100 000 deep, half the headers — each
request ends within its timeout (plus one read gap) as the target's failure with a one-line cause, reading at
most the configured number of bytes. The end-to-end runs (exit code, RSS, certificate) are in test_certify.py.

Time is only checked as "ended within the timeout plus a generous margin": deadline checks, not timings.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.sync.server import ServerConnection, serve

from conformance import safejson
from conformance.cli import CertifyOptions, pytest_arguments
from conformance.config import TargetConfig
from conformance.errors import ConfigError
from conformance.failures import ConformanceFailure, ProtocolViolation, TargetUnreachable
from conformance.reporting.certificate import build
from conformance.target import RunningTarget, check_health
from conformance.transport.cometd import CometdClient
from conformance.transport.http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    HttpClient,
    ResponseTooLarge,
    response_limit,
    set_response_limit,
)
from conformance.transport.ws import WsClient

CAP = 1024 * 1024
TIMEOUT = 1.0
#: The longest any bounded exchange may take here: the timeout plus one read gap, times a 3x margin for a
#: loaded machine, plus process noise.
BOUND = 2 * TIMEOUT * 3 + 4

#: kind → (the failure class, text its message must contain, whether it is an outage of the system)
HOSTILE: dict[str, tuple[type[ConformanceFailure], str, bool]] = {
    "hang": (TargetUnreachable, "no answer within 1 s", True),
    "endless": (ResponseTooLarge, "GET {url}/api/x: the response body exceeds the limit of 1048576 bytes", False),
    "trickle": (TargetUnreachable, "the answer did not complete within 1 s", True),
    "trickle-1g": (ResponseTooLarge, "the announced Content-Length 1000000000 exceeds the limit of 1048576", False),
    "html": (ProtocolViolation, "body that is not JSON (Content-Type text/html)", False),
    "redirect": (ProtocolViolation, "GET /api/x answered 302 with a body that is not JSON", False),
    "deep": (ProtocolViolation, "GET /api/x answered 200 with JSON nested deeper than 100 levels", False),
    "midheaders": (ProtocolViolation, "the answer is not valid HTTP", False),
}


def bounded(call: Callable[[], Any], limit: float = 30.0) -> tuple[Any, float]:
    """Run ``call`` in a thread: (its result or exception, seconds taken); fails when it is still running after
    ``limit`` (what an unbounded read did before: the thread is left to the server's teardown)."""
    out: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            out["result"] = call()
        except BaseException as exc:  # the outcome under test
            out["result"] = exc
        out["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still running after {limit:g} s"
    return out["result"], out["elapsed"]


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_http_requests_end_as_the_targets_failure(kind: str, bad_server: Callable[..., Any]) -> None:
    server = bad_server(kind)
    expected, text, outage = HOSTILE[kind]
    with HttpClient(server.url, timeout=TIMEOUT, max_response_bytes=CAP) as client:
        outcome, elapsed = bounded(lambda: client.get("/api/x").json())
    assert type(outcome) is expected, repr(outcome)
    assert text.format(url=server.url) in outcome.message and "\n" not in outcome.message
    assert (getattr(outcome, "outage", None) is not None) is outage
    assert elapsed < BOUND


def test_the_default_limit_is_the_configured_one(bad_server: Callable[..., Any]) -> None:
    assert response_limit() == DEFAULT_MAX_RESPONSE_BYTES == TargetConfig().limits.max_response_bytes
    set_response_limit(4096)
    try:
        with HttpClient(bad_server("endless").url, timeout=5) as client:
            outcome, _ = bounded(lambda: client.get("/api/x"))
        assert isinstance(outcome, ResponseTooLarge) and "limit of 4096 bytes" in outcome.message
    finally:
        set_response_limit(DEFAULT_MAX_RESPONSE_BYTES)


def test_a_response_within_the_limit_is_read_whole(mock_url: str) -> None:
    with HttpClient(mock_url, timeout=10) as client:
        response = client.get("/api/v2/diagnostics/version")
    assert response.status == 200 and response.json()["statusCode"] == 0
    assert response.text == response.exchange.response_body


@pytest.mark.parametrize(
    ("kind", "expected", "text"),
    [
        ("endless", ResponseTooLarge, "POST {url}/connect: the response body exceeds the limit of 1048576 bytes"),
        ("trickle", TargetUnreachable, "the answer did not complete within 1 s"),
        ("deep", ProtocolViolation, "the reply is JSON nested deeper than 100 levels"),
    ],
)
def test_cometd_requests_are_bounded_the_same_way(
    kind: str, expected: type, text: str, bad_server: Callable[..., Any]
) -> None:
    server = bad_server(kind)
    with HttpClient(server.url, timeout=TIMEOUT, max_response_bytes=CAP) as http:
        client = CometdClient(server.url, http=http)
        outcome, elapsed = bounded(lambda: client.send([{"channel": "/meta/connect"}], path="connect"))
        client.close()
    assert type(outcome) is expected and text.format(url=server.url) in outcome.message, repr(outcome)
    assert elapsed < BOUND


def test_a_long_poll_deadline_is_its_hold_plus_the_request_timeout(bad_server: Callable[..., Any]) -> None:
    """``/meta/connect`` may be held for the advised time: its deadline is that hold plus the request timeout."""
    server = bad_server("trickle")
    client = CometdClient(server.url, timeout=TIMEOUT)
    client.advice = {"timeout": 2000}
    outcome, elapsed = bounded(lambda: client._connect_once(2000, background=False))
    client.close()
    assert isinstance(outcome, TargetUnreachable) and "did not complete within 3 s" in outcome.message
    assert 2.5 < elapsed < 3 * 3 + 4


@pytest.fixture
def ws_server() -> Iterator[Callable[[bytes | str], str]]:
    """Factory: a WebSocket server that sends ``frame`` to whoever connects, then waits."""
    servers: list[Any] = []

    def make(frame: bytes | str) -> str:
        def handler(connection: ServerConnection) -> None:
            connection.send(frame)
            time.sleep(5)

        server = serve(handler, "127.0.0.1", 0, max_size=None)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"ws://127.0.0.1:{server.socket.getsockname()[1]}/bus"

    yield make
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize(
    ("frame", "expected", "text"),
    [
        ("x" * 70_000, ResponseTooLarge, "a frame exceeds the limit of 65536 bytes (--max-response-bytes)"),
        ("[" * 30_000 + "]" * 30_000, ProtocolViolation, "a frame is JSON nested deeper than 100 levels"),
    ],
)
def test_websocket_frames_are_bounded(frame: str, expected: type, text: str, ws_server: Callable[[str], str]) -> None:
    client = WsClient(ws_server(frame), timeout=5, notification_timeout=5, max_frame_bytes=65536).open()
    try:
        outcome, _ = bounded(lambda: client.await_message())
    finally:
        client.close()
    assert type(outcome) is expected and text in outcome.message, repr(outcome)


def test_websocket_frames_default_to_the_response_limit(ws_server: Callable[[str], str]) -> None:
    """websockets' own default (1 MiB) is not the kit's: a 2 MiB frame passes the 16 MiB default."""
    client = WsClient(ws_server(json.dumps(["x" * 2_000_000])), timeout=5, notification_timeout=5).open()
    try:
        assert client.max_frame_bytes == DEFAULT_MAX_RESPONSE_BYTES
        assert len(client.await_message()[0]) == 2_000_000
    finally:
        client.close()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_health_probe_names_the_cause(kind: str, bad_server: Callable[..., Any]) -> None:
    server = bad_server(kind)
    config = TargetConfig.from_mapping(
        {"gws": {"url": server.url}, "platform": {"url": server.url}, "timeouts": {"request": TIMEOUT}}
    )
    health, elapsed = bounded(lambda: check_health(config, ["gws", "platform"]))
    assert not isinstance(health, BaseException), repr(health)
    text = {
        "endless": "exceeds the limit of 16777216 bytes",
        "redirect": "answered 302",
        "trickle-1g": "Content-Length 1000000000 exceeds the limit of 16777216 bytes",
        "deep": "JSON nested deeper than 100 levels",
    }.get(kind, HOSTILE[kind][1])
    for system in ("gws", "platform"):
        assert not health[system]["ok"] and text in health[system]["detail"], health[system]
    assert elapsed < 2 * BOUND


def test_a_system_seen_down_twice_in_a_row_fails_its_remaining_tests_at_once() -> None:
    target = RunningTarget(TargetConfig(), "config", health={"gws": {"ok": True, "detail": "GWS version 8.5"}})
    hang = TargetUnreachable("GET http://gws/api/v2/me: no answer within 1 s (ReadTimeout)", outage="hang")
    target.observe("gws", hang)
    target.observe("gws", ConformanceFailure("a rule failed: the system answered"))  # clears the count
    target.observe("gws", hang)
    assert target.unhealthy_reason("gws") is None
    target.observe("gws", TargetUnreachable("the server closed the WebSocket"))  # answered: not an outage
    target.observe("gws", hang)
    target.observe("platform", hang)
    assert target.unhealthy_reason("gws") is None
    target.observe("gws", hang)
    reason = target.unhealthy_reason("gws")
    assert reason == (
        "gws stopped answering during the run: GET http://gws/api/v2/me: no answer within 1 s "
        "(ReadTimeout) (2 tests in a row)"
    )
    assert target.unhealthy_reason("platform") is None
    cert = build([], target={"name": "t"}, health=target.health)
    assert f"{reason}" in cert["reasons"]


def test_json_nesting_is_bounded() -> None:
    assert safejson.loads("[" * 100 + "]" * 100) is not None
    assert safejson.loads(json.dumps({"a": "[" * 500})) == {"a": "[" * 500}  # brackets in strings do not nest
    assert safejson.loads(b'[{"a": 1}, {"b": [2]}]' * 1) == [{"a": 1}, {"b": [2]}]
    for text in ("[" * 101 + "]" * 101, b"[" * 100_000 + b"]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000):
        with pytest.raises(safejson.JsonTooDeep, match="nested deeper than 100 levels"):
            safejson.loads(text)
    with pytest.raises(ValueError):
        safejson.loads("not json")


def test_the_limit_is_configured_like_the_timeouts() -> None:
    config = TargetConfig.load(None, environ={"VOICEKIT_LIMITS_MAX_RESPONSE_BYTES": "2048"})
    assert config.limits.max_response_bytes == 2048 and config.describe()["limits"] == {"max_response_bytes": 2048}
    assert (
        TargetConfig.load(None, environ={}, overrides={"limits.max_response_bytes": 4096}).limits.max_response_bytes
        == 4096
    )
    for bad in (0, "lots", 1.5, True):
        with pytest.raises(ConfigError, match=r"limits\.max_response_bytes must be a whole number of bytes"):
            TargetConfig.from_mapping({"limits": {"max_response_bytes": bad}})
    args = pytest_arguments(CertifyOptions(config="t.toml", max_response_bytes=65536))
    assert any(args[i : i + 2] == ["--vk-set", "limits.max_response_bytes=65536"] for i in range(len(args)))
