"""The blueprint over real sockets: paths, concurrency of held long-polls, release rules, JSONP, auth."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

# Fixtures from conftest.py: live (LiveServer), live_factory, bayeux_http, basic_auth, wait_until.
LiveServer = BayeuxHttp = Any


def held(live: LiveServer, user: str = "alice") -> Callable[[], bool]:
    return lambda: any(s.held for s in live.bayeux.sessions_of(user))


@pytest.fixture
def pool() -> Any:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def test_every_path_the_official_client_uses_is_served(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], meta_reply_validator: Any
) -> None:
    alice = bayeux_http("alice")
    handshake = alice.handshake()  # POST <url>/handshake
    meta_reply_validator.validate(handshake)
    [subscribed] = alice.send(
        [{"id": "2", "channel": "/meta/subscribe", "clientId": alice.client_id, "subscription": "/v2/me/*"}],
        "/",
    )
    [first] = alice.send([alice.connect_message()], "/connect")
    [bare] = alice.send([alice.connect_message(timeout=0)], "")  # aiocometd-ng posts to the bare URL
    [gone] = alice.send([{"id": "9", "channel": "/meta/disconnect", "clientId": alice.client_id}], "/disconnect")
    for reply in (subscribed, first, bare, gone):
        meta_reply_validator.validate(reply)
        assert reply["successful"] is True
    assert [subscribed["channel"], first["channel"], bare["channel"], gone["channel"]] == [
        "/meta/subscribe",
        "/meta/connect",
        "/meta/connect",
        "/meta/disconnect",
    ]
    assert live.bayeux.sessions_of("alice") == []


def test_a_single_message_object_is_accepted_and_answered_with_an_array(
    bayeux_http: Callable[..., BayeuxHttp],
) -> None:
    alice = bayeux_http("alice")
    response = alice.post({"id": "1", "channel": "/meta/handshake", "version": "1.0"}, "/handshake")
    assert response.status_code == 200
    [reply] = response.json()
    assert reply["successful"] is True and reply["id"] == "1"
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["cache-control"] == "no-store"


def test_any_charset_is_decoded(live: LiveServer, basic_auth: Callable[..., str]) -> None:
    body = json.dumps([{"id": "é1", "channel": "/meta/handshake", "version": "1.0"}], ensure_ascii=False)
    response = httpx.post(
        live.url + "/handshake",
        content=body.encode("iso-8859-1"),
        headers={
            "Authorization": basic_auth("alice"),
            "Content-Type": "application/json; charset=ISO-8859-1",
        },
    )
    assert response.status_code == 200
    assert response.json()[0]["id"] == "é1"


def test_a_held_connect_does_not_block_other_requests(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], pool: ThreadPoolExecutor, wait_until: Any
) -> None:
    alice, bob = bayeux_http("alice"), bayeux_http("bob")
    alice.handshake()
    alice.subscribe("/v2/me/calls")
    alice.connect()
    pending: Future[list[dict[str, Any]]] = pool.submit(alice.connect)
    wait_until(held(live))
    # Meanwhile: a plain request, another user's whole session set-up, and alice's own subscribe.
    assert httpx.get(live.base + "/ping").text == "pong"
    bob.handshake()
    bob.subscribe("/v2/me/calls")
    assert bob.connect()[0]["successful"] is True
    alice.subscribe("/v2/me/devices")
    assert not pending.done(), "the long-poll must still be held"
    live.bayeux.publish("/v2/me/devices", {"n": 1}, audience="alice")
    messages = pending.result(timeout=10)
    assert [m["channel"] for m in messages] == ["/v2/me/devices", "/meta/connect"]
    assert messages[0]["data"] == {"n": 1}


def test_many_held_connects_at_once(live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], wait_until: Any) -> None:
    clients = [bayeux_http("alice") for _ in range(20)]
    for client in clients:
        client.handshake()
        client.subscribe("/notifications/services")
        client.connect()
    with ThreadPoolExecutor(max_workers=len(clients)) as executor:
        pending = [executor.submit(client.connect) for client in clients]
        wait_until(lambda: live.bayeux.stats()["held"] == len(clients))
        assert httpx.get(live.base + "/ping").text == "pong"
        assert live.bayeux.publish("/notifications/services", {"up": True}, audience=None) == len(clients)
        results = [future.result(timeout=10) for future in pending]
    assert all([m["channel"] for m in r] == ["/notifications/services", "/meta/connect"] for r in results)


def test_held_connect_answers_at_its_deadline(
    live_factory: Callable[..., LiveServer], bayeux_http: Callable[..., BayeuxHttp]
) -> None:
    alice = bayeux_http("alice", live_factory(timeout_ms=200))
    alice.handshake()
    alice.connect()
    [reply] = alice.connect()  # held for 200 ms, then answered with no events
    assert reply["channel"] == "/meta/connect"
    assert reply["successful"] is True
    assert reply["advice"] == {"reconnect": "retry", "interval": 0, "timeout": 200}


def test_disconnect_releases_the_held_connect(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], pool: ThreadPoolExecutor, wait_until: Any
) -> None:
    alice = bayeux_http("alice")
    alice.handshake()
    alice.connect()
    pending = pool.submit(alice.connect)
    wait_until(held(live))
    [reply] = alice.send([{"id": "d", "channel": "/meta/disconnect", "clientId": alice.client_id}], "/disconnect")
    assert reply["successful"] is True
    [released] = pending.result(timeout=10)
    assert released["channel"] == "/meta/connect"
    assert released["successful"] is True
    assert released["advice"] == {"reconnect": "none", "interval": 0}


def test_a_new_connect_releases_the_previous_held_one(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], pool: ThreadPoolExecutor, wait_until: Any
) -> None:
    alice = bayeux_http("alice")
    alice.handshake()
    alice.subscribe("/v2/me/calls")
    alice.connect()
    first = pool.submit(alice.connect)
    wait_until(held(live))
    second = pool.submit(alice.connect)
    [superseded] = first.result(timeout=10)
    assert superseded["channel"] == "/meta/connect" and superseded["successful"] is True
    wait_until(held(live))
    live.bayeux.publish("/v2/me/calls", {"n": 1}, audience="alice")
    messages = second.result(timeout=10)
    assert [m["channel"] for m in messages] == ["/v2/me/calls", "/meta/connect"]


def test_events_survive_a_client_that_hangs_up_on_its_held_connect(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp], basic_auth: Callable[..., str], wait_until: Any
) -> None:
    alice = bayeux_http("alice")
    alice.handshake()
    alice.subscribe("/v2/me/calls")
    alice.connect()
    body = json.dumps([alice.connect_message()]).encode()
    raw = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    raw.sendall(
        f"POST {live.prefix}/connect HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {basic_auth('alice')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    wait_until(held(live))
    raw.close()  # the client's connection dies while its connect is held
    live.bayeux.publish("/v2/me/calls", {"n": 1}, audience="alice")
    wait_until(lambda: not any(s.held for s in live.bayeux.sessions_of("alice")))
    [session] = live.bayeux.sessions_of("alice")
    assert session.queued == 1, "the event must stay queued, not be written to a dead socket"
    messages = alice.connect()  # the client comes back with the same clientId
    assert [(m["channel"], m.get("data")) for m in messages][:1] == [("/v2/me/calls", {"n": 1})]
    assert [m["channel"] for m in alice.connect(timeout=0)] == ["/meta/connect"]  # no duplicate


def test_another_users_client_id_is_unknown_over_http(bayeux_http: Callable[..., BayeuxHttp]) -> None:
    alice, bob = bayeux_http("alice"), bayeux_http("bob")
    alice.handshake()
    bob.handshake()
    bob.client_id = alice.client_id
    [reply] = bob.connect(timeout=0)
    assert reply["error"] == "402::Unknown client"
    assert reply["advice"] == {"reconnect": "handshake", "interval": 0}
    assert alice.connect(timeout=0)[0]["successful"] is True


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("credentials", ["none", "wrong password", "bearer"])
def test_unauthenticated_requests_get_the_host_401(
    live: LiveServer, basic_auth: Callable[..., str], method: str, credentials: str
) -> None:
    authorization = {"none": None, "wrong password": basic_auth("alice", "wrong"), "bearer": "Bearer token"}
    headers = {} if authorization[credentials] is None else {"Authorization": authorization[credentials]}
    message = json.dumps([{"channel": "/meta/handshake", "version": "1.0"}])
    if method == "POST":
        response = httpx.post(
            live.url + "/handshake", content=message, headers={**headers, "Content-Type": "application/json"}
        )
    else:
        response = httpx.get(live.url, params={"message": message, "jsonp": "cb"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"statusCode": 2, "statusMessage": "Unauthorized"}
    assert live.bayeux.sessions_of("alice") == []


def _jsonp(response: httpx.Response, callback: str) -> list[dict[str, Any]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    match = re.fullmatch(rf"/\*\*/{re.escape(callback)}\((.*)\);", response.text, re.S)
    assert match, response.text
    return json.loads(match.group(1))


def test_callback_polling_over_jsonp(
    live: LiveServer, pool: ThreadPoolExecutor, basic_auth: Callable[..., str], wait_until: Any
) -> None:
    http = httpx.Client(headers={"Authorization": basic_auth("alice")}, timeout=30)

    def get(messages: list[dict[str, Any]], callback: str = "cb_1") -> list[dict[str, Any]]:
        return _jsonp(http.get(live.url, params={"message": json.dumps(messages), "jsonp": callback}), callback)

    try:
        [handshake] = get(
            [
                {
                    "id": "1",
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "supportedConnectionTypes": ["callback-polling"],
                }
            ]
        )
        client_id = handshake["clientId"]
        [subscribed] = get(
            [
                {
                    "id": "2",
                    "channel": "/meta/subscribe",
                    "clientId": client_id,
                    "subscription": "/v2/me/calls",
                }
            ],
            "$.cometd.jsonp",
        )
        assert subscribed["successful"] is True
        connect = {"channel": "/meta/connect", "clientId": client_id, "connectionType": "callback-polling"}
        assert get([{**connect, "id": "3"}])[0]["successful"] is True
        pending = pool.submit(get, [{**connect, "id": "4"}])
        wait_until(held(live))
        live.bayeux.publish("/v2/me/calls", {"n": 1}, audience="alice")
        messages = pending.result(timeout=10)
        assert [(m["channel"], m.get("id")) for m in messages] == [
            ("/v2/me/calls", "1"),
            ("/meta/connect", "4"),
        ]
        default = http.get(live.url, params={"message": json.dumps({"channel": "/meta/handshake"})})
        assert _jsonp(default, "jsonpcallback")[0]["successful"] is True  # the spec's default name
    finally:
        http.close()


@pytest.mark.parametrize("callback", ["alert(1)", "a b", "1abc", "x;y", "a..b", "", "a" * 200, "<script>"])
def test_jsonp_callback_must_be_an_identifier(live: LiveServer, basic_auth: Callable[..., str], callback: str) -> None:
    response = httpx.get(
        live.url,
        params={"message": json.dumps([{"channel": "/meta/handshake"}]), "jsonp": callback},
        headers={"Authorization": basic_auth("alice")},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == [{"successful": False, "error": "400::Bad request"}]
    assert live.bayeux.sessions_of("alice") == []


def test_a_thread_that_publishes_while_the_server_serves(
    live: LiveServer, bayeux_http: Callable[..., BayeuxHttp]
) -> None:
    """publish() from a foreign OS thread wakes greenlets of the server's hub, many times in a row."""
    alice = bayeux_http("alice")
    alice.handshake()
    alice.subscribe("/v2/me/calls")
    alice.connect()
    total = 200
    publisher = threading.Thread(
        target=lambda: [live.bayeux.publish("/v2/me/calls", {"n": n}, audience="alice") for n in range(total)]
    )
    publisher.start()
    received: list[int] = []
    deadline = time.monotonic() + 20
    while len(received) < total and time.monotonic() < deadline:
        received += [m["data"]["n"] for m in alice.connect() if m["channel"] == "/v2/me/calls"]
    publisher.join(timeout=10)
    assert received == list(range(total))
