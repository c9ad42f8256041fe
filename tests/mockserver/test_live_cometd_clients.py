"""Real CometD clients against the real mock: the official JavaScript client (npm cometd +
cometd-nodejs-client, run by Node) and aiocometd-ng receive the CallStateChangeMessages of a Dial,
and the official client re-handshakes by itself after `402::Unknown client` (003 l.1494-1567)."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_mock import running_mock

ROOT = Path(__file__).resolve().parents[2]
JS_CLIENT = ROOT / "tests" / "mockserver" / "cometd" / "js_client.mjs"
CALLER = ("paveld@redwings.com", "password")  # device 5000
CALLEE = ("jsmith@uppercape.ca", "password")  # device 5001
CALLER_DEVICE = "74152ed8-858f-4a33-9e96-36213a678d30"

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "cometd").is_dir(),
    reason="the official CometD client needs Node and `make setup` (node_modules/cometd)",
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_mock() as url:
        yield url


def dial_and_answer(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.post(
            f"/api/v2/me/devices/{CALLER_DEVICE}/calls",
            auth=CALLER,
            json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
        ).json() == {"statusCode": 0}
        calls = client.get("/api/v2/me/calls?fields=*", auth=CALLEE).json()["calls"]
        call_id = calls[0]["id"]
        assert client.post(f"/api/v2/me/calls/{call_id}", auth=CALLEE, json={"operationName": "Answer"}).json() == {
            "statusCode": 0
        }
        client.post(f"/api/v2/me/calls/{call_id}", auth=CALLER, json={"operationName": "Hangup"})
        return call_id


def start_js(base: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", str(JS_CLIENT), f"{base}/api/v2/notifications", ":".join(CALLER), "/v2/me/calls", str(count), "20000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_subscribed(process: subprocess.Popen[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if "subscribe" in line and "true" in line.lower():
            return
    pytest.fail("the JS client never subscribed")


@needs_node
def test_official_js_client_receives_the_call_state_changes_of_a_dial(base: str) -> None:
    process = start_js(base, 3)
    wait_subscribed(process)
    call_id = dial_and_answer(base)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    states = [
        (m["channel"], m["data"]["messageType"], m["data"]["call"]["id"], m["data"]["call"]["state"]) for m in messages
    ]
    assert states == [
        ("/v2/me/calls", "CallStateChangeMessage", call_id, "Dialing"),
        ("/v2/me/calls", "CallStateChangeMessage", call_id, "Established"),
        ("/v2/me/calls", "CallStateChangeMessage", call_id, "Released"),
    ]
    assert messages[0]["data"]["call"]["uri"] == f"{base}/api/v2/me/calls/{call_id}"


@needs_node
def test_official_js_client_rehandshakes_after_unknown_client(base: str) -> None:
    process = start_js(base, 1)
    wait_subscribed(process)
    # Reset drops every CometD session: the client's next connect gets 402::Unknown client.
    assert httpx.post(f"{base}/control/reset").status_code == 200
    assert process.stderr is not None
    for line in process.stderr:
        if "handshake" in line and "true" in line.lower():
            break
    else:
        pytest.fail("the JS client did not handshake again")
    wait_subscribed(process)
    call_id = dial_and_answer(base)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert json.loads(out.splitlines()[0])["data"]["call"]["id"] == call_id


def test_aiocometd_ng_receives_the_call_state_changes_of_a_dial(base: str) -> None:
    aiocometd = pytest.importorskip("aiocometd_ng", reason="aiocometd-ng is installed by `make setup` (dev extra)")
    from aiocometd_ng.extensions import Extension

    class BasicAuth(Extension):
        """aiocometd-ng has no header option: an extension adds HTTP Basic to every request, as GWS expects."""

        async def outgoing(self, payload: Any, headers: Any) -> None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(CALLER).encode()).decode()

        async def incoming(self, payload: Any, headers: Any = None) -> None:
            return None

    async def scenario() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda lp, ctx: (
                None if isinstance(ctx.get("exception"), asyncio.CancelledError) else lp.default_exception_handler(ctx)
            )
        )
        received: list[dict[str, Any]] = []
        # connection_timeout=0: its reconnection watchdog uses an asyncio API removed in Python 3.10.
        async with aiocometd.Client(
            f"{base}/api/v2/notifications",
            connection_types=[aiocometd.ConnectionType.LONG_POLLING],
            extensions=[BasicAuth()],
            connection_timeout=0,
        ) as client:
            await client.subscribe("/v2/me/calls")
            await loop.run_in_executor(None, dial_and_answer, base)
            async for message in client:
                received.append(message)
                if len(received) == 3:
                    break
        return received

    messages = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert [m["data"]["call"]["state"] for m in messages] == ["Dialing", "Established", "Released"]
