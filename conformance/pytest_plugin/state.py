"""What the plugin keeps for one session (``config.stash``), and what several of its jobs read about an item:
its profile and its rule."""

from __future__ import annotations

import _thread
import datetime as dt
import functools
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance import profiles as profile_registry
from conformance.config import TargetConfig
from conformance.failures import TargetUnreachable
from conformance.reporting.results import Collector
from conformance.target import RunningTarget, open_target

if TYPE_CHECKING:
    from conformance.pytest_plugin.options import RunOptions

__all__ = ["TargetUnhealthy", "VkState", "get_state", "now", "profile_name", "resolve_document", "rule_of"]


class VkState:
    """Everything the plugin keeps for one session (stored in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.pytest_config = config
        self.active = False
        self._options: RunOptions | None = None
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
    def options(self) -> RunOptions:
        if self._options is None:
            from conformance.pytest_plugin.options import read_options  # a job module: registered, not imported early

            self._options = read_options(self.pytest_config)
        return self._options

    def systems(self) -> list[str]:
        """The systems the collected tests use (all of them when used outside profile-marked tests)."""
        if not self.items:
            return ["gws", "platform", "connect"]
        return list(dict.fromkeys(profile_registry.get(profile_name(i)).system for i in self.items))

    def open(self) -> RunningTarget:
        if self.target is None:
            if self.target_error is not None:
                raise self.target_error
            opts = self.options
            try:
                self.target = open_target(
                    opts.target,
                    opts.config,
                    overrides=opts.overrides,
                    override_sources=opts.override_sources,
                    systems=self.systems(),
                )
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


def get_state(config: pytest.Config) -> VkState:
    """The plugin state of a session (for hooks and conftest code)."""
    return config.stash[_STATE]


def set_state(config: pytest.Config) -> VkState:
    config.stash[_STATE] = VkState(config)
    return config.stash[_STATE]


def find_state(config: pytest.Config) -> VkState | None:
    return config.stash.get(_STATE, None)


def profile_name(item: pytest.Item) -> str:
    marker = item.get_closest_marker("vk_profile")
    assert marker is not None
    return str(marker.args[0]) if marker.args else str(marker.kwargs.get("name"))


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=256)
def resolve_document(document: str | None) -> str | None:
    """``"003"`` → ``"003_ca6f4272dc604134.txt"`` when the seeds are at hand; otherwise unchanged."""
    if not document or "." in document:
        return document
    from voicekit.paths import seeds_dir

    folder = seeds_dir()
    matches = sorted(folder.glob(f"{document}_*")) if folder.is_dir() else []
    return matches[0].name if len(matches) == 1 else document


def rule_of(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("vk_rule")
    if marker is None:
        return {}
    lines = marker.kwargs.get("lines")
    return {
        "rule": marker.args[0] if marker.args else marker.kwargs.get("id"),
        "document": resolve_document(marker.kwargs.get("document")),
        "lines": list(lines) if lines else None,
        "title": marker.kwargs.get("title"),
    }


class TargetUnhealthy(pytest.fail.Exception, TargetUnreachable):  # type: ignore[misc,name-defined]
    """The session's health check of the test's system failed: a :class:`TargetUnreachable` (the test
    fails) that pytest reports without a traceback (``pytrace=False``), since every test of the system
    fails the same way and formatting hundreds of tracebacks costs seconds."""

    def __init__(self, message: str) -> None:
        pytest.fail.Exception.__init__(self, msg=message, pytrace=False)
        TargetUnreachable.__init__(self, message, title="Target unhealthy")

    def __str__(self) -> str:
        return TargetUnreachable.__str__(self)
