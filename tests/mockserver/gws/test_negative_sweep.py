"""Bad input on every GWS operation of the spec: a documented error envelope, never a 5xx or HTML, and a
refused request changes nothing (003 l.3575-3579: "the request failed to modify the data")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gws_http import ADMIN, AGENT, DEVICE_A

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler
from voicekit.contracts import shared_contracts

CONTRACTS = shared_contracts()
OPERATIONS = [op for op in CONTRACTS.operations["gws"] if not op.template.startswith("/api/v2/notifications")]
IDS = {"/api/v2/me/devices/{id}": DEVICE_A, "/api/v2/me/devices/{id}/calls": DEVICE_A}
HUGE = b'{"operationName": "' + b"x" * 2_000_000 + b'"}'


def concrete(template: str) -> str:
    if template in IDS:
        return template.replace("{id}", IDS[template])
    return (
        template.replace("{group}", "voice")
        .replace("{transport}", "connect")
        .replace("{id}", "no-such-id")
        .replace("{dispositionId}", "no-such-id")
    )


BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("malformed-json", b'{"operationName": "Dial", ', "application/json"),
    ("not-an-object", b"[1, 2, 3]", "application/json"),
    (
        "wrong-types",
        json.dumps({"operationName": 42, "destination": "5001", "userData": [1]}).encode(),
        "application/json",
    ),
    ("wrong-content-type", b"operationName=Dial", "application/x-www-form-urlencoded"),
    ("empty", b"", "application/json"),
    ("huge", HUGE, "application/json"),
    ("unknown-operation", json.dumps({"operationName": "Teleport!"}).encode(), "application/json"),
    ("json-null", b"null", "application/json"),
    ("json-string", b'"Ready"', "application/json"),
    ("object-operation-name", json.dumps({"operationName": {"x": 1}}).encode(), "application/json"),
    ("list-operation-name", json.dumps({"operationName": ["Ready"]}).encode(), "application/json"),
]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/me/calls?fields=%F1%84%8A",
        "/api/v2/me/devices?fields=a,,b",
        "/api/v2/users?skills.level=high",
        "/api/v2/contacts?sortBy=%2C",
        "/api/v2/users?limit=ten",
        "/api/v2/queues?fields=*&resolveUris=nothing",
    ],
)
def test_malformed_query_parameters_are_refused(app: Any, path: str) -> None:
    response = app.test_client().get(path, headers=ADMIN)
    body = assert_envelope(response, path)
    assert response.status_code == 400 and body["statusCode"] in (1, 10), body


def snapshot(app: Any) -> str:
    world = app.extensions["voicekit.gws"].world
    with world.lock:
        data = world.snapshot()
    data.pop("counters", None)
    return json.dumps(data, sort_keys=True, default=str)


def assert_envelope(response: Any, label: str) -> dict[str, Any]:
    assert response.status_code < 500, f"{label}: HTTP {response.status_code}"
    assert response.mimetype == "application/json", f"{label}: {response.mimetype}"
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("statusCode"), int), f"{label}: {body!r}"
    if body["statusCode"] not in (0, 7):
        assert set(body) == {"statusCode", "statusMessage"} and body["statusMessage"], f"{label}: {body!r}"
    return body


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app({"csrf": False}, scheduler=ManualScheduler())


PROTECTED = [o for o in OPERATIONS if o.operation_id != "getVersion"]  # the one anonymous request (003 l.97-101)


@pytest.mark.parametrize("op", PROTECTED, ids=[f"{o.method} {o.template}" for o in PROTECTED])
def test_unauthenticated_requests_are_refused(app: Any, op: Any) -> None:
    client = app.test_client()
    response = client.open(concrete(op.template), method=op.method, json={"operationName": "Ready"})
    body = assert_envelope(response, "unauthenticated")
    assert response.status_code == 401 and body["statusCode"] == 20


@pytest.mark.parametrize(
    "op", [o for o in OPERATIONS if o.method in ("POST", "PUT", "DELETE")], ids=lambda o: f"{o.method} {o.template}"
)
@pytest.mark.parametrize("kind,payload,content_type", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_the_envelope_and_change_nothing(
    app: Any, op: Any, kind: str, payload: bytes, content_type: str
) -> None:
    client = app.test_client()
    headers = {**(AGENT if op.template.startswith("/api/v2/me") else ADMIN), "Content-Type": content_type}
    before = snapshot(app)
    response = client.open(concrete(op.template), method=op.method, data=payload, headers=headers)
    body = assert_envelope(response, kind)
    if op.method == "DELETE" and kind == "empty" and op.template == "/api/v2/settings/{group}":
        assert body["statusCode"] == 3  # deleting the system voice group is forbidden
    else:
        assert body["statusCode"] != 0, f"{kind} accepted by {op.method} {op.template}"
    assert snapshot(app) == before, "a refused request changed the world"
    if kind == "huge":
        assert response.status_code in (413, 404, 401), response.status_code


@pytest.mark.parametrize("op", [o for o in OPERATIONS if "{" in o.template], ids=lambda o: f"{o.method} {o.template}")
def test_unknown_ids_are_not_found(app: Any, op: Any) -> None:
    client = app.test_client()
    path = op.template
    for name in ("{id}", "{dispositionId}"):
        path = path.replace(name, "0000-no-such-id")
    path = path.replace("{group}", "no-such-group").replace("{transport}", "connect")
    if path.startswith("/api/v2/notifications"):
        return
    headers = AGENT if path.startswith("/api/v2/me") else ADMIN
    before = snapshot(app)
    body = {"operationName": "Hold"} if op.method != "GET" else None
    response = client.open(path, method=op.method, json=body, headers=headers)
    result = assert_envelope(response, "unknown id")
    assert result["statusCode"] in (1, 6, 10), result
    assert snapshot(app) == before
