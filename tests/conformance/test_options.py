"""One declaration of the options (conformance/options.py) gives both the pytest plugin's ``--vk-*`` options with
their ini twins and ``voicekit certify``'s click options; the values reach TargetConfig with their source."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.cli import CertifyOptions, _overrides, pytest_arguments
from conformance.options import OPTIONS, command_options, parse_seconds, plugin_options
from voicekit.cli import certify


def test_certify_has_exactly_the_declared_options() -> None:
    params = {p.name: p for p in certify.params if isinstance(p, click.Option)}
    assert set(params) == {o.key for o in command_options()}
    for option in command_options():
        assert option.command_flag in params[option.key].opts
    assert params["overrides"].opts == ["--set"] and params["timeout"].opts == ["--timeout"]
    assert params["allow_destructive"].secondary_opts == ["--no-destructive"]


def test_the_plugin_has_exactly_the_declared_options(pytestconfig: pytest.Config) -> None:
    for option in plugin_options():
        assert pytestconfig.getoption(option.dest) in (None, False), option.flag
        if option.ini:
            assert pytestconfig.getini(option.dest) in (None, "", False), option.dest
    assert {o.flag for o in plugin_options()} >= {"--vk-target", "--vk-request-timeout", "--vk-set", "--vk-reset"}
    assert not any(o.flag == "--vk-junit" for o in plugin_options()), "certify's own options stay its own"


def test_a_parser_refuses_bad_input_with_the_message_users_see() -> None:
    with pytest.raises(ValueError, match="a timeout must be > 0 seconds"):
        parse_seconds("0")
    runner = CliRunner()
    done = runner.invoke(certify, ["--timeout", "0"])
    assert done.exit_code == 2 and "a timeout must be > 0 seconds" in done.output


def test_options_become_overrides_with_their_source(tmp_path: Path) -> None:
    options = CertifyOptions(timeout=3.5, allow_destructive=True, max_response_bytes=4096, overrides=["gws.csrf=on"])
    overrides, sources = _overrides(options)
    assert overrides == {
        "gws.csrf": "on",
        "timeouts.request": 3.5,
        "target.allow_destructive": True,
        "limits.max_response_bytes": 4096,
    }
    assert sources["timeouts.request"] == "option --timeout / --vk-request-timeout"
    assert sources["gws.csrf"] == "--set gws.csrf"
    args = pytest_arguments(options)
    assert args[args.index("--vk-request-timeout") :][:2] == ["--vk-request-timeout", "3.5"]
    assert "--vk-set" in args and "limits.max_response_bytes=4096" in args


def test_every_option_is_declared_once() -> None:
    assert len({o.name for o in OPTIONS}) == len(OPTIONS)
    assert len({o.key for o in OPTIONS}) == len(OPTIONS)
    with pytest.raises(TypeError, match="no option 'nope'"):
        CertifyOptions(nope=1)
