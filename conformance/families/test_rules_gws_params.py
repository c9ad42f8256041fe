"""Rule family: GWS request parameters and return values — URI lists, fields, the singular wrapper, filters,
pagination (limit ≤ 500, offset needs limit, totalCount), sorting, subresources, resolveUris, the POST
create answer and partial success (003 General > Request Parameters, Return Values; E117, E118, E120).

The rules on the agent's own resources run as an agent (gws-voice-core); those on users and queues need the
provisioning API and run in the (destructive) settings-provisioning profile — except totalCount (GWS-PARAM-008)
and partial success (GWS-RET-003): rules of every paginated read and bulk answer, and sorting by skills.level
(GWS-PARAM-012), required in gws-voice-core (they use the configured admin; partial success stays destructive: it
creates and deletes a user).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest

from conformance.advisory import advise
from conformance.checks import expect
from conformance.outcomes import not_run
from conformance.support.gws import GwsAgent
from conformance.support.gws_checks import DOC, expect_ok, expect_refused, require
from conformance.support.gws_line import Line, establish

CORE = "gws-voice-core"
PROVISIONING = "gws-settings-provisioning"


def _users(admin: GwsAgent, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = expect_ok(admin.get("/api/v2/users", params=params))
    return body


def _a_queue(agent: GwsAgent) -> dict[str, Any]:
    queues = expect_ok(agent.get("/api/v2/queues", params={"fields": "*"})).get("queues") or []
    if not queues:
        not_run("the target has no queue to read")
    queue: dict[str, Any] = queues[0]
    return queue


# ---- return values ------------------------------------------------------------------------------------------------
@pytest.mark.vk_profile(CORE)
@pytest.mark.vk_rule(
    "GWS-PARAM-001",
    document=DOC,
    lines=(2911, 2936),
    title="A list request without fields returns the URIs of the objects",
)
@pytest.mark.vk_operations("gws.listMyDevices")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.me-devices-uris")
def test_list_returns_uris(vk_gws_agent: GwsAgent) -> None:
    """l.3587-3589: uris (absolute) and, per E118, relative paths when present."""
    body = expect_ok(vk_gws_agent.get("/api/v2/me/devices"))
    uris = body.get("uris")
    require(isinstance(uris, list) and bool(uris), f"GET /api/v2/me/devices has no uris list: {body}")
    assert isinstance(uris, list)
    require(
        all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in uris),
        f"uris are not absolute URIs: {uris}",
    )
    require(
        any(u.rstrip("/").endswith(vk_gws_agent.device_id) for u in uris),
        f"the uris {uris} do not name the agent's device {vk_gws_agent.device_id}",
    )
    require("devices" not in body, "without fields the list must not carry the device objects")
    paths = body.get("paths")
    if paths is not None:
        require(
            isinstance(paths, list)
            and len(paths) == len(uris)
            and all(isinstance(p, str) and p.startswith("/") for p in paths),
            f"paths {paths} are not the relative forms of {uris}",
        )


@pytest.mark.vk_profile(CORE)
@pytest.mark.vk_rule(
    "GWS-PARAM-002",
    document=DOC,
    lines=(2938, 2972),
    title="fields=* returns the objects, in a member named after the resource",
)
@pytest.mark.vk_operations("gws.listMyDevices", "gws.listMyCalls")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.me-devices-fields")
def test_fields_star_returns_objects(line_a: Line, line_b: Line) -> None:
    """l.3591-3593: GET /users?fields=* contains "users":[...]; the same for devices and calls."""
    body = expect_ok(line_a.agent.get("/api/v2/me/devices", params={"fields": "*"}))
    devices = body.get("devices")
    require(
        isinstance(devices, list) and any(isinstance(d, dict) and d.get("id") == line_a.device_id for d in devices),
        f"GET /api/v2/me/devices?fields=* does not list the device object: {body}",
    )
    connected, _ = establish(line_a, line_b)
    calls = expect_ok(line_a.agent.get("/api/v2/me/calls", params={"fields": "*"})).get("calls")
    require(
        isinstance(calls, list) and any(c.get("id") == connected["id"] for c in calls if isinstance(c, dict)),
        "GET /api/v2/me/calls?fields=* does not list the call object",
    )
    plain = expect_ok(line_a.agent.get("/api/v2/me/calls"))
    require(
        any(str(u).rstrip("/").endswith(connected["id"]) for u in plain.get("uris") or []),
        f"GET /api/v2/me/calls without fields does not list the call's URI: {plain}",
    )


@pytest.mark.vk_profile(CORE)
@pytest.mark.vk_rule(
    "GWS-PARAM-003",
    document=DOC,
    lines=(3595, 3598),
    title="A singular resource is returned in a member named after it",
)
@pytest.mark.vk_operations("gws.getMyCall", "gws.getMyDevice")
@pytest.mark.vk_fixture_id("gws.general.return-values.get-singular")
def test_singular_wrapper(line_a: Line, line_b: Line) -> None:
    """l.3655-3669 (E117): {"statusCode": 0, "device": {...}}; the same for a call (E329)."""
    device = expect_ok(line_a.agent.get(f"/api/v2/me/devices/{line_a.device_id}"))
    require(
        isinstance(device.get("device"), dict) and device["device"].get("id") == line_a.device_id,
        f"GET /api/v2/me/devices/{{id}} does not answer a device object: {device}",
    )
    connected, _ = establish(line_a, line_b)
    call = expect_ok(line_a.agent.get(f"/api/v2/me/calls/{connected['id']}"))
    require(
        isinstance(call.get("call"), dict) and call["call"].get("id") == connected["id"],
        f"GET /api/v2/me/calls/{{id}} does not answer a call object: {call}",
    )


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-004",
    document=DOC,
    lines=(2974, 3064),
    title="fields=a,b returns only those fields, for one object and for lists",
)
@pytest.mark.vk_operations("gws.getQueue", "gws.listQueues")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.queue-fields-id-name")
def test_fields_projection(vk_gws_admin: GwsAgent) -> None:
    queue = _a_queue(vk_gws_admin)
    one = expect_ok(vk_gws_admin.get(f"/api/v2/queues/{queue['id']}", params={"fields": "id,name"})).get("queue")
    require(
        isinstance(one, dict) and set(one) == {"id", "name"},
        f"GET /api/v2/queues/{{id}}?fields=id,name answered {one!r}, not exactly id and name",
    )
    many = expect_ok(vk_gws_admin.get("/api/v2/queues", params={"fields": "id,name"})).get("queues") or []
    require(
        bool(many) and all(isinstance(q, dict) and set(q) == {"id", "name"} for q in many),
        f"GET /api/v2/queues?fields=id,name answered {many!r}",
    )


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-005",
    document=DOC,
    lines=(3066, 3098),
    title="A list is filtered by a parameter named exactly like the field",
)
@pytest.mark.vk_operations("gws.listQueues")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.queues-filter-channel")
def test_filter_by_field(vk_gws_admin: GwsAgent) -> None:
    queues = expect_ok(vk_gws_admin.get("/api/v2/queues", params={"fields": "id,name,channel", "channel": "voice"}))
    found = queues.get("queues") or []
    require(bool(found) and all(q.get("channel") == "voice" for q in found), f"channel=voice returned {found!r}")
    none = expect_ok(vk_gws_admin.get("/api/v2/queues", params={"fields": "id,channel", "channel": "vk-no-such"}))
    require((none.get("queues") or []) == [], f"channel=vk-no-such returned {none.get('queues')!r}")


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-006", document=DOC, lines=(3173, 3181), title="limit above 500 is refused (statusCode 10, HTTP 400)"
)
@pytest.mark.vk_operations("gws.listUsers")
def test_limit_above_500_refused(vk_gws_admin: GwsAgent) -> None:
    """E120: limit > 500 → 10."""
    expect_refused(vk_gws_admin.get("/api/v2/users", params={"offset": "0", "limit": "501"}), 10, 400)
    expect_ok(vk_gws_admin.get("/api/v2/users", params={"offset": "0", "limit": "500"}))


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-007",
    document=DOC,
    lines=(3183, 3188),
    title="A paginated request (offset) without limit is refused (statusCode 1, HTTP 400)",
)
@pytest.mark.vk_operations("gws.listUsers")
def test_offset_without_limit_refused(vk_gws_admin: GwsAgent) -> None:
    """E120: the missing-limit rule applies to requests that carry offset."""
    expect_refused(vk_gws_admin.get("/api/v2/users", params={"offset": "0"}), 1, 400)


@pytest.mark.vk_profile(CORE)  # required: issue 10.5 (a documented rule of every read/bulk answer)
@pytest.mark.vk_rule(
    "GWS-PARAM-008",
    document=DOC,
    lines=(3155, 3208),
    title="offset and limit select a page; the answer carries totalCount",
)
@pytest.mark.vk_operations("gws.listUsers")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.pagination-total-count")
def test_pagination_and_total_count(vk_gws_admin: GwsAgent) -> None:
    everyone = _users(vk_gws_admin, offset="0", limit="500")
    total = everyone.get("totalCount")
    listed = everyone.get("uris") or []
    require(
        isinstance(total, int) and (total == len(listed) or (len(listed) == 500 and total > 500)),
        f"with limit 500 totalCount is {total!r} for {len(listed)} users listed",
    )
    if len(listed) < 2:
        not_run("pagination needs at least two users")
    first = _users(vk_gws_admin, offset="0", limit="1")
    second = _users(vk_gws_admin, offset="1", limit="1")
    require(
        first.get("uris") == listed[:1] and second.get("uris") == listed[1:2],
        f"offset/limit pages {first.get('uris')}, {second.get('uris')} are not the first two of {listed[:2]}",
    )
    require(first.get("totalCount") == total, f"totalCount of a page is {first.get('totalCount')!r}, not {total}")


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule("GWS-PARAM-009", document=DOC, lines=(3215, 3262), title="sortBy and order sort a list")
@pytest.mark.vk_operations("gws.listUsers")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.sorting-descending")
def test_sorting(vk_gws_admin: GwsAgent) -> None:
    def names(order: str) -> list[str]:
        users = _users(vk_gws_admin, fields="userName", sortBy="userName", order=order, limit="100").get("users") or []
        return [str(u.get("userName")).lower() for u in users]

    ascending, descending = names("Ascending"), names("Descending")
    require(ascending == sorted(ascending), f"sortBy=userName Ascending gave {ascending}")
    require(descending == sorted(descending, reverse=True), f"sortBy=userName Descending gave {descending}")


@pytest.mark.vk_profile(CORE)  # required: issue 10.6 (a documented rule; it only reads, with the configured admin)
@pytest.mark.vk_rule(
    "GWS-PARAM-012",
    document=DOC,
    lines=(4083, 4119),
    title="sortBy=skills.level sorts users by the level of their skill, as a number",
)
@pytest.mark.vk_operations("gws.listUsers")
@pytest.mark.vk_fixture_id("gws.general.subresources.sort-by-skill-level")
def test_sorting_by_skill_level(vk_gws_admin: GwsAgent) -> None:
    """l.4083-4119 (E131): Descending puts level 4 before 2. Only users with one skill are compared (with
    several, which level sorts is not documented); where users without skills go is not documented either
    (advisory; the mock puts them last in both orders)."""
    seen: dict[str, list[Any]] = {}
    for order in ("Descending", "Ascending"):
        users = (
            _users(
                vk_gws_admin,
                subresources="skills",
                fields="id,userName",
                sortBy="skills.level",
                order=order,
                limit="500",
            ).get("users")
            or []
        )
        levels = [_single_level(u) for u in users if isinstance(u, dict)]
        seen[order] = levels
        ranked = [lv for lv in levels if isinstance(lv, int | float)]
        if len(set(ranked)) < 2:
            not_run("fewer than two users with one skill of different levels: the order cannot be seen")
        wanted = sorted(ranked, reverse=order == "Descending")
        require(
            ranked == wanted,
            f"sortBy=skills.level&order={order} ranks the one-skill users' levels {ranked}, "
            f"not {wanted} (numbers, l.4083-4119)",
        )
        without = [i for i, lv in enumerate(levels) if lv == "none"]
        if without and ranked and min(without) < max(i for i, lv in enumerate(levels) if lv not in ("none", "many")):
            advise(
                f"sortBy=skills.level&order={order}: users without skills are among the others ({levels})",
                rule="GWS-PARAM-012",
                basis="l.4083-4119 show only users with skills; E131 puts the others last",
            )


def _single_level(user: dict[str, Any]) -> Any:
    """The level of a user's one skill; "none" without skills, "many" with several."""
    skills = [s for s in user.get("skills") or [] if isinstance(s, dict)]
    if not skills:
        return "none"
    return skills[0].get("level") if len(skills) == 1 else "many"


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-010", document=DOC, lines=(3264, 3290), title="subresources reads an object's subresources with it"
)
@pytest.mark.vk_operations("gws.getUser")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.subresources-all")
def test_subresources(vk_gws_admin: GwsAgent, vk_gws_agent: GwsAgent) -> None:
    me = expect_ok(vk_gws_agent.get("/api/v2/me")).get("user") or {}
    user_id = me.get("id")
    require(bool(user_id), "GET /api/v2/me has no user id")
    plain = expect_ok(vk_gws_admin.get(f"/api/v2/users/{user_id}")).get("user") or {}
    require("devices" not in plain, "without subresources the user carries its devices")
    full = expect_ok(vk_gws_admin.get(f"/api/v2/users/{user_id}", params={"subresources": "*"})).get("user") or {}
    devices = full.get("devices")
    require(
        isinstance(devices, list)
        and any(isinstance(d, dict) and d.get("id") == vk_gws_agent.device_id for d in devices),
        f"subresources=* does not include the user's devices: {devices!r}",
    )
    require(isinstance(full.get("skills"), list), "subresources=* does not include the user's skills")


@pytest.mark.vk_profile(PROVISIONING)
@pytest.mark.vk_rule(
    "GWS-PARAM-011", document=DOC, lines=(3391, 3421), title="resolveUris adds the object a *Uri property refers to"
)
@pytest.mark.vk_operations("gws.getQueue")
@pytest.mark.vk_fixture_id("gws.general.request-parameters.resolve-uris-queue-phone")
def test_resolve_uris(vk_gws_admin: GwsAgent) -> None:
    queue = _a_queue(vk_gws_admin)
    if not queue.get("phoneNumberUri"):
        not_run("the queue has no phoneNumberUri to resolve")
    plain = expect_ok(vk_gws_admin.get(f"/api/v2/queues/{queue['id']}")).get("queue") or {}
    require(
        "phoneNumber" not in plain or not isinstance(plain.get("phoneNumber"), dict),
        "without resolveUris the queue already carries the phoneNumber object",
    )
    resolved = (
        expect_ok(vk_gws_admin.get(f"/api/v2/queues/{queue['id']}", params={"resolveUris": "phoneNumberUri"})).get(
            "queue"
        )
        or {}
    )
    number = resolved.get("phoneNumber")
    require(
        isinstance(number, dict)
        and bool(number.get("id"))
        and str(queue["phoneNumberUri"]).rstrip("/").endswith(str(number["id"])),
        f"resolveUris=phoneNumberUri gave phoneNumber {number!r} for {queue['phoneNumberUri']}",
    )
    require(resolved.get("phoneNumberUri") == queue.get("phoneNumberUri"), "resolving removed phoneNumberUri")


@pytest.mark.vk_profile(CORE)  # required: issue 10.5 (a documented rule of every read/bulk answer)
@pytest.mark.vk_rule(
    "GWS-RET-003",
    document=DOC,
    lines=(3729, 3773),
    title="A bulk operation that partly fails answers statusCode 7 with succeeded and failed descriptors",
)
@pytest.mark.vk_operations("gws.createUser", "gws.deleteUsers")
@pytest.mark.vk_fixture_id("gws.general.return-values.partial-success-delete")
@pytest.mark.vk_destructive
def test_partial_success(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    """l.3671-3696: a create answers id, uri and path; l.3741-3773 and E115: a partial success answers 7 with
    succeeded [{id, uri, path}] and failed [{statusCode, statusMessage, <the uid as sent>}]."""
    user_name = f"vk-temp-{uuid.uuid4().hex[:8]}@example.com"
    created = expect_ok(
        vk_gws_admin.post(
            "/api/v2/users",
            json={
                "userName": user_name,
                "password": "Vk-password-1",
                "firstName": "Vk",
                "lastName": "Temp",
                "roles": ["ROLE_AGENT"],
            },
        )
    )
    require(
        all(created.get(k) for k in ("id", "uri", "path")),
        f"POST /api/v2/users answered {created}, without id, uri and path",
    )
    uri = str(created["uri"])
    vk_cleanup(vk_gws_admin.delete, "/api/v2/users", json={"uris": [uri]}, description=f"delete {user_name}")
    bogus = uri.rsplit("/", 1)[0] + "/vk-no-such-user"
    answer = vk_gws_admin.delete("/api/v2/users", json={"uris": [uri, bogus]})
    body = expect_ok_partial(answer)
    succeeded, failed = body.get("succeeded") or [], body.get("failed") or []
    require(
        len(succeeded) == 1
        and succeeded[0].get("id") == created["id"]
        and all(k in succeeded[0] for k in ("uri", "path")),
        f"succeeded is {succeeded}, expected the deleted user's {{id, uri, path}}",
    )
    require(
        len(failed) == 1
        and failed[0].get("uri") == bogus
        and failed[0].get("statusCode") not in (None, 0)
        and isinstance(failed[0].get("statusMessage"), str),
        f"failed is {failed}, expected {{statusCode, statusMessage, uri: {bogus}}}",
    )


def expect_ok_partial(response: Any) -> dict[str, Any]:
    """HTTP 200 with statusCode 7 (E001)."""
    body = expect(response, status=200)
    require(
        isinstance(body, dict) and body.get("statusCode") == 7,
        f"{response.method} {response.path}: statusCode {(body or {}).get('statusCode')!r}, expected 7 "
        "(partial success)",
    )
    return cast(dict[str, Any], body)  # require() just checked it is a dict
