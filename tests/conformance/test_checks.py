"""Built-in checks on canned exchanges, the registry, and the profiles table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import profiles
from conformance.checks import (
    CHECKS,
    CheckContext,
    ConformanceFailure,
    ProtocolViolation,
    check,
    expect,
    expect_notification,
    run_checks,
)
from conformance.evidence import Exchange

ME = {
    "statusCode": 0,
    "user": {
        "id": "8eb52b0724344f67a44389db5aa5f192",
        "userName": "jsmith@uppercape.ca",
        "firstName": "John",
        "lastName": "Smith",
        "roles": ["ROLE_AGENT"],
        "enabled": True,
        "changePasswordOnFirstLogin": False,
    },
}


def exchange(
    status: int, body: Any, path: str = "/api/v2/me", method: str = "GET", content_type: str = "application/json"
) -> Exchange:
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(method, f"http://gws{path}", {}, None, status, {"Content-Type": content_type}, text, 0.01)


def failures(subject: Any, *names: str, **ctx: Any) -> list[str]:
    return [str(f) for f in run_checks(subject, names, CheckContext(**ctx))]


def test_gws_defaults_pass_on_a_documented_answer() -> None:
    assert expect(exchange(200, ME), system="gws", status=200) == ME


def test_response_schema_reports_the_member() -> None:
    broken = {"statusCode": 0, "user": {**ME["user"], "roles": "ROLE_AGENT"}}
    [problem] = failures(exchange(200, broken), "response_schema", system="gws")
    assert "VK-" not in problem and "user/roles" in problem and "GET /api/v2/me" in problem


def test_unknown_operation_and_undeclared_status() -> None:
    assert (
        "not an operation of the gws contract"
        in failures(exchange(200, ME, "/api/v2/nothing"), "response_schema", system="gws")[0]
    )
    assert "status 418 is not declared" in failures(exchange(418, ME), "status_declared", system="gws")[0]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, {"statusCode": 6, "statusMessage": "Not found", "extra": 1}, "exactly {statusCode, statusMessage}"),
        (404, {"statusCode": 6}, "missing: ['statusMessage']"),
        (400, {"statusCode": 0, "statusMessage": "ok?"}, "HTTP error with statusCode 0"),
        (200, {"status": 0}, "statusCode is missing"),
        (200, {"statusCode": True}, "not an integer"),
        (200, [1, 2], "not an object"),
    ],
)
def test_gws_envelope(status: int, body: Any, message: str) -> None:
    [problem] = failures(exchange(status, body), "gws_envelope", system="gws")
    assert message in problem


def test_gws_envelope_accepts_a_proper_error() -> None:
    assert failures(exchange(404, {"statusCode": 6, "statusMessage": "Not found"}), "gws_envelope") == []


def test_not_json_is_a_protocol_violation() -> None:
    [violation] = run_checks(exchange(200, "not json", content_type="text/plain"), ["gws_envelope"])
    assert isinstance(violation, ProtocolViolation) and "not JSON" in violation.message
    [problem] = failures(exchange(200, "not json", content_type="text/plain"), "json_content_type")
    assert "Content-Type is text/plain" in problem


@pytest.mark.parametrize(
    ("expected", "status", "ok"),
    [
        (200, 200, True),
        (200, 201, False),
        ("2xx", 204, True),
        ("4xx", 500, False),
        (4, 404, True),
        ((400, 404), 404, True),
        (None, 302, False),
        ("404", 404, True),
    ],
)
def test_status_class(expected: Any, status: int, ok: bool) -> None:
    assert (failures(exchange(status, ME), "status_class", status=expected) == []) is ok


def test_no_server_error_and_the_failure_fields() -> None:
    [failure] = run_checks(exchange(503, {"statusCode": 4, "statusMessage": "down"}), ["not_server_error"])
    assert isinstance(failure, ConformanceFailure) and isinstance(failure, AssertionError)
    assert failure.title == "Server error" and failure.rule is None
    assert failure.default_rule == "VK-HTTP-001" and failure.check == "not_server_error"  # type: ignore[attr-defined]


def test_platform_error_body() -> None:
    good = {"message": "Not authorized", "code": "not.authorized", "status": 403}
    assert failures(exchange(403, good, "/api/v2/users/me"), "platform_error_body") == []
    [problem] = failures(exchange(403, {"message": "x", "status": 401}, "/api/v2/users/me"), "platform_error_body")
    assert "code is missing" in problem and "status is 401, not 403" in problem
    assert failures(exchange(200, {"anything": 1}), "platform_error_body") == []


def test_expect_raises_the_first_failure_and_lists_the_others() -> None:
    with pytest.raises(ConformanceFailure) as caught:
        expect(exchange(500, {"oops": 1}), "not_server_error", "gws_envelope", system="gws")
    assert caught.value.title == "Server error"
    assert any("statusCode is missing" in d for d in caught.value.evidence.details)


def test_notification_schema() -> None:
    ready = {
        "channel": "/v2/me/devices",
        "data": {
            "messageType": "DeviceStateChangeMessage",
            "devices": [
                {
                    "id": "9c14cad7-17c4-48d0-8492-7cf0ff92c224",
                    "deviceState": "Active",
                    "userState": {
                        "id": "9430250E-0A1B-421F-B372-F29E69366DED",
                        "displayName": "Ready",
                        "state": "Ready",
                    },
                    "phoneNumber": "5001",
                    "e164Number": "5001",
                    "telephonyNetwork": "Private",
                    "doNotDisturb": "Off",
                    "voiceEnvironmentUri": "http://h/api/v2/voice-environments/x",
                    "capabilities": ["ForwardCallsOn", "DoNotDisturbOn"],
                }
            ],
        },
    }
    expect_notification(ready)
    broken = json.loads(json.dumps(ready))
    broken["data"]["devices"][0]["userState"]["state"] = "Sleeping"
    with pytest.raises(ConformanceFailure, match="gws notification on /v2/me/devices"):
        expect_notification(broken)


def test_registry_custom_checks_and_names() -> None:
    @check("vk_test_always_fails", rule="VK-TEST-001", title="Always")
    def always(ctx: CheckContext, subject: Any) -> None:
        raise ConformanceFailure(f"{ctx.extra['why']}")

    try:
        [failure] = run_checks(exchange(200, ME), ["vk_test_always_fails"], CheckContext(extra={"why": "because"}))
        assert failure.message == "because" and failure.title == "Always"
        assert "vk_test_always_fails" in CHECKS.names("http")
        assert "notification_schema" in CHECKS.names("notification")
        with pytest.raises(ValueError, match="already registered"):
            check("vk_test_always_fails")(lambda ctx, s: None)
        with pytest.raises(KeyError, match="no check named"):
            run_checks(exchange(200, ME), ["nope"])
    finally:
        CHECKS._checks.pop("vk_test_always_fails", None)


def test_profiles_table_and_selection() -> None:
    required = {p.name for p in profiles.PROFILES.values() if p.required}
    assert {"gws-voice-core", "gws-notifications", "platform-calls", "connect-bus"} <= required
    assert not profiles.get("gws-fuzz").required and profiles.get("gws-settings-provisioning").destructive
    assert profiles.parse_selection("gws-voice-core, connect-*") == ["gws-voice-core", "connect-bus", "connect-samples"]
    assert profiles.parse_selection(" ") is None
    with pytest.raises(ValueError, match="unknown profile 'gws-nope'"):
        profiles.parse_selection("gws-nope")
    with pytest.raises(ValueError, match="no profile matches"):
        profiles.parse_selection("sip-*")
