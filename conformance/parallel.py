"""Parallel certification: pytest-xdist workers, each with its own target, and one certificate on the controller.

Why it is safe for ``--target mock``: every worker is a whole pytest session that opens its own target, so each
starts its own embedded mock (``conformance.launcher``) and nothing is shared; ``--dist loadfile`` keeps each
module's tests together, in their order, on one worker (the per-module reset of ``--vk-reset module`` still
happens where a serial run does it) — except that fuzzing runs as one unit per system (``scope_of``), since
GWS, Platform and Connect share no state. Any other target is shared by the workers, so it runs serially unless the
user declares with ``--vk-independent-agents`` that its modules may run at once (``refusal``).

Why results travel on the reports: the controller runs no test and holds no item; module state of the worker
(the collector, the evidence log, advisory findings) never reaches it. A worker attaches each final
:class:`TestResult` to the test's teardown report (an extra report attribute, which pytest's report
serialisation carries and JUnit does not write), and puts the session's facts (health, notes, the target's
description, the collected tests and the not-selected ones) in ``workeroutput``. The controller feeds them to
the same collector and reporters a serial run uses and puts the results back in the collection order, so the
certificate lists the same tests with the same outcomes as a serial run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import pytest

from conformance.errors import VoicekitError
from conformance.reporting.results import SessionStarted, TestFinished, TestResult
from conformance.target import MOCK, RunningTarget, is_mock, load_config, mock_data

__all__ = [
    "DEFAULT_MOCK_WORKERS",
    "install",
    "is_worker",
    "pytest_arguments",
    "refusal",
    "scope_of",
    "worker_count",
]

#: Workers of ``voicekit certify --target mock`` unless ``--workers`` says otherwise: each runs its own mock.
#: A run keeps about one core busy (waits for answers and notifications overlap with the other workers' work):
#: on the project's shared 2-core machine 3 workers ended first (167 s; 2: 190 s, 4: 203 s, serial: 272 s).
DEFAULT_MOCK_WORKERS = 3
_AUTO_MAX = 4
#: Modules whose tests of one system (``test_<system>_...``) never touch another system's state: their tests are
#: scheduled per system (each system's tests together and in order), since GWS, Platform and Connect share
#: nothing (the mock keeps one world per system). Fuzzing is a third of a serial run, its GWS part three quarters.
SPLIT_BY_SYSTEM = ("test_fuzz_openapi.py",)
SYSTEMS = ("gws", "platform", "connect")
#: Scopes that take far longer than their number of tests suggests (GWS fuzzing, the stateful machines, the GWS
#: samples: about 25 %, 20 % and 20 % of a serial run). Started first, so the other workers fill in around them
#: (longest first); the order of modules on the workers changes no test and no result.
SLOW_MODULES = ("test_fuzz_openapi.py::gws", "test_stateful_gws.py", "test_replay_gws.py")
_FLAG = "voicekit_parallel"  # workerinput: this worker belongs to a voicekit run the controller accepted
_OUTPUT = "voicekit"  # workeroutput: the worker's session facts
RESULT_ATTR = "voicekit_result"  # the TestResult (as a dict) on a teardown report
_ADVISORY = "voicekit.advisory"  # the JUnit property of an advisory finding (set by the plugin on the report)


# ---- choosing the number of workers (voicekit certify) --------------------------------------------------------
def worker_count(requested: str | None, *, mock: bool, independent: bool = False) -> int:
    """The number of workers for ``voicekit certify --workers``: ``None`` picks the default (2 for the mock, 1
    for any other target), ``auto`` the CPU count (at most 4), 1 a serial run.

    Raises:
        VoicekitError: not a count, or more than one worker for a target whose agents were not declared
            independent (its tests would change one another's agents and calls).
    """
    if requested is None:
        return DEFAULT_MOCK_WORKERS if mock and _xdist_installed() else 1
    if requested == "auto":
        count = max(1, min(os.cpu_count() or 1, _AUTO_MAX))
    else:
        try:
            count = int(requested)
        except ValueError:
            raise VoicekitError(f"--workers is a number or 'auto', not {requested!r}") from None
        if count < 1:
            raise VoicekitError("--workers is at least 1")
    if count > 1 and not _xdist_installed():
        raise VoicekitError("--workers > 1 needs pytest-xdist (pip install pytest-xdist)")
    if count > 1 and not mock and not independent:
        raise VoicekitError(
            "--workers > 1 runs modules at the same time; against a shared target that is only safe when its "
            "modules use independent agents: add --independent-agents to declare it (the embedded mock needs "
            "nothing, each worker starts its own)"
        )
    return count


def _xdist_installed() -> bool:
    return importlib.util.find_spec("xdist") is not None


def pytest_arguments(workers: int, *, autoload: bool = True) -> list[str]:
    """The pytest-xdist arguments of a run with ``workers`` workers (none for a serial run); ``autoload``: pytest
    loads installed plugins itself (else xdist is named)."""
    if workers <= 1:
        return []
    return [*([] if autoload else ["-p", "xdist.plugin"]), "-n", str(workers), "--dist", "loadfile"]


# ---- pytest side -------------------------------------------------------------------------------------------------
def is_worker(config: pytest.Config) -> bool:
    """A pytest-xdist worker of a voicekit run the controller accepted."""
    workerinput = getattr(config, "workerinput", None)
    return bool(workerinput and workerinput.get(_FLAG))


def refusal(config: pytest.Config) -> str | None:
    """Why this ``-n`` run of the conformance suite cannot run in parallel (None: it can)."""
    target = config.getoption("vk_target") or config.getini("vk_target") or None
    path = config.getoption("vk_config") or config.getini("vk_config") or None
    if not is_mock(target, path) and not config.getoption("vk_independent_agents"):
        return (
            "conformance tests of a shared target run in one process (no -n/--numprocesses) unless "
            "--vk-independent-agents declares that its modules may run at the same time; with --vk-target mock "
            "each worker starts its own mock"
        )
    if config.getoption("dist", default="no") != "loadfile":
        return "a parallel conformance run needs --dist loadfile (each module's tests together and in order)"
    return None


def install(config: pytest.Config, host: Any, *, controller: bool) -> None:
    """Register the worker's side of a parallel run on a worker the controller accepted, or the controller's
    side when ``controller`` (a ``-n`` run with voicekit options that :func:`refusal` accepted). ``host`` holds the
    plugin's helpers (``get_state``, ``profile_name``, ``load_pre_config``, ``start_reporting``,
    ``junit_system_out``), passed in since the plugin imports this module."""
    if is_worker(config):
        worker = _Worker(config, host)
        config.pluginmanager.register(worker, "voicekit-parallel-worker")
        config.pluginmanager.register(_MockKeeper(worker), "voicekit-parallel-mock-keeper")
    elif controller:
        config.pluginmanager.register(_Controller(config, host), "voicekit-parallel-controller")


class _Shipper:
    """A collector handler of a worker: keeps each final result until its teardown report leaves."""

    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}

    def start(self, event: SessionStarted) -> None:
        pass

    def handle_event(self, event: TestFinished) -> None:
        self.pending[event.result.nodeid] = event.result.as_dict()

    def shutdown(self, event: Any) -> None:
        pass


class _Worker:
    """A worker: runs its tests against its own target, writes no report, sends the results along."""

    def __init__(self, config: pytest.Config, host: Any) -> None:
        self.config, self.host = config, host
        self.shipper = _Shipper()
        self.mock_url: str | None = None
        self.mock_tree: dict[str, Any] | None = None
        # The controller writes the certificate and results.ndjson; a worker opening them would truncate them.
        # An empty value (not None) also keeps an ini file's vk_report_dir out.
        config.option.vk_report_dir = ""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config) -> None:
        state = self.host.get_state(config)
        if state.active:
            state.collector.handlers.append(self.shipper)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            result = self.shipper.pending.pop(report.nodeid, None)
            if result is not None:
                setattr(report, RESULT_ATTR, result)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        state = self.host.get_state(self.config)
        if not state.active:
            return
        target = state.target
        self.config.workeroutput[_OUTPUT] = {  # type: ignore[attr-defined]
            "tests": [[i.nodeid, i.name, self.host.profile_name(i)] for i in state.items],
            "not_selected": [r.as_dict() for r in state.collector.results if r.outcome == "not-selected"],
            "health": target.health if target is not None else {},
            "kind": target.kind if target is not None else None,
            "mock_url": self.mock_url,
            "mock_tree": self.mock_tree,
            "notes": list(state.notes),
            "interrupted": state.interrupted,
        }

    def keep_mock(self) -> None:
        """The mock's URL and what it publishes, while it still runs (see :class:`_MockKeeper`)."""
        state = self.host.get_state(self.config)
        if state.target is None or state.target.mock is None:
            return
        self.mock_url = state.target.mock.base_url
        config = state.target.config
        with contextlib.suppress(VoicekitError):
            self.mock_tree = mock_data(
                self.mock_url, token=config.events.control_token, timeout=config.timeouts.request
            )


class _MockKeeper:
    """Calls :meth:`_Worker.keep_mock` first thing in ``pytest_sessionfinish``, before the plugin stops the mock.
    A plugin object of its own: pluggy keeps one implementation of a hook per plugin object."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.worker.keep_mock()


class _Controller:
    """The controller: runs no test; feeds the workers' results to the plugin's collector and reporters."""

    def __init__(self, config: pytest.Config, host: Any) -> None:
        self.config, self.host = config, host
        self.order: list[str] = []  # the collection order, which is a serial run's order
        self.seen: set[str] = set()
        self.crashed: dict[str, pytest.TestReport] = {}
        self.outputs: list[dict[str, Any]] = []

    def pytest_sessionstart(self) -> None:
        """What the plugin does when it collects in a serial run: the configuration and the reporters."""
        state = self.host.get_state(self.config)
        state.pre_config = self.host.load_pre_config(state.options)
        if self.config.option.collectonly:
            return
        state.active = True
        self.host.start_reporting(state, state.options)

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """xdist's ``loadfile`` scheduling, :data:`SPLIT_BY_SYSTEM` modules per system, :data:`SLOW_MODULES`
        handed out first."""
        from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

        class Scheduling(LoadFileScheduling):  # type: ignore[misc]
            def _split_scope(self, nodeid: str) -> str:
                return scope_of(nodeid)

        scheduling = Scheduling(config, log)
        scheduling.workqueue = _SlowFirst()
        return scheduling

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_FLAG] = True

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.order:
            self.order = list(ids)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before JUnit closes the test case: the result into the collector, the advisory findings into
        ``<system-out>`` (the plugin adds them there itself only where JUnit runs, here)."""
        data = getattr(report, RESULT_ATTR, None)
        if data is not None and report.nodeid not in self.seen:
            self.seen.add(report.nodeid)
            self.host.get_state(self.config).collector.add(TestResult.from_dict(data))
            lines = [str(v) for k, v in report.user_properties if k == _ADVISORY]
            self.host.junit_system_out(self.config, report, lines)
        elif report.failed and report.nodeid not in self.seen:
            self.crashed.setdefault(report.nodeid, report)  # a worker that died: no result follows

    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        output = getattr(node, "workeroutput", {}).get(_OUTPUT)
        if output:
            self.outputs.append(output)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Before the plugin writes the certificate: the tests no worker finished, the merged health and
        notes, and the serial order."""
        state = self.host.get_state(self.config)
        if not state.active:
            return
        interrupted = next((o["interrupted"] for o in self.outputs if o.get("interrupted")), None)
        state.interrupted = state.interrupted or interrupted
        stopped = state.interrupted or (str(session.shouldstop) if session.shouldstop else None)
        if exitstatus == pytest.ExitCode.INTERRUPTED and not stopped:
            stopped = "the run was interrupted"
        known = {t[0]: t for o in self.outputs for t in o.get("tests", [])}
        for result in (r for o in self.outputs[:1] for r in o.get("not_selected", [])):
            state.collector.add(TestResult.from_dict(result))
        for nodeid in self.order:
            if nodeid in self.seen:
                continue
            _, name, profile = known.get(nodeid, (nodeid, nodeid.rsplit("::", 1)[-1], None))
            crash = self.crashed.get(nodeid)
            if crash is not None:
                text = crash.longreprtext.strip()[-300:] or "its pytest-xdist worker crashed"
                result = TestResult(nodeid, name, profile, "error", title="Kit error (worker crashed)", message=text)
            else:
                reason = f"the run stopped before this test ({stopped or 'unknown'})"
                result = TestResult(nodeid, name, profile, "not-run", reason=reason)
            state.collector.add(result)
        rank = {nodeid: i for i, nodeid in enumerate(self.order)}
        state.collector.results.sort(key=lambda r: (r.outcome != "not-selected", rank.get(r.nodeid, len(rank))))
        state.notes.extend(dict.fromkeys(n for o in self.outputs for n in o.get("notes", [])))
        state.notes.append(f"run by {len(self.outputs)} pytest-xdist workers, each with its own target session")
        self._target(state)

    def _target(self, state: Any) -> None:
        """The target the certificate describes: the workers' configuration (the first worker's mock URL) with
        every worker's health verdicts (a system unhealthy on one worker is unhealthy)."""
        if not self.outputs:
            return
        opts, first = state.options, self.outputs[0]
        config = load_config(
            opts.target,
            opts.config,
            overrides=opts.overrides,
            override_sources=opts.override_sources,
            mock_base_url=first["mock_url"],
            mock_tree=first.get("mock_tree"),
        )
        state.target = RunningTarget(config, first.get("kind") or MOCK, None, _merge_health(self.outputs))


def scope_of(nodeid: str) -> str:
    """The unit a worker runs whole and in order: the module, or for :data:`SPLIT_BY_SYSTEM` the module's tests
    of one system (``test_fuzz_openapi.py::gws``)."""
    module, _, rest = nodeid.partition("::")
    if module.rsplit("/", 1)[-1] in SPLIT_BY_SYSTEM:
        system = next((s for s in SYSTEMS if rest.startswith(f"test_{s}_")), None)
        if system is not None:
            return f"{module}::{system}"
    return module


class _SlowFirst(OrderedDict[str, dict[str, bool]]):
    """xdist's work queue (module → its tests), whose next module is the first waiting one of
    :data:`SLOW_MODULES`, or else the one xdist would take."""

    def popitem(self, last: bool = True) -> tuple[str, dict[str, bool]]:
        if not last:
            waiting = {scope.rsplit("/", 1)[-1]: scope for scope in self}
            for name in SLOW_MODULES:
                if name in waiting:
                    return waiting[name], self.pop(waiting[name])
        return super().popitem(last=last)


def _merge_health(outputs: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for output in outputs:
        for system, verdict in output.get("health", {}).items():
            if system not in merged or (merged[system].get("ok") and not verdict.get("ok")):
                merged[system] = verdict
    return merged
