"""Rule family: GWS security — authentication on every operation but the version, CSRF tokens, the CORS filter
and the access-control setting, and agent isolation (003 General > User Authentication, Cross Origin Resource
Sharing, Cross Site Request Forgery Protection; E001, E113, E125, E329).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from conformance.checks import ConformanceFailure, expect
from conformance.config import TargetConfig
from conformance.outcomes import not_run
from conformance.support.gws import GwsAgent, find_setting
from conformance.support.gws_checks import DOC, expect_ok, expect_refused, require
from conformance.support.gws_line import Line, establish
from conformance.transport.http import HttpClient

PROFILE = "gws-security"
VERSION = "/api/v2/diagnostics/version"
#: Values for path parameters: anything works, an unauthenticated request must be refused before routing.
PATH_VALUES = {"group": "voice", "transport": "handshake", "dispositionId": "vk-none"}


def _concrete(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES.get(m.group(1), "vk-none"), template)


# ---- authentication -------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-001",
    document=DOC,
    lines=(3509, 3510),
    title="Every operation but the version requires authentication (HTTP 401, statusCode 20)",
)
@pytest.mark.vk_operations(
    "gws.getVersion", "gws.getMe", "gws.listMyCalls", "gws.Dial", "gws.getSettings", "gws.listUsers", "gws.bayeux"
)
@pytest.mark.vk_severity("blocker")
def test_only_version_is_anonymous(vk_gws_anonymous: HttpClient, vk_contracts: Any) -> None:
    """E001: 20 → HTTP 401 with WWW-Authenticate Basic; GWS-GEN-001 (smoke) covers the version itself."""
    expect_ok(vk_gws_anonymous.get(VERSION))
    problems = []
    operations = sorted({(op.method, op.template) for op in vk_contracts.operations["gws"]})
    for method, template in operations:
        if template == VERSION:
            continue
        kwargs: dict[str, Any] = (
            {} if method == "GET" else {"json": [{"channel": "/meta/handshake"}] if "notifications" in template else {}}
        )
        response = vk_gws_anonymous.request(method, _concrete(template), **kwargs)
        body = response.json_or_none()
        code = body.get("statusCode") if isinstance(body, dict) else None
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status != 401 or code != 20 or not challenge.lower().startswith("basic"):
            problems.append(
                f"{method} {template} → {response.status} statusCode {code!r}"
                + ("" if challenge else " (no WWW-Authenticate)")
            )
    if problems:
        raise ConformanceFailure(
            f"{len(problems)} of {len(operations) - 1} operations answer an anonymous request "
            f"without HTTP 401 statusCode 20: " + "; ".join(problems[:8]),
            title="Anonymous access",
        )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-002", document=DOC, lines=(3509, 3510), title="Wrong credentials are refused (HTTP 401, statusCode 20)"
)
@pytest.mark.vk_operations("gws.getMe")
@pytest.mark.vk_severity("blocker")
def test_wrong_password_refused(vk_config: TargetConfig, vk_gws_client: Any) -> None:
    user = vk_config.gws.agents[0]
    intruder: GwsAgent = vk_gws_client((user.username, user.password + "-wrong"), "wrong password")
    expect_refused(intruder.get("/api/v2/me"), 20, 401)


# ---- CSRF ------------------------------------------------------------------------------------------------------
def _csrf_headers(vk_config: TargetConfig, agent: GwsAgent) -> tuple[str, str]:
    """The token pair of a GET, or not run when the target's CSRF protection is off (l.4418-4419)."""
    if vk_config.gws.csrf == "off":
        not_run("CSRF protection is off in the target configuration (gws.csrf = off)")
    response = agent.get("/api/v2/me")
    expect(response, status=200)
    header, token = response.headers.get("X-CSRF-HEADER"), response.headers.get("X-CSRF-TOKEN")
    if not token and vk_config.gws.csrf == "auto":
        not_run(
            "the target answers GET /api/v2/me without an X-CSRF-TOKEN header, so its CSRF protection is off "
            "(gws.csrf = auto)"
        )
    require(
        bool(header) and bool(token),
        f"a GET answered X-CSRF-HEADER {header!r} and X-CSRF-TOKEN {token!r}; "
        "with CSRF on both are returned (l.4409-4412)",
        title="CSRF token missing",
    )
    return str(header), str(token)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-003",
    document=DOC,
    lines=(4409, 4412),
    title="With CSRF on, a GET returns the X-CSRF-HEADER and X-CSRF-TOKEN headers",
)
@pytest.mark.vk_operations("gws.getMe")
@pytest.mark.vk_fixture_id("gws.general.csrf.get-token-headers")
def test_csrf_token_headers(vk_config: TargetConfig, vk_gws_agent: GwsAgent) -> None:
    header, _ = _csrf_headers(vk_config, vk_gws_agent)
    require(header.upper() == "X-CSRF-TOKEN", f"X-CSRF-HEADER names {header!r} (l.4439: X-CSRF-TOKEN)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-004",
    document=DOC,
    lines=(4414, 4416),
    title="With CSRF on, a modifying request without the token is refused with HTTP 403",
)
@pytest.mark.vk_operations("gws.NotReady")
@pytest.mark.vk_fixture_id("gws.general.csrf.post-with-token")
@pytest.mark.vk_severity("blocker")
def test_csrf_token_required(vk_config: TargetConfig, vk_gws_agent: GwsAgent) -> None:
    """E125: HTTP 403 with a non-zero statusCode (3 in the mock; the text is not asserted)."""
    header, token = _csrf_headers(vk_config, vk_gws_agent)
    body = {"operationName": "NotReady"}
    with vk_gws_agent.csrf_disabled():
        refused = vk_gws_agent.post("/api/v2/me/channels/voice", json=body)
    expect(refused, status=403)
    code = (refused.json_or_none() or {}).get("statusCode")
    require(code not in (None, 0), f"the CSRF refusal has statusCode {code!r}")
    wrong = vk_gws_agent.post("/api/v2/me/channels/voice", json=body, headers={header: token + "-forged"})
    expect(wrong, status=403)
    expect_ok(vk_gws_agent.post("/api/v2/me/channels/voice", json=body, headers={header: token}))


# ---- CORS ------------------------------------------------------------------------------------------------------
def _origins(gws_admin: GwsAgent) -> list[str]:
    setting = find_setting(gws_admin, "access-control", "name", "allowedOrigins") or {}
    value = setting.get("value")
    return [str(o) for o in value] if isinstance(value, list) else []


def _allow_origin(response: Any) -> str | None:
    origin: str | None = response.headers.get("Access-Control-Allow-Origin")
    return origin


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-005",
    document=DOC,
    lines=(4333, 4364),
    title="A request from an allowed origin gets that origin back in Access-Control-Allow-Origin",
)
@pytest.mark.vk_operations("gws.getMe", "gws.getSettings")
@pytest.mark.vk_fixture_id("gws.general.cors.get-access-control")
def test_cors_allowed_origin_echoed(vk_gws_agent: GwsAgent, vk_gws_admin: GwsAgent) -> None:
    exact = [o for o in _origins(vk_gws_admin) if "*" not in o]
    if not exact:
        not_run("the access-control setting lists no exact origin")
    response = vk_gws_agent.get("/api/v2/me", headers={"Origin": exact[0]})
    expect_ok(response)
    require(
        _allow_origin(response) == exact[0],
        f"an allowed origin {exact[0]} got Access-Control-Allow-Origin {_allow_origin(response)!r}",
        title="CORS origin not echoed",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-006", document=DOC, lines=(4366, 4368), title="A wildcard allowedOrigin admits the origins of its domain"
)
@pytest.mark.vk_operations("gws.getMe")
def test_cors_wildcard_within_domain(vk_gws_agent: GwsAgent, vk_gws_admin: GwsAgent) -> None:
    wildcards = [o for o in _origins(vk_gws_admin) if "://*." in o]
    if not wildcards:
        not_run("the access-control setting lists no domain wildcard (https://*.example.com)")
    origin = wildcards[0].replace("://*.", "://vk-app.", 1)
    response = vk_gws_agent.get("/api/v2/me", headers={"Origin": origin})
    expect_ok(response)
    require(
        _allow_origin(response) == origin,
        f"{origin} (allowed by {wildcards[0]}) got Access-Control-Allow-Origin {_allow_origin(response)!r}",
        title="CORS wildcard not applied",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-007",
    document=DOC,
    lines=(4363, 4364),
    title="A request from an origin that is not allowed is not admitted by CORS",
)
@pytest.mark.vk_operations("gws.getMe")
@pytest.mark.vk_severity("blocker")
def test_cors_disallowed_origin(vk_gws_agent: GwsAgent) -> None:
    origin = "https://vk-not-allowed.invalid"
    response = vk_gws_agent.get("/api/v2/me", headers={"Origin": origin})
    allowed = _allow_origin(response)
    require(
        allowed not in (origin, "*"),
        f"the disallowed origin {origin} got Access-Control-Allow-Origin {allowed!r}",
        title="CORS admits any origin",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-008",
    document=DOC,
    lines=(4366, 4369),
    title='"*" by itself is not permitted in allowedOrigins (statusCode 10)',
)
@pytest.mark.vk_operations("gws.updateSetting")
@pytest.mark.vk_fixture_id("gws.general.cors.put-access-control")
@pytest.mark.vk_destructive
def test_bare_wildcard_origin_refused(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    """E113: PUT replaces the whole array; ["*"] is refused with 10 (HTTP 400) and changes nothing."""
    before = _origins(vk_gws_admin)
    vk_cleanup(
        vk_gws_admin.put,
        "/api/v2/settings/access-control",
        json={"name": "allowedOrigins", "value": before},
        description="restore allowedOrigins",
    )
    expect_refused(
        vk_gws_admin.put("/api/v2/settings/access-control", json={"name": "allowedOrigins", "value": ["*"]}), 10, 400
    )
    require(_origins(vk_gws_admin) == before, "the refused PUT changed allowedOrigins")


# ---- agent isolation ----------------------------------------------------------------------------------------------
def _outsider(vk_config: TargetConfig, gws_client: Any) -> GwsAgent:
    """A user who is not on the call: agent C, else the supervisor, else the administrator."""
    if len(vk_config.gws.agents) >= 3:
        agent: GwsAgent = gws_client(vk_config.gws.agents[2], "agent C")
        return agent
    for user, role in ((vk_config.gws.supervisor, "supervisor"), (vk_config.gws.admin, "admin")):
        if user is not None:
            other: GwsAgent = gws_client(user, role)
            return other
    not_run("agent isolation needs a third user (gws.agents[2], gws.supervisor or gws.admin)")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-009",
    document=DOC,
    lines=(3553, 3553),
    title="Another agent's call is not found (HTTP 404, statusCode 6) and not listed",
)
@pytest.mark.vk_operations("gws.getMyCall", "gws.listMyCalls", "gws.Hangup")
@pytest.mark.vk_severity("blocker")
def test_other_agents_call_not_found(line_a: Line, line_b: Line, vk_config: TargetConfig, vk_gws_client: Any) -> None:
    """E001 and E329: /me is always the current user; a call of another agent answers 6."""
    connected, _ = establish(line_a, line_b)
    outsider = _outsider(vk_config, vk_gws_client)
    require(
        connected["id"] not in {str(c.get("id")) for c in outsider.calls()},
        f"{outsider.role}'s GET /api/v2/me/calls lists agent A's call {connected['id']}",
        title="Another agent's call is visible",
    )
    expect_refused(outsider.get(f"/api/v2/me/calls/{connected['id']}"), 6, 404)
    expect_refused(outsider.call_operation(connected["id"], "Hangup"), 6, 404)
    require(line_a.call(connected["id"]).get("state") == "Established", "another user's request changed the call")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-010",
    document=DOC,
    lines=(3553, 3553),
    title="Another agent's device is not found (HTTP 404, statusCode 6)",
)
@pytest.mark.vk_operations("gws.getMyDevice", "gws.Dial", "gws.DoNotDisturbOn")
@pytest.mark.vk_severity("blocker")
def test_other_agents_device_not_found(vk_gws_agent: GwsAgent, line_b: Line) -> None:
    other = line_b.device_id
    expect_refused(vk_gws_agent.get(f"/api/v2/me/devices/{other}"), 6, 404)
    expect_refused(
        vk_gws_agent.post(
            f"/api/v2/me/devices/{other}/calls",
            json={"operationName": "Dial", "destination": {"phoneNumber": vk_gws_agent.phone_number}},
        ),
        6,
        404,
    )
    expect_refused(vk_gws_agent.post(f"/api/v2/me/devices/{other}", json={"operationName": "DoNotDisturbOn"}), 6, 404)
    line_b.no_device_messages(0.3, "no change on agent B's device")
    line_b.no_call_messages(0.1, "no call for agent B")
    require(line_b.device().get("doNotDisturb") == "Off", "another agent's request turned do-not-disturb on")


# ---- roles ------------------------------------------------------------------------------------------------------
#: The features 003 lists as assigned by default (l.4568-4590): nobody may remove them (l.4567-4568), so only a
#: feature outside this list tells the Cloud Admin rule apart.
DEFAULT_FEATURES = frozenset(
    {
        "api-provisioning-read",
        "api-provisioning-write",
        "api-voice",
        "ui-supervisor-provisioning-routing",
        "ui-supervisor-provisioning-skill",
        "ui-supervisor-provisioning-user",
        "ui-supervisor-edit-user",
    }
)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SEC-011",
    document=DOC,
    lines=(4539, 4550),
    title="A Contact Center Admin cannot remove a feature: DELETE /features/{id} is the Cloud Admin's",
)
@pytest.mark.vk_operations("gws.listFeatures", "gws.deleteFeature", "gws.getFeature")
@pytest.mark.vk_destructive  # a target that wrongly accepts loses the feature, and no API gives it back
def test_contact_center_admin_cannot_remove_a_feature(vk_gws_admin: GwsAgent) -> None:
    """l.4539-4550: GET is the Contact Center Admin's and the Agent's, DELETE only the Cloud Admin's (gws.admin
    is a Contact Center Admin). Refused as forbidden (3) or not permitted (5): HTTP 403 (E001)."""
    listed = expect_ok(vk_gws_admin.get("/api/v2/features", params={"fields": "*"})).get("features") or []
    optional = [str(f.get("id")) for f in listed if isinstance(f, dict) and f.get("id") not in DEFAULT_FEATURES]
    if not optional:
        not_run(
            "every feature assigned to the contact center is a default one, which nobody may remove "
            "(l.4567-4568), so the Cloud Admin rule cannot be told apart"
        )
    feature = optional[0]
    expect_refused(vk_gws_admin.delete(f"/api/v2/features/{feature}"), (3, 5), 403)
    expect_ok(vk_gws_admin.get(f"/api/v2/features/{feature}"))  # still assigned
