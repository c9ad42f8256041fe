"""Smoke family: the few GWS behaviours every other family stands on — the anonymous version endpoint,
``GET /api/v2/me`` for each configured user, and a CometD session. It exercises the whole machinery
(fixtures, checks, evidence, certificate) end to end."""

from __future__ import annotations

import pytest

from conformance.checks import ConformanceFailure, expect, expect_notification
from conformance.config import TargetConfig
from conformance.support.gws import GwsAgent
from conformance.transport.cometd import CometdClient
from conformance.transport.http import HttpClient

DOC = "003"


@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule(
    "GWS-GEN-001", document=DOC, lines=(97, 221), title="The version is readable without authentication"
)
@pytest.mark.vk_operations("gws.getVersion")
@pytest.mark.vk_fixture_id("gws.samples.get-version.rest-client")
def test_version_is_anonymous(vk_gws_anonymous: HttpClient) -> None:
    response = vk_gws_anonymous.get("/api/v2/diagnostics/version")
    body = expect(response, status=200)
    assert isinstance(body.get("version"), str) and body["version"], "the version is a non-empty string"


@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule("GWS-ME-001", document=DOC, lines=(223, 370), title="GET /api/v2/me describes the logged-in user")
@pytest.mark.vk_operations("gws.getMe")
def test_me_for_each_configured_user(vk_config: TargetConfig, vk_gws_client) -> None:  # type: ignore[no-untyped-def]
    users = [*vk_config.gws.agents, vk_config.gws.supervisor, vk_config.gws.admin]
    failures = []
    for user in [u for u in users if u is not None]:
        client: GwsAgent = vk_gws_client(user)
        response = client.get("/api/v2/me")
        try:
            body = expect(response, status=200)
            if body["user"]["userName"].lower() != user.username.lower():
                raise ConformanceFailure(f"GET /api/v2/me as {user.username} describes {body['user']['userName']}")
        except ConformanceFailure as failure:
            failures.append(failure)
    if failures:
        first = failures[0]
        first.evidence.details += [f"also: {f}" for f in failures[1:]]
        raise first


@pytest.mark.vk_profile("gws-notifications")
@pytest.mark.vk_rule(
    "GWS-COMETD-001",
    document=DOC,
    lines=(1494, 1567),
    title="A client can handshake, subscribe to /v2/me/* and disconnect",
)
@pytest.mark.vk_operations("gws.cometd.handshake")
def test_cometd_handshake_subscribe_disconnect(vk_gws_agent: GwsAgent, vk_gws_notifications) -> None:  # type: ignore[no-untyped-def]
    cometd: CometdClient = vk_gws_notifications(vk_gws_agent, channels=("/v2/me/devices", "/v2/me/calls"))
    assert cometd.handshake_reply is not None
    expect_notification(cometd.handshake_reply, system="gws", channel="/meta/handshake")
    assert "long-polling" in cometd.handshake_reply.get("supportedConnectionTypes", []), (
        "the handshake reply offers long-polling"
    )
    assert cometd.channels == ["/v2/me/devices", "/v2/me/calls"]
    reply = cometd.disconnect()
    assert reply is not None and reply.get("successful") is True, f"disconnect reply: {reply}"


@pytest.mark.vk_profile("gws-notifications")
@pytest.mark.vk_rule(
    "GWS-COMETD-002", document=DOC, lines=(1569, 1628), title="An agent-state change is notified on /v2/me/devices"
)
@pytest.mark.vk_operations("gws.Ready", "gws.cometd.DeviceStateChangeMessage")
@pytest.mark.vk_fixture_id("gws.agentstate.ready.sample")
def test_device_notification_after_ready(vk_gws_agent: GwsAgent, vk_gws_notifications, vk_cleanup) -> None:  # type: ignore[no-untyped-def]
    cometd: CometdClient = vk_gws_notifications(vk_gws_agent)
    vk_cleanup(
        vk_gws_agent.post,
        "/api/v2/me/channels/voice",
        json={"operationName": "NotReady"},
        description="agent A back to NotReady",
    )
    expect(vk_gws_agent.post("/api/v2/me/channels/voice", json={"operationName": "Ready"}), status=200)
    message = cometd.await_message(
        lambda m: (
            m["channel"] == "/v2/me/devices" and any(d["userState"]["state"] == "Ready" for d in m["data"]["devices"])
        ),
        description="DeviceStateChangeMessage with userState Ready",
    )
    expect_notification(message, system="gws")
