"""Rule family: the contact-center session (003 l.10629-10766, profile ``gws-agent-state``) and the services an
agent reads (003 l.4592-4700, profile ``gws-notifications``) — documented rules that had no required test.

* StartContactCenterSession (l.10629-10700) with ``channels: ["voice"]`` answers statusCode 0 and leaves the agent
  logged in to its voice device (whether it logs in now or already was, l.10696-10700: no notification is
  required either way, E318);
* EndContactCenterSession (l.10726-10766) logs the agent out and "invalidates the client HTTP session"
  (l.10735-10736): the session cookie alone no longer authenticates (HTTP 401, statusCode 20 as any
  unauthenticated request, E001). Its notifications are not judged (l.10764-10766 says there are none);
* ``GET /services`` and ``GET /services/{id}`` are open to agents (l.4606-4635) and describe each service with
  id, name, type (Provisioning | Voice) and state (Active | Inactive | ReadOnly, or Unknown: E129) (l.4640-4674);
  the contact center has the default api-voice feature (l.4579), so a Voice service is listed;
* a logged-out device's userState.state is LoggedOut, or Logout as 003 also prints it (E101/E301).
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.advisory import advise
from conformance.support.gws import GwsAgent
from conformance.support.gws_checks import DOC, expect_ok, expect_refused, require

STATES = {"Active", "Inactive", "ReadOnly", "Unknown"}  # l.4673, and Unknown of l.1807-1808 (E129)
TYPES = {"Provisioning", "Voice"}


def _session_op(agent: GwsAgent, operation: str, **members: Any) -> Any:
    return agent.post("/api/v2/me", json={"operationName": operation, **members})


def _user_state(agent: GwsAgent) -> str | None:
    body = expect_ok(agent.get("/api/v2/me/devices", params={"fields": "*"}))
    device = next(
        (d for d in body.get("devices") or [] if isinstance(d, dict) and d.get("id") == agent.device_id), None
    )
    require(device is not None, f"GET /api/v2/me/devices?fields=* does not list the device {agent.device_id}")
    assert device is not None
    return (device.get("userState") or {}).get("state")


def _start(agent: GwsAgent) -> None:
    expect_ok(_session_op(agent, "StartContactCenterSession", channels=["voice"]))


# ---- contact-center session ---------------------------------------------------------------------------------------
@pytest.mark.vk_profile("gws-agent-state")
@pytest.mark.vk_rule(
    "GWS-SESSION-001",
    document=DOC,
    lines=(10629, 10700),
    title="StartContactCenterSession with the voice channel answers statusCode 0; the agent is logged in",
)
@pytest.mark.vk_operations("gws.StartContactCenterSession", "gws.listMyDevices")
@pytest.mark.vk_fixture_id("gws.session.start-contact-center-session.sample-1")
def test_start_session_logs_in(vk_gws_agent: GwsAgent) -> None:
    _start(vk_gws_agent)
    state = _user_state(vk_gws_agent)
    require(
        state not in (None, "LoggedOut", "Logout"),
        f"after StartContactCenterSession the device's userState is {state!r}",
    )


@pytest.mark.vk_profile("gws-agent-state")
@pytest.mark.vk_rule(
    "GWS-SESSION-002",
    document=DOC,
    lines=(10726, 10744),
    title="EndContactCenterSession logs the agent out and invalidates the HTTP session",
)
@pytest.mark.vk_operations("gws.StartContactCenterSession", "gws.EndContactCenterSession", "gws.getMe")
@pytest.mark.vk_fixture_id("gws.session.end-contact-center-session.sample")
def test_end_session_logs_out_and_ends_the_http_session(vk_gws_agent: GwsAgent, vk_cleanup: Any) -> None:
    _start(vk_gws_agent)
    vk_cleanup(_start, vk_gws_agent, description="agent A logged in again (StartContactCenterSession)")
    cookie_works = vk_gws_agent.get("/api/v2/me", auth=False).status == 200
    expect_ok(_session_op(vk_gws_agent, "EndContactCenterSession"))
    if cookie_works:  # the target keeps an HTTP session (cookie): it must end with the contact-center session
        expect_refused(vk_gws_agent.get("/api/v2/me", auth=False), 20, 401)
    vk_gws_agent.forget_session()  # what follows authenticates again (a new HTTP session, a new CSRF token)
    state = _user_state(vk_gws_agent)
    require(
        state in ("LoggedOut", "Logout"),
        f"after EndContactCenterSession the device's userState is {state!r}, "
        "not LoggedOut (l.10733: the session end logs the agent out; Logout accepted, E101/E301)",
    )
    if not cookie_works:
        advise(
            "the HTTP-session part was not checked: requests with the session cookie alone were not accepted "
            "even before the session ended",
            basis="l.10735 ends an HTTP session; this target keeps none",
        )


# ---- services ----------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile("gws-notifications")
@pytest.mark.vk_rule(
    "GWS-SVC-001",
    document=DOC,
    lines=(4592, 4700),
    title="An agent reads the services (GET /services, /services/{id}): id, name, type, state; "
    "a Voice service is listed",
)
@pytest.mark.vk_operations("gws.listServices", "gws.getService")
def test_agent_reads_services(vk_gws_agent: GwsAgent) -> None:
    body = expect_ok(vk_gws_agent.get("/api/v2/services", params={"fields": "*"}))
    services = body.get("services")
    require(isinstance(services, list) and bool(services), f"GET /api/v2/services?fields=* lists no services: {body}")
    problems = []
    for service in services:
        if not isinstance(service, dict) or not all(isinstance(service.get(k), str) for k in ("id", "name")):
            problems.append(f"{service!r} lacks id or name")
        elif service.get("type") not in TYPES or service.get("state") not in STATES:
            problems.append(f"{service['id']}: type {service.get('type')!r}, state {service.get('state')!r}")
    require(not problems, f"services not described as l.4640-4672 say: {'; '.join(problems)}")
    require(
        any(s.get("type") == "Voice" for s in services),
        f"no Voice service listed (api-voice is a default feature, l.4579): {services}",
    )
    for service in services:
        one = expect_ok(vk_gws_agent.get(f"/api/v2/services/{service['id']}")).get("service")
        require(
            isinstance(one, dict) and one.get("id") == service["id"] and one.get("state") == service["state"],
            f"GET /api/v2/services/{service['id']} answered {one!r}, not the listed {service}",
        )
