"""The contracts are valid documents: OpenAPI 3.1, AsyncAPI 3.0 (official schema), JSON Schema 2020-12."""

from __future__ import annotations

import copy

import pytest

from voicekit import checks
from voicekit.contracts import ALL_OPENAPI_DOCUMENTS, ASYNCAPI_DOCUMENTS, Contracts


@pytest.mark.parametrize("name", sorted(ALL_OPENAPI_DOCUMENTS.values()))
def test_openapi_document_passes_openapi_spec_validator(contracts: Contracts, name: str) -> None:
    assert contracts.has_document(name), f"{name} is missing"
    problems = [p for p in checks.check_openapi(contracts) if p.startswith(name)]
    assert problems == []


@pytest.mark.parametrize("name", sorted(ASYNCAPI_DOCUMENTS.values()))
def test_asyncapi_document_passes_the_official_asyncapi_schema(contracts: Contracts, name: str) -> None:
    assert contracts.has_document(name), f"{name} is missing"
    problems = [p for p in checks.check_asyncapi(contracts) if p.startswith(name)]
    assert problems == []


def test_every_json_schema_is_a_valid_2020_12_schema(contracts: Contracts) -> None:
    assert checks.check_json_schemas(contracts) == []


def test_every_ref_resolves(contracts: Contracts) -> None:
    assert checks.check_references(contracts) == []


def test_asyncapi_check_rejects_a_broken_document(contracts: Contracts, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AsyncAPI check is not vacuous: an operation with an unknown action is reported."""
    broken = copy.deepcopy(contracts.document("gws.asyncapi.yaml"))
    broken["operations"]["handshake"]["action"] = "publish"  # AsyncAPI 2 wording, invalid in 3.0
    docs = dict(contracts.documents)
    docs[contracts.uri_of("gws.asyncapi.yaml")] = broken
    fake = Contracts(contracts.root)
    fake.__dict__["documents"] = docs
    assert any("gws.asyncapi.yaml" in p for p in checks.check_asyncapi(fake))


def test_openapi_check_rejects_a_broken_document(contracts: Contracts) -> None:
    broken = copy.deepcopy(contracts.document("gws.openapi.yaml"))
    broken["paths"]["/api/v2/me"]["get"]["responses"] = "nothing"
    docs = dict(contracts.documents)
    docs[contracts.uri_of("gws.openapi.yaml")] = broken
    fake = Contracts(contracts.root)
    fake.__dict__["documents"] = docs
    assert any("gws.openapi.yaml" in p for p in checks.check_openapi(fake))


def test_unresolvable_ref_is_reported(contracts: Contracts) -> None:
    broken = copy.deepcopy(contracts.document("gws.openapi.yaml"))
    broken["components"]["schemas"]["Dial"]["properties"]["userData"] = {"$ref": "schemas/gws/Nope.json"}
    docs = dict(contracts.documents)
    docs[contracts.uri_of("gws.openapi.yaml")] = broken
    fake = Contracts(contracts.root)
    fake.__dict__["documents"] = docs
    assert any("Nope.json" in p for p in checks.check_references(fake))
