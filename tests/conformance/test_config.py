"""TargetConfig: files (TOML, YAML), environment and explicit overrides, validation, the mock's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import profiles
from conformance.config import (
    ConnectConfig,
    GwsUser,
    TargetConfig,
    default_mock_seed,
    mock_data,
    parse_override,
)
from conformance.errors import ConfigError
from conformance.target import load_config

TOML = """
[target]
name = "Acme lab"
allow_destructive = false

[gws]
url = "https://gws.acme.example/"
csrf = "on"
agents = [
  {userName = "a@acme.example", password = "pa", phoneNumber = "7001"},
  {username = "b@acme.example", password = "pb"},
]
supervisor = {username = "sup@acme.example", password = "ps"}

[platform]
url = "https://api.acme.example"
login_url = "https://login.acme.example"
client_credentials = {client_id = "cc", client_secret = "ccs"}
code_client = {client_id = "web", redirect_uri = "http://localhost:8085/cb"}
users = [{username = "u@acme.example", password = "pu"}, {token = "tok"}]

[connect]
url = "wss://bus.acme.example/connect"
agents = ["agent-1"]

[timeouts]
request = 3
notification = 4.5

[events]
driver_command = "./driver {event} {args_json}"
"""


def write(tmp_path: Path, text: str, name: str = "target.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_file(tmp_path: Path) -> None:
    config = TargetConfig.load(write(tmp_path, TOML), environ={})
    assert config.name == "Acme lab"
    assert config.gws.url == "https://gws.acme.example"
    assert config.gws.csrf == "on"
    assert config.gws.agents == [GwsUser("a@acme.example", "pa", "7001"), GwsUser("b@acme.example", "pb")]
    assert config.gws.supervisor == GwsUser("sup@acme.example", "ps")
    assert config.gws.admin is None
    assert config.platform.token_url == "https://login.acme.example/oauth/token"
    assert config.platform.client_credentials and config.platform.client_credentials.client_secret == "ccs"
    assert config.platform.code_client and config.platform.code_client.redirect_uri == "http://localhost:8085/cb"
    assert [u.token for u in config.platform.users] == [None, "tok"]
    assert config.connect.bus_url("agent-1") == "wss://bus.acme.example/connect/agents/agent-1/bus"
    assert (config.timeouts.request, config.timeouts.notification, config.timeouts.run) == (3.0, 4.5, 1800.0)
    assert config.event_sources() == ["driver"]
    assert config.sources[1].endswith("target.toml")


def test_yaml_file_gives_the_same_tree(tmp_path: Path) -> None:
    yaml_text = """
target: {name: Acme lab}
gws:
  url: https://gws.acme.example
  agents: [{username: a, password: pa}]
timeouts: {request: 2}
"""
    config = TargetConfig.load(write(tmp_path, yaml_text, "target.yaml"), environ={})
    assert config.gws.agents == [GwsUser("a", "pa")]
    assert config.timeouts.request == 2.0


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "VOICEKIT_GWS_URL": "http://other.example:8080",
        "VOICEKIT_GWS_AGENTS__1__PASSWORD": "from-env",
        "VOICEKIT_GWS_SUPERVISOR__PASSWORD": "sup-env",
        "VOICEKIT_TIMEOUTS_REQUEST": "7",
        "VOICEKIT_TARGET_ALLOW_DESTRUCTIVE": "yes",
        "VOICEKIT_EVENTS_MANUAL_EVENTS": "on",
        "VOICEKIT_PLATFORM_CLIENT_CREDENTIALS__CLIENT_SECRET": "env-secret",
        "VOICEKIT_CONNECT_AGENTS": "x, y",
        "VOICEKIT_CONNECT_PREFIX": "/connect",  # the mock's setting: ignored here
        "VOICEKIT_SPECS_DIR": "/nowhere",  # voicekit.paths' setting: ignored here
    }
    config = TargetConfig.load(write(tmp_path, TOML), environ=env)
    assert config.gws.url == "http://other.example:8080"
    assert config.gws.agents[1].password == "from-env"
    assert config.gws.agents[0].password == "pa"
    assert config.gws.supervisor and config.gws.supervisor.password == "sup-env"
    assert config.timeouts.request == 7.0
    assert config.allow_destructive is True
    assert config.events.manual_events is True
    assert config.platform.client_credentials and config.platform.client_credentials.client_secret == "env-secret"
    assert config.connect.agents == ["x", "y"]
    assert any("VOICEKIT_GWS_URL" in s for s in config.sources)


def test_environment_json_values_and_overrides_win_over_environment(tmp_path: Path) -> None:
    env = {"VOICEKIT_GWS_AGENTS": '[{"username": "j", "password": "k"}]', "VOICEKIT_TIMEOUTS_RUN": "60"}
    config = TargetConfig.load(write(tmp_path, TOML), environ=env, overrides={"timeouts.run": 30, "gws.csrf": "off"})
    assert config.gws.agents == [GwsUser("j", "k")]
    assert config.timeouts.run == 30.0
    assert config.gws.csrf == "off"


def test_parse_override() -> None:
    assert parse_override("gws.csrf=on") == ("gws.csrf", "on")
    assert parse_override('connect.agents=["a","b"]') == ("connect.agents", ["a", "b"])
    with pytest.raises(ConfigError, match="unknown key"):
        parse_override("gws.nope=1")
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_override("gws.csrf")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[gws]\nurl = "ftp://gws.example"', "gws.url: 'ftp://gws.example' is not a http/https URL"),
        ('[gws]\nurl = "http://"', "is not a http/https URL"),
        ('[gws]\nurl = "http://host:99999"', "invalid port"),
        ('[gws]\nurll = "http://x"', "unknown key 'urll'"),
        ('[gws]\nagents = [{username = "a"}]', "gws.agents[0].password is required"),
        ('[gws]\ncsrf = "maybe"', "gws.csrf must be one of on, off, auto"),
        ("[timeouts]\nrequest = 0", "timeouts.request must be > 0"),
        ('[timeouts]\nrequest = "soon"', "timeouts.request must be a number"),
        ('[platform]\nclient_credentials = {client_id = "x"}', "client_secret is required"),
        ('[platform]\ncode_client = {client_id = "x"}', "redirect_uri is required"),
        ('[platform]\nusers = [{username = "x"}]', "needs username and password, or a token"),
        ('[connect]\nurl = "tcp://bus"', "connect.url"),
        ('[events]\ndriver_command = "./driver"', "must contain {event}"),
        ('[target]\ntls_verify = "/no/such/ca.pem"', "CA bundle '/no/such/ca.pem' not found"),
        ('[target]\nallow_destructive = "perhaps"', "must be true or false"),
        ("[nosuch]\nx = 1", "unknown key 'nosuch'"),
        ("not toml at all [", "is not valid TOML"),
    ],
)
def test_validation_errors_are_clear(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TargetConfig.load(write(tmp_path, text), environ={})
    assert message in str(caught.value)


def test_missing_file_and_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        TargetConfig.load(tmp_path / "absent.toml", environ={})
    with pytest.raises(ConfigError, match=r"use a \.toml"):
        TargetConfig.load(write(tmp_path, "x", "target.ini"), environ={})


def test_missing_credentials_for_a_selected_profile(tmp_path: Path) -> None:
    config = TargetConfig.load(write(tmp_path, TOML), environ={})
    assert config.missing("gws.admin") == "no GWS admin credentials (gws.admin)"
    assert config.missing("gws.supervisor") is None
    with pytest.raises(ConfigError, match="profile gws-settings-provisioning cannot run: no GWS admin"):
        config.validate_for([profiles.get("gws-settings-provisioning")])
    config.validate_for([profiles.get("gws-voice-core"), profiles.get("platform-auth-rules")])
    bare = TargetConfig.load(write(tmp_path, '[gws]\nurl = "http://g"'), environ={})
    assert bare.missing("platform.user") == "no platform URL configured"
    assert bare.missing_all(("gws", "gws.agent")) == "no GWS agent credentials configured (gws.agents)"
    with pytest.raises(ConfigError, match="unknown requirement"):
        bare.missing("gws.nothing")


def test_bus_url_template() -> None:
    assert ConnectConfig("ws://h/bus/{agentId}/ws").bus_url("a1") == "ws://h/bus/a1/ws"
    with pytest.raises(ConfigError):
        ConnectConfig().bus_url("a1")


def test_for_mock_reads_the_seed_users() -> None:
    config = TargetConfig.for_mock("http://localhost:43997/")
    assert config.gws.url == "http://localhost:43997"
    assert config.events.control_url == "http://localhost:43997/control"
    names = [a.username for a in config.gws.agents]
    assert names[:2] == ["jsmith@uppercape.ca", "paveld@redwings.com"]
    assert config.gws.agents[0].phone_number == "5001"
    assert "nlidstrom@redwings.com" not in names
    assert config.gws.users["public_network_agent"].username == "nlidstrom@redwings.com"
    assert config.gws.supervisor == GwsUser("sgarcia@redwings.com", "password", "5005")
    assert config.gws.admin and config.gws.admin.username == "mikeb@redwings.com"
    assert default_mock_seed().name == "default.yaml"


def test_for_mock_platform_and_connect_are_just_data(tmp_path: Path) -> None:
    seed = write(
        tmp_path,
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
""",
        "seed.yaml",
    )
    tree = mock_data("http://localhost:5000", seed)
    config = TargetConfig.from_mapping(tree)
    assert config.platform.url == "http://localhost:5000/platform"
    assert config.platform.client_credentials and config.platform.client_credentials.client_id == "svc"
    assert config.platform.code_client and config.platform.code_client.redirect_uri == "http://localhost:8085/cb"
    assert config.platform.users[0].username == "agent@example.com"
    assert config.platform.users[0].user_id == "u-1"
    assert config.connect.url == "ws://localhost:5000/connect"
    assert config.connect.agents == ["ca-1", "ca-2"]
    without = TargetConfig.from_mapping(mock_data("http://localhost:5000", write(tmp_path, "gws: {}", "s2.yaml")))
    assert without.platform.url is None and without.connect.url is None


def test_load_config_target_and_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, TOML)
    assert load_config(None, path, environ={}).name == "Acme lab"
    assert load_config(str(path), None, environ={}).name == "Acme lab"
    tuned = load_config("mock", path, environ={}, mock_base_url="http://localhost:1")
    assert tuned.gws.url == "http://localhost:1", "the mock's URLs win over the file's"
    assert tuned.timeouts.request == 3.0, "the file tunes the rest"
    with pytest.raises(ConfigError, match="once"):
        load_config(str(path), tmp_path / "other.toml", environ={})


def test_mock_variants_from_override_file_and_environment(tmp_path: Path) -> None:
    """``--set mock.variants=a,b`` (a comma list), a file's list, or VOICEKIT_MOCK_VARIANTS; shown in describe()."""
    key, value = parse_override("mock.variants=mute-silent, offline-logout")
    config = TargetConfig.load(None, mock_base_url="http://localhost:1", overrides={key: value}, environ={})
    assert config.mock.variants == ["mute-silent", "offline-logout"]
    assert config.describe()["mock_variants"] == ["mute-silent", "offline-logout"]
    path = tmp_path / "t.toml"
    path.write_text('[mock]\nvariants = ["swap-retrieved-first"]\n')
    assert TargetConfig.load(path, environ={}).mock.variants == ["swap-retrieved-first"]
    env = {"VOICEKIT_MOCK_VARIANTS": "merge-as-printed"}
    assert TargetConfig.load(None, environ=env).mock.variants == ["merge-as-printed"]
    assert "mock_variants" not in TargetConfig.load(None, environ={}).describe()
