"""Checks of the foundation: specs valid, fixtures valid against the specs, corpus consistent.

Each check returns a list of problems (empty means good), so the CLI and the tests share them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from jsonschema import Draft7Validator, Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from voicekit.contracts import ALL_OPENAPI_DOCUMENTS, ASYNCAPI_DOCUMENTS, TRANSPORT_DOCUMENT, Contracts
from voicekit.corpus import Corpus, Fixture
from voicekit.paths import asyncapi_meta_schema
from voicekit.replay.forms import forms_of


# ---- specs ---------------------------------------------------------------------------------------
def check_openapi(contracts: Contracts) -> list[str]:
    problems = []
    for name in ALL_OPENAPI_DOCUMENTS.values():
        if not contracts.has_document(name):
            problems.append(f"{name}: missing")
            continue
        try:
            validate_openapi(contracts.document(name), base_uri=contracts.uri_of(name))
        except Exception as exc:  # the validator raises several unrelated types
            problems.append(f"{name}: {str(exc).splitlines()[0]}")
    return problems


def asyncapi_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(asyncapi_meta_schema().read_text(encoding="utf-8"))
    return schema


def check_asyncapi(contracts: Contracts) -> list[str]:
    validator = Draft7Validator(asyncapi_schema())
    problems = []
    for name in ASYNCAPI_DOCUMENTS.values():
        if not contracts.has_document(name):
            problems.append(f"{name}: missing")
            continue
        for error in validator.iter_errors(contracts.document(name)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{name}: {where}: {error.message[:200]}")
    return problems


def check_json_schemas(contracts: Contracts) -> list[str]:
    problems = []
    for uri, doc in contracts.documents.items():
        if "/schemas/" in uri:
            try:
                Draft202012Validator.check_schema(doc)
            except Exception as exc:
                problems.append(f"{uri}: {str(exc).splitlines()[0]}")
    return problems


def check_references(contracts: Contracts) -> list[str]:
    """Every $ref in every contract resolves."""
    problems = []
    for uri, doc in contracts.documents.items():
        for pointer, ref in _refs(doc, ""):
            target = urljoin(uri, ref)
            try:
                contracts.locate(target if "#" in target else target + "#")
            except (KeyError, IndexError, TypeError):
                problems.append(f"{uri}#{pointer}: unresolved $ref {ref}")
    return problems


def _refs(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield pointer, value
            else:
                yield from _refs(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{pointer}/{index}")


def check_specs(contracts: Contracts) -> list[str]:
    return [
        *check_openapi(contracts),
        *check_asyncapi(contracts),
        *check_json_schemas(contracts),
        *check_references(contracts),
    ]


# ---- fixtures against the specs ---------------------------------------------------------------
@dataclass
class FixtureResult:
    fixture: Fixture
    problems: list[str] = field(default_factory=list)
    checked: int = 0  # bodies and messages validated

    @property
    def exemptions(self) -> list[str]:
        return list(self.fixture.data.get("invalid_by_errata", []))

    @property
    def status(self) -> str:
        """valid | explained (fails, as the listed errata say it must) | invalid."""
        if not self.problems:
            return "invalid" if self.exemptions else "valid"
        return "explained" if self.exemptions else "invalid"


def check_fixture(contracts: Contracts, fixture: Fixture) -> FixtureResult:
    result = FixtureResult(fixture)
    for label, step in fixture.exchanges():
        request = step.get("request")
        if request:
            _check_exchange(contracts, fixture, label, request, step.get("response"), result)
        for index, note in enumerate(step.get("notifications") or [], 1):
            system = TRANSPORT_DOCUMENT[note["transport"]]
            match = note.get("match", "exact")
            for number, form in enumerate(forms_of(note, "message")):
                errs = contracts.validate_message(
                    system,
                    note.get("channel"),
                    form.value,
                    ignore_required=match != "exact",
                    placeholders=match == "shape",
                )
                result.checked += 1
                _record(result, f"{label} notification {index}", note, number, errs)
    return result


def _record(result: FixtureResult, where: str, entry: Mapping[str, Any], number: int, errors: list[str]) -> None:
    """The fixture's own form (``number`` 0) must validate; an alternative too, unless it says why not
    (``off_contract``) — and then it must indeed not (a stale explanation is a problem)."""
    if number == 0:
        result.problems += [f"{where}: {e}" for e in errors]
        return
    alt = entry["alternatives"][number - 1]
    here = f"{where} alternative {number} ({alt['reading'][:40]})"
    if alt.get("off_contract"):
        if not errors:
            result.problems.append(f"{here}: validates, but says it is off the contract ({alt['off_contract'][:60]})")
        return
    result.problems += [f"{here}: {e}" for e in errors]


def _check_exchange(
    contracts: Contracts,
    fixture: Fixture,
    label: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any] | None,
    result: FixtureResult,
) -> None:
    op = contracts.find_operation(fixture.system, request["method"], request["path"])
    if op is None:
        result.problems.append(f"{label}: no operation for {request['method']} {request['path']}")
        return
    if "body" in request:
        ref = contracts.request_schema_ref(op)
        result.checked += 1
        if ref is None:
            result.problems.append(f"{label}: {op.operation_id} takes no JSON body")
        else:
            match = request.get("match", "exact")
            result.problems += [
                f"{label} request: {e}"
                for e in contracts.errors(
                    ref, request["body"], ignore_required=match != "exact", placeholders=match == "shape"
                )
            ]
    if "form" in request:
        ref = contracts.request_schema_ref(op, "application/x-www-form-urlencoded")
        result.checked += 1
        if ref is None:
            result.problems.append(f"{label}: {op.operation_id} takes no form body")
        else:
            result.problems += [f"{label} form: {e}" for e in contracts.errors(ref, request["form"])]
    result.problems += [f"{label} query: {e}" for e in contracts.query_errors(op, request.get("query", {}))]
    if not response:
        return
    status = response.get("status")
    if (
        status is not None
        and str(status) not in contracts.declared_statuses(op)
        and f"{str(status)[0]}XX" not in contracts.declared_statuses(op)
    ):
        result.problems.append(f"{label}: status {status} not declared for {op.operation_id}")
        return
    if "body" not in response:
        return
    match = response.get("match", "exact")
    for number, form in enumerate(forms_of(response, "body")):
        refs = contracts.response_schema_refs(op, form.status)
        result.checked += 1
        if not refs:
            _record(result, label, response, number, [f"no JSON response schema for {op.operation_id} {form.status}"])
            continue
        attempts = [
            contracts.errors(ref, form.value, ignore_required=match != "exact", placeholders=match == "shape")
            for ref in refs
        ]
        _record(result, f"{label} response", response, number, min(attempts, key=len) if all(attempts) else [])


# ---- corpus consistency ---------------------------------------------------------------------------
def check_corpus(contracts: Contracts, corpus: Corpus) -> list[str]:
    problems: list[str] = []
    meta = contracts.root / "schemas" / "meta"
    fixture_schema = Draft202012Validator(json.loads((meta / "fixture.schema.json").read_text()))
    erratum_schema = Draft202012Validator(json.loads((meta / "erratum.schema.json").read_text()))
    seen: dict[str, str] = {}
    for fixture in corpus.fixtures:
        rel = (
            fixture.path.relative_to(corpus.fixtures_root)
            if fixture.path.is_relative_to(corpus.fixtures_root)
            else fixture.path
        )
        for error in fixture_schema.iter_errors(fixture.data):
            problems.append(f"fixtures/{rel}: {error.message[:200]}")
        fid = fixture.data.get("id", "?")
        if fid in seen:
            problems.append(f"fixtures/{rel}: duplicate id {fid} (also {seen[fid]})")
        seen[fid] = str(rel)
        for op in fixture.data.get("operations", []):
            if op not in corpus.catalog_by_id:
                problems.append(f"fixtures/{rel}: unknown operation {op}")
        for eid in fixture.data.get("errata", []) + fixture.data.get("invalid_by_errata", []):
            if eid not in corpus.errata_by_id:
                problems.append(f"fixtures/{rel}: unknown erratum {eid}")
        if not fixture.data.get("operations") and not fixture.data.get("errata"):
            problems.append(f"fixtures/{rel}: no operation and no erratum saying why")
    for path in sorted((contracts.root / "errata").glob("*.yaml")):
        from voicekit.contracts import load_document

        for error in erratum_schema.iter_errors(load_document(path) or []):
            problems.append(f"specs/errata/{path.name}: {error.message[:200]}")
    ids = [e["id"] for e in corpus.errata]
    problems += [f"errata: duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for erratum in corpus.errata:
        for fid in erratum.get("fixtures", []):
            if fid not in corpus.fixtures_by_id:
                problems.append(f"erratum {erratum['id']}: unknown fixture {fid}")
        for op in erratum.get("operations", []):
            if op not in corpus.catalog_by_id:
                problems.append(f"erratum {erratum['id']}: unknown operation {op}")
    catalog_ids = [e.id for e in corpus.catalog]
    problems += [f"catalog: duplicate id {i}" for i in sorted({i for i in catalog_ids if catalog_ids.count(i) > 1})]
    return problems
