"""``voicekit proxy`` between real clients and the mock: traffic unchanged, every system observed (REST, the CometD
stream with the official JavaScript client and aiocometd-ng, the official Genesys Cloud SDK, a bus WebSocket
client), the report listing the operations seen — and, in front of a seeded deviation, naming the broken rule
with the exchange."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.launcher import MockProcess
from conformance.loading import default_contracts
from conformance.proxy.observer import Observer
from conformance.proxy.report import write
from conformance.proxy.server import ProxyServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE / "families"))
from faulty_proxy import FaultyProxy  # noqa: E402

JS_CLIENT = ROOT / "tests" / "mockserver" / "cometd" / "js_client.mjs"
CALLER = ("paveld@redwings.com", "password")  # device 5000
CALLEE = ("jsmith@uppercape.ca", "password")  # device 5001
CALLER_DEVICE = "74152ed8-858f-4a33-9e96-36213a678d30"
#: Every documented alternative the mock implements (mockserver/variants.py), all at once.
VARIANTS = (
    "device-capabilities-as-printed",
    "mute-silent",
    "merge-as-printed",
    "swap-retrieved-first",
    "notready-display-name",
    "mute-on-two-party",
    "offline-logout",
    "no-me-agent-states",
    "platform-error-texts",
)


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    with MockProcess(csrf=False) as process:
        assert process.base_url is not None
        yield process.base_url


class Proxy:
    """The proxy in this process, in front of ``upstream``."""

    def __init__(self, upstream: str, *, timeout: float = 3.0) -> None:
        self.lines: list[str] = []
        self.observer = Observer(default_contracts(), notification_timeout=timeout, on_line=self.lines.append)
        self.server = ProxyServer(("127.0.0.1", 0), upstream, self.observer)
        self.server.serve_in_thread()
        self.url = self.server.url

    def close(self) -> dict[str, Any]:
        self.server.shutdown()
        self.server.server_close()
        self.observer.finish(wait=3.0)
        return self.observer.summary()


@pytest.fixture
def proxy(mock: str) -> Iterator[Proxy]:
    httpx.post(f"{mock}/control/reset", timeout=10)
    running = Proxy(mock)
    yield running
    running.close()


def dial_answer_hold_hangup(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.post(
            f"/api/v2/me/devices/{CALLER_DEVICE}/calls",
            auth=CALLER,
            json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
        ).json() == {"statusCode": 0}
        call_id = client.get("/api/v2/me/calls?fields=*", auth=CALLEE).json()["calls"][0]["id"]
        for user, operation in ((CALLEE, "Answer"), (CALLEE, "Hold"), (CALLEE, "Retrieve"), (CALLER, "Hangup")):
            answer = client.post(f"/api/v2/me/calls/{call_id}", auth=user, json={"operationName": operation})
            assert answer.json() == {"statusCode": 0}, (operation, answer.text)
        return call_id


def watch_calls_while(url: str, action: Any, count: int = 5) -> list[dict[str, Any]]:
    """aiocometd-ng subscribed to the callee's /v2/me/calls through ``url`` while ``action(url)`` runs; returns the
    first ``count`` messages."""
    aiocometd = pytest.importorskip("aiocometd_ng", reason="aiocometd-ng is installed by `make setup` (dev extra)")
    from aiocometd_ng.extensions import Extension

    class BasicAuth(Extension):
        """aiocometd-ng has no header option: an extension adds HTTP Basic to every request, as GWS expects."""

        async def outgoing(self, payload: Any, headers: Any) -> None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(CALLEE).encode()).decode()

        async def incoming(self, payload: Any, headers: Any = None) -> None:
            return None

    async def scenario() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        received: list[dict[str, Any]] = []
        async with aiocometd.Client(
            f"{url}/api/v2/notifications",
            connection_types=[aiocometd.ConnectionType.LONG_POLLING],
            extensions=[BasicAuth()],
            connection_timeout=0,
        ) as client:
            await client.subscribe("/v2/me/calls")
            await loop.run_in_executor(None, action, url)
            async for message in client:
                received.append(message)
                if len(received) == count:
                    break
        return received

    return asyncio.run(asyncio.wait_for(scenario(), 60))


def test_rest_traffic_passes_unchanged(mock: str, proxy: Proxy) -> None:
    host = httpx.URL(mock).netloc.decode()
    requests = [
        ("GET", "/api/v2/diagnostics/version", None),
        ("GET", "/api/v2/me", None),
        ("GET", "/api/v2/me/devices?fields=*", None),
        ("GET", "/api/v2/nowhere", None),
        ("POST", "/api/v2/me/channels/voice", {"operationName": "NotReady"}),
        ("POST", "/api/v2/me/channels/voice", {"operationName": 7}),
    ]
    for method, path, body in requests:
        direct = httpx.request(method, f"{mock}{path}", json=body, auth=CALLER, timeout=10)
        relayed = httpx.request(
            method, f"{proxy.url}{path}", json=body, auth=CALLER, headers={"Host": host}, timeout=10
        )
        assert (relayed.status_code, relayed.content) == (direct.status_code, direct.content), path
        assert relayed.headers.get("content-type") == direct.headers.get("content-type")
    summary = proxy.close()
    assert {"gws.getVersion", "gws.getMe", "gws.listMyDevices", "gws.NotReady"} <= set(summary["operations"]), summary[
        "operations"
    ]
    rules = {f["rule"] for f in summary["findings"] if f["level"] == "violation"}
    assert rules == {"contract.operation", "contract.request-body"}, summary["findings"]
    assert any("✗" in line for line in proxy.lines) and any("✓" in line for line in proxy.lines)


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "cometd").is_dir(),
    reason="the official CometD client needs Node and `make setup` (node_modules/cometd)",
)
def test_official_cometd_client_through_the_proxy(proxy: Proxy) -> None:
    process = subprocess.Popen(
        ["node", str(JS_CLIENT), f"{proxy.url}/api/v2/notifications", ":".join(CALLEE), "/v2/me/calls", "5", "30000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "subscribe" in line and "true" in line.lower():
            break
    call_id = dial_answer_hold_hangup(proxy.url)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    states = [json.loads(line)["data"]["call"]["state"] for line in out.splitlines() if line.strip()]
    assert states == ["Ringing", "Established", "Held", "Established", "Released"]
    assert json.loads(out.splitlines()[0])["data"]["call"]["uri"] == f"{proxy.url}/api/v2/me/calls/{call_id}"
    summary = proxy.close()
    assert summary["violations"] == 0, summary["findings"]
    seen = set(summary["operations"])
    assert {"gws.Dial", "gws.Answer", "gws.Hold", "gws.Retrieve", "gws.Hangup"} <= seen, seen
    assert any(op.startswith("gws./meta/handshake") for op in seen), seen
    assert summary["rules"]["GWS-CALL-NOTIFIED"]["exercised"] >= 3
    assert summary["rules"]["BAYEUX-HANDSHAKE"]["exercised"] >= 1


def test_aiocometd_ng_through_the_proxy(proxy: Proxy) -> None:
    messages = watch_calls_while(proxy.url, dial_answer_hold_hangup)
    assert [m["data"]["call"]["state"] for m in messages] == [
        "Ringing",
        "Established",
        "Held",
        "Established",
        "Released",
    ]
    summary = proxy.close()
    assert summary["violations"] == 0, summary["findings"]


def test_genesys_cloud_sdk_through_the_proxy(mock: str, proxy: Proxy) -> None:
    sdk = pytest.importorskip("PureCloudPlatformClientV2", reason="the SDK is installed by `make setup` (dev extra)")
    from PureCloudPlatformClientV2.rest import ApiException

    client = sdk.ApiClient(host=f"{proxy.url}/platform")
    client.get_client_credentials_token("3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a01", "data-action-secret")
    definitions = sdk.PresenceApi(client).get_presencedefinitions()
    assert definitions.entities
    body = sdk.CreateCallRequest()
    body.phone_number = "+13175550100"
    with pytest.raises(ApiException) as refused:  # a client-credentials token cannot place a call (000 l.86-99)
        sdk.ConversationsApi(client).post_conversations_calls(body)
    assert refused.value.status == 400
    summary = proxy.close()
    seen = set(summary["operations"])
    assert {"platform.postOauthToken", "platform.getPresencedefinitions", "platform.postConversationsCalls"} <= seen, (
        seen
    )
    assert summary["violations"] == 0, summary["findings"]
    assert "data-action-secret" not in json.dumps(summary)


def test_bus_frames_through_the_proxy(mock: str, proxy: Proxy) -> None:
    from websockets.sync.client import connect

    request = {
        "channel": "Amazon",
        "topic": "Agent",
        "subtopic": "SetNotReady",
        "source": "app",
        "data": {"ReasonCodeId": "1"},
    }
    answers = {}
    for name, base in (("direct", mock), ("proxy", proxy.url)):
        httpx.post(f"{mock}/control/reset", timeout=10)
        with connect(
            base.replace("http", "ws") + "/connect/agents/jsmith/bus",
            open_timeout=10,
            additional_headers={"Authorization": "Bearer jsmith-bus-token"},
        ) as socket:
            socket.send(json.dumps(request))
            answers[name] = json.loads(socket.recv(timeout=10))
    assert answers["proxy"] == answers["direct"]
    summary = proxy.close()
    assert summary["operations"].get("connect.SetNotReady") == 1, summary["operations"]
    assert summary["violations"] == 0, summary["findings"]


def test_a_seeded_deviation_is_named_with_its_exchange(mock: str, tmp_path: Path) -> None:
    """Held calls notified as Established (a fault the documents forbid: 003 l.5253-5326): the report names
    GWS-CALL-NOTIFIED with the Hold exchange."""
    httpx.post(f"{mock}/control/reset", timeout=10)
    with FaultyProxy(mock, "hold-wrong-state") as faulty:
        running = Proxy(faulty.url, timeout=2.0)
        watch_calls_while(running.url, dial_answer_hold_hangup)
        summary = running.close()
    broken = [f for f in summary["findings"] if f["level"] == "violation"]
    assert {f["rule"] for f in broken} >= {"GWS-CALL-NOTIFIED"}, broken
    finding = next(f for f in broken if f["rule"] == "GWS-CALL-NOTIFIED")
    assert "Hold" in finding["message"]
    exchange = next(x for x in summary["evidence"] if x["id"] == finding["exchange"])
    assert exchange["operation"] == "Hold" and exchange["method"] == "POST"
    paths = write(summary, tmp_path, upstream=faulty.url)
    text = (tmp_path / "proxy-report.md").read_text(encoding="utf-8")
    assert "GWS-CALL-NOTIFIED" in text and "violations found" in text
    assert 'failures="1"' in (tmp_path / "junit.xml").read_text(encoding="utf-8") or "failure" in (
        tmp_path / "junit.xml"
    ).read_text(encoding="utf-8")
    assert len(paths) == 4


def test_an_error_sent_with_http_200_is_caught(mock: str) -> None:
    """A refused operation answered 200 (E001 maps statusCode 2 to HTTP 400): the contract rule names it."""
    running = Proxy(mock)
    with httpx.Client(base_url=running.url, timeout=10) as client:
        client.post("/api/v2/me/channels/voice", auth=CALLER, json={"operationName": "Ready"})
    # A fake upstream that answers every request 200 with an error body.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class ErrorAs200(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"statusCode": 2, "statusMessage": "Invalid state"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), ErrorAs200)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        wrong = Proxy(f"http://127.0.0.1:{upstream.server_address[1]}")
        answer = httpx.post(f"{wrong.url}/api/v2/me/calls/abc", auth=CALLER, json={"operationName": "Hold"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["statusCode"] == 2, "relayed unchanged"
        summary = wrong.close()
    finally:
        upstream.shutdown()
        running.close()
    rules = {f["rule"] for f in summary["findings"] if f["level"] == "violation"}
    assert "contract.response-body" in rules, summary["findings"]


def test_recorded_exchanges_validate_and_replay(mock: str, tmp_path: Path) -> None:
    """--record: the exchanges become fixtures (source: recorded, secrets redacted); `voicekit validate --fixtures`
    accepts them and `voicekit certify --replay` replays them against another target (a fresh mock)."""
    from conformance.proxy.recorder import Recorder

    httpx.post(f"{mock}/control/reset", timeout=10)
    running = Proxy(mock)
    running.observer.recorder = Recorder(tmp_path / "recorded", running.url)
    with httpx.Client(base_url=running.url, timeout=10) as client:
        assert client.get("/api/v2/diagnostics/version").status_code == 200
        assert client.get("/api/v2/me", auth=CALLER).status_code == 200
        assert client.post("/api/v2/me/channels/voice", auth=CALLER, json={"operationName": "Ready"}).status_code == 200
        client.post("/api/v2/me/channels/voice", auth=CALLER, json={"operationName": "NotReady"})
        client.get("/api/v2/nowhere", auth=CALLER)  # undocumented: not recorded
    running.close()
    recorder = running.observer.recorder
    assert recorder.written == 4 and recorder.skipped == 1
    files = sorted((tmp_path / "recorded" / "gws").glob("*.yaml"))
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)
    assert "recorded:" in text and "password" not in text
    validate = subprocess.run(
        [sys.executable, "-m", "voicekit", "validate", "--fixtures", str(tmp_path / "recorded")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout[-2000:]
    assert "fixtures: 196 " in validate.stdout and "problems: 0" in validate.stdout, validate.stdout[-500:]
    # A recording that expects a member the target does not send must fail its replay.
    tampered = (
        files[1]
        .read_text(encoding="utf-8")
        .replace("-getme", "-tampered")
        .replace("    statusCode: 0\n", "    statusCode: 0\n    notSentByAnyone: 1\n", 1)
    )
    (tmp_path / "recorded" / "gws" / "99999-tampered.yaml").write_text(tampered, encoding="utf-8")
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicekit",
            "certify",
            "--target",
            "mock",
            "--profile",
            "gws-samples",
            "--replay",
            str(tmp_path / "recorded"),
            "--report-dir",
            str(tmp_path / "report"),
            "--",
            "-k",
            "recorded",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    certificate = json.loads((tmp_path / "report" / "certificate.json").read_text(encoding="utf-8"))
    assert certificate["totals"].get("passed") == 4, (certificate["totals"], replay.stdout[-3000:])
    assert certificate["totals"].get("failed") == 1 and "tampered" in json.dumps(certificate["failures"])


def test_a_documented_variant_shows_no_violation() -> None:
    """In front of a mock that follows the documents' other readings (every variant: capabilities as printed,
    no mute notification, swap order of the stand-alone sample…), the same client session raises no violation:
    the proxy judges with the suite's tolerance."""
    import mockserver.variants

    assert set(VARIANTS) == set(mockserver.variants.VARIANTS), "keep VARIANTS in step with the registry"
    with MockProcess(csrf=False, variants=VARIANTS) as process:
        assert process.base_url is not None
        running = Proxy(process.base_url, timeout=2.0)
        watch_calls_while(running.url, dial_answer_hold_hangup)
        with httpx.Client(base_url=running.url, timeout=10) as client:
            for operation in ("Ready", "NotReady"):
                client.post("/api/v2/me/channels/voice", auth=CALLER, json={"operationName": operation})
            client.get("/api/v2/settings/agent-states", auth=CALLER)
        summary = running.close()
    assert summary["violations"] == 0, summary["findings"]
    assert summary["exchanges"] > 10
