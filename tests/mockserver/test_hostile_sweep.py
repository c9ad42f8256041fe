"""Hostile input on every operation of every system, over a real socket: every GWS and Platform REST operation of
the specs, the Bayeux endpoint, bus frames and the control API get a corpus of hostile values (deep nesting,
NaN/Infinity/1e999, invalid UTF-8, NUL, huge numbers, wrong types, oversized strings and keys, path traversal in
ids). The mock must answer each within its deadline, never with a 5xx, always in its system's JSON error format,
and a refused request must leave the world exactly as it was (the exports before and after are equal).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live_mock import running_mock

from voicekit.contracts import shared_contracts
from voicekit.exchanges import parse_json

CONTRACTS = shared_contracts()
AGENT = "Basic " + base64.b64encode(b"paveld@redwings.com:password").decode()
ADMIN = "Basic " + base64.b64encode(b"mikeb@redwings.com:password").decode()
DEVICE = "74152ed8-858f-4a33-9e96-36213a678d30"
DEADLINE = 15.0


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


#: Raw JSON texts (not all of them JSON) put where a value belongs.
HOSTILE: dict[str, bytes] = {
    "deep-300": _deep(300).encode(),
    "deep-list": ("[" * 5000 + "]" * 5000).encode(),
    "nan": b"NaN",
    "-infinity": b"-Infinity",
    "1e999": b"1e999",
    "huge-int": b"1" + b"0" * 5000,
    "invalid-utf8": b'"\xff\xfe\xfd"',
    "nul": b'"a\\u0000b"',
    "lone-surrogate": b'"\\ud800"',
    "big-string": b'"' + b"x" * 300_000 + b'"',
    "big-key": b'{"' + b"k" * 100_000 + b'": 1}',
    "many-keys": ("{" + ",".join(f'"k{i}": {i}' for i in range(20_000)) + "}").encode(),
    "wrong-type-list": b"[1, {}, null]",
    "wrong-type-bool": b"true",
    "traversal": b'"../../../../etc/passwd"',
}
PATH_IDS = ["..%2F..%2Fetc%2Fpasswd", "%00", "%FF%FE", "x" * 5000, "%2e%2e", "a%0d%0aSet-Cookie:%20x=1"]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_mock() as url:
        yield url


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        yield client


def world(http: httpx.Client) -> str:
    """Everything the control API exports of the three systems (GWS snapshot without counters, bus agents)."""
    gws = http.get("/control/state").json()
    gws.get("gws", {}).pop("counters", None)
    agents = http.get("/connect/agents").json()
    return json.dumps([gws, agents], sort_keys=True)


def check(response: httpx.Response, label: str, *, system: str) -> None:
    assert response.status_code < 500, f"{label}: HTTP {response.status_code} {response.text[:200]}"
    assert "json" in response.headers.get("content-type", ""), f"{label}: {response.headers.get('content-type')}"
    body = response.json()
    if response.status_code >= 400:
        if system == "gws":
            assert isinstance(body, dict) and isinstance(body.get("statusCode"), int), f"{label}: {body!r}"
        elif system == "platform":
            assert isinstance(body, dict) and (body.get("status") == response.status_code or "error" in body), (
                f"{label}: {body!r}"
            )
        else:
            assert isinstance(body, dict) and "error" in body, f"{label}: {body!r}"
    try:
        parse_json(response.content)  # strict: NaN, Infinity and out-of-range numbers are not JSON
    except ValueError as exc:
        raise AssertionError(f"{label}: non-standard JSON out ({exc})") from None


def _bodies(op: Any) -> list[tuple[str, bytes]]:
    """For each hostile value: the value as the whole body, and in every documented top-level member."""
    ref = CONTRACTS.request_schema_ref(op)
    members: list[str] = []
    if ref:
        schema = CONTRACTS.locate(ref)[1]
        for part in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
            members += list(part.get("properties") or {})
    names = sorted(set(CONTRACTS.operation_names(op)))
    operation = names[0] if names else None
    out = []
    for kind, raw in HOSTILE.items():
        out.append((f"{kind}-as-body", raw))
        fields = [f'"{m}": {raw.decode("latin-1")}' for m in sorted(set(members)) if m != "operationName"][:12]
        if operation:
            fields.insert(0, f'"operationName": "{operation}"')
        if fields:
            out.append((f"{kind}-in-members", ("{" + ", ".join(fields) + "}").encode("latin-1")))
    return out


def _path(template: str) -> str:
    return (
        template.replace("{id}", DEVICE if "devices/{id}" in template else "no-such-id")
        .replace("{group}", "voice")
        .replace("{transport}", "connect")
        .replace("{dispositionId}", "none")
        .replace("{userId}", "no-such-user")
        .replace("{conversationId}", "no-such-conv")
        .replace("{participantId}", "no-such-part")
        .replace("{channelId}", "no-such-channel")
        .replace("{sourceId}", "purecloud")
    )


def _systems() -> list[tuple[str, Any]]:
    return [
        (system, op)
        for system in ("gws", "platform")
        for op in CONTRACTS.operations.get(system, [])
        if op.method in ("POST", "PUT", "PATCH") and not op.template.startswith("/api/v2/notifications")
    ]


@pytest.mark.parametrize("system,op", _systems(), ids=lambda v: v if isinstance(v, str) else f"{v.method} {v.template}")
def test_rest_operations_survive_hostile_bodies(http: httpx.Client, system: str, op: Any) -> None:
    prefix = "/platform" if system == "platform" else ""
    headers = {
        "Authorization": ADMIN if system == "gws" and not op.template.startswith("/api/v2/me") else AGENT,
        "Content-Type": "application/json",
    }
    if system == "platform":
        headers["Authorization"] = "Bearer no-such-token"
    for kind, raw in _bodies(op):
        before = world(http)
        response = http.request(op.method, prefix + _path(op.template), content=raw, headers=headers)
        check(response, f"{op.method} {op.template} {kind}", system=system)
        if response.status_code >= 400:
            assert world(http) == before, f"{op.method} {op.template} {kind}: refused, yet the world changed"


@pytest.mark.parametrize(
    "system,op",
    [
        (s, o)
        for s in ("gws", "platform")
        for o in CONTRACTS.operations.get(s, [])
        if "{" in o.template and not o.template.startswith("/api/v2/notifications")
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.method} {v.template}",
)
def test_hostile_ids_in_paths(http: httpx.Client, system: str, op: Any) -> None:
    prefix = "/platform" if system == "platform" else ""
    auth = AGENT if system == "gws" else "Bearer no-such-token"
    for hostile in PATH_IDS:
        path = op.template
        for name in (
            "{id}",
            "{dispositionId}",
            "{userId}",
            "{conversationId}",
            "{participantId}",
            "{channelId}",
            "{sourceId}",
        ):
            path = path.replace(name, hostile)
        path = path.replace("{group}", hostile).replace("{transport}", hostile)
        before = world(http)
        response = http.request(
            op.method,
            prefix + path,
            headers={"Authorization": auth},
            json={"operationName": "Hold"} if op.method != "GET" else None,
        )
        check(response, f"{op.method} {path[:80]}", system=system)
        assert world(http) == before


def test_hostile_queries(http: httpx.Client) -> None:
    for name in ("fields", "limit", "offset", "sortBy", "order", "subresources", "resolveUris"):
        for value in ("%00", "%FF", "9" * 500, "-1", "x" * 10_000, "../../etc"):
            response = http.get(f"/api/v2/users?{name}={value}", headers={"Authorization": ADMIN})
            check(response, f"?{name}={value[:20]}", system="gws")


def test_bayeux_messages_survive_hostile_values(http: httpx.Client) -> None:
    url = "/api/v2/notifications"
    auth = {"Authorization": AGENT, "Content-Type": "application/json"}
    for kind, raw in HOSTILE.items():
        value = raw.decode("latin-1")
        for member in ("clientId", "channel", "subscription", "id", "ext", "advice", "data", "version"):
            body = f'[{{"channel": "/meta/subscribe", "clientId": "x", "{member}": {value}}}]'.encode("latin-1")
            response = http.post(url, content=body, headers=auth)
            assert response.status_code < 500, f"bayeux {member}={kind}: {response.status_code}"
            assert "json" in response.headers.get("content-type", ""), f"bayeux {member}={kind}"
        response = http.post(url, content=raw, headers=auth)
        assert response.status_code < 500, f"bayeux body {kind}: {response.status_code}"


def test_bus_frames_survive_hostile_values(base: str, http: httpx.Client) -> None:
    from websockets.sync.client import connect

    with connect(
        base.replace("http", "ws") + "/connect/agents/jsmith/bus",
        open_timeout=10,
        max_size=None,
        additional_headers={"Authorization": "Bearer jsmith-bus-token"},
    ) as socket:
        for kind, raw in HOSTILE.items():
            value = raw.decode("latin-1")
            for frame in (
                raw,
                f'{{"channel": "Amazon", "topic": "Agent", "subtopic": "SetNotReady", '
                f'"source": "app", "data": {value}}}'.encode("latin-1"),
                f'{{"channel": {value}, "topic": "InboundCall", "subtopic": "Answer"}}'.encode("latin-1"),
            ):
                before = world(http)
                try:
                    socket.send(frame.decode("utf-8", "surrogateescape") if kind != "invalid-utf8" else frame)
                    answer = json.loads(socket.recv(timeout=DEADLINE))
                except Exception as exc:  # a closed socket is a refusal too, as long as the mock stays up
                    assert http.get("/api/v2/diagnostics/version").status_code == 200, f"bus {kind}: {exc}"
                    return
                assert isinstance(answer, dict), f"bus {kind}: {answer!r}"
                assert world(http) == before, f"bus {kind}: refused, yet the world changed"


CONTROL = [
    ("POST", "/control/gws/calls"),
    ("POST", "/control/gws/faults"),
    ("POST", "/control/gws/agents"),
    ("PUT", "/control/gws/services/voice"),
    ("PUT", "/control/state"),
    ("POST", "/control/journal/count"),
    ("PUT", "/control/scenario"),
    ("POST", "/control/connect/agents"),
    ("POST", "/control/connect/agents/jsmith/calls"),
    ("PUT", "/control/connect/agents/jsmith/state"),
    ("PUT", "/control/platform/settings"),
    ("POST", "/control/platform/users"),
]


@pytest.mark.parametrize("method,path", CONTROL, ids=[f"{m} {p}" for m, p in CONTROL])
def test_control_api_survives_hostile_bodies(http: httpx.Client, method: str, path: str) -> None:
    for kind, raw in HOSTILE.items():
        for body in (raw, b'{"from": ' + raw + b', "to": "5000", "userData": ' + raw + b', "gws": ' + raw + b"}"):
            before = world(http)
            response = http.request(method, path, content=body, headers={"Content-Type": "application/json"})
            check(response, f"{method} {path} {kind}", system="control")
            if response.status_code >= 400:
                assert world(http) == before, f"{method} {path} {kind}: refused, yet the world changed"
    assert http.get("/api/v2/me/calls", params={"fields": "*"}, headers={"Authorization": AGENT}).status_code == 200
