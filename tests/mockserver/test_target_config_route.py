"""GET /control/target-config: what the mock publishes for a suite to test it — a tree valid under
specs/schemas/config/TargetConfig.json, derived from the seed, behind the control guard."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from conformance.config import TargetConfig
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.control.target_config import target_config
from voicekit.paths import specs_dir

SCHEMA = json.loads((specs_dir() / "schemas" / "config" / "TargetConfig.json").read_text(encoding="utf-8"))


def test_the_route_publishes_a_valid_configuration_of_the_default_seed() -> None:
    client = create_app({"port": 0}).test_client()
    answer = client.get("/control/target-config", base_url="http://localhost:43997")
    assert answer.status_code == 200
    tree = answer.get_json()
    jsonschema.Draft202012Validator(SCHEMA).validate(tree)
    config = TargetConfig.from_mapping(tree)
    assert config.gws.url == "http://localhost:43997"
    assert config.events.control_url == "http://localhost:43997/control"
    names = [a.username for a in config.gws.agents]
    assert names[:2] == ["jsmith@uppercape.ca", "paveld@redwings.com"]
    assert config.gws.agents[0].phone_number == "5001"
    assert "nlidstrom@redwings.com" not in names
    assert config.gws.users["public_network_agent"].username == "nlidstrom@redwings.com"
    assert config.gws.supervisor is not None and config.gws.supervisor.username == "sgarcia@redwings.com"
    assert config.gws.admin and config.gws.admin.username == "mikeb@redwings.com"
    assert config.connect.url == "ws://localhost:43997/connect" and config.connect.auth == "on"
    assert config.connect.tokens["jsmith"] == "jsmith-bus-token"
    assert config.platform.url == "http://localhost:43997/platform" and config.platform.client_credentials


def test_the_route_is_behind_the_control_guard() -> None:
    client = create_app({"port": 0, "control_token": "s3cret"}).test_client()
    assert client.get("/control/target-config").status_code == 401
    ok = client.get("/control/target-config", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    foreign = client.get(
        "/control/target-config", headers={"Authorization": "Bearer s3cret", "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403


def test_platform_and_connect_are_just_data_of_the_seed(tmp_path: Path) -> None:
    seed = yaml.safe_load(
        """
gws: {users: [], devices: []}
platform:
  clients:
    - {clientId: svc, clientSecret: svc-secret, grantTypes: [client_credentials]}
    - {clientId: web, grantTypes: [authorization_code], redirectUris: ["http://localhost:8085/cb"]}
  users:
    - {id: u-1, email: agent@example.com, password: pw}
connect:
  agents: [{agentId: ca-1}, ca-2]
"""
    )
    tree = target_config("http://localhost:5000/", seed, MockConfig())
    jsonschema.Draft202012Validator(SCHEMA).validate(tree)
    config = TargetConfig.from_mapping(tree)
    assert config.platform.url == "http://localhost:5000/platform"
    assert config.platform.client_credentials and config.platform.client_credentials.client_id == "svc"
    assert config.platform.code_client and config.platform.code_client.redirect_uri == "http://localhost:8085/cb"
    assert config.platform.users[0].username == "agent@example.com"
    assert config.platform.users[0].user_id == "u-1"
    assert config.connect.url == "ws://localhost:5000/connect"
    assert config.connect.agents == ["ca-1", "ca-2"]
    without = TargetConfig.from_mapping(target_config("http://localhost:5000", {"gws": {}}, MockConfig()))
    assert without.platform.url is None and without.connect.url is None
    prefixed = target_config("http://h:1", {"connect": {}}, MockConfig(connect_prefix="/bus", bus_auth=False))
    assert prefixed["connect"]["url"] == "ws://h:1/bus" and prefixed["connect"]["auth"] == "auto"
