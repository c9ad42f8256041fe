"""Variants: the documented alternatives the mock switches to (mockserver/variants.py) — chosen at start or
through ``/control/variants``, kept by a reset, and each changing only what its registry entry says."""

from __future__ import annotations

from typing import Any

import pytest
from gws_http import AGENT, AGENT_B, DEVICE_A, DEVICE_B

from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.domain.clock import ManualScheduler
from mockserver.options import parse as parse_serve
from mockserver.variants import VARIANTS, parse


def _client(*variants: str) -> Any:
    return create_app({"csrf": False, "variants": list(variants)}, scheduler=ManualScheduler()).test_client()


def _device(client: Any) -> dict[str, Any]:
    devices = client.get("/api/v2/me/devices?fields=*", headers=AGENT).get_json()["devices"]
    return next(d for d in devices if d["id"] == DEVICE_A)


def _state(client: Any, operation: str) -> None:
    response = client.post("/api/v2/me/channels/voice", headers=AGENT, json={"operationName": operation})
    assert response.status_code == 200


def test_names_are_validated_and_split() -> None:
    assert parse(["mute-silent,offline-logout", " swap-retrieved-first "]) == {
        "mute-silent",
        "offline-logout",
        "swap-retrieved-first",
    }
    with pytest.raises(ValueError, match="unknown variant"):
        parse("mute-loud")
    with pytest.raises(ValueError):
        create_app({"variants": ["nope"]})
    assert parse_serve(["--variant", "a,b", "--variant", "c"]).variant == ["a,b", "c"]
    assert MockConfig.load(environ={"VOICEKIT_VARIANTS": "mute-silent,offline-logout"}).variants == [
        "mute-silent",
        "offline-logout",
    ]
    for variant in VARIANTS.values():  # every entry says what it changes, why, and where it shows
        assert variant.errata and variant.profiles and variant.system in ("gws", "platform", "connect")
        assert "l." in variant.description


def test_control_api_switches_variants_and_reset_keeps_them() -> None:
    client = _client()
    assert client.get("/control/variants").get_json()["variants"] == []
    answer = client.put("/control/variants", json={"variants": ["no-me-agent-states"]})
    assert answer.status_code == 200 and answer.get_json()["variants"] == ["no-me-agent-states"]
    assert client.get("/api/v2/me/settings/agent-states", headers=AGENT).status_code == 404
    assert client.post("/control/reset").status_code == 200
    assert client.get("/api/v2/me/settings/agent-states", headers=AGENT).status_code == 404
    listed = client.get("/api/v2/settings/agent-states", headers=AGENT)
    assert listed.status_code == 200 and listed.get_json()["settings"]
    assert client.put("/control/variants", json={"variants": ["bogus"]}).status_code == 400
    assert client.put("/control/variants", json={"variants": ""}).get_json()["variants"] == []
    assert client.get("/api/v2/me/settings/agent-states", headers=AGENT).status_code == 200


def test_agent_state_variants() -> None:
    plain, variant = _client(), _client("notready-display-name", "offline-logout", "device-capabilities-as-printed")
    names = {
        s["operationName"]: s["displayName"]
        for s in variant.get("/api/v2/me/settings/agent-states", headers=AGENT).get_json()["settings"]
    }
    assert names["NotReady"] == "NotReady"
    assert _device(variant)["userState"]["displayName"] == "NotReady"
    assert _device(plain)["userState"]["displayName"] == "Not Ready"
    assert _device(variant)["capabilities"] == ["ForwardCallsOn"]  # NotReady, as l.1932-1935 print it
    assert _device(plain)["capabilities"] == ["ForwardCallsOn", "DoNotDisturbOn"]
    dnd = variant.post(f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT, json={"operationName": "DoNotDisturbOn"})
    assert dnd.status_code == 200 and _device(variant)["capabilities"] == ["ForwardCallsOn", "DoNotDisturbOff"]
    _state(variant, "AfterCallWork")
    variant.post(f"/api/v2/me/devices/{DEVICE_A}", headers=AGENT, json={"operationName": "DoNotDisturbOff"})
    assert _device(variant)["capabilities"] == ["ForwardCallsOn", "DoNotDisturbOn"]  # l.9437-9442
    _state(variant, "Offline")
    assert _device(variant)["userState"]["state"] == "Logout"
    _state(plain, "Offline")
    assert _device(plain)["userState"]["state"] == "LoggedOut"


def _established(client: Any) -> tuple[str, str]:
    """Agent B (5001) dials agent A (5000), A answers; returns (A's call id, B's call id)."""
    dial = {"operationName": "Dial", "destination": {"phoneNumber": "5000"}}
    assert client.post(f"/api/v2/me/devices/{DEVICE_B}/calls", headers=AGENT_B, json=dial).status_code == 200
    [a_call] = client.get("/api/v2/me/calls?fields=*", headers=AGENT).get_json()["calls"]
    client.post(f"/api/v2/me/calls/{a_call['id']}", headers=AGENT, json={"operationName": "Answer"})
    [b_call] = client.get("/api/v2/me/calls?fields=*", headers=AGENT_B).get_json()["calls"]
    return a_call["id"], b_call["id"]


def test_mute_variants() -> None:
    client = _client("mute-on-two-party", "mute-silent")
    app_world = client.application.extensions["voicekit.gws"].world
    seen: list[Any] = []
    call_id, _ = _established(client)
    call = client.get(f"/api/v2/me/calls/{call_id}", headers=AGENT).get_json()["call"]
    assert "MuteCall" in call["capabilities"]
    app_world.bus.subscribe(seen.append)
    muted = client.post(f"/api/v2/me/calls/{call_id}", headers=AGENT, json={"operationName": "MuteCall"})
    assert muted.status_code == 200
    call = client.get(f"/api/v2/me/calls/{call_id}", headers=AGENT).get_json()["call"]
    assert call["mute"] == "On" and "UnmuteCall" in call["capabilities"]
    assert not [n for n in seen if n.channel == "/v2/me/calls"], "mute-silent: no call notification"


def test_platform_error_texts_keep_status_and_code() -> None:
    plain, variant = _client(), _client("platform-error-texts")
    for client, same in ((plain, True), (variant, False)):
        body = client.get("/platform/api/v2/users/me").get_json()
        assert body["status"] == 401 and body["code"] == "authentication.required"
        assert (body["message"] == plain.get("/platform/api/v2/users/me").get_json()["message"]) is same
