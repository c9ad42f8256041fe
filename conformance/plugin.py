"""The voicekit pytest plugin: options, markers, fixtures and result events of the conformance suite.

Registered through the ``pytest11`` entry point (``voicekit = "conformance.plugin"``) and usable with
``-p conformance.plugin``. It stays inert — starts nothing, loads no configuration — unless the collected
tests carry a ``profile`` marker, because the project's own test suite loads it too.

Options (group ``voicekit``; each has an ini twin of the same name without dashes, e.g. ``vk_target``):
``--vk-target mock|FILE``, ``--vk-config FILE``, ``--vk-profile a,b``, ``--vk-allow-destructive``,
``--vk-report-dir DIR``, ``--vk-fail-under PCT``, ``--vk-request-timeout``, ``--vk-notification-timeout``,
``--vk-run-timeout`` (seconds), ``--vk-reset module|test|session|none``, ``--vk-csrf on|off|auto``,
``--vk-set section.key=value`` (repeatable).

Markers: ``profile(name)``, ``rule(id, document=, lines=(a, b), title=)``, ``fixture_id(id)``,
``operations(*catalog_ids)``, ``destructive``, ``severity(level)``, ``needs_event(name)``.

Fixtures: session ``vk_target``, ``vk_config``, ``contracts``, ``corpus``; per test ``gws_agent``,
``gws_agent_b``, ``gws_supervisor``, ``gws_admin``, ``gws_anonymous``, ``gws_client`` (factory), ``gws_notifications``
(factory), ``events``, ``platform_client`` (factory), ``platform_login``, ``bus`` (factory), ``vk_cleanup``.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import datetime as dt
import functools
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import advisory
from conformance import evidence as evidence_log
from conformance import profiles as profile_registry
from conformance.config import GwsUser, TargetConfig, parse_override
from conformance.control import ControlClient
from conformance.errors import ConfigError, VoicekitError
from conformance.events import EVENTS, EventSource
from conformance.failures import SEVERITIES, ConformanceFailure, TargetUnreachable
from conformance.outcomes import NOT_RUN_PREFIX, not_run, not_run_reason
from conformance.reporting.results import (
    Collector,
    NdjsonReporter,
    SessionFinished,
    SessionStarted,
    TestResult,
)
from conformance.support.gws import GwsAgent
from conformance.target import MOCK, RunningTarget, load_config, open_target
from conformance.transport.cometd import DEFAULT_CHANNELS, CometdClient
from conformance.transport.http import HttpClient
from conformance.transport.ws import WsClient

__all__ = ["Cleanup", "VkState", "get_state"]

ENTRY_POINT = "voicekit"
RESET_SCOPES = ("module", "test", "session", "none")
MARKERS = (
    "profile(name): the conformance profile the test belongs to (conformance.profiles)",
    "rule(id, document=None, lines=None, title=None): the rule the test certifies and where it is documented",
    "fixture_id(id): the documented sample (fixtures/) the test replays or relies on",
    "operations(*catalog_ids): the catalog operations (specs/catalog) the test exercises",
    "destructive: the test changes the target's configuration (needs --vk-allow-destructive)",
    "severity(level): blocker, critical, normal, minor or trivial (default: by profile)",
    "needs_event(name): the test needs an event source for this event (conformance.events.EVENTS)",
    "allure_label: Allure label (set by the voicekit plugin)",
    "allure_link: Allure link (set by the voicekit plugin)",
)


# ---- option parsers -----------------------------------------------------------------------------------------
def parse_target(text: str) -> str:
    if text == MOCK:
        return text
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"--vk-target is 'mock' or a configuration file; {text!r} not found")
    return text


def parse_profiles(text: str) -> list[str] | None:
    try:
        return profile_registry.parse_selection(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (a percentage, 0-100)") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage between 0 and 100")
    return value


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a timeout must be > 0 seconds")
    return value


def parse_reset(text: str) -> str:
    if text not in RESET_SCOPES:
        raise argparse.ArgumentTypeError(f"--vk-reset is one of {', '.join(RESET_SCOPES)}")
    return text


def parse_set(text: str) -> tuple[str, Any]:
    try:
        return parse_override(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voicekit", "voicekit conformance suite")

    def add(flag: str, ini_type: str | None, help_text: str, **kwargs: Any) -> None:
        dest = flag.lstrip("-").replace("-", "_")
        group.addoption(flag, dest=dest, help=help_text, **kwargs)
        if ini_type is not None:
            parser.addini(dest, help=help_text, type=ini_type, default=None)  # type: ignore[arg-type]

    add(
        "--vk-target",
        "string",
        "Target: 'mock' (the embedded mock, default) or a configuration file.",
        type=parse_target,
        default=None,
        metavar="mock|FILE",
    )
    add(
        "--vk-config",
        "string",
        "Target configuration file (TOML or YAML); with --vk-target mock it tunes the mock run.",
        default=None,
        metavar="FILE",
    )
    add(
        "--vk-profile",
        "string",
        "Run only these profiles (comma list, 'gws-*' patterns); the others are reported not selected.",
        type=parse_profiles,
        default=None,
        metavar="a,b",
    )
    add(
        "--vk-allow-destructive",
        "bool",
        "Run destructive tests (they change the target's configuration).",
        action="store_true",
        default=None,
    )
    add(
        "--vk-report-dir",
        "string",
        "Write the certificate (json, md, html) and results.ndjson here.",
        default=None,
        metavar="DIR",
    )
    add(
        "--vk-fail-under",
        "string",
        "Fail when the overall score (percent) is below this.",
        type=parse_percent,
        default=None,
        metavar="PCT",
    )
    add(
        "--vk-request-timeout",
        "string",
        "Seconds for one request.",
        type=parse_seconds,
        default=None,
        metavar="SECONDS",
    )
    add(
        "--vk-notification-timeout",
        "string",
        "Seconds to wait for one notification.",
        type=parse_seconds,
        default=None,
        metavar="SECONDS",
    )
    add("--vk-run-timeout", "string", "Seconds for the whole run.", type=parse_seconds, default=None, metavar="SECONDS")
    add(
        "--vk-reset",
        "string",
        "When to reset the mock through its control API: module (default), test, session or none.",
        type=parse_reset,
        default=None,
        metavar="SCOPE",
    )
    add("--vk-csrf", "string", "GWS CSRF handling: on, off or auto.", choices=("on", "off", "auto"), default=None)
    add(
        "--vk-no-summary",
        None,
        "Do not print the certificate summary at the end (voicekit certify prints it).",
        action="store_true",
        default=False,
    )
    add(
        "--vk-set",
        None,
        "Override one configuration value: section.key=value (repeatable).",
        type=parse_set,
        action="append",
        default=None,
        metavar="KEY=VALUE",
    )


# ---- state -----------------------------------------------------------------------------------------------------
@dataclass
class Options:
    target: str | None
    config: str | None
    profiles: list[str] | None
    allow_destructive: bool
    report_dir: Path | None
    fail_under: float | None
    reset: str
    overrides: dict[str, Any]


def _option(config: pytest.Config, name: str, convert: Callable[[str], Any] | None = None) -> Any:
    value = config.getoption(name)
    if value is not None:
        return value
    raw = config.getini(name)
    if raw in (None, "", []):
        return None
    if convert is None or not isinstance(raw, str):
        return raw
    try:
        return convert(raw)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"ini option {name}: {exc}") from None


def read_options(config: pytest.Config) -> Options:
    overrides: dict[str, Any] = dict(config.getoption("vk_set") or [])
    for name, key in (
        ("vk_request_timeout", "timeouts.request"),
        ("vk_notification_timeout", "timeouts.notification"),
        ("vk_run_timeout", "timeouts.run"),
        ("vk_csrf", "gws.csrf"),
    ):
        value = _option(config, name, parse_seconds if "timeout" in name else None)
        if value is not None:
            overrides[key] = value
    allow = _option(config, "vk_allow_destructive")
    if allow:
        overrides["target.allow_destructive"] = True
    report_dir = _option(config, "vk_report_dir")
    return Options(
        target=_option(config, "vk_target", parse_target),
        config=_option(config, "vk_config"),
        profiles=_option(config, "vk_profile", parse_profiles),
        allow_destructive=bool(allow),
        report_dir=Path(report_dir) if report_dir else None,
        fail_under=_option(config, "vk_fail_under", parse_percent),
        reset=_option(config, "vk_reset", parse_reset) or "module",
        overrides=overrides,
    )


class VkState:
    """Everything the plugin keeps for one session (stored in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.pytest_config = config
        self.active = False
        self._options: Options | None = None
        self.pre_config: TargetConfig | None = None
        self.target: RunningTarget | None = None
        self.target_error: BaseException | None = None
        self.collector = Collector()
        self.items: list[pytest.Item] = []
        self.unprofiled: list[pytest.Item] = []
        self.reported: set[str] = set()
        self.device_cache: dict[str, dict[str, Any]] = {}
        self.reset_key: str | None = None
        self.deadline: float | None = None
        self.interrupted: str | None = None
        self.certificate: dict[str, Any] | None = None
        self.notes: list[str] = []
        self._watchdog_stop = threading.Event()

    @property
    def options(self) -> Options:
        if self._options is None:
            self._options = read_options(self.pytest_config)
        return self._options

    def systems(self) -> list[str]:
        """The systems the collected tests use (all of them when used outside profile-marked tests)."""
        if not self.items:
            return ["gws", "platform", "connect"]
        return list(dict.fromkeys(profile_registry.get(_profile_name(i)).system for i in self.items))

    def open(self) -> RunningTarget:
        if self.target is None:
            if self.target_error is not None:
                raise self.target_error
            opts = self.options
            try:
                self.target = open_target(opts.target, opts.config, overrides=opts.overrides, systems=self.systems())
            except BaseException as exc:
                self.target_error = exc
                raise
        return self.target

    def close_target(self) -> None:
        if self.target is not None:
            self.target.close()

    def start_watchdog(self, seconds: float, grace: float) -> None:
        """After the whole-run timeout, tests stop being started; after ``grace`` more, a stuck test is
        interrupted (KeyboardInterrupt in the main thread) so the run still ends with a certificate."""
        self.deadline = time.monotonic() + seconds

        def watch() -> None:
            if not self._watchdog_stop.wait(seconds + grace):
                self.interrupted = self.interrupted or f"whole-run timeout of {seconds:g} s exceeded"
                _thread.interrupt_main()

        threading.Thread(target=watch, name="voicekit-watchdog", daemon=True).start()

    def stop_watchdog(self) -> None:
        self._watchdog_stop.set()


_STATE = pytest.StashKey[VkState]()
_RESULT = pytest.StashKey[dict[str, Any]]()


def get_state(config: pytest.Config) -> VkState:
    """The plugin state of a session (for hooks and conftest code)."""
    return config.stash[_STATE]


def _profile_name(item: pytest.Item) -> str:
    marker = item.get_closest_marker("profile")
    assert marker is not None
    return str(marker.args[0]) if marker.args else str(marker.kwargs.get("name"))


# ---- configure and collect -------------------------------------------------------------------------------------
def pytest_plugin_registered(plugin: object, plugin_name: str, manager: pytest.PytestPluginManager) -> None:
    """Loaded with ``-p conformance.plugin`` while the ``pytest11`` entry point ``voicekit`` is installed: block
    the entry point, which would register this module a second time (pluggy refuses that)."""
    if plugin is sys.modules[__name__] and plugin_name != ENTRY_POINT and manager.get_plugin(ENTRY_POINT) is None:
        manager.set_blocked(ENTRY_POINT)


#: Tests of one target share its agents, calls and settings, so they cannot run side by side, and each xdist
#: worker would write (and truncate) the same reports. Parallel runs go to separate targets instead.
SERIAL_ONLY = (
    "conformance tests run in one process (no -n/--numprocesses): they share the target's agents and "
    "state, and one session writes the reports"
)
_VK_OPTIONS = ("vk_target", "vk_config", "vk_profile", "vk_report_dir", "vk_allow_destructive", "vk_fail_under")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if config.getoption("numprocesses", default=None) and any(config.getoption(o) for o in _VK_OPTIONS):
        raise pytest.UsageError(f"voicekit: {SERIAL_ONLY}")
    config.stash[_STATE] = VkState(config)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = get_state(config)
    marked = [i for i in items if i.get_closest_marker("profile") is not None]
    if not marked:
        return
    if hasattr(config, "workerinput"):  # -n without --vk-* options (refused in pytest_configure with them)
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=NOT_RUN_PREFIX + SERIAL_ONLY))
        return
    opts = state.options
    catalog = None
    for item in marked:
        marker = item.get_closest_marker("profile")
        assert marker is not None
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: use @pytest.mark.profile('<name>') with one profile name")
        try:
            profile_registry.get(marker.args[0])
        except KeyError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc.args[0]}") from None
        for need in item.iter_markers("needs_event"):
            if not need.args or need.args[0] not in EVENTS:
                raise pytest.UsageError(f"{item.nodeid}: needs_event takes one of {', '.join(EVENTS)}")
        severity = item.get_closest_marker("severity")
        if severity is not None and (not severity.args or severity.args[0] not in SEVERITIES):
            raise pytest.UsageError(f"{item.nodeid}: severity is one of {', '.join(SEVERITIES)}")
        ops = [str(a) for m in item.iter_markers("operations") for a in m.args]
        if ops:
            if catalog is None:
                from conformance.loading import default_corpus

                catalog = set(default_corpus().catalog_by_id)
            unknown = [o for o in ops if o not in catalog]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown catalog operations {unknown}")
    try:
        state.pre_config = load_config(opts.target, opts.config, overrides=opts.overrides)
        if opts.profiles:
            state.pre_config.validate_for(profile_registry.get(n) for n in opts.profiles)
    except VoicekitError as exc:
        raise pytest.UsageError(f"voicekit: {exc}") from None
    for item in marked:
        item.user_properties.append(("profile", _profile_name(item)))  # JUnit <properties>
        rule = _rule(item).get("rule")
        if rule:
            item.user_properties.append(("rule", rule))
    if config.option.collectonly:
        return  # markers checked; nothing runs, so no target and no certificate
    state.active = True
    kept, deselected = [], []
    for item in items:
        profiled = item.get_closest_marker("profile") is not None
        if opts.profiles is not None and (not profiled or _profile_name(item) not in opts.profiles):
            deselected.append(item)  # a test of no profile belongs to no selected profile either
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    state.items = [i for i in items if i.get_closest_marker("profile") is not None]
    state.unprofiled = [i for i in items if i.get_closest_marker("profile") is None]
    allow = state.pre_config.allow_destructive
    for item in state.items:
        profile = profile_registry.get(_profile_name(item))
        _add_allure_marks(item, profile)
        if (profile.destructive or item.get_closest_marker("destructive") is not None) and not allow:
            item.add_marker(pytest.mark.skip(reason=NOT_RUN_PREFIX + "destructive tests need --allow-destructive"))
    _start_reporting(state, opts)
    for item in deselected:
        name = _profile_name(item) if item.get_closest_marker("profile") is not None else None
        state.collector.add(TestResult(item.nodeid, item.name, name, "not-selected", reason="not selected (--profile)"))
    timeouts = state.pre_config.timeouts
    state.start_watchdog(timeouts.run, grace=timeouts.request + timeouts.notification + 5)


def _start_reporting(state: VkState, opts: Options) -> None:
    if opts.report_dir is not None:
        from conformance.loading import default_corpus, spec_versions
        from conformance.reporting.certificate import CertificateReporter
        from voicekit import __version__

        state.collector.handlers.append(NdjsonReporter(opts.report_dir / "results.ndjson"))
        state.collector.handlers.append(
            CertificateReporter(
                opts.report_dir,
                state.collector,
                fail_under=opts.fail_under or 0.0,
                kit_version=__version__,
                spec_versions=spec_versions(),
                catalog=default_corpus().catalog,
            )
        )
    assert state.pre_config is not None
    state.collector.start(SessionStarted(state.pre_config.describe(), opts.profiles, _now()))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _seed_link(document: str, lines: Any) -> tuple[str, str]:
    from voicekit.paths import seeds_dir

    path = seeds_dir() / document
    first = lines[0] if lines else 1
    short = document.split("_", 1)[0]
    name = f"{short} l.{lines[0]}-{lines[1]}" if lines else short
    return f"{path.as_uri()}#L{first}", name


@functools.lru_cache(maxsize=256)
def resolve_document(document: str | None) -> str | None:
    """``"003"`` → ``"003_ca6f4272dc604134.txt"`` when the seeds are at hand; otherwise unchanged."""
    if not document or "." in document:
        return document
    from voicekit.paths import seeds_dir

    folder = seeds_dir()
    matches = sorted(folder.glob(f"{document}_*")) if folder.is_dir() else []
    return matches[0].name if len(matches) == 1 else document


def _rule(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("rule")
    if marker is None:
        return {}
    lines = marker.kwargs.get("lines")
    return {
        "rule": marker.args[0] if marker.args else marker.kwargs.get("id"),
        "document": resolve_document(marker.kwargs.get("document")),
        "lines": list(lines) if lines else None,
        "title": marker.kwargs.get("title"),
    }


def _add_allure_marks(item: pytest.Item, profile: profile_registry.Profile) -> None:
    label, link = pytest.mark.allure_label, pytest.mark.allure_link
    severity = item.get_closest_marker("severity")
    item.add_marker(label(profile.system, label_type="epic"))
    item.add_marker(label(profile.name, label_type="feature"))
    item.add_marker(label(severity.args[0] if severity else profile.default_severity, label_type="severity"))
    item.add_marker(label("required" if profile.required else "optional", label_type="tag"))
    rule = _rule(item)
    if rule.get("rule"):
        item.add_marker(label(rule["rule"], label_type="story"))
        item.add_marker(label(rule["rule"], label_type="tag"))
    if rule.get("document"):
        url, name = _seed_link(rule["document"], rule.get("lines"))
        item.add_marker(link(url, link_type="link", name=name))
    fixture = item.get_closest_marker("fixture_id")
    if fixture is not None and fixture.args:
        item.add_marker(label(str(fixture.args[0]), label_type="tag"))


# ---- per-test scope: evidence, guard, cleanup --------------------------------------------------------------------
class TargetUnhealthy(pytest.fail.Exception, TargetUnreachable):  # type: ignore[misc,name-defined]
    """The session's health check of the test's system failed: a :class:`TargetUnreachable` (the test
    fails) that pytest reports without a traceback (``pytrace=False``), since every test of the system
    fails the same way and formatting hundreds of tracebacks costs seconds."""

    def __init__(self, message: str) -> None:
        pytest.fail.Exception.__init__(self, msg=message, pytrace=False)
        TargetUnreachable.__init__(self, message, title="Target unhealthy")

    def __str__(self) -> str:
        return TargetUnreachable.__str__(self)


class Cleanup:
    """Undo actions of one test, run after it (LIFO) even when it failed. A failing action is reported as a
    warning, not as the test's failure."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, func: Callable[..., Any], *args: Any, description: str | None = None, **kwargs: Any) -> None:
        """Register ``func(*args, **kwargs)`` to run after the test."""
        name = description or str(getattr(func, "__name__", repr(func)))
        self._actions.append((name, func, args, kwargs))

    add = __call__

    def run(self) -> list[str]:
        problems = []
        while self._actions:
            name, func, args, kwargs = self._actions.pop()
            try:
                with evidence_log.step(f"cleanup: {name}"):
                    func(*args, **kwargs)
            except Exception as exc:  # a cleanup must not hide the test's own outcome
                problems.append(f"cleanup {name} failed: {exc}")
        return problems


@dataclass
class TestScope:
    __test__ = False

    cleanup: Cleanup = field(default_factory=Cleanup)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def own(self, closer: Callable[[], Any]) -> None:
        self.closers.append(closer)

    def close(self) -> list[str]:
        problems = self.cleanup.run()
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception as exc:
                problems.append(f"closing a client failed: {exc}")
        return problems


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if get_state(item.config).active:
        evidence_log.begin(item.nodeid)
        advisory.begin()


@pytest.fixture(autouse=True)
def _vk_scope(request: pytest.FixtureRequest) -> Iterator[TestScope]:
    """Every test gets a scope (cheap); profile-marked tests also get the guard: run timeout, target health,
    configuration and event requirements, and the mock reset."""
    scope = TestScope()
    state = get_state(request.config)
    if state.active and request.node.get_closest_marker("profile") is not None:
        _guard(request, state)
    yield scope
    for problem in scope.close():
        warnings.warn(problem, pytest.PytestWarning, stacklevel=1)


def _guard(request: pytest.FixtureRequest, state: VkState) -> None:
    item = request.node
    profile = profile_registry.get(_profile_name(item))
    if state.deadline is not None and time.monotonic() > state.deadline:
        state.interrupted = state.interrupted or "whole-run timeout exceeded"
        request.session.shouldstop = state.interrupted
        not_run(state.interrupted)
    target: RunningTarget = request.getfixturevalue("vk_target")
    reason = target.config.missing_all((profile.system, *profile.needs))
    if reason:
        not_run(reason)
    problem = target.unhealthy_reason(profile.system)
    if problem:
        raise TargetUnhealthy(problem)
    if item.get_closest_marker("needs_event") is not None:
        source = EventSource(target.config)
        for marker in item.iter_markers("needs_event"):
            source.require(str(marker.args[0]))
    _maybe_reset(request, state, target)


def _maybe_reset(request: pytest.FixtureRequest, state: VkState, target: RunningTarget) -> None:
    events = target.config.events
    scope = state.options.reset
    if not events.control_url or scope == "none":
        return
    key = {
        "test": request.node.nodeid,
        "module": str(getattr(request.node, "path", request.node.nodeid)),
        "session": "session",
    }[scope]
    if state.reset_key is None:
        state.reset_key = key  # a freshly started target needs no reset
        return
    if key == state.reset_key:
        return
    state.reset_key = key
    with ControlClient.for_target(target.config, record=False) as control:
        control.reset()


# ---- result events ------------------------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    state = get_state(item.config)
    if state.active:
        _record_phase(state, item, call, report)
    return report


def _classify(exc: BaseException | None) -> str:
    if isinstance(exc, AssertionError):
        return "failed"  # ConformanceFailure, TargetUnreachable, ProtocolViolation, plain asserts
    return "error"  # VoicekitError, or a bug in a family


def _record_phase(state: VkState, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    info = item.stash.setdefault(_RESULT, {"duration": 0.0})
    info["duration"] += report.duration
    if "outcome" not in info:
        if report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
            if hasattr(report, "wasxfail"):
                reason = f"expected failure: {report.wasxfail}"
            info.update(outcome="not-run", reason=not_run_reason(reason), phase=call.when)
        elif report.failed:
            exc = call.excinfo.value if call.excinfo is not None else None
            info.update(outcome=_classify(exc), phase=call.when, **_failure_details(item, exc, report))
            _observe(state, item, exc)
    if call.when == "call":
        _attach_advisories(advisory.collected(), _rule(item).get("rule"))
    if call.when != "teardown":
        return
    if info.get("outcome", "passed") == "passed":
        _observe(state, item, None)
    log = evidence_log.end()
    findings = advisory.end()
    _junit_advisories(item, report, [_advisory_dict(f, _rule(item).get("rule")) for f in findings])
    outcome = info.get("outcome", "passed")
    if item.get_closest_marker("profile") is None:  # listed as unprofiled, never scored
        state.collector.add(
            TestResult(
                item.nodeid,
                item.name,
                None,
                outcome,
                round(info["duration"], 3),
                reason=info.get("reason"),
                message=info.get("message"),
            )
        )
        return
    profile = profile_registry.get(_profile_name(item))
    rule = _rule(item)
    severity = item.get_closest_marker("severity")
    fixture = item.get_closest_marker("fixture_id")
    result = TestResult(
        nodeid=item.nodeid,
        name=item.name,
        profile=profile.name,
        outcome=outcome,
        duration=round(info["duration"], 3),
        reason=info.get("reason"),
        rule=info.get("rule") or rule.get("rule"),
        title=info.get("title") or rule.get("title"),
        message=info.get("message"),
        severity=info.get("severity") or (severity.args[0] if severity else profile.default_severity),
        check=info.get("check"),
        fixture=info.get("fixture") or (str(fixture.args[0]) if fixture else None),
        document=info.get("document") or rule.get("document"),
        lines=info.get("lines") or rule.get("lines"),
        operations=[str(a) for m in item.iter_markers("operations") for a in m.args],
        evidence=(info.get("details") or []) + (log.summaries() if log and outcome in ("failed", "error") else []),
        phase=info.get("phase"),
        advisories=[_advisory_dict(f, rule.get("rule")) for f in findings],
    )
    state.reported.add(item.nodeid)
    state.collector.add(result)


def _advisory_text(finding: dict[str, Any]) -> str:
    basis = f" (basis: {finding['basis']})" if finding.get("basis") else ""
    return f"[{finding.get('rule') or 'advisory'}] {finding['message']}{basis}"


def _attach_advisories(findings: list[advisory.Advisory], rule: str | None) -> None:
    """Allure: the findings of the test as one redacted text attachment (a warning, not a failed step)."""
    if findings:
        text = "\n".join(_advisory_text(_advisory_dict(f, rule)) for f in findings)
        evidence_log.attach(text, f"advisory findings ({len(findings)})", "text")


def _junit_advisories(item: pytest.Item, report: pytest.TestReport, findings: list[dict[str, Any]]) -> None:
    """JUnit: each finding as a ``voicekit.advisory`` property of the test case and a ``<system-out>`` line, so
    CI shows it as a warning while the test case keeps its outcome."""
    if not findings:
        return
    lines = [_advisory_text(f) for f in findings]
    report.user_properties.extend(("voicekit.advisory", line) for line in lines)
    try:  # pytest's junitxml writes <system-out> only for captured output; add ours to the test case directly
        from xml.etree import ElementTree

        from _pytest.junitxml import bin_xml_escape, xml_key
    except ImportError:  # pragma: no cover - pytest internals moved; the properties still carry the findings
        return
    log_xml = item.config.stash.get(xml_key, None)
    if log_xml is None:
        return
    element = ElementTree.Element("system-out")
    element.text = bin_xml_escape("\n".join(f"voicekit advisory (not scored): {line}" for line in lines))
    log_xml.node_reporter(report).append(element)


def _observe(state: VkState, item: pytest.Item, exc: BaseException | None) -> None:
    """Tell the target's health logic how a test of its system ended (fail fast after repeated outages)."""
    if state.target is None or item.get_closest_marker("profile") is None or isinstance(exc, TargetUnhealthy):
        return
    state.target.observe(profile_registry.get(_profile_name(item)).system, exc)


def _advisory_dict(finding: advisory.Advisory, rule: str | None) -> dict[str, Any]:
    from conformance.redact import redact_text

    return {"message": redact_text(finding.message), "rule": finding.rule or rule, "basis": finding.basis}


def _failure_details(item: pytest.Item, exc: BaseException | None, report: pytest.TestReport) -> dict[str, Any]:
    from conformance.redact import redact_text

    if isinstance(exc, ConformanceFailure):
        rule = _rule(item)
        return {
            "rule": exc.rule or rule.get("rule") or getattr(exc, "default_rule", None) or None,
            "title": exc.title if exc.title != ConformanceFailure.default_title else rule.get("title") or exc.title,
            "message": redact_text(exc.message),
            "severity": exc.severity,
            "check": getattr(exc, "check", None),
            "fixture": exc.evidence.fixture,
            "document": resolve_document(exc.evidence.document),
            "lines": list(exc.evidence.lines) if exc.evidence.lines else None,
            "details": [redact_text(d) for d in exc.evidence.details],
        }
    if isinstance(exc, AssertionError):
        text = str(exc).strip() or report.longreprtext.strip().splitlines()[-1]
        return {"title": "Assertion failed", "message": redact_text(text[:2000])}
    if isinstance(exc, VoicekitError):
        return {
            "title": f"Kit error ({type(exc).__name__})",
            "message": redact_text(exc.message),
            "reason": redact_text(exc.message),
        }
    name = type(exc).__name__ if exc is not None else "error"
    text = f"{name}: {exc}" if exc is not None else report.longreprtext.strip()[-500:]
    return {"title": f"Kit error ({name})", "message": redact_text(text[:2000]), "reason": redact_text(text[:300])}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = get_state(session.config)
    if not state.active:
        return
    state.stop_watchdog()
    stopped = state.interrupted or (str(session.shouldstop) if session.shouldstop else None)
    if exitstatus == pytest.ExitCode.INTERRUPTED and not stopped:
        stopped = "the run was interrupted"
    for item in state.items:
        if item.nodeid not in state.reported:
            state.collector.add(
                TestResult(
                    item.nodeid,
                    item.name,
                    _profile_name(item),
                    "not-run",
                    reason=f"the run stopped before this test ({stopped or 'unknown'})",
                )
            )
    health = state.target.health if state.target is not None else {}
    if state.target_error is not None:
        state.notes.append(f"the target could not be opened: {state.target_error}")
    if state.target is not None and state.target.mock is not None:
        state.notes.append(f"embedded mock at {state.target.config.gws.url}")
    state.close_target()
    target = (
        state.target.config.describe()
        if state.target is not None
        else (state.pre_config.describe() if state.pre_config else {})
    )
    if state.collector.started is not None:
        state.collector.started.target = target
    finished = SessionFinished(_now(), health=health, interrupted=state.interrupted, notes=state.notes)
    state.collector.finish(finished)
    from conformance.reporting.certificate import CertificateReporter, build

    reporter = next((h for h in state.collector.handlers if isinstance(h, CertificateReporter)), None)
    if reporter is not None:
        state.certificate = reporter.certificate
    else:
        state.certificate = build(
            state.collector.results,
            target=target,
            selected=state.options.profiles,
            health=health,
            interrupted=state.interrupted,
            fail_under=state.options.fail_under or 0.0,
            notes=state.notes,
        )
    fail_under = state.options.fail_under
    assert state.certificate is not None  # set just above, by the reporter's shutdown or by build()
    overall = state.certificate["score"]["overall"]
    if fail_under is not None and session.exitstatus == 0 and (overall is None or overall < fail_under):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = get_state(config)
    if not state.active or state.certificate is None or config.getoption("vk_no_summary"):
        return
    from conformance.reporting.certificate import summary_lines

    terminalreporter.section("voicekit")
    for line in summary_lines(state.certificate):
        terminalreporter.write_line(line)
    if state.options.report_dir is not None:
        terminalreporter.write_line(f"certificate written to {state.options.report_dir}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.stop_watchdog()
        state.close_target()


# ---- fixtures -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def vk_target(request: pytest.FixtureRequest) -> RunningTarget:
    """The running target: starts the mock for ``--vk-target mock`` (stopped at the end of the session) and
    checks each system's health once."""
    return get_state(request.config).open()


@pytest.fixture(scope="session")
def vk_config(vk_target: RunningTarget) -> TargetConfig:
    """The final target configuration."""
    return vk_target.config


@pytest.fixture(scope="session")
def contracts() -> Any:
    """The loaded specs (``voicekit.contracts.Contracts``)."""
    from conformance.loading import default_contracts

    return default_contracts()


@pytest.fixture(scope="session")
def corpus() -> Any:
    """The fixtures, catalog and errata (``voicekit.corpus.Corpus``)."""
    from conformance.loading import default_corpus

    return default_corpus()


def _gws_client(target: RunningTarget, state: VkState, scope: TestScope, user: GwsUser, role: str) -> GwsAgent:
    config = target.config
    if not config.gws.url:
        not_run("no gws URL configured")
    client = GwsAgent(
        config.gws.url,
        user,
        role=role,
        device_cache=state.device_cache,
        csrf=config.gws.csrf,
        timeout=config.timeouts.request,
        verify=config.ssl_verify(),
    )
    scope.own(client.close)
    return client


def _configured_agent(request: pytest.FixtureRequest, index: int, role: str) -> GwsAgent:
    target: RunningTarget = request.getfixturevalue("vk_target")
    agents = target.config.gws.agents
    if len(agents) <= index:
        not_run(f"{role} needs gws.agents[{index}] in the configuration")
    return _gws_client(target, get_state(request.config), request.getfixturevalue("_vk_scope"), agents[index], role)


@pytest.fixture
def gws_agent(request: pytest.FixtureRequest) -> GwsAgent:
    """Agent A (``gws.agents[0]``): an HTTP client with ``.device_id`` and ``.phone_number``."""
    return _configured_agent(request, 0, "agent A")


@pytest.fixture
def gws_agent_b(request: pytest.FixtureRequest) -> GwsAgent:
    """Agent B (``gws.agents[1]``)."""
    return _configured_agent(request, 1, "agent B")


@pytest.fixture
def gws_supervisor(request: pytest.FixtureRequest, vk_target: RunningTarget) -> GwsAgent:
    """The supervisor (``gws.supervisor``)."""
    if vk_target.config.gws.supervisor is None:
        not_run("no GWS supervisor credentials (gws.supervisor)")
    return _gws_client(
        vk_target,
        get_state(request.config),
        request.getfixturevalue("_vk_scope"),
        vk_target.config.gws.supervisor,
        "supervisor",
    )


@pytest.fixture
def gws_admin(request: pytest.FixtureRequest, vk_target: RunningTarget) -> GwsAgent:
    """The administrator (``gws.admin``)."""
    if vk_target.config.gws.admin is None:
        not_run("no GWS admin credentials (gws.admin)")
    return _gws_client(
        vk_target, get_state(request.config), request.getfixturevalue("_vk_scope"), vk_target.config.gws.admin, "admin"
    )


@pytest.fixture
def gws_anonymous(request: pytest.FixtureRequest, vk_target: RunningTarget) -> HttpClient:
    """An HTTP client for GWS without credentials (anonymous and authentication tests)."""
    config = vk_target.config
    if not config.gws.url:
        not_run("no gws URL configured")
    client = HttpClient(
        config.gws.url,
        csrf="off",
        timeout=config.timeouts.request,
        verify=config.ssl_verify(),
        name="anonymous",
        system="gws",
    )
    request.getfixturevalue("_vk_scope").own(client.close)
    return client


@pytest.fixture
def gws_client(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., GwsAgent]:
    """Factory: ``gws_client(user)`` — a client for a ``GwsUser``, a named user of ``gws.users``, or any
    ``(username, password)`` (wrong credentials for security tests)."""
    state = get_state(request.config)
    scope: TestScope = request.getfixturevalue("_vk_scope")

    def make(user: GwsUser | str | tuple[str, str], role: str = "") -> GwsAgent:
        if isinstance(user, str):
            named = vk_target.config.gws.users.get(user)
            if named is None:
                not_run(f"no GWS user {user!r} in gws.users")
            user = named
        elif isinstance(user, tuple):
            user = GwsUser(*user)
        return _gws_client(vk_target, state, scope, user, role or user.username)

    return make


@pytest.fixture
def gws_notifications(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., CometdClient]:
    """Factory: ``gws_notifications(client, channels=("/v2/me/*",), open=True)`` — a CometD session with the
    client's identity (handshake, subscribe, connect loop), disconnected after the test."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(
        client: HttpClient,
        channels: tuple[str, ...] | list[str] = DEFAULT_CHANNELS,
        *,
        open: bool = True,
        append_paths: bool = True,
    ) -> CometdClient:
        if not config.gws.url:
            not_run("no gws URL configured")
        cometd = CometdClient(
            f"{config.gws.url}/api/v2/notifications",
            http=client,
            notification_timeout=config.timeouts.notification,
            append_paths=append_paths,
        )
        scope.own(cometd.close)
        if open:
            cometd.open(channels)
        return cometd

    return make


@pytest.fixture
def events(request: pytest.FixtureRequest, vk_target: RunningTarget) -> EventSource:
    """The :class:`EventSource` of the target (control API, driver, manual, or not run)."""
    config = request.config
    scope: TestScope = request.getfixturevalue("_vk_scope")

    def announce(text: str) -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        writer = config.get_terminal_writer()
        context = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with context:
            writer.line(text)

    source = EventSource(vk_target.config, announce=announce)
    scope.own(source.close)
    return source


@pytest.fixture
def platform_client(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., HttpClient]:
    """Factory: ``platform_client(token=None)`` — an HTTP client for the Platform API with a bearer token
    (``token="user:0"`` takes the pre-obtained token of ``platform.users[0]``)."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(token: str | None = None) -> HttpClient:
        if not config.platform.url:
            not_run("no platform URL configured")
        if token and token.startswith("user:"):
            index = int(token.split(":", 1)[1])
            users = config.platform.users
            if len(users) <= index or not users[index].token:
                not_run(f"platform.users[{index}] has no token")
            token = users[index].token
        client = HttpClient(
            config.platform.url,
            token=token,
            csrf="off",
            timeout=config.timeouts.request,
            verify=config.ssl_verify(),
            name="platform",
            system="platform",
        )
        scope.own(client.close)
        return client

    return make


@pytest.fixture
def platform_login(request: pytest.FixtureRequest, vk_target: RunningTarget) -> HttpClient:
    """An unauthenticated HTTP client at the Platform login root (``/oauth/token``, ``/oauth/authorize``)."""
    config = vk_target.config
    root = config.platform.login_url or config.platform.url
    if not root:
        not_run("no platform URL configured")
    client = HttpClient(
        root,
        csrf="off",
        timeout=config.timeouts.request,
        verify=config.ssl_verify(),
        name="platform login",
        system="platform",
    )
    request.getfixturevalue("_vk_scope").own(client.close)
    return client


@pytest.fixture
def bus(request: pytest.FixtureRequest, vk_target: RunningTarget) -> Callable[..., WsClient]:
    """Factory: ``bus(agent_id=None, open=True)`` — the Connect CTI bus WebSocket of an agent (default
    ``connect.agents[0]``), closed after the test."""
    scope: TestScope = request.getfixturevalue("_vk_scope")
    config = vk_target.config

    def make(agent_id: str | None = None, *, open: bool = True, headers: dict[str, str] | None = None) -> WsClient:
        if not config.connect.url:
            not_run("no connect URL configured")
        if agent_id is None:
            if not config.connect.agents:
                not_run("no Connect agent ids (connect.agents)")
            agent_id = config.connect.agents[0]
        sent = {**config.connect.headers(agent_id), **(headers or {})}
        client = WsClient(
            config.connect.bus_url(agent_id),
            headers=sent,
            timeout=config.timeouts.request,
            notification_timeout=config.timeouts.notification,
            verify=config.ssl_verify(),
            transport="connect-bus",
            channel_key="topic",
            name=agent_id,
        )
        scope.own(client.close)
        if open:
            client.open()
        return client

    return make


@pytest.fixture
def vk_cleanup(_vk_scope: TestScope) -> Cleanup:
    """Register undo actions: ``vk_cleanup(agent.hang_up_all)``; they run after the test (LIFO), before its
    clients close, even when it fails."""
    return _vk_scope.cleanup
