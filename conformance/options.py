"""Every option of a conformance run, declared once: the pytest plugin (``--vk-<name>`` and its ini twin
``vk_<name>``) and ``voicekit certify`` (``--<name>``) are both generated from :data:`OPTIONS`.

Why one table: the options used to be written four times (click, ``CertifyOptions``, ``addoption``, the plugin's
``Options``), each copy a little different. An option that sets a configuration value names its key
(``config_key``); the value then goes into ``TargetConfig`` as an override, and the certificate names the option
as that setting's source. Parsers raise ``ValueError`` with the message a user sees; the pytest and click adapters
turn it into their usage errors. Nothing here imports pytest or click.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "OPTIONS",
    "RESET_SCOPES",
    "Option",
    "command_options",
    "parse_percent",
    "parse_profiles",
    "parse_seconds",
    "parse_set",
    "parse_target",
    "plugin_options",
]

MOCK = "mock"
RESET_SCOPES = ("module", "test", "session", "none")


# ---- parsers -------------------------------------------------------------------------------------------------
def parse_target(text: str) -> str:
    if text == MOCK:
        return text
    if not Path(text).is_file():
        raise ValueError(f"--vk-target is 'mock' or a configuration file; {text!r} not found")
    return text


def parse_file(text: str) -> str:
    if not Path(text).is_file():
        raise ValueError(f"file {text!r} not found")
    return text


def parse_dir(text: str) -> str:
    if Path(text).exists() and not Path(text).is_dir():
        raise ValueError(f"{text!r} is a file, not a folder")
    return text


def parse_existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise ValueError(f"folder {text!r} not found")
    return text


def parse_profiles(text: str) -> list[str] | None:
    from conformance import profiles

    return profiles.parse_selection(text)  # ValueError: unknown profile, naming the known ones


def parse_percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number (a percentage, 0-100)") from None
    if not 0 <= value <= 100:
        raise ValueError(f"{text!r} is not a percentage between 0 and 100")
    return value


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{text!r}: a timeout must be > 0 seconds")
    return value


def parse_bytes(text: str) -> int:
    if not str(text).strip().isdigit() or int(text) < 1024:
        raise ValueError(f"{text!r} is not a whole number of bytes >= 1024")
    return int(text)


def parse_reset(text: str) -> str:
    if text not in RESET_SCOPES:
        raise ValueError(f"--vk-reset is one of {', '.join(RESET_SCOPES)}")
    return text


def parse_set(text: str) -> tuple[str, Any]:
    from conformance.config import parse_override
    from conformance.errors import ConfigError

    try:
        return parse_override(text)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


# ---- the table ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """One option. ``name`` gives the plugin's ``--vk-<name>`` and ini ``vk_<name>``; ``command`` the name of
    ``voicekit certify``'s option (``""``: the same name; None: the plugin's only); ``key`` the Python name of its
    value (``CertifyOptions.<key>``, the click parameter)."""

    name: str
    help: str
    kind: Literal["value", "flag", "multi"] = "value"
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    config_key: str | None = None  # the TargetConfig key the value overrides
    command: str | None = ""
    plugin: bool = True  # False: voicekit certify's only
    ini: bool = True
    default: Any = None  # voicekit certify's default (the plugin's are None: unset)
    negative: str | None = None  # voicekit certify's switch-off flag (--no-junit)
    command_parses: bool = True  # False: certify() checks the value and reports it as a kit error (exit 2)
    key_name: str | None = None

    @property
    def key(self) -> str:
        return self.key_name or (self.command or self.name).replace("-", "_")

    @property
    def flag(self) -> str:
        """The plugin's flag."""
        return f"--vk-{self.name}"

    @property
    def dest(self) -> str:
        """The plugin's option and ini name."""
        return f"vk_{self.name.replace('-', '_')}"

    @property
    def command_flag(self) -> str:
        return f"--{self.command or self.name}"

    def source(self, ini: bool = False) -> str:
        """How the certificate names this option as a setting's source."""
        if ini:
            return f"ini {self.dest}"
        return f"option {self.command_flag} / {self.flag}" if self.command is not None else f"option {self.flag}"


OPTIONS: tuple[Option, ...] = (
    Option(
        "target",
        "Target: 'mock' (the embedded mock, the default without a configuration file) or a configuration file.",
        parse=parse_target,
        metavar="mock|FILE",
        command_parses=False,
    ),
    Option(
        "config",
        "Target configuration file (TOML or YAML; same as --target FILE); with --target mock it tunes the run.",
        parse=parse_file,
        metavar="FILE",
    ),
    Option(
        "profile",
        "Run only these profiles (comma list, 'gws-*' patterns); the others are reported not selected.",
        parse=parse_profiles,
        metavar="a,b",
        command_parses=False,
    ),
    Option(
        "allow-destructive",
        "Run destructive tests (they change the target's configuration). voicekit certify: on by default for the "
        "disposable embedded mock, off for any other target.",
        kind="flag",
        config_key="target.allow_destructive",
        negative="--no-destructive",
    ),
    Option(
        "report-dir",
        "Where the certificate (json, md, html), results.ndjson, JUnit XML and Allure results go.",
        parse=parse_dir,
        metavar="DIR",
        default="reports",
    ),
    Option(
        "fail-under",
        "Fail when the overall score (percent) is below this.",
        parse=parse_percent,
        metavar="PCT",
        default=0.0,
    ),
    Option(
        "request-timeout",
        "Seconds for one request (default 10, or the configuration's timeouts.request).",
        parse=parse_seconds,
        metavar="SECONDS",
        config_key="timeouts.request",
        command="timeout",
    ),
    Option(
        "notification-timeout",
        "Seconds to wait for one notification.",
        parse=parse_seconds,
        metavar="SECONDS",
        config_key="timeouts.notification",
    ),
    Option(
        "run-timeout",
        "Seconds for the whole run.",
        parse=parse_seconds,
        metavar="SECONDS",
        config_key="timeouts.run",
    ),
    Option(
        "max-response-bytes",
        "The most read of one response body or WebSocket frame; a larger one fails as the target's "
        "(default 16777216, or the configuration's limits.max_response_bytes).",
        parse=parse_bytes,
        metavar="BYTES",
        config_key="limits.max_response_bytes",
        plugin=False,
    ),
    Option(
        "reset",
        "When to reset the mock through its control API: module (default), test, session or none.",
        parse=parse_reset,
        metavar="SCOPE",
        command=None,
    ),
    Option(
        "csrf",
        "GWS CSRF handling: on, off or auto.",
        choices=("on", "off", "auto"),
        config_key="gws.csrf",
        command=None,
    ),
    Option(
        "no-summary",
        "Do not print the certificate summary at the end (voicekit certify prints it).",
        kind="flag",
        command=None,
        ini=False,
    ),
    Option("junit", "Write junit.xml.", kind="flag", plugin=False, default=True, negative="--no-junit"),
    Option(
        "set",
        "Override one configuration value: section.key=value, e.g. gws.csrf=on (repeatable).",
        kind="multi",
        parse=parse_set,
        metavar="KEY=VALUE",
        ini=False,
        command_parses=False,
        key_name="overrides",
    ),
    Option(
        "replay",
        "Also replay the fixtures in this folder (recordings of voicekit proxy --record), in the *-samples profiles.",
        kind="multi",
        parse=parse_existing_dir,
        metavar="DIR",
        plugin=False,
        key_name="replay_dirs",
    ),
)


def plugin_options() -> list[Option]:
    """The plugin's options (``--vk-*``)."""
    return [o for o in OPTIONS if o.plugin]


def command_options() -> list[Option]:
    """``voicekit certify``'s options."""
    return [o for o in OPTIONS if o.command is not None]


def by_key(key: str) -> Option:
    return next(o for o in OPTIONS if o.key == key)
