"""The `voicekit` command. Thin: each command parses options and calls the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from conformance.options import Option, command_options
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


class _Parsed(click.ParamType):  # type: ignore[type-arg]
    """An option's parser from the declaration table: its ValueError is click's usage error."""

    def __init__(self, option: Option) -> None:
        self.name = option.metavar or option.name
        self.parse = option.parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if self.parse is None or not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _command_options(command: Callable[..., None]) -> Callable[..., None]:
    """``voicekit certify``'s click options, generated from the table the pytest plugin's come from too."""
    for option in reversed(command_options()):
        flag = option.command_flag + (f"/{option.negative}" if option.negative else "")
        kwargs: dict[str, Any] = {"help": option.help, "default": option.default}
        if option.kind == "flag":
            if option.negative is None:  # with a switch-off flag, click makes it a boolean flag by itself
                kwargs["is_flag"] = True
        else:
            kwargs["metavar"] = option.metavar
            kwargs["multiple"] = option.kind == "multi"
            if option.choices:
                kwargs["type"] = click.Choice(option.choices)
            elif option.parse is not None and option.command_parses:
                kwargs["type"] = _Parsed(option)
        if option.default is not None and option.kind != "multi":
            kwargs["show_default"] = True
        command = click.option(flag, option.key, **kwargs)(command)
    return command


@main.command(context_settings={"ignore_unknown_options": True})
@_command_options
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def certify(pytest_args: tuple[str, ...], **values: Any) -> None:
    """Certify a target: run the conformance families, write the certificate (JSON, Markdown, HTML), JUnit XML
    and Allure results. Exit 0 when it passes, 1 when it fails, 2 when the kit cannot run. Arguments after
    `--` go to pytest."""

    from conformance.cli import CertifyOptions
    from conformance.cli import certify as run_certify

    _add_fixture_dirs(values.pop("replay_dirs"))
    if values["allow_destructive"] is None:
        values["allow_destructive"] = values["target"] == "mock"
    values["overrides"] = list(values["overrides"])
    options = CertifyOptions(pytest_args=pytest_args, **values)
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
