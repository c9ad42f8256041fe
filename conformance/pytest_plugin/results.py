"""Job: results. Each test's outcome becomes a result event (``conformance.reporting.results``); reporters (NDJSON,
the certificate) consume them; at the end the certificate is built, the exit status follows ``--vk-fail-under``
and the console shows the summary. Advisory findings go to Allure and JUnit too, never into the score."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from conformance import advisory
from conformance import evidence as evidence_log
from conformance import profiles as profile_registry
from conformance.errors import VoicekitError
from conformance.failures import ConformanceFailure
from conformance.outcomes import not_run_reason
from conformance.pytest_plugin.options import RunOptions
from conformance.pytest_plugin.state import (
    TargetUnhealthy,
    VkState,
    find_state,
    get_state,
    now,
    profile_name,
    resolve_document,
    rule_of,
)
from conformance.reporting.results import NdjsonReporter, SessionFinished, SessionStarted, TestResult

__all__ = ["start_reporting"]

_RESULT = pytest.StashKey[dict[str, Any]]()


def start_reporting(state: VkState, opts: RunOptions) -> None:
    """Called by the collection job once the tests to run are known."""
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
    state.collector.start(SessionStarted(state.pre_config.describe(), opts.profiles, now()))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if get_state(item.config).active:
        evidence_log.begin(item.nodeid)
        advisory.begin()


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
        _attach_advisories(advisory.collected(), rule_of(item).get("rule"))
    if call.when != "teardown":
        return
    if info.get("outcome", "passed") == "passed":
        _observe(state, item, None)
    log = evidence_log.end()
    findings = advisory.end()
    _junit_advisories(item, report, [_advisory_dict(f, rule_of(item).get("rule")) for f in findings])
    outcome = info.get("outcome", "passed")
    if item.get_closest_marker("vk_profile") is None:  # listed as unprofiled, never scored
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
    profile = profile_registry.get(profile_name(item))
    rule = rule_of(item)
    severity = item.get_closest_marker("vk_severity")
    fixture = item.get_closest_marker("vk_fixture_id")
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
        operations=[str(a) for m in item.iter_markers("vk_operations") for a in m.args],
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
    junit_system_out(item.config, report, lines)


def junit_system_out(config: pytest.Config, report: pytest.TestReport, lines: list[str]) -> None:
    """The advisory lines as the test case's ``<system-out>`` where JUnit is written (the xdist controller's
    copy comes from conformance.parallel)."""
    if not lines:
        return
    try:  # pytest's junitxml writes <system-out> only for captured output; add ours to the test case directly
        from xml.etree import ElementTree

        from _pytest.junitxml import bin_xml_escape, xml_key
    except ImportError:  # pragma: no cover - pytest internals moved; the properties still carry the findings
        return
    log_xml = config.stash.get(xml_key, None)
    if log_xml is None:
        return
    element = ElementTree.Element("system-out")
    element.text = bin_xml_escape("\n".join(f"voicekit advisory (not scored): {line}" for line in lines))
    log_xml.node_reporter(report).append(element)


def _observe(state: VkState, item: pytest.Item, exc: BaseException | None) -> None:
    """Tell the target's health logic how a test of its system ended (fail fast after repeated outages)."""
    if state.target is None or item.get_closest_marker("vk_profile") is None or isinstance(exc, TargetUnhealthy):
        return
    state.target.observe(profile_registry.get(profile_name(item)).system, exc)


def _advisory_dict(finding: advisory.Advisory, rule: str | None) -> dict[str, Any]:
    from conformance.redact import redact_text

    return {"message": redact_text(finding.message), "rule": finding.rule or rule, "basis": finding.basis}


def _failure_details(item: pytest.Item, exc: BaseException | None, report: pytest.TestReport) -> dict[str, Any]:
    from conformance.redact import redact_text

    if isinstance(exc, ConformanceFailure):
        rule = rule_of(item)
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
                    profile_name(item),
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
    finished = SessionFinished(now(), health=health, interrupted=state.interrupted, notes=state.notes)
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
    state = find_state(config)
    if state is not None:
        state.stop_watchdog()
        state.close_target()
