"""Hostile input against the running mock, over a real socket (issue 11, "Hardening"): every refusal is the
receiving API's documented error, never a 500, never a half-applied change, never non-standard JSON out.

The limits come from specs/schemas/control/JsonLimits.json (read here too, never restated)."""

from __future__ import annotations

import base64
import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent / "gws"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))

import platform_mock_helpers as ph
from gws_http import AGENT, DEVICE_A, basic
from live_mock import running_mock

from mockserver import jsonsafe

LIMITS = jsonsafe.limits()
JSON = {"Content-Type": "application/json"}
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_mock() as url:
        yield url


@pytest.fixture(scope="module")
def locked() -> Iterator[str]:
    """CSRF on, a control token, and a small failed-login throttle."""
    import os

    os.environ["VOICEKIT_AUTH_FAILURE_LIMIT"] = "5"
    try:
        with running_mock("--csrf", "on", "--control-token", TOKEN) as url:
            yield url
    finally:
        del os.environ["VOICEKIT_AUTH_FAILURE_LIMIT"]


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    if "base" in request.fixturenames:
        requests.post(request.getfixturevalue("base") + "/control/reset", timeout=10).raise_for_status()


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def gws_state(base: str) -> tuple[requests.Response, requests.Response]:
    return (
        requests.get(f"{base}/api/v2/me/calls?fields=*", headers=AGENT, timeout=10),
        requests.get(f"{base}/control/state", timeout=10),
    )


def assert_gws_refused(response: requests.Response, status: int = 400, code: int = 10) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.json()["statusCode"] == code and response.json()["statusMessage"]


def dial(base: str, user_data: str) -> requests.Response:
    body = '{"operationName": "Dial", "destination": {"phoneNumber": "5001"}, "userData": ' + user_data + "}"
    return requests.post(f"{base}/api/v2/me/devices/{DEVICE_A}/calls", data=body, headers={**AGENT, **JSON}, timeout=10)


# ---- 1. limits: validated whole before anything changes -------------------------------------------------------
@pytest.mark.parametrize("levels", [LIMITS.max_depth + 1, 500, 5000])
def test_deep_user_data_is_refused_and_nothing_changes(base: str, levels: int) -> None:
    before = requests.get(f"{base}/control/state", timeout=10).json()
    assert_gws_refused(dial(base, deep(levels)))
    calls, state = gws_state(base)
    assert calls.status_code == 200 and calls.json()["calls"] == []
    assert state.status_code == 200 and state.json() == before


def test_user_data_within_the_limits_is_accepted_and_readable(base: str) -> None:
    assert dial(base, deep(LIMITS.max_depth - 2)).status_code == 200
    calls, state = gws_state(base)
    assert calls.status_code == 200 and len(calls.json()["calls"]) == 1 and state.status_code == 200


def test_too_many_members_and_long_strings_are_refused(base: str) -> None:
    many = json.dumps({f"k{i}": i for i in range(LIMITS.max_members + 1)})
    assert_gws_refused(dial(base, many))
    assert_gws_refused(dial(base, json.dumps({"k": "x" * (LIMITS.max_string_length + 1)})))
    assert gws_state(base)[0].json()["calls"] == []


def test_attach_user_data_too_deep_changes_nothing(base: str) -> None:
    assert dial(base, "{}").status_code == 200
    call = gws_state(base)[0].json()["calls"][0]
    body = '{"operationName": "AttachUserData", "userData": ' + deep(600) + "}"
    response = requests.post(f"{base}/api/v2/me/calls/{call['id']}", data=body, headers={**AGENT, **JSON}, timeout=10)
    assert_gws_refused(response)
    assert gws_state(base)[0].json()["calls"][0].get("userData", {}) == call.get("userData", {})


def test_control_inbound_call_too_deep_is_refused(base: str) -> None:
    body = '{"from": "+15550001111", "to": "5000", "userData": ' + deep(600) + "}"
    response = requests.post(f"{base}/control/gws/calls", data=body, headers=JSON, timeout=10)
    assert response.status_code == 400 and response.json()["status"] == 400
    assert gws_state(base)[0].json()["calls"] == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/control/gws/calls", {"from": "+15550001111", "queue": "9000", "to": "no-such-device"}),
        ("/control/gws/agents", {"userName": "new.agent@redwings.com", "phoneNumber": "5000"}),
        ("/control/gws/agents", {"userName": "new.agent@redwings.com", "phoneNumber": "5099", "userState": "Dancing"}),
        ("/control/gws/faults", {"kind": "latency", "delayMs": "abc"}),
        ("/control/gws/faults", {"kind": "latency", "delayMs": 10**12}),
    ],
)
def test_refused_control_operations_change_nothing(base: str, path: str, body: dict[str, object]) -> None:
    before = requests.get(f"{base}/control/state", timeout=10).json()
    response = requests.post(base + path, json=body, timeout=10)
    assert 400 <= response.status_code < 500 and response.json()["status"] == response.status_code
    assert requests.get(f"{base}/control/state", timeout=10).json() == before


def test_bayeux_and_platform_and_bus_limits(base: str) -> None:
    bayeux = requests.post(
        f"{base}/api/v2/notifications", data="[" + deep(600) + "]", headers={**AGENT, **JSON}, timeout=10
    )
    assert bayeux.status_code == 400 and bayeux.json()[0]["successful"] is False
    token = platform_token(base)
    response = requests.post(
        f"{base}/platform/api/v2/conversations/calls",
        data=deep(600),
        headers={"Authorization": f"Bearer {token}", **JSON},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["code"] == "bad.request"
    assert ph.error_problems("/api/v2/conversations/calls", response.json()) == []


def test_bus_frame_too_deep_is_a_malformed_message() -> None:
    from mockserver.connect.frames import FrameReader
    from voicekit.contracts import shared_contracts

    refused = FrameReader(shared_contracts(), LIMITS.max_body_bytes).read(deep(100))
    assert isinstance(refused, dict) and "MalformedMessage" in json.dumps(refused)


def test_websocket_messages_far_over_the_limit_close_the_socket(base: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from mockserver.limits import websocket_message_cap

    url = base.replace("http://", "ws://") + "/connect/agents/jsmith/bus"
    with connect(
        url, open_timeout=10, max_size=None, additional_headers={"Authorization": "Bearer jsmith-bus-token"}
    ) as ws:  # the seed's (E516)
        ws.send("x" * (LIMITS.max_body_bytes + 10))  # over the limit: refused, the socket stays open
        assert "MalformedMessage" in ws.recv(timeout=10)
        ws.send("x" * (websocket_message_cap(LIMITS.max_body_bytes) + 10))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1009


# ---- 2. non-standard JSON: refused on the way in, never emitted ----------------------------------------------
@pytest.mark.parametrize("value", ["NaN", "-Infinity", "Infinity", "1e999", "-1e999"])
def test_nan_and_infinity_are_refused_everywhere(base: str, value: str) -> None:
    assert_gws_refused(dial(base, '{"x": ' + value + "}"))
    control = requests.post(
        f"{base}/control/gws/calls",
        data='{"from": "+1555", "to": "5000", "userData": {"x": ' + value + "}}",
        headers=JSON,
        timeout=10,
    )
    assert control.status_code == 400
    bayeux = requests.post(
        f"{base}/api/v2/notifications",
        data='[{"channel": "/meta/handshake", "x": ' + value + "}]",
        headers={**AGENT, **JSON},
        timeout=10,
    )
    assert bayeux.status_code == 400
    calls, state = gws_state(base)
    assert calls.json()["calls"] == [] and "NaN" not in state.text and "Infinity" not in state.text
    journal = requests.get(f"{base}/control/journal", timeout=10)  # it records the refused requests
    assert journal.status_code == 200 and journal.json()["total"] >= 3
    json.loads(journal.text, parse_constant=refuse)  # standard JSON: the refused values only as text


def refuse(constant: str) -> None:
    raise AssertionError(f"{constant} in the output")


SCENARIO = "name: x\nsteps:\n  - {action: offer-call, queue: '9000', at: 3600, userData: %s}\n"


@pytest.mark.parametrize(
    "document",
    [
        SCENARIO % "{x: .inf}",
        SCENARIO % "{x: .nan}",
        SCENARIO % ("{x: " + "[" * 40 + "]" * 40 + "}"),
        SCENARIO
        % (
            "{a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a], "
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b], x: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}"
        ),
    ],
)
def test_scenario_yaml_beyond_json_is_refused(base: str, document: str) -> None:
    response = requests.put(
        f"{base}/control/scenario", data=document.encode(), headers={"Content-Type": "application/yaml"}, timeout=10
    )
    assert response.status_code == 400 and response.json()["status"] == 400


def test_output_never_carries_nan() -> None:
    with pytest.raises(ValueError):
        jsonsafe.dumps({"x": float("nan")})


# ---- 3. non-ASCII credentials are wrong credentials ------------------------------------------------------------
def test_non_ascii_basic_password_is_401(base: str) -> None:
    response = requests.get(f"{base}/api/v2/me", headers=basic("paveld@redwings.com", "pässwörd"), timeout=10)
    assert_gws_refused(response, 401, 20)


def test_non_ascii_csrf_and_control_tokens_are_refused(locked: str) -> None:
    session = requests.Session()
    session.headers.update(basic("paveld@redwings.com"))
    assert session.get(f"{locked}/api/v2/me", timeout=10).status_code == 200
    forged = "tökén".encode().decode("latin-1")  # requests sends str headers as latin-1: raw UTF-8 bytes
    response = session.post(
        f"{locked}/api/v2/me", json={"operationName": "Ready"}, headers={"X-CSRF-TOKEN": forged}, timeout=10
    )
    assert_gws_refused(response, 403, 3)
    control = requests.post(f"{locked}/control/reset", headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert control.status_code == 401 and control.json()["status"] == 401


def test_non_ascii_client_secret_and_plain_pkce_verifier(base: str) -> None:
    secret = requests.post(
        f"{base}/platform/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(f"{ph.CC_CLIENT}:sécret".encode()).decode()},
        timeout=10,
    )
    assert secret.status_code == 401 and secret.json()["error"] == "invalid_client"
    code = authorization_code(base, challenge="plain-challenge-plain-challenge-plain-challenge", method="plain")
    response = requests.post(
        f"{base}/platform/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": "plain-chällenge-plain-challenge-plain-ch",
            "client_id": ph.APP_CLIENT,
            "redirect_uri": ph.REDIRECT,
        },
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] in ("invalid_request", "invalid_grant")


# ---- 4. state import: all or nothing ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "snapshot", [{"gws": {"users": []}}, {"gws": {"users": "x"}}, {"gws": []}, {"nope": 1}, "not-an-object"]
)
def test_invalid_snapshot_is_400_and_the_world_intact(base: str, snapshot: object) -> None:
    before = requests.get(f"{base}/control/state", timeout=10).json()
    response = requests.put(f"{base}/control/state", json=snapshot, timeout=10)
    assert response.status_code == 400 and response.json()["status"] == 400
    assert requests.get(f"{base}/control/state", timeout=10).json() == before
    assert requests.get(f"{base}/api/v2/me", headers=AGENT, timeout=10).status_code == 200


def test_the_snapshot_schema_names_every_field_of_the_world() -> None:
    """A field added to the domain's dataclasses must be added to specs/schemas/control/Snapshot.json too,
    or the export of a world using it would no longer import."""
    import dataclasses

    from mockserver.domain.gws import model, world
    from voicekit.contracts import shared_contracts

    defs = shared_contracts().document("schemas/control/Snapshot.json")["$defs"]
    for cls in (
        model.User,
        model.Device,
        model.UserState,
        model.Monitoring,
        model.Call,
        model.Party,
        model.AgentStateOperation,
        world.SettingsGroup,
        world.Feature,
        world.Service,
        world.DispositionGroup,
    ):
        assert set(defs[cls.__name__]["properties"]) == {f.name for f in dataclasses.fields(cls)}, cls.__name__


def test_inconsistent_snapshot_is_refused(base: str) -> None:
    snapshot = requests.get(f"{base}/control/state", timeout=10).json()
    snapshot["gws"]["devices"][0]["user_id"] = "nobody"
    assert requests.put(f"{base}/control/state", json=snapshot, timeout=10).status_code == 400


def test_snapshot_round_trip_with_a_call_and_reads_change_nothing(base: str) -> None:
    session = requests.post(
        f"{base}/api/v2/me",
        headers=AGENT,
        timeout=10,
        json={
            "operationName": "StartContactCenterSession",
            "channels": ["voice"],
            "loginCode": "1234",
            "queue": "9000",
        },
    )
    assert session.status_code == 200
    assert dial(base, '{"k": {"n": [1, 2.5, "s"]}}').status_code == 200
    first = requests.get(f"{base}/control/state", timeout=10).json()
    assert requests.get(f"{base}/control/state", timeout=10).json() == first  # reading advances no counter
    assert requests.put(f"{base}/control/state", json=first, timeout=10).status_code == 200
    assert requests.get(f"{base}/control/state", timeout=10).json() == first


# ---- 5. bodies limited while they stream in --------------------------------------------------------------------
def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    yield b'{"a": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


ROUTES = [
    ("/api/v2/me", "gws", basic("paveld@redwings.com")),
    ("/platform/api/v2/conversations/calls", "platform", {}),
    ("/platform/oauth/token", "oauth", {}),
    ("/control/gws/calls", "control", {}),
    ("/api/v2/notifications", "bayeux", basic("paveld@redwings.com")),
]


def assert_413(response: requests.Response, kind: str) -> None:
    assert response.status_code == 413, (kind, response.status_code, response.text[:200])
    body = response.json()
    if kind == "gws":
        assert body["statusCode"] == 10
    elif kind == "platform":
        assert body["code"] == "request.too.large" and ph.error_problems("/api/v2/conversations/calls", body) == []
    elif kind == "oauth":
        assert body["error"] == "invalid_request"
    elif kind == "control":
        assert body["status"] == 413
    else:
        assert body[0]["successful"] is False and body[0]["error"].startswith("413::")


@pytest.mark.parametrize(("path", "kind", "headers"), ROUTES)
def test_chunked_body_over_the_limit_is_413_in_the_route_format(
    base: str, path: str, kind: str, headers: dict[str, str]
) -> None:
    response = requests.post(
        base + path, data=chunks(LIMITS.max_body_bytes + 256 * 1024), headers={**headers, **JSON}, timeout=60
    )
    assert_413(response, kind)


@pytest.mark.parametrize(("path", "kind", "headers"), ROUTES)
def test_declared_length_over_the_limit_is_413_before_reading(
    base: str, path: str, kind: str, headers: dict[str, str]
) -> None:
    response = raw_request(base, f"POST {path} HTTP/1.1", {**headers, **JSON, "Content-Length": str(50 * 1024 * 1024)})
    status, body = response
    assert status == 413, body[:200]
    fake = requests.models.Response()
    fake.status_code, fake._content = status, body
    assert_413(fake, kind)


# ---- 8. smaller holes -------------------------------------------------------------------------------------------
def test_control_token_requires_the_bearer_scheme(locked: str) -> None:
    assert requests.post(f"{locked}/control/reset", headers={"Authorization": TOKEN}, timeout=10).status_code == 401
    assert (
        requests.post(f"{locked}/control/reset", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code
        == 200
    )


def test_control_api_refuses_cross_site_requests(base: str) -> None:
    foreign = requests.post(f"{base}/control/reset", headers={"Origin": "https://evil.example"}, timeout=10)
    assert foreign.status_code == 403 and foreign.json()["status"] == 403
    form = requests.post(
        f"{base}/control/gws/calls",
        data="from=%2B1555&to=5000",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert form.status_code == 415
    text = requests.post(
        f"{base}/control/gws/calls",
        data='{"from": "+1555", "to": "5000"}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert text.status_code == 415 and gws_state(base)[0].json()["calls"] == []


def test_a_forged_host_does_not_make_an_origin_our_own(base: str) -> None:
    response = requests.get(
        f"{base}/api/v2/me", headers={**AGENT, "Host": "evil.example", "Origin": "http://evil.example"}, timeout=10
    )
    assert_gws_refused(response, 403, 3)
    assert "Access-Control-Allow-Origin" not in response.headers
    bus = requests.get(
        f"{base}/connect/agents/jsmith/bus",
        timeout=10,
        headers={
            "Host": "evil.example",
            "Origin": "http://evil.example",
            "Authorization": "Bearer jsmith-bus-token",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert bus.status_code == 403  # the bus's Origin check (E516) uses the same own origins


@pytest.mark.parametrize("path", ["/api/v2//me", "/api/v2/me/calls/", "/api/v2/notifications/connect/"])
def test_no_redirects_only_enveloped_answers(base: str, path: str) -> None:
    response = requests.get(base + path, headers=AGENT, allow_redirects=False, timeout=10)
    assert response.status_code < 300 or response.status_code >= 400
    assert response.headers["Content-Type"].startswith("application/json")
    response.json()


def test_over_long_request_line_is_414_in_the_envelope(base: str) -> None:
    status, body = raw_request(base, f"GET /api/v2/me?x={'a' * 9000} HTTP/1.1", AGENT)
    assert status == 414 and json.loads(body)["statusCode"] == 10
    status, body = raw_request(base, f"GET /platform/api/v2/users/me?x={'a' * 9000} HTTP/1.1", {})
    assert status == 414 and json.loads(body)["code"]


def test_malformed_requests_get_the_envelope_and_the_connection_closes(base: str) -> None:
    status, body = raw_request(base, "GARBAGE", {})
    assert status == 400 and json.loads(body)["statusCode"] == 10
    status, body = raw_request(base, "POST /control/reset HTTP/1.1", {"Transfer-Encoding": "chunked"}, body=b"zz\r\n")
    assert status == 400 and json.loads(body)["status"] == 400  # one answer, then the connection ends


def test_an_unexpected_error_logs_a_bounded_traceback(caplog: pytest.LogCaptureFixture) -> None:
    from mockserver.app import create_app
    from mockserver.domain.clock import ManualScheduler

    app = create_app({"csrf": False}, scheduler=ManualScheduler())

    def ping(n: int) -> int:  # two alternating frames, as copy.deepcopy nests: not folded by traceback
        return pong(n + 1) + 1

    def pong(n: int) -> int:
        return ping(n + 1) + 1

    app.add_url_rule("/control/boom", "boom", lambda: str(ping(0)))
    response = app.test_client().get("/control/boom")
    assert response.status_code == 500 and response.json == {"error": "An internal error occurred", "status": 500}
    assert "RecursionError" in caplog.text and len(caplog.text) < 10_000  # the text as logged, traceback included


def test_a_reused_code_revokes_its_tokens(base: str) -> None:
    code = authorization_code(base)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": ph.VERIFIER,
        "client_id": ph.APP_CLIENT,
        "redirect_uri": ph.REDIRECT,
    }
    first = requests.post(f"{base}/platform/oauth/token", data=form, timeout=10).json()
    me = f"{base}/platform/api/v2/users/me"
    assert requests.get(me, headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10).ok
    again = requests.post(f"{base}/platform/oauth/token", data=form, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert requests.get(me, headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=10).status_code == 401
    refresh = requests.post(
        f"{base}/platform/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers={"Authorization": ph.basic(ph.APP_CLIENT, ph.APP_SECRET)},
        timeout=10,
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_wrong_passwords_lock_the_name_out_for_a_while(locked: str) -> None:
    for _ in range(5):
        assert (
            requests.get(
                f"{locked}/api/v2/me", headers=basic("hzetterberg@redwings.com", "wrong"), timeout=10
            ).status_code
            == 401
        )
    right = requests.get(f"{locked}/api/v2/me", headers=basic("hzetterberg@redwings.com"), timeout=10)
    assert_gws_refused(right, 401, 20)
    assert requests.get(f"{locked}/api/v2/me", headers=basic("paveld@redwings.com"), timeout=10).status_code == 200
    for _ in range(5):
        requests.post(
            f"{locked}/platform/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": ph.basic(ph.CC_CLIENT, "wrong")},
            timeout=10,
        )
    right = requests.post(
        f"{locked}/platform/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": ph.basic(ph.CC_CLIENT, ph.CC_SECRET)},
        timeout=10,
    )
    assert right.status_code == 401 and right.json()["error"] == "invalid_client"


# ---- helpers ----------------------------------------------------------------------------------------------------
def platform_token(base: str) -> str:
    response = requests.post(
        f"{base}/platform/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": ph.basic(ph.CC_CLIENT, ph.CC_SECRET)},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def authorization_code(base: str, challenge: str = ph.CHALLENGE, method: str = "S256") -> str:
    response = requests.get(
        f"{base}/platform/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": ph.APP_CLIENT,
            "redirect_uri": ph.REDIRECT,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": method,
            "login_hint": "dave@voicekit.example",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:200]
    return ph.location_params(response.headers["Location"])["code"]


def raw_request(base: str, line: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """Send a request line, headers and raw body bytes and read the answer (up to the server closing the
    connection): for what requests cannot send."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        head = [line, f"Host: {parts.netloc}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        data = b""
        while True:
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ")[1])
    if b"transfer-encoding: chunked" in head_bytes.lower():
        body = dechunk(body)
    return status, body


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


# ---- 7. bounded state ---------------------------------------------------------------------------------------------
def test_idle_gws_sessions_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.gws import security

    now = [1000.0]
    monkeypatch.setattr(security.time, "monotonic", lambda: now[0])
    sessions = security.Sessions(idle_timeout=60)
    kept, idle = sessions.create("u1"), sessions.create("u2")
    now[0] += 45
    assert sessions.get(kept.id) is kept
    now[0] += 45
    assert sessions.get(idle.id) is None and sessions.get(kept.id) is kept
    now[0] += 61
    assert sessions.expire_idle() == 1 and sessions.get(kept.id) is None


def test_histories_keep_the_newest_only() -> None:
    from mockserver.domain.gws.world import World

    world = World()
    world.bound_history(2)
    for index in range(5):
        world.released[f"k{index}"] = (None, None)  # type: ignore[assignment]
        world.reporting_events.append({"n": index})
    assert list(world.released) == ["k3", "k4"] and [e["n"] for e in world.reporting_events] == [3, 4]


def test_ended_platform_conversations_keep_the_newest_only() -> None:
    from mockserver.domain.platform import oauth
    from mockserver.domain.platform.model import Conversation

    world, scheduler, _ = ph.make_world()
    for index in range(5):
        world.conversations[f"c{index}"] = Conversation(f"c{index}", start_time=0.0, end_time=float(index))
    world.conversations["live"] = Conversation("live", start_time=0.0)
    assert world.forget_ended(2) == 3 and sorted(world.conversations) == ["c3", "c4", "live"]
    token = ph.cc_token(world)
    scheduler.advance(token.expires - token.issued + 1)
    assert oauth.prune_expired(world) >= 1 and token.value not in world.tokens


def test_a_bus_consumer_that_does_not_read_is_disconnected() -> None:
    import threading

    from mockserver.connect.hub import BusConnection

    class StuckSocket:
        def __init__(self) -> None:
            self.unblock, self.closed = threading.Event(), threading.Event()

        def send(self, data: str) -> None:
            self.unblock.wait(10)

        def close(self, reason: int | None = None, message: str | None = None) -> None:
            self.closed.set()

    ws = StuckSocket()
    connection = BusConnection("agent", ws, limit=3)
    for index in range(10):
        connection.deliver({"n": index})
    assert connection.overflowed and not connection.open and connection.outbox.qsize() <= 5
    ws.unblock.set()
    assert ws.closed.wait(10)


def test_platform_socket_of_a_slow_consumer_is_closed() -> None:
    import threading

    from mockserver.platform.hub import ChannelSocket

    class StuckSocket:
        def __init__(self) -> None:
            self.unblock, self.closed = threading.Event(), threading.Event()

        def send(self, data: str) -> None:
            self.unblock.wait(10)

        def close(self, reason: int | None = None, message: str | None = None) -> None:
            self.closed.set()

    ws = StuckSocket()
    connection = ChannelSocket("channel", ws, lambda: 0, limit=3)
    for index in range(10):
        connection.deliver({"n": index})
    assert connection.overflowed and not connection.open
    ws.unblock.set()
    assert ws.closed.wait(10)


def test_cometd_sessions_expire_on_a_timer_and_silent_clients_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEKIT_COMETD_MAX_INTERVAL_MS", "200")
    monkeypatch.setenv("VOICEKIT_HOUSEKEEPING_INTERVAL", "1")
    monkeypatch.setenv("VOICEKIT_HEADER_TIMEOUT", "1")
    with running_mock() as url:
        handshake = requests.post(
            f"{url}/api/v2/notifications",
            headers={**AGENT, **JSON},
            timeout=10,
            json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
        )
        assert handshake.json()[0]["successful"] is True
        stats = f"{url}/control/stats"
        assert requests.get(stats, timeout=10).json()["cometd"]["clients"] == 1
        deadline = time.monotonic() + 30  # waits for the sweep; asserts no duration
        while requests.get(stats, timeout=10).json()["cometd"]["clients"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert requests.get(stats, timeout=10).json()["cometd"]["clients"] == 0
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
            conn.sendall(b"GET /api/v2/me HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            answer = b""
            while piece := conn.recv(65536):  # the server answers (400, enveloped) or not, then hangs up
                answer += piece
            assert answer == b"" or b" 400 " in answer.split(b"\r\n")[0]


def test_a_non_ascii_plain_pkce_verifier_is_a_mismatch_not_an_error() -> None:
    """Over HTTP the contract's verifier pattern refuses it first; the comparison itself must hold too."""
    from mockserver.domain.platform import errors, oauth

    world, _, _ = ph.make_world()
    challenge = "plain-challenge-plain-challenge-plain-challenge"
    location = oauth.authorize(
        world,
        {
            "response_type": "code",
            "client_id": ph.APP_CLIENT,
            "redirect_uri": ph.REDIRECT,
            "login_hint": "dave@voicekit.example",
            "code_challenge": challenge,
            "code_challenge_method": "plain",
        },
    )
    code = ph.location_params(location)["code"]
    with pytest.raises(errors.OAuthFailure) as refused:
        oauth.token_request(
            world,
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": ph.APP_CLIENT,
                "redirect_uri": ph.REDIRECT,
                "code_verifier": challenge.replace("a", "ä"),
            },
            None,
        )
    assert refused.value.error == "invalid_grant"


def test_sessions_and_tokens_are_capped() -> None:
    """Cookie-less Basic requests open a session each and a client-credentials client may ask a token per call:
    both stores are capped (least recently used session, oldest token), so memory stays flat long before expiry."""
    from mockserver.app import create_app
    from mockserver.domain.clock import ManualScheduler

    app = create_app({"max_sessions": 5, "max_tokens": 3}, scheduler=ManualScheduler())
    client = app.test_client(use_cookies=False)  # a client that never sends the cookie back
    auth = {"Authorization": "Basic " + base64.b64encode(b"paveld@redwings.com:password").decode()}
    for _ in range(8):
        assert client.get("/api/v2/me", headers=auth).status_code == 200
    sessions = app.extensions["voicekit.gws"].sessions
    assert len(sessions._by_id) == 5
    secret = base64.b64encode(b"3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a01:data-action-secret").decode()
    tokens = [
        client.post(
            "/platform/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {secret}"},
        ).get_json()["access_token"]
        for _ in range(5)
    ]
    world = app.extensions["voicekit.platform"].world
    assert len(world.tokens) == 3 and tokens[0] not in world.tokens and tokens[-1] in world.tokens
    refused = client.get("/platform/api/v2/presencedefinitions", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert refused.status_code == 401
