"""Rule family: GWS settings and provisioning (destructive: it creates, changes and deletes settings, puts
everything back) — read-only and default settings, custom groups, dispositions, permissions, and the
statusCodes of the settings API (003 General > Working With Settings, Disposition codes, Agent State
Operations, Return Values).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conformance.support.gws import GwsAgent, find_setting, read_group
from conformance.support.gws_checks import DOC, expect_ok, expect_refused, require

PROFILE = "gws-settings-provisioning"


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-001",
    document=DOC,
    lines=(2143, 2167),
    title="general-settings is read-only: writes get statusCode 11 and change nothing",
)
@pytest.mark.vk_operations("gws.getSettings", "gws.updateSetting", "gws.createSetting", "gws.deleteSetting")
@pytest.mark.vk_fixture_id("gws.general.settings.general-settings-get")
def test_general_settings_read_only(vk_gws_admin: GwsAgent) -> None:
    """l.2145-2151: read-only key properties; l.3566: 11 = change of a read-only property; E001: HTTP 400;
    E111: the settings member is an object."""
    before = read_group(vk_gws_admin, "general-settings").get("settings")
    require(
        isinstance(before, dict) and {"countryCode", "countryDigits", "countryName"} <= set(before),
        f"general-settings is {before!r}, not an object with countryCode, countryDigits, countryName (E111)",
    )
    assert isinstance(before, dict)
    change = {"name": "countryCode", "value": "FR" if before.get("countryCode") != "FR" else "DE"}
    expect_refused(vk_gws_admin.put("/api/v2/settings/general-settings", json=change), 11, 400)
    expect_refused(
        vk_gws_admin.post("/api/v2/settings/general-settings", json={"name": "vkExtra", "value": "x"}), 11, 400
    )
    expect_refused(vk_gws_admin.delete("/api/v2/settings/general-settings", json={"name": "countryCode"}), 11, 400)
    after = read_group(vk_gws_admin, "general-settings").get("settings")
    require(after == before, f"a refused write changed general-settings: {before} → {after}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-002",
    document=DOC,
    lines=(2182, 2187),
    title="The voice default defaultTelephonyNetworkType can only be updated, not created or deleted",
)
@pytest.mark.vk_operations("gws.getSettings", "gws.updateSetting", "gws.deleteSetting", "gws.createSetting")
@pytest.mark.vk_fixture_id("gws.general.settings.voice-get")
def test_voice_default_only_updatable(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    """l.2255-2257: default settings cannot be created or deleted, only updated (E112)."""
    original = find_setting(vk_gws_admin, "voice", "name", "defaultTelephonyNetworkType")
    require(original is not None, "the voice group has no defaultTelephonyNetworkType (E112: a default setting)")
    assert original is not None
    vk_cleanup(vk_gws_admin.put, "/api/v2/settings/voice", json=original, description="restore the voice default")
    delete = vk_gws_admin.delete("/api/v2/settings/voice", json={"name": "defaultTelephonyNetworkType"})
    require(
        delete.status // 100 == 4 and (delete.json_or_none() or {}).get("statusCode", 0) != 0,
        f"DELETE of the default setting answered {delete.status} {delete.text[:120]!r}: it must be refused",
    )
    create = vk_gws_admin.post(
        "/api/v2/settings/voice", json={"name": "defaultTelephonyNetworkType", "value": original.get("value")}
    )
    require(
        create.status // 100 == 4 and (create.json_or_none() or {}).get("statusCode", 0) != 0,
        f"POST (create) of the default setting answered {create.status} {create.text[:120]!r}: it must be refused",
    )
    require(
        find_setting(vk_gws_admin, "voice", "name", "defaultTelephonyNetworkType") == original,
        "a refused create or delete changed the default setting",
    )
    other = "Public" if original.get("value") != "Public" else "Private"
    expect_ok(vk_gws_admin.put("/api/v2/settings/voice", json={"name": "defaultTelephonyNetworkType", "value": other}))
    updated = find_setting(vk_gws_admin, "voice", "name", "defaultTelephonyNetworkType") or {}
    require(updated.get("value") == other, f"after PUT the default is {updated.get('value')!r}, not {other!r}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-003",
    document=DOC,
    lines=(2350, 2522),
    title="A custom settings group: create it, create/read/update/delete its settings, delete it",
)
@pytest.mark.vk_operations(
    "gws.createSettingsGroup",
    "gws.createSetting",
    "gws.getSettings",
    "gws.updateSetting",
    "gws.deleteSetting",
    "gws.deleteSettingsGroup",
    "gws.listSettingsGroups",
)
@pytest.mark.vk_fixture_id("gws.general.settings.group-create")
def test_custom_settings_group_lifecycle(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    name = f"vk-client-settings-{uuid.uuid4().hex[:8]}"
    path = f"/api/v2/settings/{name}"
    vk_cleanup(vk_gws_admin.delete, path, description=f"delete the settings group {name}")
    expect_ok(
        vk_gws_admin.post("/api/v2/settings", json={"name": name, "displayName": "vk Client Settings", "key": "name"})
    )
    groups = expect_ok(vk_gws_admin.get("/api/v2/settings")).get("settings") or []
    require(
        any(
            str(g.get("uri", "")).rstrip("/").endswith(f"/settings/{name}") or g.get("name") == name
            for g in groups
            if isinstance(g, dict)
        ),
        f"the new group {name} is not listed in GET /api/v2/settings",
    )
    expect_ok(vk_gws_admin.post(path, json={"name": "bgColor", "value": "blue"}))
    expect_ok(vk_gws_admin.post(path, json={"name": "screenPopCoordinates", "value": {"x": "100", "y": "250"}}))
    body = expect_ok(vk_gws_admin.get(path))
    require(body.get("key") == "name", f"the group's key is {body.get('key')!r}, not name")
    settings = {s.get("name"): s.get("value") for s in body.get("settings") or [] if isinstance(s, dict)}
    require(
        settings == {"bgColor": "blue", "screenPopCoordinates": {"x": "100", "y": "250"}}, f"the group holds {settings}"
    )
    expect_ok(vk_gws_admin.put(path, json={"name": "bgColor", "value": "red"}))
    require(
        find_setting(vk_gws_admin, name, "name", "bgColor") == {"name": "bgColor", "value": "red"},
        "PUT did not update bgColor",
    )
    expect_ok(vk_gws_admin.delete(path, json={"name": "bgColor"}))
    require(find_setting(vk_gws_admin, name, "name", "bgColor") is None, "DELETE with a body did not remove bgColor")
    expect_ok(vk_gws_admin.delete(path))
    expect_refused(vk_gws_admin.get(path), 6, 404)


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-004",
    document=DOC,
    lines=(3572, 3572),
    title="Creating a settings group that exists gives statusCode 18 (HTTP 409)",
)
@pytest.mark.vk_operations("gws.createSettingsGroup")
def test_existing_group_already_exists(vk_gws_admin: GwsAgent) -> None:
    expect_refused(
        vk_gws_admin.post("/api/v2/settings", json={"name": "voice", "displayName": "Voice", "key": "name"}), 18, 409
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-005",
    document=DOC,
    lines=(1345, 1347),
    title="Creating agent-state operations requires the Administrator role (statusCode 5, HTTP 403)",
)
@pytest.mark.vk_operations("gws.createSetting")
@pytest.mark.vk_fixture_id("gws.general.agent-states.create-custom")
def test_agent_cannot_create_agent_state(vk_gws_agent: GwsAgent) -> None:
    name = f"VkState{uuid.uuid4().hex[:6]}"
    expect_refused(
        vk_gws_agent.post(
            "/api/v2/settings/agent-states",
            json={
                "operationName": name,
                "displayName": name,
                "state": "NotReady",
                "workMode": "AuxWork",
                "reason": name,
            },
        ),
        5,
        403,
    )
    listed = expect_ok(vk_gws_agent.get("/api/v2/me/settings/agent-states")).get("settings") or []
    require(
        not any(s.get("operationName") == name for s in listed if isinstance(s, dict)),
        "the refused agent-state operation was created",
    )


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-006", document=DOC, lines=(1320, 1322), title="System agent-state operations cannot be modified or deleted"
)
@pytest.mark.vk_operations("gws.updateSetting", "gws.deleteSetting")
def test_system_agent_states_immutable(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    before = {s.get("operationName"): s for s in read_group(vk_gws_admin, "agent-states").get("settings") or []}
    ready = before.get("Ready")
    require(ready is not None, "the agent-states group does not list Ready")
    vk_cleanup(vk_gws_admin.put, "/api/v2/settings/agent-states", json=ready, description="restore Ready")
    put = vk_gws_admin.put("/api/v2/settings/agent-states", json={**(ready or {}), "displayName": "vk changed"})
    require(
        put.status // 100 == 4 and (put.json_or_none() or {}).get("statusCode", 0) != 0,
        f"modifying the system operation Ready answered {put.status} {put.text[:120]!r}",
    )
    delete = vk_gws_admin.delete("/api/v2/settings/agent-states", json={"operationName": "Ready"})
    require(
        delete.status // 100 == 4 and (delete.json_or_none() or {}).get("statusCode", 0) != 0,
        f"deleting the system operation Ready answered {delete.status} {delete.text[:120]!r}",
    )
    after = {s.get("operationName"): s for s in read_group(vk_gws_admin, "agent-states").get("settings") or []}
    require(after.get("Ready") == ready, f"Ready changed: {ready} → {after.get('Ready')}")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-007",
    document=DOC,
    lines=(2826, 2899),
    title="Disposition codes are created, updated and deleted in the dispositions group",
)
@pytest.mark.vk_operations("gws.createSetting", "gws.updateSetting", "gws.deleteSetting", "gws.getSettings")
@pytest.mark.vk_fixture_id("gws.general.dispositions.create")
def test_disposition_codes(vk_gws_admin: GwsAgent, vk_cleanup: Any) -> None:
    name = f"VkResolved{uuid.uuid4().hex[:6]}"
    vk_cleanup(
        vk_gws_admin.delete,
        "/api/v2/settings/dispositions",
        json={"name": name},
        description=f"delete the disposition {name}",
    )
    expect_ok(vk_gws_admin.post("/api/v2/settings/dispositions", json={"name": name, "displayName": "Issue Resolved"}))
    require(
        find_setting(vk_gws_admin, "dispositions", "name", name) == {"name": name, "displayName": "Issue Resolved"},
        "the created disposition is not listed as created",
    )
    expect_ok(vk_gws_admin.put("/api/v2/settings/dispositions", json={"name": name, "displayName": "Resolved"}))
    require(
        (find_setting(vk_gws_admin, "dispositions", "name", name) or {}).get("displayName") == "Resolved",
        "PUT did not update the disposition's displayName",
    )
    expect_ok(vk_gws_admin.delete("/api/v2/settings/dispositions", json={"name": name}))
    require(find_setting(vk_gws_admin, "dispositions", "name", name) is None, "the deleted disposition is still listed")


@pytest.mark.vk_profile(PROFILE)
@pytest.mark.vk_rule(
    "GWS-SET-008",
    document=DOC,
    lines=(4340, 4356),
    title="The access-control group is for contact-center administrators only (statusCode 5)",
)
@pytest.mark.vk_operations("gws.getSettings", "gws.updateSetting")
@pytest.mark.vk_fixture_id("gws.general.cors.get-access-control")
def test_access_control_admin_only(vk_gws_agent: GwsAgent, vk_gws_admin: GwsAgent) -> None:
    expect_refused(vk_gws_agent.get("/api/v2/settings/access-control"), 5, 403)
    expect_refused(
        vk_gws_agent.put(
            "/api/v2/settings/access-control", json={"name": "allowedOrigins", "value": ["https://vk.example.com"]}
        ),
        5,
        403,
    )
    expect_ok(vk_gws_admin.get("/api/v2/settings/access-control"))
