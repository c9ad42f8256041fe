"""The `voicekit` command. Thin: each command parses options and calls the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from voicekit import __version__


@click.group()
@click.version_option(__version__, prog_name="voicekit")
def main() -> None:
    """Conformance kit and stateful mock for contact-center voice APIs."""


def _add_fixture_dirs(folders: tuple[str, ...]) -> None:
    """More fixture folders (recordings) for this run, through the corpus' environment variable."""
    import os

    from voicekit.corpus import EXTRA_FIXTURES

    if folders:
        present = [p for p in os.environ.get(EXTRA_FIXTURES, "").split(os.pathsep) if p]
        os.environ[EXTRA_FIXTURES] = os.pathsep.join([*present, *(str(Path(f).resolve()) for f in folders)])


@main.command()
@click.option(
    "--fixtures",
    "fixture_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Also validate the fixtures in this folder (e.g. recordings of voicekit proxy --record).",
)
def validate(fixture_dirs: tuple[str, ...]) -> None:
    """Validate the specs, the fixtures against the specs, and the corpus' cross-references."""
    _add_fixture_dirs(fixture_dirs)
    from voicekit.checks import check_corpus, check_specs
    from voicekit.contracts import Contracts
    from voicekit.corpus import Corpus
    from voicekit.coverage import build

    contracts, corpus = Contracts(), Corpus()
    problems = check_specs(contracts) + check_corpus(contracts, corpus)
    report = build(contracts, corpus)
    for result in report.invalid_fixtures:
        problems += [f"fixture {result.fixture.id}: {p}" for p in result.problems] or [
            f"fixture {result.fixture.id}: invalid_by_errata listed but it validates"
        ]
    for line in problems:
        click.echo(line)
    checked = sum(r.checked for r in report.fixtures)
    click.echo(
        f"specs: {len(contracts.documents)} documents; fixtures: {len(corpus.fixtures)} "
        f"({checked} bodies and messages checked); errata: {len(corpus.errata)}; "
        f"problems: {len(problems)}"
    )
    sys.exit(1 if problems else 0)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--verbose", is_flag=True, help="Show every validation problem.")
@click.option("--strict", is_flag=True, help="Exit 1 unless coverage is complete.")
def coverage(as_json: bool, verbose: bool, strict: bool) -> None:
    """Per document and system: operations in the specs, samples as fixtures, validation, errata."""
    from voicekit.contracts import Contracts
    from voicekit.corpus import Corpus
    from voicekit.coverage import build, render_text

    report = build(Contracts(), Corpus())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "systems": report.system_rows(),
                    "documents": report.documents,
                    "errata": len(report.errata),
                    "missing_from_specs": [o.entry.id for o in report.missing_from_specs],
                    "without_fixtures": {o.entry.id: o.errata for o in report.without_fixtures},
                    "invalid_fixtures": {r.fixture.id: r.problems for r in report.invalid_fixtures},
                    "complete": report.complete,
                },
                indent=2,
            )
        )
    else:
        click.echo(render_text(report, verbose=verbose))
    sys.exit(1 if strict and not report.complete else 0)


@main.command()
@click.option("--check", is_flag=True, help="Fail if specs/ERRATA.md is not up to date.")
def errata(check: bool) -> None:
    """Render specs/errata/*.yaml into specs/ERRATA.md."""
    from voicekit.corpus import Corpus
    from voicekit.errata import render
    from voicekit.paths import specs_dir

    target = specs_dir() / "ERRATA.md"
    text = render(Corpus())
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            click.echo("specs/ERRATA.md is out of date: run `voicekit errata`", err=True)
            sys.exit(1)
        click.echo("specs/ERRATA.md is up to date")
        return
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--target",
    default=None,
    metavar="mock|FILE",
    help="The embedded mock (the default without --config), or a target configuration file.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Target configuration file (same as --target FILE; with --target mock it tunes the run).",
)
@click.option("--profile", default=None, metavar="a,b", help="Run only these profiles (comma list, 'gws-*').")
@click.option(
    "--allow-destructive/--no-destructive",
    default=None,
    help="Run destructive tests (they change the target). Default: on for the disposable embedded mock, "
    "off for any other target.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    default=0.0,
    show_default=True,
    help="Fail when the overall score (percent) is below this.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Where the certificate, JUnit XML and Allure results go.",
)
@click.option("--junit/--no-junit", default=True, show_default=True, help="Write junit.xml.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds for one request (default 10, or the configuration's timeouts.request).",
)
@click.option(
    "--notification-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds to wait for one notification.",
)
@click.option(
    "--run-timeout", type=click.FloatRange(min=0, min_open=True), default=None, help="Seconds for the whole run."
)
@click.option(
    "--max-response-bytes",
    type=click.IntRange(min=1024),
    default=None,
    help="The most read of one response body or WebSocket frame; a larger one fails as the target's "
    "(default 16777216, or the configuration's limits.max_response_bytes).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a configuration value, e.g. --set gws.csrf=on (repeatable).",
)
@click.option(
    "--replay",
    "replay_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Also replay the fixtures in this folder (recordings of voicekit proxy --record), in the *-samples profiles.",
)
@click.option(
    "--workers",
    default=None,
    metavar="N|auto",
    help="Run modules in N pytest-xdist workers (auto: one per CPU, at most 4; 1: serially). Default: 2 for the "
    "mock (each worker starts its own), 1 for any other target.",
)
@click.option(
    "--independent-agents",
    is_flag=True,
    default=False,
    help="Declare that the target's modules may run at the same time (independent agents, no resets): "
    "needed for --workers > 1 with any target but the mock.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def certify(
    target: str | None,
    config_file: str | None,
    profile: str | None,
    allow_destructive: bool | None,
    fail_under: float,
    report_dir: str,
    junit: bool,
    timeout: float | None,
    notification_timeout: float | None,
    run_timeout: float | None,
    max_response_bytes: int | None,
    overrides: tuple[str, ...],
    replay_dirs: tuple[str, ...],
    workers: str | None,
    independent_agents: bool,
    pytest_args: tuple[str, ...],
) -> None:
    """Certify a target: run the conformance families, write the certificate (JSON, Markdown, HTML), JUnit XML
    and Allure results. Exit 0 when it passes, 1 when it fails, 2 when the kit cannot run. Arguments after
    `--` go to pytest."""

    from conformance.cli import CertifyOptions
    from conformance.cli import certify as run_certify

    _add_fixture_dirs(replay_dirs)
    if allow_destructive is None:
        allow_destructive = target == "mock"
    options = CertifyOptions(
        target=target,
        config=config_file,
        profile=profile,
        allow_destructive=allow_destructive,
        fail_under=fail_under,
        report_dir=Path(report_dir),
        junit=junit,
        timeout=timeout,
        notification_timeout=notification_timeout,
        run_timeout=run_timeout,
        max_response_bytes=max_response_bytes,
        overrides=list(overrides),
        pytest_args=list(pytest_args),
        workers=workers,
        independent_agents=independent_agents,
    )
    sys.exit(run_certify(options, echo=click.echo))


@main.command()
@click.option("--upstream", required=True, help="The real server: http(s)://host:port (its root).")
@click.option("--listen", default="127.0.0.1:8081", show_default=True, help="HOST:PORT the proxy listens on.")
@click.option(
    "--system",
    type=click.Choice(["gws", "platform", "connect"]),
    default=None,
    help="Which API the upstream serves (default: the voicekit mock's layout, by path).",
)
@click.option("--report-dir", type=click.Path(file_okay=False), default="reports/proxy", show_default=True)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@click.option(
    "--notification-timeout",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds within which an accepted call operation's notification must be seen.",
)
@click.option("--insecure", is_flag=True, help="Do not verify the upstream's TLS certificate.")
@click.option("--quiet", is_flag=True, help="No line per exchange on the console.")
@click.option(
    "--ready-file", type=click.Path(dir_okay=False), default=None, help="Write the proxy's URL here once it listens."
)
@click.option(
    "--record",
    type=click.Path(file_okay=False),
    default=None,
    help="Save each documented exchange as a fixture in this folder (replay: certify --replay DIR).",
)
def proxy(
    upstream: str,
    listen: str,
    system: str | None,
    report_dir: str,
    duration: float | None,
    notification_timeout: float,
    insecure: bool,
    quiet: bool,
    ready_file: str | None,
    record: str | None,
) -> None:
    """Relay a real client's traffic to a real server and check every exchange against the documents; writes
    the report of observed traffic (JSON, Markdown, HTML, JUnit) on exit. Exit 1 when a violation was seen."""
    from conformance.proxy import ProxyOptions, run

    options = ProxyOptions(
        upstream=upstream,
        listen=listen,
        system=system,
        report_dir=Path(report_dir),
        duration=duration,
        quiet=quiet,
        notification_timeout=notification_timeout,
        verify=not insecure,
        ready_file=Path(ready_file) if ready_file else None,
        record=Path(record) if record else None,
    )
    sys.exit(run(options, echo=click.echo))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080; 0 picks a free one).")
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Seed YAML file (agents, devices, queues…); default: the built-in seed.",
)
@click.option("--csrf", type=click.Choice(["on", "off"]), default=None, help="GWS CSRF protection.")
@click.option("--allow-origin", multiple=True, help="A global CORS origin (repeatable).")
@click.option("--control-token", default=None, help="Require this bearer token on the control API.")
@click.option(
    "--ready-file", type=click.Path(dir_okay=False), default=None, help="Write the base URL here once listening."
)
@click.option(
    "--variant",
    multiple=True,
    metavar="NAME[,NAME]",
    help="A documented alternative to switch to (repeatable or comma-separated; mockserver/variants.py).",
)
@click.option("--log-level", default="WARNING")
@click.pass_context
def mock(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    seed: str | None,
    csrf: str | None,
    allow_origin: tuple[str, ...],
    control_token: str | None,
    ready_file: str | None,
    variant: tuple[str, ...],
    log_level: str,
) -> None:
    """Run the stateful mock (GWS + CometD, Platform, Connect bus, control API) in the foreground.

    Every other option of ``python -m mockserver.serve`` (e.g. ``--journal-size``) is passed through."""
    import os

    argv = [sys.executable, "-m", "mockserver.serve", "--log-level", log_level]
    for flag, value in (
        ("--host", host),
        ("--port", port),
        ("--seed", seed),
        ("--csrf", csrf),
        ("--control-token", control_token),
        ("--ready-file", ready_file),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for origin in allow_origin:
        argv += ["--allow-origin", origin]
    for name in variant:
        argv += ["--variant", name]
    argv += list(ctx.args)
    # A fresh interpreter, so gevent patches the standard library before anything imports it.
    os.execv(sys.executable, argv)


@main.command()
@click.option("--check", is_flag=True, help="Fail if specs/examples or the OpenAPI references are not up to date.")
def examples(check: bool) -> None:
    """Generate the OpenAPI request examples (specs/examples/) from the fixtures."""
    from voicekit.contracts import Contracts
    from voicekit.corpus import Corpus
    from voicekit.examples import sync

    stale = sync(Contracts(), Corpus(), write=not check)
    if check and stale:
        click.echo("out of date (run `voicekit examples`): " + ", ".join(stale[:10]), err=True)
        sys.exit(1)
    click.echo(f"{'checked' if check else 'wrote'} examples; {len(stale)} file(s) {'stale' if check else 'updated'}")
