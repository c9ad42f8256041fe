"""Job: collection. Declares the markers, checks them on every profile-marked test, selects by ``--vk-profile``
(the rest is reported not selected), skips destructive tests unless allowed, and starts the run timeout. Inert
when no collected test carries a ``vk_profile`` marker: the project's own test suite loads the plugin too."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conformance import parallel
from conformance import profiles as profile_registry
from conformance.config import TargetConfig
from conformance.errors import VoicekitError
from conformance.events import EVENTS
from conformance.failures import SEVERITIES
from conformance.outcomes import NOT_RUN_PREFIX
from conformance.pytest_plugin.options import RunOptions
from conformance.pytest_plugin.results import junit_system_out, start_reporting
from conformance.pytest_plugin.state import get_state, profile_name, rule_of, set_state
from conformance.reporting.results import TestResult
from conformance.target import is_mock, load_config

__all__ = ["MARKERS", "SERIAL_ONLY"]

MARKERS = (
    "vk_profile(name): the conformance profile the test belongs to (conformance.profiles)",
    "vk_rule(id, document=None, lines=None, title=None): the rule the test certifies and where it is documented",
    "vk_fixture_id(id): the documented sample (fixtures/) the test replays or relies on",
    "vk_operations(*catalog_ids): the catalog operations (specs/catalog) the test exercises",
    "vk_destructive: the test changes the target's configuration (needs --vk-allow-destructive)",
    "vk_severity(level): blocker, critical, normal, minor or trivial (default: by profile)",
    "vk_needs_event(name): the test needs an event source for this event (conformance.events.EVENTS)",
    "allure_label: Allure label (set by the voicekit plugin)",
    "allure_link: Allure link (set by the voicekit plugin)",
)

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
    distributed = bool(config.getoption("numprocesses", default=None)) and any(config.getoption(o) for o in _VK_OPTIONS)
    refusal = parallel.refusal(config) if distributed else None  # one target per worker (conformance.parallel)
    if refusal:
        raise pytest.UsageError(f"voicekit: {refusal}")
    set_state(config)
    parallel.install(config, _PARALLEL_HOST, controller=distributed)


def load_pre_config(opts: RunOptions) -> TargetConfig:
    """The configuration before the target is opened, checked against the selected profiles (a usage error)."""
    try:
        config = load_config(opts.target, opts.config, overrides=opts.overrides, override_sources=opts.override_sources)
        if opts.profiles and not is_mock(opts.target, opts.config):  # the mock publishes its users once started
            config.validate_for(profile_registry.get(n) for n in opts.profiles)
    except VoicekitError as exc:
        raise pytest.UsageError(f"voicekit: {exc}") from None
    return config


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = get_state(config)
    marked = [i for i in items if i.get_closest_marker("vk_profile") is not None]
    if not marked:
        return
    if hasattr(config, "workerinput") and not parallel.is_worker(config):  # -n without --vk-* options
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=NOT_RUN_PREFIX + SERIAL_ONLY))
        return
    opts = state.options
    catalog = None
    for item in marked:
        marker = item.get_closest_marker("vk_profile")
        assert marker is not None
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{item.nodeid}: use @pytest.mark.vk_profile('<name>') with one profile name")
        try:
            profile_registry.get(marker.args[0])
        except KeyError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc.args[0]}") from None
        for need in item.iter_markers("vk_needs_event"):
            if not need.args or need.args[0] not in EVENTS:
                raise pytest.UsageError(f"{item.nodeid}: vk_needs_event takes one of {', '.join(EVENTS)}")
        severity = item.get_closest_marker("vk_severity")
        if severity is not None and (not severity.args or severity.args[0] not in SEVERITIES):
            raise pytest.UsageError(f"{item.nodeid}: vk_severity is one of {', '.join(SEVERITIES)}")
        ops = [str(a) for m in item.iter_markers("vk_operations") for a in m.args]
        if ops:
            if catalog is None:
                from conformance.loading import default_corpus

                catalog = set(default_corpus().catalog_by_id)
            unknown = [o for o in ops if o not in catalog]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown catalog operations {unknown}")
    state.pre_config = load_pre_config(opts)
    for item in marked:
        item.user_properties.append(("profile", profile_name(item)))  # JUnit <properties>
        rule = rule_of(item).get("rule")
        if rule:
            item.user_properties.append(("rule", rule))
    if config.option.collectonly:
        return  # markers checked; nothing runs, so no target and no certificate
    state.active = True
    kept, deselected = [], []
    for item in items:
        profiled = item.get_closest_marker("vk_profile") is not None
        if opts.profiles is not None and (not profiled or profile_name(item) not in opts.profiles):
            deselected.append(item)  # a test of no profile belongs to no selected profile either
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    state.items = [i for i in items if i.get_closest_marker("vk_profile") is not None]
    state.unprofiled = [i for i in items if i.get_closest_marker("vk_profile") is None]
    allow = state.pre_config.allow_destructive
    for item in state.items:
        profile = profile_registry.get(profile_name(item))
        _add_allure_marks(item, profile)
        if (profile.destructive or item.get_closest_marker("vk_destructive") is not None) and not allow:
            item.add_marker(pytest.mark.skip(reason=NOT_RUN_PREFIX + "destructive tests need --allow-destructive"))
    start_reporting(state, opts)
    for item in deselected:
        name = profile_name(item) if item.get_closest_marker("vk_profile") is not None else None
        state.collector.add(TestResult(item.nodeid, item.name, name, "not-selected", reason="not selected (--profile)"))
    timeouts = state.pre_config.timeouts
    state.start_watchdog(timeouts.run, grace=timeouts.request + timeouts.notification + 5)


def _seed_link(document: str, lines: Any) -> tuple[str, str]:
    from voicekit.paths import seeds_dir

    path = seeds_dir() / document
    first = lines[0] if lines else 1
    short = document.split("_", 1)[0]
    name = f"{short} l.{lines[0]}-{lines[1]}" if lines else short
    return f"{path.as_uri()}#L{first}", name


def _add_allure_marks(item: pytest.Item, profile: profile_registry.Profile) -> None:
    label, link = pytest.mark.allure_label, pytest.mark.allure_link
    severity = item.get_closest_marker("vk_severity")
    item.add_marker(label(profile.system, label_type="epic"))
    item.add_marker(label(profile.name, label_type="feature"))
    item.add_marker(label(severity.args[0] if severity else profile.default_severity, label_type="severity"))
    item.add_marker(label("required" if profile.required else "optional", label_type="tag"))
    rule = rule_of(item)
    if rule.get("rule"):
        item.add_marker(label(rule["rule"], label_type="story"))
        item.add_marker(label(rule["rule"], label_type="tag"))
    if rule.get("document"):
        url, name = _seed_link(rule["document"], rule.get("lines"))
        item.add_marker(link(url, link_type="link", name=name))
    fixture = item.get_closest_marker("vk_fixture_id")
    if fixture is not None and fixture.args:
        item.add_marker(label(str(fixture.args[0]), label_type="tag"))


#: What a parallel run's worker and controller use of the plugin (conformance.parallel cannot import it: the
#: plugin imports conformance.parallel).
_PARALLEL_HOST = SimpleNamespace(
    get_state=get_state,
    profile_name=profile_name,
    load_pre_config=load_pre_config,
    start_reporting=start_reporting,
    junit_system_out=junit_system_out,
)
