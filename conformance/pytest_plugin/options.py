"""Job: the plugin's options. ``--vk-<name>`` and its ini twin ``vk_<name>`` for every option of the table in
``conformance/options.py`` (declared there once, with ``voicekit certify``'s), and their values for a session."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.options import Option, plugin_options

__all__ = ["RunOptions", "read_options"]


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` as argparse wants it: its ValueError message becomes the usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voicekit", "voicekit conformance suite")
    for option in plugin_options():
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.kind == "flag":
            kwargs.update(action="store_true", default=None if option.ini else False)
        else:
            kwargs.update(default=None, metavar=option.metavar or option.name.upper())
            if option.kind == "multi":
                kwargs["action"] = "append"
            if option.parse is not None:
                kwargs["type"] = _argparse_type(option.parse)
            if option.choices:
                kwargs.update(choices=option.choices, metavar=None)
        group.addoption(option.flag, **kwargs)
        if option.ini:
            ini_type = "bool" if option.kind == "flag" else "string"
            parser.addini(option.dest, help=option.help, type=ini_type, default=None)  # type: ignore[arg-type]


@dataclass
class RunOptions:
    """The options' values of a session (by ``Option.key``), and the configuration overrides they make."""

    values: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)
    #: The option (or ini key) each override came from: the certificate shows it as the setting's source.
    override_sources: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str | None:
        return self.values.get("target")

    @property
    def config(self) -> str | None:
        return self.values.get("config")

    @property
    def profiles(self) -> list[str] | None:
        return self.values.get("profile")

    @property
    def allow_destructive(self) -> bool:
        return bool(self.values.get("allow_destructive"))

    @property
    def report_dir(self) -> Path | None:
        value = self.values.get("report_dir")
        return Path(value) if value else None

    @property
    def fail_under(self) -> float | None:
        return self.values.get("fail_under")

    @property
    def reset(self) -> str:
        return str(self.values.get("reset") or "module")


def _value(config: pytest.Config, option: Option) -> tuple[Any, str]:
    """The option's value (the command line first, then the ini file) and where it came from."""
    value = config.getoption(option.dest)
    if value is not None or not option.ini:
        return value, option.source()
    raw = config.getini(option.dest)
    if raw in (None, "", []):
        return None, option.source()
    if option.parse is None or not isinstance(raw, str):
        return raw, option.source(ini=True)
    try:
        return option.parse(raw), option.source(ini=True)
    except ValueError as exc:
        raise pytest.UsageError(f"ini option {option.dest}: {exc}") from None


def read_options(config: pytest.Config) -> RunOptions:
    """The values; ``--vk-set`` first, so an option naming its key (``--vk-request-timeout``) wins over it."""
    options = RunOptions({})
    sources = {}
    for option in plugin_options():
        options.values[option.key], sources[option.key] = _value(config, option)
    for key, item in options.values.get("overrides") or []:
        options.overrides[key] = item
        options.override_sources[key] = f"--set {key}"
    for option in plugin_options():
        value = options.values[option.key]
        if option.config_key and value is not None and (option.kind != "flag" or value):
            options.overrides[option.config_key] = value
            options.override_sources[option.config_key] = sources[option.key]
    return options
