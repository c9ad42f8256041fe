"""ControlClient: the kit's one client of the mock's control API records redacted evidence, honours tls_verify and
the response cap, and reports a refusal as the kit's problem (ControlRefused, an EventFailed)."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import evidence
from conformance.config import TargetConfig
from conformance.control import ControlClient, ControlRefused
from conformance.errors import EventFailed, VoicekitError
from conformance.failures import TargetUnreachable
from conformance.target import mock_config
from conformance.transport.http import ResponseTooLarge, response_limit, set_response_limit


@pytest.fixture(autouse=True)
def fresh_evidence() -> Iterator[evidence.EvidenceLog]:
    log = evidence.begin("test")
    yield log
    evidence.end()


def test_calls_are_evidence_with_the_token_and_secrets_redacted(
    fresh_mock: str, fresh_evidence: evidence.EvidenceLog
) -> None:
    with ControlClient(f"{fresh_mock}/control", token="s3cret-control-token") as control:
        client = control.platform_client(
            {"name": "kit test", "grants": ["client_credentials"], "secret": "cl13nt-s3cret"}
        )
        minted = control.platform_token(str(client["id"]), expires_in=60)
        assert minted["token_type"] == "bearer" and control.changed
        control.reset()
        assert not control.changed
    exchanges = fresh_evidence.exchanges
    assert [e.method for e in exchanges] == ["POST", "POST", "POST"]
    assert exchanges[0].request_headers["authorization"] == "Bearer s3cret-control-token"  # sent as is
    shown = json.dumps([e.redacted() for e in exchanges]) + " ".join(e.summary() for e in exchanges)
    assert "Bearer ***" in shown
    for secret in ("s3cret-control-token", "cl13nt-s3cret", str(minted["access_token"])):
        assert secret not in shown


def test_a_refusal_is_the_kits_problem_with_the_control_error(fresh_mock: str) -> None:
    with ControlClient(f"{fresh_mock}/control") as control:
        with pytest.raises(ControlRefused) as refused:
            control.gws_remote("no-such-call", "hangup")
        assert isinstance(refused.value, EventFailed) and isinstance(refused.value, VoicekitError)
        assert refused.value.status == 404 and refused.value.body["status"] == 404
        assert "refused POST /gws/calls/no-such-call/hangup: 404" in refused.value.message
        # an answer a caller expects is not a refusal (reset of an agent that has no call)
        agent = mock_config(fresh_mock).connect.agents[0]
        assert control.connect_remote_hangup(agent, missing_ok=True)["status"] == 409


def test_unrecorded_calls_leave_no_evidence(fresh_mock: str, fresh_evidence: evidence.EvidenceLog) -> None:
    config = mock_config(fresh_mock)
    with ControlClient.for_target(config, record=False) as control:
        control.reset()
    assert fresh_evidence.exchanges == []


def test_the_response_cap_applies(fresh_mock: str) -> None:
    before = response_limit()
    set_response_limit(64)
    try:
        with ControlClient(f"{fresh_mock}/control") as control, pytest.raises(ResponseTooLarge):
            control.state()
    finally:
        set_response_limit(before)


def test_without_a_control_api_there_is_no_client() -> None:
    with pytest.raises(VoicekitError, match=r"events\.control_url"):
        ControlClient.for_target(TargetConfig.from_mapping({"gws": {"url": "http://g"}}))


# ---- TLS ------------------------------------------------------------------------------------------------------
class _Reset(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b'{"reset": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def https_control(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A control API over HTTPS with a self-signed certificate: (its URL, the certificate as a CA bundle)."""
    if shutil.which("openssl") is None:  # Debian's openssl; under CI a missing tool fails, never skips silently
        message = "openssl is needed to make the test's self-signed certificate (apt-get install openssl)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Reset)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/control", cert
    finally:
        server.shutdown()
        with contextlib.suppress(OSError):
            server.server_close()


@pytest.mark.parametrize("verify", ["on", "off", "ca-bundle"])
def test_tls_verify_of_the_target_is_honoured(https_control: tuple[str, Path], verify: str) -> None:
    url, cert = https_control
    tls: Any = {"on": True, "off": False, "ca-bundle": str(cert)}[verify]
    config = TargetConfig.from_mapping({"target": {"tls_verify": tls}, "events": {"control_url": url}})
    with ControlClient.for_target(config) as control:
        if verify == "on":  # the self-signed certificate is not trusted
            with pytest.raises(TargetUnreachable):
                control.reset()
        else:
            control.reset()
