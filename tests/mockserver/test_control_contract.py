"""The control API and its contract (specs/control.openapi.yaml): every route the mock serves is described, every
described path is served, answers match the document, and a request the document refuses gets its ControlError."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from voicekit.contracts import Contracts, shared_contracts

PREFIX = "/control"


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return shared_contracts()


def _shape(template: str) -> str:
    """A path template with its parameters unnamed: Flask's ``<id>`` and OpenAPI's ``{id}`` compare equal."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", template)


def served(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == PREFIX or rule.rule.startswith(PREFIX + "/"):
            for method in rule.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    routes.add((method, _shape(rule.rule[len(PREFIX) :])))
    return routes


def described(contracts: Contracts) -> set[tuple[str, str]]:
    return {(op.method, _shape(op.template)) for op in contracts.operations["control"]}


def test_every_served_control_route_is_described_and_every_described_one_is_served(
    app: Flask, contracts: Contracts
) -> None:
    routes, spec = served(app), described(contracts)
    assert len(routes) >= 40
    assert routes - spec == set(), "control routes missing from specs/control.openapi.yaml"
    assert not spec - routes, "described in specs/control.openapi.yaml but not served"


# (method, path, body): one request per kind of answer, each checked against the document's schema for its status.
EXCHANGES: list[tuple[str, str, Any]] = [
    ("GET", "/state", None),
    ("GET", "/variants", None),
    ("GET", "/stats", None),
    ("GET", "/journal?limit=5", None),
    ("POST", "/journal/count", {"system": "gws"}),
    ("POST", "/journal/find", {"limit": 2}),
    ("DELETE", "/journal", None),
    ("GET", "/scenario", None),
    ("DELETE", "/scenario", None),
    ("POST", "/gws/calls", {"from": "+15550001111", "to": "5000"}),
    ("POST", "/gws/calls/nope/hangup", None),
    ("PUT", "/gws/services/voice", {"state": "Active"}),
    ("POST", "/gws/faults", {"kind": "latency", "delayMs": 1}),
    ("GET", "/gws/reporting-events", None),
    ("GET", "/gws/push/nobody", None),
    ("GET", "/platform/settings", None),
    ("PUT", "/platform/settings", {"heartbeatSeconds": 5}),
    ("GET", "/platform/rate-limit", None),
    ("GET", "/platform/users", None),
    ("GET", "/platform/users/nobody", None),
    ("PUT", "/platform/login", {"user": None}),
    ("POST", "/platform/clients", {"grants": ["client_credentials"], "secret": "s"}),
    ("POST", "/platform/channels/nope/expire", None),
    ("GET", "/platform/conversations/nope", None),
    ("POST", "/connect/agents", {"id": "contract-agent"}),
    ("POST", "/connect/agents/nobody/calls", {"from": "+15550001111"}),
    ("POST", "/reset", None),
]


@pytest.mark.parametrize(("method", "path", "body"), EXCHANGES, ids=[f"{m} {p}" for m, p, _ in EXCHANGES])
def test_answers_match_the_document(
    client: FlaskClient, contracts: Contracts, method: str, path: str, body: Any
) -> None:
    response = client.open(PREFIX + path, method=method, json=body)
    op = contracts.find_operation("control", method, path.partition("?")[0])
    assert op is not None
    assert str(response.status_code) in contracts.declared_statuses(op), (response.status_code, response.get_json())
    refs = contracts.response_schema_refs(op, response.status_code)
    assert refs, f"{op.operation_id} {response.status_code}: no schema"
    assert contracts.errors(refs[0], response.get_json()) == [], response.get_json()


# Requests the document refuses: (method, path, body or raw bytes, content type, status).
REFUSED: list[tuple[str, str, Any, str, int]] = [
    ("PUT", "/gws/services/voice", {"state": "Down"}, "application/json", 400),
    ("PUT", "/gws/services/voice", None, "application/json", 400),
    ("POST", "/gws/calls/abc/explode", None, "application/json", 400),
    ("POST", "/gws/faults", {"delayMs": "soon"}, "application/json", 400),
    ("POST", "/gws/calls", b'{"from": "+1555", "to": ', "application/json", 400),
    ("POST", "/gws/calls", b"[1, 2]", "application/json", 400),
    ("GET", "/journal?limit=many", None, "application/json", 400),
    ("POST", "/journal/count", {"colour": "red"}, "application/json", 400),
    ("PUT", "/variants", {"variants": 7}, "application/json", 400),
    ("PUT", "/state", {"gws": "everything"}, "application/json", 400),
    ("PUT", "/platform/settings", {"rateLimit": "lots"}, "application/json", 400),
    ("POST", "/platform/users/x/phone/explode", None, "application/json", 400),
    ("POST", "/platform/tokens", {"userId": "u"}, "application/json", 400),
    ("PUT", "/connect/agents/a/state", {"label": ["Available"]}, "application/json", 400),
    ("POST", "/connect/agents/a/calls", {"from": "+1555", "ringTimeout": -1}, "application/json", 400),
    ("PUT", "/variants", b"variants: []", "application/yaml", 415),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status"), REFUSED, ids=[f"{r[0]} {r[1]} {r[4]}" for r in REFUSED]
)
def test_a_request_the_document_refuses_gets_the_control_error(
    client: FlaskClient, contracts: Contracts, method: str, path: str, body: Any, content_type: str, status: int
) -> None:
    before = client.get(PREFIX + "/state").get_json()
    if isinstance(body, bytes) or body is None:
        response = client.open(PREFIX + path, method=method, data=body or b"", content_type=content_type)
    else:
        response = client.open(PREFIX + path, method=method, json=body)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()
    ref = contracts.uri_of("control.openapi.yaml") + "#/components/schemas/ControlError"
    assert contracts.errors(ref, error) == [] and error["status"] == status
    assert client.get(PREFIX + "/state").get_json() == before, "a refused control request changed the world"


CAROL = "0f4b1cf4-0000-4000-8000-000000000003"  # Platform, managed phone (mockserver/seed/default.yaml)
SUPPORT = "5e6f7a8b-0000-4000-8000-00000000000a"


def test_a_day_of_control_requests_matches_the_document(client: FlaskClient, contracts: Contracts) -> None:
    """Requests that need state (calls, agents, tokens, snapshots, scenarios): each answer against its schema."""

    def send(method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = client.open(PREFIX + path, method=method, json=body, **kwargs)
        op = contracts.find_operation("control", method, path)
        assert op is not None and str(response.status_code) in contracts.declared_statuses(op), response.get_json()
        [ref] = contracts.response_schema_refs(op, response.status_code)[:1]
        data = response.get_json()
        assert contracts.errors(ref, data) == [], (path, data)
        return data

    gws_call = send("POST", "/gws/calls", {"from": "+15550001111", "to": "5000", "userData": {"k": "v"}})
    send("POST", f"/gws/calls/{gws_call['callId']}/hangup")
    send("POST", "/gws/agents", {"userName": "contract@example.com", "phoneNumber": "5099"})
    send("PUT", "/gws/services/voice", {"state": "Inactive"})
    send("PUT", "/state", send("GET", "/state"))
    send("PUT", "/variants", {"variants": []})
    platform_call = send("POST", f"/platform/users/{CAROL}/calls", {"from": "+15550002222"})
    send("GET", f"/platform/conversations/{platform_call['conversationId']}")
    send("POST", f"/platform/conversations/{platform_call['conversationId']}/remote/hangup")
    send("POST", f"/platform/queues/{SUPPORT}/calls", {"from": "+15550004444"})
    send("POST", f"/platform/users/{CAROL}/callbacks", {"numbers": ["+15550003333"]})
    send("PUT", f"/platform/users/{CAROL}/phone", {"type": "managed", "allowPlacingCalls": True})
    send("PUT", f"/platform/users/{CAROL}/persistent-connection", {"active": False})
    send("PUT", f"/platform/users/{CAROL}/presence", {"systemPresence": "Available"})
    send("POST", "/platform/users", {"name": "Contract User", "phone": {"type": "remote"}})
    created = send("POST", "/platform/clients", {"grants": ["implicit"], "redirectUris": ["http://localhost/cb"]})
    send("POST", "/platform/tokens", {"clientId": created["id"], "userId": CAROL, "scopes": ["conversations"]})
    send("PUT", "/platform/login", {"user": CAROL})
    agent = send("POST", "/connect/agents", {"id": "contract-b", "state": "Available"})
    send("POST", f"/connect/agents/{agent['id']}/calls", {"from": "+15550005555", "ringTimeout": None})
    send("POST", f"/connect/agents/{agent['id']}/calls/current/hangup")
    send("PUT", f"/connect/agents/{agent['id']}/state", {"label": "Break"})
    scenario = Path(__file__).parents[2] / "examples" / "scenarios" / "busy-inbound-queue.yaml"
    yaml_text = scenario.read_text(encoding="utf-8")
    response = client.put(PREFIX + "/scenario", data=yaml_text, content_type="application/yaml")
    assert response.status_code == 200, response.get_json()
    send("GET", "/scenario")
    send("DELETE", "/scenario")
    send("POST", "/reset")
