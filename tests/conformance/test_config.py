"""TargetConfig: files (TOML, YAML), environment and explicit overrides, validation, the mock's config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import profiles
from conformance.config import ConnectConfig, GwsUser, TargetConfig, config_schema, parse_override
from conformance.errors import ConfigError
from conformance.target import _rebase, load_config, mock_config

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


def test_the_mock_configuration_comes_from_its_route(mock_url: str) -> None:
    """``--target mock`` reads GET /control/target-config of the running mock (never its seed file)."""
    config = mock_config(mock_url + "/")
    assert config.gws.url == mock_url
    assert config.events.control_url == f"{mock_url}/control"
    assert [a.username for a in config.gws.agents][:2] == ["jsmith@uppercape.ca", "paveld@redwings.com"]
    assert config.gws.supervisor == GwsUser("sgarcia@redwings.com", "password", "5005")
    assert config.origin("gws.agents[0].password") == f"mock {mock_url}/control/target-config"
    assert config.origin("timeouts.request") == "default"


def test_the_mock_urls_are_rebased_on_the_address_the_kit_uses() -> None:
    """Through a proxy that rewrites Host, the mock names itself; the kit keeps talking to the proxy."""
    tree = {
        "gws": {"url": "http://127.0.0.1:5000"},
        "connect": {"url": "ws://127.0.0.1:5000/connect"},
        "platform": {"url": "http://elsewhere:1/platform"},
        "events": {"control_url": "http://127.0.0.1:5000/control"},
    }
    rebased = _rebase(tree, "https://proxy.example:8443")
    assert rebased["gws"]["url"] == "https://proxy.example:8443"
    assert rebased["connect"]["url"] == "wss://proxy.example:8443/connect"
    assert rebased["events"]["control_url"] == "https://proxy.example:8443/control"
    assert rebased["platform"]["url"] == "http://elsewhere:1/platform", "another host is left alone"


def test_new_settings_come_from_file_environment_and_set(tmp_path: Path) -> None:
    path = write(tmp_path, '[gws]\nunknown_dn = "48888"\n[fuzz]\nmax_examples = 3\n')
    env = {
        "VOICEKIT_GWS_QUEUE": "8001",
        "VOICEKIT_FUZZ_SEED": "42",
        "VOICEKIT_STATEFUL_DEBUG": "1",
        "VOICEKIT_STATEFUL_REPRODUCE": "6.1:AXic",
    }
    config = TargetConfig.load(path, environ=env, overrides={"stateful.steps": "7"})
    assert (config.gws.unknown_dn, config.gws.queue) == ("48888", "8001")
    assert (config.fuzz.max_examples, config.fuzz.stateful_examples, config.fuzz.seed) == (3, 10, 42)
    assert (config.stateful.steps, config.stateful.examples, config.stateful.debug) == (7, 20, True)
    assert config.stateful.reproduce == "6.1:AXic"
    sources = {s["key"]: s["source"] for s in config.settings()}
    assert sources["gws.unknown_dn"] == f"file {path}"
    assert sources["gws.queue"] == "environment VOICEKIT_GWS_QUEUE"
    assert sources["stateful.steps"] == "--set stateful.steps"
    assert sources["stateful.shrink_seconds"] == "default"
    defaults = TargetConfig.load(None, environ={})
    assert (defaults.gws.unknown_dn, defaults.gws.queue, defaults.stateful.shrink_seconds) == ("59999", None, 60)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VOICEKIT_FUZZ_MAX_EXAMPLES": "many"}, "fuzz.max_examples must be a whole number, not 'many'"),
        ({"VOICEKIT_FUZZ_MAX_EXAMPLES": "0"}, "fuzz.max_examples must be >= 1"),
        ({"VOICEKIT_STATEFUL_STEPS": "2.5"}, "stateful.steps must be a whole number"),
        ({"VOICEKIT_STATEFUL_REPRODUCE": "blob"}, "stateful.reproduce is <version>:<blob>"),
        ({"VOICEKIT_GWS_UNKNOWN_DN": "5 9"}, "gws.unknown_dn is one DN"),
        ({"VOICEKIT_TIMEOUTS_REQUEST": "soon"}, "timeouts.request must be a number, not 'soon'"),
    ],
)
def test_a_bad_value_names_the_key_and_its_source(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TargetConfig.load(None, environ=env)
    assert message in str(caught.value)
    assert f"(from environment {next(iter(env))})" in str(caught.value)


def test_the_certificate_lists_every_setting_with_secrets_redacted(tmp_path: Path) -> None:
    config = TargetConfig.load(write(tmp_path, TOML), environ={"VOICEKIT_GWS_AGENTS__1__PASSWORD": "from-env"})
    settings = {s["key"]: s for s in config.describe()["settings"]}
    assert settings["gws.agents[1].password"] == {
        "key": "gws.agents[1].password",
        "value": "***",
        "source": "environment VOICEKIT_GWS_AGENTS__1__PASSWORD",
    }
    assert settings["gws.agents[0].password"]["value"] == "***"
    assert settings["gws.agents[0].password"]["source"].startswith("file ")
    assert settings["platform.client_credentials.client_secret"]["value"] == "***"
    assert settings["timeouts.run"] == {"key": "timeouts.run", "value": 1800.0, "source": "default"}
    assert '"pa"' not in json.dumps(config.describe()) and '"ccs"' not in json.dumps(config.describe())


def test_the_schema_defaults_are_the_dataclass_defaults() -> None:
    """One declaration: the schema's defaults are what an empty configuration gives."""
    tree = TargetConfig().tree()
    for name, section in config_schema()["properties"].items():
        for key, spec in section["properties"].items():
            if "default" in spec:
                assert tree[name][key] == spec["default"], f"{name}.{key}"


def test_load_config_target_and_config_file(tmp_path: Path, mock_url: str) -> None:
    path = write(tmp_path, TOML)
    assert load_config(None, path, environ={}).name == "Acme lab"
    assert load_config(str(path), None, environ={}).name == "Acme lab"
    tuned = load_config("mock", path, environ={}, mock_base_url=mock_url)
    assert tuned.gws.url == mock_url, "the mock's URLs win over the file's"
    assert tuned.timeouts.request == 3.0, "the file tunes the rest"
    with pytest.raises(ConfigError, match="once"):
        load_config(str(path), tmp_path / "other.toml", environ={})


def test_mock_variants_from_override_file_and_environment(tmp_path: Path) -> None:
    """``--set mock.variants=a,b`` (a comma list), a file's list, or VOICEKIT_MOCK_VARIANTS; shown in describe()."""
    key, value = parse_override("mock.variants=mute-silent, offline-logout")
    config = TargetConfig.load(None, overrides={key: value}, environ={})
    assert config.mock.variants == ["mute-silent", "offline-logout"]
    assert config.describe()["mock_variants"] == ["mute-silent", "offline-logout"]
    path = tmp_path / "t.toml"
    path.write_text('[mock]\nvariants = ["swap-retrieved-first"]\n')
    assert TargetConfig.load(path, environ={}).mock.variants == ["swap-retrieved-first"]
    env = {"VOICEKIT_MOCK_VARIANTS": "merge-as-printed"}
    assert TargetConfig.load(None, environ=env).mock.variants == ["merge-as-printed"]
    assert "mock_variants" not in TargetConfig.load(None, environ={}).describe()
