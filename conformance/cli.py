"""``voicekit certify``: run the test families with pytest, then write and summarise the certificate.

Why pytest in-process: the families are pytest modules, the plugin already turns their results into the
certificate, and pytest writes JUnit XML (``--junitxml``) and allure-pytest the Allure results
(``--alluredir``). This module only turns options into pytest arguments, makes sure a certificate exists
even when pytest stops early, renders the optional Allure HTML and decides the exit code:

* 0 — the certificate passed (every required profile that ran passed, the score is at least
  ``--fail-under``);
* 1 — the certificate failed (the target failed rules, or could not be reached);
* 2 — the kit could not run (bad configuration, bad options, a pytest usage error); a failed certificate is
  still written when the report directory is known.

Nothing imports this module but the ``voicekit`` command.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import parallel
from conformance import profiles as profile_registry
from conformance.config import parse_override
from conformance.errors import VoicekitError
from conformance.target import load_config

__all__ = ["EXIT_FAILED", "EXIT_KIT_ERROR", "EXIT_PASSED", "CertifyOptions", "certify", "families_dir"]

EXIT_PASSED, EXIT_FAILED, EXIT_KIT_ERROR = 0, 1, 2


def families_dir() -> Path:
    return Path(__file__).resolve().parent / "families"


@dataclass
class CertifyOptions:
    """The options of ``voicekit certify`` (see ``voicekit certify --help``)."""

    target: str | None = None  # None: the mock, unless a configuration file is given
    config: str | None = None
    profile: str | None = None
    allow_destructive: bool = False
    fail_under: float = 0.0
    report_dir: Path = Path("reports")
    junit: bool = True
    timeout: float | None = None
    notification_timeout: float | None = None
    run_timeout: float | None = None
    max_response_bytes: int | None = None
    overrides: list[str] = field(default_factory=list)
    pytest_args: list[str] = field(default_factory=list)
    families: Path | None = None
    workers: str | None = None  # None: 2 for the mock, 1 otherwise (conformance.parallel.worker_count)
    independent_agents: bool = False


def _plugin_args() -> list[str]:
    """``-p conformance.plugin`` unless pytest will load it from the ``pytest11`` entry point anyway (the plugin
    copes with both, this keeps the command line honest)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", "conformance.plugin", "-p", "allure_pytest.plugin"]
    installed = any(ep.value == "conformance.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "conformance.plugin"]


def pytest_arguments(options: CertifyOptions) -> list[str]:
    """The pytest command line of a certification run."""
    report = options.report_dir
    families = options.families or families_dir()
    args = [
        str(families),
        *_plugin_args(),
        "-c",
        str(families_dir() / "certify.ini"),
        "--rootdir",
        str(families),
        "-p",
        "no:cacheprovider",
        "--tb=short",
        "--vk-no-summary",
        "--vk-report-dir",
        str(report),
        "--alluredir",
        str(report / "allure-results"),
        "--clean-alluredir",
    ]
    args += ["--vk-target", options.target] if options.target else []
    args += ["--vk-config", options.config] if options.config else []
    args += ["--vk-profile", options.profile] if options.profile else []
    args += ["--vk-allow-destructive"] if options.allow_destructive else []
    args += ["--vk-fail-under", f"{options.fail_under:g}"]
    args += ["--junitxml", str(report / "junit.xml")] if options.junit else []
    for flag, value in (
        ("--vk-request-timeout", options.timeout),
        ("--vk-notification-timeout", options.notification_timeout),
        ("--vk-run-timeout", options.run_timeout),
    ):
        if value is not None:
            args += [flag, f"{value:g}"]
    for override in options.overrides:
        args += ["--vk-set", override]
    if options.max_response_bytes is not None:
        args += ["--vk-set", f"limits.max_response_bytes={options.max_response_bytes}"]
    return args + workers_arguments(options) + list(options.pytest_args)


def workers_arguments(options: CertifyOptions) -> list[str]:
    """``-n N --dist loadfile`` for a parallel run (conformance.parallel), nothing for a serial one."""
    mock = parallel.is_mock_target(options.target, options.config)
    count = parallel.worker_count(options.workers, mock=mock, independent=options.independent_agents)
    return parallel.pytest_arguments(count, independent=options.independent_agents)


def _overrides(options: CertifyOptions) -> dict[str, Any]:
    out: dict[str, Any] = dict(parse_override(o) for o in options.overrides)
    for key, value in (
        ("timeouts.request", options.timeout),
        ("timeouts.notification", options.notification_timeout),
        ("timeouts.run", options.run_timeout),
        ("limits.max_response_bytes", options.max_response_bytes),
    ):
        if value is not None:
            out[key] = value
    if options.allow_destructive:
        out["target.allow_destructive"] = True
    return out


def certify(
    options: CertifyOptions, echo: Callable[[str], None] = print, run_pytest: Callable[[list[str]], int] | None = None
) -> int:
    """Run a certification; returns the exit code (see the module docstring)."""
    target = options.target
    try:
        selected = profile_registry.parse_selection(options.profile)
        if not 0 <= options.fail_under <= 100:
            raise VoicekitError("--fail-under is a percentage between 0 and 100")
        config = load_config(target, options.config, overrides=_overrides(options))
        if selected:
            config.validate_for(profile_registry.get(n) for n in selected)
        workers_arguments(options)  # a bad --workers is the kit's error, before anything runs
    except (VoicekitError, ValueError) as exc:
        echo(f"voicekit certify: error: {exc}")
        return EXIT_KIT_ERROR
    report = options.report_dir
    report.mkdir(parents=True, exist_ok=True)
    for stale in ("certificate.json", "certificate.md", "certificate.html", "results.ndjson", "junit.xml"):
        (report / stale).unlink(missing_ok=True)
    shutil.rmtree(report / "allure-report", ignore_errors=True)
    args = pytest_arguments(options)
    if run_pytest is None:
        import pytest

        def run_pytest(argv: list[str]) -> int:
            return int(pytest.main(argv))

    code = run_pytest(args)
    certificate_path = report / "certificate.json"
    if not certificate_path.exists():
        _write_fallback(
            report,
            config.describe(),
            selected,
            options.fail_under,
            f"pytest stopped with exit code {code} before any result (see its output above)",
        )
    certificate = json.loads(certificate_path.read_text(encoding="utf-8"))
    from conformance.reporting import allure_html
    from conformance.reporting.certificate import summary_lines
    from conformance.reporting.scrub import scrub_reports

    scrub_reports(report)  # before rendering, so the HTML is built from redacted results
    note = allure_html.render(report / "allure-results", report / "allure-report")
    echo("")
    for line in summary_lines(certificate):
        echo(line)
    written = [report / name for name in ("certificate.json", "certificate.md", "certificate.html")]
    if options.junit and (report / "junit.xml").exists():
        written.append(report / "junit.xml")
    echo("wrote " + ", ".join(str(p) for p in written) + f", {report / 'allure-results'}")
    echo(note)
    if code in (3, 4):  # pytest's internal error / usage error: the kit could not run
        return EXIT_KIT_ERROR
    return EXIT_PASSED if certificate["status"] == "passed" else EXIT_FAILED


def _write_fallback(
    report: Path, target: dict[str, Any], selected: Sequence[str] | None, fail_under: float, reason: str
) -> None:
    from conformance.loading import spec_versions
    from conformance.reporting.certificate import build, write
    from voicekit import __version__

    certificate = build(
        [],
        target=target,
        selected=list(selected) if selected else None,
        interrupted=reason,
        fail_under=fail_under,
        kit_version=__version__,
        spec_versions=spec_versions(),
    )
    write(certificate, report)
