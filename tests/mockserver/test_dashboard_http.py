"""The dashboard's data over HTTP: the page is public, its state and live stream need the control token when one
is set, and the stream carries notifications and journal entries as server-sent events."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from live_mock import running_mock

TOKEN = "dash-token"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_mock("--control-token", TOKEN) as url:
        yield url


def test_page_is_public_but_data_needs_the_token(base: str) -> None:
    page = httpx.get(f"{base}/dashboard", timeout=10)
    assert page.status_code == 200 and "voicekit mock" in page.text
    assert httpx.get(f"{base}/dashboard/static/dashboard.js", timeout=10).status_code == 200
    assert httpx.get(f"{base}/dashboard/state", timeout=10).status_code == 401
    assert httpx.get(f"{base}/dashboard/state", params={"token": "wrong"}, timeout=10).status_code == 401
    assert httpx.get(f"{base}/dashboard/state", params={"token": "dashé"}, timeout=10).status_code == 401
    state = httpx.get(f"{base}/dashboard/state", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert state.status_code == 200
    users = {a["userName"] for a in state.json()["gws"]["agents"]}
    assert "paveld@redwings.com" in users
    with httpx.stream("GET", f"{base}/dashboard/events", timeout=10) as refused:
        assert refused.status_code == 401


def test_the_stream_carries_notifications_and_journal_entries(base: str) -> None:
    events: list[tuple[str, dict]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{base}/dashboard/events", params={"token": TOKEN}, timeout=20) as stream:
            name = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    events.append((name, json.loads(line[6:])))
                    opened.set()
                    if {"notification", "journal"} <= {n for n, _ in events}:
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert opened.wait(10), "no hello event"
    ready = httpx.post(
        f"{base}/api/v2/me/channels/voice",
        json={"operationName": "Ready"},
        auth=("paveld@redwings.com", "password"),
        timeout=10,
    )
    assert ready.status_code == 200
    reader.join(15)
    names = [n for n, _ in events]
    assert names[0] == "hello" and "notification" in names and "journal" in names, names
    note = next(d for n, d in events if n == "notification")
    assert note["channel"] == "/v2/me/devices" and note["data"]["messageType"] == "DeviceStateChangeMessage"
    entry = next(d for n, d in events if n == "journal")
    assert entry["operationName"] == "Ready" and entry["ok"] is True
