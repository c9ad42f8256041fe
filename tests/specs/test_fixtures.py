"""Every documented sample is a fixture that validates against the specs and cites its lines faithfully."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from voicekit.checks import check_corpus, check_fixture
from voicekit.contracts import Contracts
from voicekit.corpus import Corpus, Fixture

CORPUS = Corpus()


def _ids(fixtures: list[Fixture]) -> list[str]:
    return [f.id for f in fixtures]


@cache
def _seed_lines(folder: Path, document: str) -> list[str]:
    return (folder / document).read_text(encoding="utf-8").splitlines()


def test_corpus_is_consistent(contracts: Contracts, corpus: Corpus) -> None:
    """Fixture and errata files match their meta-schemas; ids unique; every reference resolves."""
    assert check_corpus(contracts, corpus) == []


def test_there_are_fixtures_for_every_document(corpus: Corpus) -> None:
    documents = {f.document for f in corpus.fixtures}
    assert documents == {
        "000_93daa2df7fee66d1.txt",
        "001_cc58f66bf961a7d3.txt",
        "002_e914de9a8382a115.txt",
        "003_ca6f4272dc604134.txt",
        "004_2c8d8f76980482e0.txt",
    }


@pytest.mark.parametrize("fixture", CORPUS.fixtures, ids=_ids(CORPUS.fixtures))
def test_fixture_validates_against_the_specs(contracts: Contracts, fixture: Fixture) -> None:
    result = check_fixture(contracts, fixture)
    if result.exemptions:
        assert result.problems, f"{fixture.id} validates now: drop invalid_by_errata {result.exemptions}"
    else:
        assert result.problems == []


@pytest.mark.parametrize("fixture", CORPUS.fixtures, ids=_ids(CORPUS.fixtures))
def test_fixture_cites_lines_that_hold_its_values(fixture: Fixture, seeds: Path) -> None:
    """Faithfulness: the cited line range exists and contains the fixture's documented values.

    Every string value of a documented body or message must start in the cited text (its first ten
    characters, which survive the PDF's line wrapping). Values the fixture does not take from the
    document (synthesised error bodies, `shape`/`subset` placeholders) are exempt by `match`.
    """
    lines = _seed_lines(seeds, fixture.document)
    first, last = fixture.lines
    assert 1 <= first <= last <= len(lines), f"lines {first}-{last} outside {fixture.document} ({len(lines)})"
    text = re.sub(r"\s+", "", "".join(lines[first - 1 : last]))
    missing = [v for v in _documented_strings(fixture) if re.sub(r"\s+", "", v)[:10] not in text]
    assert missing == [], f"values not found in {fixture.document} l.{first}-{last}"


def _documented_strings(fixture: Fixture) -> Iterator[str]:
    for _, step in fixture.exchanges():
        response = step.get("response") or {}
        bodies: list[Any] = []
        if step.get("request", {}).get("body") is not None and fixture.data["kind"] != "code-listing":
            bodies.append(step["request"]["body"])
        if response.get("match", "exact") == "exact" and "body" in response:
            bodies.append(response["body"])
        bodies += [n["message"] for n in step.get("notifications") or [] if n.get("match", "exact") == "exact"]
        for body in bodies:
            yield from (s for s in _strings(body) if len(s) >= 3)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _first(kind: str, contracts: Contracts, predicate: Any) -> Fixture:
    for fixture in CORPUS.fixtures:
        if predicate(fixture) and not check_fixture(contracts, fixture).problems:
            return fixture
    pytest.fail(f"no valid fixture to corrupt for {kind}")


def test_validation_catches_a_wrong_call_state(contracts: Contracts) -> None:
    fixture = _first(
        "call state",
        contracts,
        lambda f: any(
            n["message"].get("data", {}).get("call") for _, s in f.exchanges() for n in s.get("notifications") or []
        ),
    )
    data = copy.deepcopy(fixture.data)
    for _, step in Fixture(fixture.path, data).exchanges():
        for note in step.get("notifications") or []:
            if "call" in note["message"].get("data", {}):
                note["message"]["data"]["call"]["state"] = "Talking"
    assert check_fixture(contracts, Fixture(fixture.path, data)).problems


def test_validation_catches_an_unknown_operation_name(contracts: Contracts) -> None:
    fixture = _first(
        "operationName",
        contracts,
        lambda f: (
            isinstance(f.data.get("request", {}).get("body"), dict)
            and "operationName" in f.data["request"]["body"]
            and "/me/calls/" in f.data["request"]["path"]
        ),
    )
    data = copy.deepcopy(fixture.data)
    data["request"]["body"]["operationName"] = "Teleport"
    assert check_fixture(contracts, Fixture(fixture.path, data)).problems


def test_validation_catches_an_undeclared_status(contracts: Contracts) -> None:
    fixture = _first("status", contracts, lambda f: f.data.get("response", {}).get("status") == 200)
    data = copy.deepcopy(fixture.data)
    data["response"]["status"] = 418
    assert check_fixture(contracts, Fixture(fixture.path, data)).problems


def test_validation_catches_a_path_outside_the_specs(contracts: Contracts) -> None:
    fixture = _first("path", contracts, lambda f: "request" in f.data and f.system == "gws")
    data = copy.deepcopy(fixture.data)
    data["request"]["path"] = "/api/v2/nowhere"
    assert check_fixture(contracts, Fixture(fixture.path, data)).problems
