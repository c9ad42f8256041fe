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
from pathlib import Path
from typing import Any

from conformance import parallel
from conformance import profiles as profile_registry
from conformance.config import parse_override
from conformance.errors import VoicekitError
from conformance.options import command_options
from conformance.target import is_mock, load_config

__all__ = ["EXIT_FAILED", "EXIT_KIT_ERROR", "EXIT_PASSED", "CertifyOptions", "certify", "families_dir"]

EXIT_PASSED, EXIT_FAILED, EXIT_KIT_ERROR = 0, 1, 2


def families_dir() -> Path:
    return Path(__file__).resolve().parent / "families"


class CertifyOptions:
    """The values of ``voicekit certify``'s options (declared in ``conformance/options.py``; see
    ``voicekit certify --help``), by their key (``CertifyOptions(target="mock", timeout=3)``), plus the pytest
    arguments after ``--`` and the families folder (tests point it elsewhere)."""

    def __init__(self, *, pytest_args: Sequence[str] = (), families: Path | None = None, **values: Any) -> None:
        declared = {o.key: o for o in command_options()}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TypeError(f"voicekit certify has no option {unknown[0]!r}")
        defaults = {key: [] if o.kind == "multi" else o.default for key, o in declared.items()}
        self.values: dict[str, Any] = defaults | values
        if self.values["report_dir"] is not None:
            self.values["report_dir"] = Path(self.values["report_dir"])
        self.pytest_args = list(pytest_args)
        self.families = families

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


def _plugin_args() -> list[str]:
    """``-p conformance.plugin`` unless pytest will load it from the ``pytest11`` entry point anyway (the plugin
    copes with both, this keeps the command line honest)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", "conformance.plugin", "-p", "allure_pytest.plugin"]
    installed = any(ep.value == "conformance.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "conformance.plugin"]


def pytest_arguments(options: CertifyOptions) -> list[str]:
    """The pytest command line of a certification run: each option the plugin shares as its ``--vk-*`` twin, an
    option of ``voicekit certify`` alone that sets a configuration key as ``--vk-set key=value``."""
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
        "--alluredir",
        str(report / "allure-results"),
        "--clean-alluredir",
    ]
    args += ["--junitxml", str(report / "junit.xml")] if options.junit else []
    for option in command_options():
        value = options.values[option.key]
        if value is None or value is False or value == []:
            continue
        if option.plugin:
            for item in value if option.kind == "multi" else [value]:
                args += [option.flag] if option.kind == "flag" else [option.flag, _text(item)]
        elif option.config_key:
            args += ["--vk-set", f"{option.config_key}={_text(value)}"]
    return args + workers_arguments(options) + list(options.pytest_args)


def workers_arguments(options: CertifyOptions) -> list[str]:
    """``-n N --dist loadfile`` for a parallel run (conformance.parallel), nothing for a serial one."""
    mock = is_mock(options.target, options.config)
    count = parallel.worker_count(options.workers, mock=mock, independent=options.independent_agents)
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    return parallel.pytest_arguments(count, autoload=autoload)  # --vk-independent-agents: with the shared options


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _overrides(options: CertifyOptions) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration overrides of the options, and the option each came from (the certificate's sources)."""
    out: dict[str, Any] = dict(parse_override(o) for o in options.overrides)
    sources = {key: f"--set {key}" for key in out}
    for option in command_options():
        value = options.values[option.key]
        if option.config_key and value is not None and (option.kind != "flag" or value):
            out[option.config_key] = value
            sources[option.config_key] = option.source()
    return out, sources


def certify(
    options: CertifyOptions, echo: Callable[[str], None] = print, run_pytest: Callable[[list[str]], int] | None = None
) -> int:
    """Run a certification; returns the exit code (see the module docstring)."""
    target = options.target
    try:
        selected = profile_registry.parse_selection(options.profile)
        if not 0 <= options.fail_under <= 100:
            raise VoicekitError("--fail-under is a percentage between 0 and 100")
        overrides, sources = _overrides(options)
        config = load_config(target, options.config, overrides=overrides, override_sources=sources)
        if selected and not is_mock(target, options.config):  # the mock publishes its users once started
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
