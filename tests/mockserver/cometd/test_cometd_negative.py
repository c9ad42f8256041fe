"""Negative sweep of the HTTP endpoint: hostile or broken input never yields a 5xx or a non-JSON body."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

ERROR = re.compile(r"^[0-9]{3}:[^:]*:.*$")  # specs/schemas/bayeux/Error.json
ONE_MB = 1024 * 1024


def assert_bayeux_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.json() == [{"successful": False, "error": error}]
    assert ERROR.match(error)


@pytest.fixture
def http(live: Any, basic_auth: Callable[..., str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers={"Authorization": basic_auth("alice")}, timeout=30) as client:
        yield client


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[",
        b'[{"channel": "/meta/handshake"',
        b"{'channel': '/meta/handshake'}",
        b"[{}] trailing",
        b'"a string"',
        b"42",
        b"null",
        b"true",
        b"[]",
        b"[1, 2]",
        b'[{"channel": "/meta/handshake"}, "x"]',
        b"[[]]",
        b'[{"channel": "/meta/handshake", "n": NaN}]',
        b'[{"channel": "/meta/handshake", "n": Infinity}]',
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"channel": "/meta/handshake", "x": "\xff\xfe"}]',
    ],
    ids=lambda body: repr(body[:30]),
)
@pytest.mark.parametrize("path", ["", "/", "/handshake", "/connect", "/disconnect"])
def test_malformed_bodies_are_400_json(http: httpx.Client, body: bytes, path: str) -> None:
    assert_bayeux_error(http.post(path, content=body, headers=JSON), 400, "400::Bad request")


def test_unknown_charset_is_400_json(http: httpx.Client) -> None:
    response = http.post("/", content=b"[{}]", headers={"Content-Type": "application/json; charset=klingon"})
    assert_bayeux_error(response, 400, "400::Bad request")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "text/json",
    ],
)
def test_wrong_content_type_is_415_json(http: httpx.Client, content_type: str | None) -> None:
    body = json.dumps([{"channel": "/meta/handshake", "version": "1.0"}]).encode()
    request = http.build_request("POST", "/handshake", content=body)
    request.headers.pop("Content-Type", None)  # httpx sets none for raw bytes; be explicit either way
    if content_type is not None:
        request.headers["Content-Type"] = content_type
    assert_bayeux_error(http.send(request), 415, "415::Unsupported media type")


def test_a_body_over_one_megabyte_is_413_json(http: httpx.Client, live: Any) -> None:
    padding = "x" * ONE_MB
    body = json.dumps([{"channel": "/meta/handshake", "version": "1.0", "ext": {"pad": padding}}]).encode()
    assert_bayeux_error(http.post("/handshake", content=body, headers=JSON), 413, "413::Request entity too large")
    assert live.bayeux.sessions_of("alice") == []


def test_a_chunked_body_over_one_megabyte_is_413_json(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'[{"channel": "/meta/handshake", "ext": {"pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}]'

    response = http.post("/handshake", content=chunks(), headers=JSON)
    assert_bayeux_error(response, 413, "413::Request entity too large")


def test_a_body_of_exactly_one_megabyte_is_accepted(http: httpx.Client) -> None:
    head = b'[{"channel": "/meta/handshake", "version": "1.0", "ext": {"pad": "'
    tail = b'"}}]'
    body = head + b"x" * (ONE_MB - len(head) - len(tail)) + tail
    assert len(body) == ONE_MB
    response = http.post("/handshake", content=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()[0]["successful"] is True


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_json(http: httpx.Client, method: str) -> None:
    response = http.request(method, "/", content=b"[]", headers=JSON)
    assert_bayeux_error(response, 405, "405::Method not allowed")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"jsonp": "cb"},
        {"message": "[", "jsonp": "cb"},
        {"message": "42", "jsonp": "cb"},
        {"message": "[]"},
    ],
)
def test_bad_callback_polling_requests_are_400_json(http: httpx.Client, params: dict[str, str]) -> None:
    assert_bayeux_error(http.get("", params=params), 400, "400::Bad request")


def test_websocket_upgrade_attempt_is_a_json_400(http: httpx.Client) -> None:
    """What the official client meets if it keeps its websocket transport: a clean failure to fall back."""
    response = http.get(
        "",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert_bayeux_error(response, 400, "400::Bad request")


def _post(http: httpx.Client, messages: Any) -> list[dict[str, Any]]:
    response = http.post("/", json=messages)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _handshake(http: httpx.Client) -> str:
    return _post(http, [{"channel": "/meta/handshake", "version": "1.0"}])[0]["clientId"]


def test_unknown_meta_channel(http: httpx.Client, meta_reply_validator: Any) -> None:
    client_id = _handshake(http)
    [known_client] = _post(http, [{"id": "1", "channel": "/meta/bogus", "clientId": client_id}])
    [unknown_client] = _post(http, [{"id": "2", "channel": "/meta/bogus"}])
    for reply in (known_client, unknown_client):
        meta_reply_validator.validate(reply)
    assert known_client == {
        "channel": "/meta/bogus",
        "successful": False,
        "error": "404::Unknown channel",
        "id": "1",
    }
    assert unknown_client["error"] == "402::Unknown client"


@pytest.mark.parametrize("channel", [None, "", 7, ["/meta/connect"], {"a": 1}])
def test_missing_or_non_string_channel(http: httpx.Client, channel: Any) -> None:
    client_id = _handshake(http)
    message: dict[str, Any] = {"id": "1", "clientId": client_id}
    if channel is not None:
        message["channel"] = channel
    assert _post(http, [message]) == [{"successful": False, "error": "400::channel_missing", "id": "1"}]


@pytest.mark.parametrize(
    "message",
    [
        {"channel": "/meta/connect", "clientId": None},
        {"channel": "/meta/connect", "clientId": ["x"]},
        {"channel": "/meta/connect", "clientId": "CLIENT", "advice": "not an object"},
        {"channel": "/meta/subscribe", "clientId": "CLIENT", "subscription": {"a": 1}},
        {"channel": "/meta/subscribe", "clientId": "CLIENT", "subscription": [[], None]},
        {"channel": "/meta/connect", "clientId": "CLIENT", "advice": {"timeout": "soon"}},
        {"channel": "/meta/connect", "clientId": "CLIENT", "advice": {"timeout": -5}},
        {"channel": "/meta/connect", "clientId": "CLIENT", "advice": {"timeout": True}},
        {"channel": "/meta/handshake", "supportedConnectionTypes": "long-polling"},
        {"channel": "/meta/handshake", "supportedConnectionTypes": [1, None]},
        {"channel": "/meta/handshake", "id": {"nested": True}},
        {"channel": "/v2/me/calls", "clientId": "CLIENT", "data": None},
    ],
)
def test_odd_field_types_never_break_the_server(
    live_factory: Callable[..., Any], basic_auth: Callable[..., str], message: dict[str, Any]
) -> None:
    live = live_factory(timeout_ms=100)  # an odd advice is ignored, so that connect is held: briefly
    with httpx.Client(base_url=live.url, headers={"Authorization": basic_auth("alice")}, timeout=30) as http:
        _check_odd_message(http, message)


def _check_odd_message(http: httpx.Client, message: dict[str, Any]) -> None:
    client_id = _handshake(http)
    _post(http, [{"channel": "/meta/connect", "clientId": client_id, "advice": {"timeout": 0}}])
    concrete = {k: (client_id if v == "CLIENT" else v) for k, v in message.items()}
    replies = _post(http, [concrete])
    assert len(replies) == 1
    assert isinstance(replies[0]["successful"], bool)
    if not replies[0]["successful"]:
        assert ERROR.match(replies[0]["error"])
