"""Coverage is complete: every documented operation is in the specs and has a fixture or an erratum."""

from __future__ import annotations

import json

from click.testing import CliRunner

from voicekit.cli import main
from voicekit.contracts import Contracts
from voicekit.corpus import Corpus
from voicekit.coverage import build, operation_in_spec
from voicekit.errata import render
from voicekit.paths import specs_dir


def test_every_catalog_operation_is_in_the_specs(contracts: Contracts, corpus: Corpus) -> None:
    assert [e.id for e in corpus.catalog if not operation_in_spec(contracts, e)] == []


def test_every_documented_operation_has_a_fixture_or_an_erratum(contracts: Contracts, corpus: Corpus) -> None:
    report = build(contracts, corpus)
    assert [o.entry.id for o in report.unexplained_without_fixtures] == []


def test_errata_markdown_is_rendered_from_the_yaml(corpus: Corpus) -> None:
    assert (specs_dir() / "ERRATA.md").read_text(encoding="utf-8") == render(corpus)


def test_coverage_command_reports_complete() -> None:
    result = CliRunner().invoke(main, ["coverage", "--json", "--strict"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["complete"] is True
    assert {row["system"] for row in report["systems"]} == {"gws", "platform", "connect"}
    assert all(row["operations"] == row["in_specs"] for row in report["systems"])


def test_operation_check_rejects_an_operation_absent_from_the_specs(contracts: Contracts, corpus: Corpus) -> None:
    from voicekit.corpus import CatalogEntry

    ghost = CatalogEntry(
        "gws", {"id": "gws.Teleport", "method": "POST", "path": "/api/v2/me/calls/{id}", "operationName": "Teleport"}
    )
    assert not operation_in_spec(contracts, ghost)


def test_validate_command_finds_no_problem() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "problems: 0" in result.output


def test_openapi_examples_are_generated_from_the_fixtures(contracts: Contracts, corpus: Corpus) -> None:
    from voicekit.examples import collect, sync

    assert sync(contracts, corpus, write=False) == []
    assert len(collect(contracts, corpus)) >= 80
