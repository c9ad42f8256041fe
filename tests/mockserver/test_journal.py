"""The request journal over the wire: every request recorded with its contract verdict (and the document lines of
the operation it breaks), counts that verify what an application sent, a bounded size, and no secret in it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from live_mock import running_mock
from websockets.sync.client import connect as ws_connect

AGENT = ("paveld@redwings.com", "password")
DATA_ACTION = ("3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a01", "data-action-secret")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_mock("--journal-size", "50") as url:
        yield url


@pytest.fixture(autouse=True)
def _clear(base: str) -> None:
    assert httpx.delete(f"{base}/control/journal", timeout=10).status_code == 200


def _journal(base: str, **filters: str) -> dict:
    answer = httpx.get(f"{base}/control/journal", params=filters, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _count(base: str, **filters: object) -> int:
    answer = httpx.post(f"{base}/control/journal/count", json=filters, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["count"]


def test_a_malformed_request_shows_its_violated_rule_and_document_lines(base: str) -> None:
    """A Dial without a destination is refused by the mock — and the journal says which contract rule the
    request broke and where the operation is documented."""
    me = httpx.get(f"{base}/api/v2/me/devices", params={"fields": "*"}, auth=AGENT, timeout=10).json()
    device = me["devices"][0]["id"]
    refused = httpx.post(
        f"{base}/api/v2/me/devices/{device}/calls",
        auth=AGENT,
        timeout=10,
        json={"operationName": "Dial", "destination": {"phoneNumber": 5001}},
    )
    assert refused.status_code == 400
    entry = _journal(base, verdict="violation")["entries"][0]
    assert entry["path"] == f"/api/v2/me/devices/{device}/calls"
    assert entry["user"] == AGENT[0] and entry["status"] == 400 and entry["operationName"] == "Dial"
    violation = entry["verdict"]["violations"][0]
    assert violation["rule"] == "contract.request-body" and violation["side"] == "request"
    assert "phoneNumber" in violation["message"]
    assert any(s["document"].startswith("003_") and s["lines"] for s in violation["sources"]), violation


def test_well_formed_requests_are_ok_and_counted(base: str) -> None:
    for operation in ("Ready", "NotReady", "Ready"):
        answer = httpx.post(
            f"{base}/api/v2/me/channels/voice", auth=AGENT, json={"operationName": operation}, timeout=10
        )
        assert answer.status_code == 200, answer.text
    assert _count(base, operationName="Ready") == 2
    assert _count(base, operationName="NotReady", user=AGENT[0], verdict="ok") == 1
    assert _count(base, operationName="Ready", verdict="violation") == 0
    assert _count(base, system="platform") == 0
    listing = _journal(base, operation="postAgentStateOperation")
    assert listing["total"] == 3 and all(e["verdict"]["ok"] for e in listing["entries"])
    assert listing["entries"][0]["id"] > listing["entries"][-1]["id"], "newest first"


def test_unknown_paths_and_bad_filters(base: str) -> None:
    assert httpx.get(f"{base}/api/v2/no/such/thing", auth=AGENT, timeout=10).status_code == 404
    assert _count(base, rule="contract.operation") == 1
    bad = httpx.post(f"{base}/control/journal/count", json={"colour": "red"}, timeout=10)
    assert bad.status_code == 400 and "colour" in bad.json()["error"]
    assert (
        httpx.post(
            f"{base}/control/journal/count", content=b"[", headers={"Content-Type": "application/json"}, timeout=10
        ).status_code
        == 400
    )
    assert httpx.get(f"{base}/control/journal", params={"limit": "x"}, timeout=10).status_code == 400


def test_the_journal_stays_bounded(base: str) -> None:
    for _ in range(70):
        httpx.get(f"{base}/api/v2/diagnostics/version", timeout=10)
    listing = _journal(base, limit="1000")
    assert listing["size"] == 50 and listing["total"] == 50 and listing["dropped"] >= 20


def test_no_credential_or_token_appears_in_it(base: str) -> None:
    token = httpx.post(
        f"{base}/platform/oauth/token", data={"grant_type": "client_credentials"}, auth=DATA_ACTION, timeout=10
    )
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    httpx.get(f"{base}/platform/api/v2/users/me", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    httpx.get(f"{base}/api/v2/me", auth=AGENT, timeout=10)
    httpx.get(f"{base}/api/v2/me", auth=("paveld@redwings.com", "wrong-password"), timeout=10)
    with ws_connect(
        base.replace("http", "ws") + "/connect/agents/jsmith/bus?access_token=jsmith-bus-token", open_timeout=10
    ) as socket:
        socket.send(
            json.dumps(
                {
                    "channel": "Amazon",
                    "topic": "Agent",
                    "subtopic": "SetNotReady",
                    "source": "app",
                    "data": {"ReasonCodeId": "1"},
                    "password": "in-a-frame",
                }
            )
        )
    text = json.dumps(_journal(base, limit="1000"))
    basic = base64.b64encode(f"{AGENT[0]}:{AGENT[1]}".encode()).decode()
    for secret in (access, DATA_ACTION[1], "wrong-password", basic, "in-a-frame", "jsmith-bus-token"):
        assert secret not in text, f"{secret[:6]}… is in the journal"
    assert _count(base, system="platform") >= 2


def test_bus_frames_are_journaled_with_their_verdict(base: str) -> None:
    agent = httpx.get(f"{base}/connect/agents", timeout=10).json()["agents"][0]["id"]
    with ws_connect(
        base.replace("http", "ws") + f"/connect/agents/{agent}/bus",
        open_timeout=10,
        additional_headers={"Authorization": f"Bearer {agent}-bus-token"},
    ) as socket:
        socket.send(
            json.dumps(
                {
                    "channel": "Amazon",
                    "topic": "Agent",
                    "subtopic": "SetNotReady",
                    "source": "app",
                    "data": {"ReasonCodeId": "1"},
                }
            )
        )
        socket.send(json.dumps({"channel": "Amazon", "topic": "Agent"}))
    entries = _journal(base, system="connect")["entries"]
    assert {e["operation"] for e in entries} >= {"SetNotReady"}
    assert any(not e["verdict"]["ok"] for e in entries), entries
