"""The schema-fuzzing family and the Connect bus families, run as ``voicekit certify`` runs them — a pytest
subprocess with ``-p conformance.plugin`` — against the embedded mock and against deliberately broken targets.

Why subprocesses: the families must behave in a real run (plugin, target start-up, certificate, redaction), and a
broken target must make the *named* test fail with the named check, not merely "something".

Against the mock every fuzzed operation must pass (or be not run, with the reason, when destructive): each
defect the fuzzer once found in the mock (500s on odd operationNames and repeated query parameters, unvalidated
query syntax, malformed Bayeux replies) was fixed in the mock, never waived here.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask, Response, jsonify, request
from websockets.sync.server import Server, ServerConnection, serve
from werkzeug.serving import BaseWSGIServer, make_server

ROOT = Path(__file__).resolve().parents[3]
FAMILIES = ROOT / "conformance" / "families"
FUZZ = FAMILIES / "test_fuzz_openapi.py"
RULES = FAMILIES / "test_rules_connect.py"
SECURITY = FAMILIES / "test_rules_connect_security.py"
REPLAY = FAMILIES / "test_replay_connect.py"

AGENT = ("agent@broken.example", "s3cret-agent-pw")
PLATFORM_TOKEN = "tok-broken-0123456789"


# ---- running the suite ---------------------------------------------------------------------------------------------
@dataclass
class Run:
    process: subprocess.CompletedProcess[str]
    results: dict[str, dict[str, Any]]
    raw: str

    def outcome(self, name: str) -> str:
        assert name in self.results, f"{name} not run; ran {sorted(self.results)}\n{self.tail()}"
        return str(self.results[name]["outcome"])

    def tail(self) -> str:
        return (self.process.stdout[-3000:] + self.process.stderr[-2000:]).strip()


def run_suite(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """One conformance run in a subprocess; its results.ndjson by test name."""
    report = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "conformance.plugin",
        "-q",
        "-p",
        "no:cacheprovider",
        "--vk-report-dir",
        str(report),
        *args,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICEKIT_")}
    environment.update(env or {})
    process = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment, check=False
    )
    path = report / "results.ndjson"
    assert path.is_file(), f"no results written:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    raw = path.read_text(encoding="utf-8")
    results = {}
    for line in raw.splitlines():
        event = json.loads(line)
        if event.get("event") == "test-finished":
            results[event["name"]] = event
    return Run(process, results, raw)


def write_config(path: Path, tree: dict[str, Any]) -> Path:
    """A target configuration file (YAML takes the same tree as TOML)."""
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


def checks_of(result: dict[str, Any]) -> set[str]:
    return {c for c in str(result.get("check") or "").split(",") if c}


# ---- a broken GWS/Platform target (Flask) --------------------------------------------------------------------------
def broken_http_app() -> Flask:
    """Violates the contracts on purpose: getMe ignores authentication, listMyDevices answers 500, listMySkills an
    undocumented 418, listMyCalls a body without its required member; Platform getUsersMe ignores the token."""
    app = Flask("broken-target")
    expected = "Basic " + base64.b64encode(f"{AGENT[0]}:{AGENT[1]}".encode()).decode()

    def refused() -> Response | None:
        if request.headers.get("Authorization") == expected:
            return None
        response = jsonify({"statusCode": 20, "statusMessage": "User is not authenticated"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="GWS"'
        return response

    @app.get("/api/v2/diagnostics/version")
    def version() -> Response:
        return jsonify({"statusCode": 0, "version": "8.5.0-broken"})

    @app.get("/api/v2/me")
    def me() -> Response:  # no authentication at all
        return jsonify({"statusCode": 0, "user": {"id": "u1", "userName": AGENT[0]}})

    @app.get("/api/v2/me/devices")
    def devices() -> Response:
        response = refused() or jsonify({"statusCode": 4, "statusMessage": "boom"})
        if response.status_code == 200:
            response.status_code = 500
        return response

    @app.get("/api/v2/me/skills")
    def skills() -> Response:
        response = refused() or jsonify({"statusCode": 10, "statusMessage": "I am a teapot"})
        if response.status_code == 200:
            response.status_code = 418
        return response

    @app.get("/api/v2/me/calls")
    def calls() -> Response:
        return refused() or jsonify({"statusCode": 0})  # neither calls nor uris

    @app.get("/platform/api/v2/users/me")
    def platform_me() -> Response:  # no token needed
        return jsonify({"id": "0f4b1cf4-0000-4000-8000-0000000000aa", "name": "Broken User"})

    return app


@pytest.fixture
def broken_http() -> Iterator[str]:
    server: BaseWSGIServer = make_server("127.0.0.1", 0, broken_http_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="broken-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# ---- a broken Connect bus (websockets) ----------------------------------------------------------------------------
def documented_connected_event() -> dict[str, Any]:
    """004's Sample Response (fixture connect.inboundcall.answer-sample, step 2): a valid connected event."""
    fixture = yaml.safe_load((ROOT / "fixtures/connect/inboundcall/answer-sample.yaml").read_text(encoding="utf-8"))
    return fixture["steps"][1]["notifications"][1]["message"]


def broken_bus_handler(variant: str) -> Any:
    """``connected``: Answer is answered with the connected event although no call was offered; ``silent``:
    Answer is never answered (no ANSWER_CALL_FAILED). Agent Update is answered with SetAgentState."""
    connected = json.dumps(documented_connected_event())

    def handle(connection: ServerConnection) -> None:
        for frame in connection:
            try:
                message = json.loads(frame)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("topic") == "InboundCall" and message.get("subtopic") == "Answer":
                if variant == "connected":
                    connection.send(connected)
            elif message.get("topic") == "Agent" and message.get("subtopic") == "Update":
                connection.send(
                    json.dumps(
                        {
                            "channel": "Amazon",
                            "topic": "Agent",
                            "subtopic": "SetAgentState",
                            "message": message.get("data"),
                        }
                    )
                )

    return handle


@pytest.fixture
def broken_bus(request: pytest.FixtureRequest) -> Iterator[str]:
    server: Server = serve(broken_bus_handler(request.param), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="broken-bus", daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        yield f"ws://127.0.0.1:{port}/connect"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# ---- fuzzing ------------------------------------------------------------------------------------------------------
def test_fuzzing_against_the_mock(tmp_path: Path) -> None:
    """Every GWS and Platform operation is fuzzed and passes, or is not run because it is destructive; never a
    finding, never a kit error."""
    run = run_suite(
        tmp_path,
        str(FUZZ),
        "--vk-target",
        "mock",
        "--vk-profile",
        "gws-fuzz,platform-fuzz",
        env={"VOICEKIT_FUZZ_MAX_EXAMPLES": "10"},
    )
    gws = {n: r for n, r in run.results.items() if n.startswith("test_gws_operation[")}
    platform = {n: r for n, r in run.results.items() if n.startswith("test_platform_operation[")}
    assert len(gws) >= 40 and len(platform) >= 15, run.tail()
    bad = {
        n: (r["outcome"], r.get("check"), str(r.get("message") or r.get("reason"))[:400])
        for n, r in {**gws, **platform}.items()
        if not (r["outcome"] == "passed" or (r["outcome"] == "not-run" and "destructive" in str(r.get("reason"))))
    }
    assert not bad, bad
    passed = [n for n, r in gws.items() if r["outcome"] == "passed"]
    assert len(passed) >= 15, f"too few operations pass against the mock: {passed}"
    destructive = [r for n, r in gws.items() if r["outcome"] == "not-run"]
    assert destructive, "the destructive GWS operations must be held back without --vk-allow-destructive"
    assert run.outcome("test_gws_links") == "not-run"
    assert "destructive" in str(run.results["test_gws_links"]["reason"])


def test_fuzzing_finds_what_a_broken_target_breaks(tmp_path: Path, broken_http: str) -> None:
    """A 500, an undocumented status, a missing required member and ignored authentication each fail the named
    operation with the named check; the report reproduces them with curl, credentials masked."""
    config = write_config(
        tmp_path / "broken.yaml",
        {
            "target": {"name": "broken HTTP target"},
            "gws": {"url": broken_http, "csrf": "off", "agents": [{"username": AGENT[0], "password": AGENT[1]}]},
            "platform": {"url": f"{broken_http}/platform", "users": [{"token": PLATFORM_TOKEN}]},
            "timeouts": {"request": 5, "notification": 2},
        },
    )
    run = run_suite(
        tmp_path,
        str(FUZZ),
        "--vk-target",
        str(config),
        "--vk-profile",
        "gws-fuzz,platform-fuzz",
        "-k",
        "getMe or listMyDevices or listMySkills or listMyCalls or getUsersMe",
        env={"VOICEKIT_FUZZ_MAX_EXAMPLES": "5"},
    )
    expected = {
        "test_gws_operation[getMe]": "ignored_auth",
        "test_gws_operation[listMyDevices]": "not_a_server_error",
        "test_gws_operation[listMySkills]": "status_code_conformance",
        "test_gws_operation[listMyCalls]": "response_schema_conformance",
        "test_platform_operation[getUsersMe]": "ignored_auth",
    }
    for name, check in expected.items():
        assert run.outcome(name) == "failed", f"{name}: {run.results[name]}"
        result = run.results[name]
        assert check in checks_of(result), f"{name} failed with {result.get('check')}, not {check}"
        text = json.dumps(result)
        operation = name.split("[", 1)[1].rstrip("]")
        assert operation in text and "curl -X GET" in text, text[:1000]
    assert "Basic ***" in json.dumps(run.results["test_gws_operation[listMyDevices]"])
    assert "Bearer ***" in json.dumps(run.results["test_platform_operation[getUsersMe]"])
    certificate = (tmp_path / "report" / "certificate.json").read_text(encoding="utf-8")
    for secret in (AGENT[1], PLATFORM_TOKEN, base64.b64encode(f"{AGENT[0]}:{AGENT[1]}".encode()).decode()):
        assert secret not in run.raw and secret not in certificate, "a credential reached the report"
        assert secret not in run.process.stdout + run.process.stderr, "a credential reached the console"


# ---- the bus ------------------------------------------------------------------------------------------------------
def test_bus_families_against_the_mock(tmp_path: Path) -> None:
    """Every Connect rule and every documented bus sample passes against the mock."""
    run = run_suite(
        tmp_path, str(RULES), str(REPLAY), "--vk-target", "mock", "--vk-profile", "connect-bus,connect-samples"
    )
    names = sorted(run.results)
    assert len([n for n in names if n.startswith("test_replay[")]) == 3, names
    assert len(names) >= 20, names
    bad = {
        n: (r["outcome"], r.get("message") or r.get("reason"))
        for n, r in run.results.items()
        if r["outcome"] != "passed"
    }
    assert not bad, bad
    assert run.process.returncode == 0, run.tail()


@pytest.mark.parametrize("broken_bus", ["connected", "silent"], indirect=True)
def test_pending_busy_rule_fails_on_a_broken_bus(
    tmp_path: Path, broken_bus: str, request: pytest.FixtureRequest
) -> None:
    """A bus that answers Answer with connected without an incoming call, or never sends ANSWER_CALL_FAILED,
    fails the PendingBusy rule test and the replay of the documented failure; the rules that need an incoming
    call are not run (no control API) instead of passing."""
    config = write_config(
        tmp_path / "bus.yaml",
        {
            "target": {"name": "broken bus"},
            "connect": {"url": broken_bus, "agents": ["jsmith"]},
            "timeouts": {"request": 5, "notification": 2},
        },
    )
    run = run_suite(
        tmp_path, str(RULES), str(REPLAY), "--vk-target", str(config), "--vk-profile", "connect-bus,connect-samples"
    )
    rule = run.results.get("test_answer_without_incoming_call_fails")
    assert rule is not None and rule["outcome"] == "failed", run.tail()
    assert rule["rule"] == "CONNECT-ANSWER-001"
    variant = request.node.callspec.params["broken_bus"]
    if variant == "connected":
        assert "succeeded although its precondition does not hold" in str(rule["message"]), rule
    else:
        assert "no connect-bus notification" in str(rule["message"]), rule
        assert "InboundCall/AnswerFailed" in str(rule["message"]), rule
    replay = run.results["test_replay[connect.inboundcall.answer-call-failed]"]
    assert replay["outcome"] == "failed", replay
    needing_calls = run.results["test_answer_incoming_call_connects"]
    assert needing_calls["outcome"] == "not-run" and "event source" in str(needing_calls["reason"])
    assert run.process.returncode != 0


@pytest.mark.parametrize("broken_bus", ["connected"], indirect=True)
def test_bus_protection_rules_catch_an_open_bus(tmp_path: Path, broken_bus: str) -> None:
    """E516: a bus that admits any socket fails CONNECT-SEC-001/002 where the protection is required
    (connect.auth=on), and gets advisory findings, not failures, where the documents leave it open (auto)."""
    for auth, outcome in (("on", "failed"), ("auto", "passed")):
        config = write_config(
            tmp_path / f"bus-{auth}.yaml",
            {
                "target": {"name": "open bus"},
                "connect": {"url": broken_bus, "agents": ["jsmith"], "auth": auth},
                "timeouts": {"request": 5, "notification": 2},
            },
        )
        run = run_suite(tmp_path / auth, str(SECURITY), "--vk-target", str(config), "--vk-profile", "connect-bus")
        for name, rule in (
            ("test_a_socket_without_the_credential_is_refused", "CONNECT-SEC-001"),
            ("test_a_foreign_origin_is_refused", "CONNECT-SEC-002"),
        ):
            result = run.results[name]
            assert result["outcome"] == outcome, (auth, name, result)
            if outcome == "failed":
                assert result["rule"] == rule
            else:
                assert result["advisories"], (auth, name, result)
