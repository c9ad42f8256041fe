"""The coverage report: documented operations in the specs, samples as fixtures, validation, errata."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from voicekit.checks import FixtureResult, check_fixture
from voicekit.contracts import ASYNCAPI_DOCUMENTS, Contracts
from voicekit.corpus import SYSTEMS, CatalogEntry, Corpus


@dataclass
class OperationCoverage:
    entry: CatalogEntry
    in_spec: bool
    fixtures: list[str]
    errata: list[str]


@dataclass
class Report:
    operations: list[OperationCoverage]
    fixtures: list[FixtureResult]
    errata: list[dict[str, Any]]
    documents: dict[str, dict[str, int]] = field(default_factory=dict)

    def system_rows(self) -> list[dict[str, Any]]:
        rows = []
        for system in SYSTEMS:
            ops = [o for o in self.operations if o.entry.system == system]
            fixtures = [r for r in self.fixtures if r.fixture.system == system]
            status = Counter(r.status for r in fixtures)
            rows.append(
                {
                    "system": system,
                    "operations": len(ops),
                    "in_specs": sum(o.in_spec for o in ops),
                    "with_fixtures": sum(bool(o.fixtures) for o in ops),
                    "fixtures": len(fixtures),
                    "valid": status["valid"],
                    "explained": status["explained"],
                    "invalid": status["invalid"],
                    "errata": sum(1 for e in self.errata if e.get("system", _system_of(e)) == system),
                }
            )
        return rows

    @property
    def missing_from_specs(self) -> list[OperationCoverage]:
        return [o for o in self.operations if not o.in_spec]

    @property
    def without_fixtures(self) -> list[OperationCoverage]:
        return [o for o in self.operations if not o.fixtures]

    @property
    def unexplained_without_fixtures(self) -> list[OperationCoverage]:
        return [o for o in self.without_fixtures if not o.errata]

    @property
    def invalid_fixtures(self) -> list[FixtureResult]:
        return [r for r in self.fixtures if r.status == "invalid"]

    @property
    def complete(self) -> bool:
        return not (self.missing_from_specs or self.unexplained_without_fixtures or self.invalid_fixtures)


def _system_of(erratum: dict[str, Any]) -> str:
    prefix = erratum["id"][1]
    return {"4": "platform", "5": "connect"}.get(prefix, "gws")


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def operation_in_spec(contracts: Contracts, entry: CatalogEntry) -> bool:
    data = entry.data
    if "asyncapi" in data:
        name = ASYNCAPI_DOCUMENTS.get(str(data["asyncapi"]).removesuffix(".asyncapi.yaml"))
        if not name or not contracts.has_document(name):
            return False
        doc = contracts.document(name)
        wanted = data.get("message") or data.get("operation")
        if not wanted:
            address = data.get("channel")
            return any(ch.get("address") == address for ch in (doc.get("channels") or {}).values())
        names = set((doc.get("components") or {}).get("messages", {})) | set(doc.get("operations") or {})
        for channel in (doc.get("channels") or {}).values():
            names |= set(channel.get("messages") or {})
        return wanted in names
    method, path = data.get("method"), data.get("path")
    if not method or not path:
        return False
    matches = [
        op
        for op in contracts.operations.get(entry.system, [])
        if op.method == method and _template(op.template) == _template(path)
    ]
    if not matches:
        return False
    name = data.get("operationName")
    if not name:
        return True
    if name.startswith("<"):
        return contracts.request_schema_ref(matches[0]) is not None
    return name in contracts.operation_names(matches[0])


def build(contracts: Contracts, corpus: Corpus) -> Report:
    operations = [
        OperationCoverage(
            entry,
            operation_in_spec(contracts, entry),
            [f.id for f in corpus.fixtures_for(entry.id)],
            [e["id"] for e in corpus.errata_for_operation(entry.id)],
        )
        for entry in corpus.catalog
    ]
    fixtures = [check_fixture(contracts, f) for f in corpus.fixtures]
    report = Report(operations, fixtures, corpus.errata)
    docs: dict[str, dict[str, int]] = {}
    for result in fixtures:
        row = docs.setdefault(result.fixture.document, Counter())
        row["fixtures"] += 1
        row[result.status] += 1
    for erratum in corpus.errata:
        for document in {loc["document"] for loc in erratum["locations"]}:
            docs.setdefault(document, Counter())["errata"] += 1
    for entry in corpus.catalog:
        if entry.document:
            docs.setdefault(entry.document, Counter())["operations"] += 1
    report.documents = {k: dict(v) for k, v in sorted(docs.items())}
    return report


def render_text(report: Report, *, verbose: bool = False) -> str:
    out = ["voicekit coverage", "", "Per system:"]
    header = (
        f"  {'system':<9}{'operations':>11}{'in specs':>10}{'w/ fixture':>11}{'fixtures':>10}"
        f"{'valid':>7}{'explained':>10}{'invalid':>8}{'errata':>8}"
    )
    out.append(header)
    for row in report.system_rows():
        out.append(
            f"  {row['system']:<9}{row['operations']:>11}{row['in_specs']:>10}{row['with_fixtures']:>11}"
            f"{row['fixtures']:>10}{row['valid']:>7}{row['explained']:>10}{row['invalid']:>8}"
            f"{row['errata']:>8}"
        )
    out += [
        "",
        "Per document:",
        f"  {'document':<28}{'operations':>11}{'fixtures':>10}{'valid':>7}{'explained':>10}{'invalid':>8}{'errata':>8}",
    ]
    for document, row in report.documents.items():
        out.append(
            f"  {document:<28}{row.get('operations', 0):>11}{row.get('fixtures', 0):>10}"
            f"{row.get('valid', 0):>7}{row.get('explained', 0):>10}{row.get('invalid', 0):>8}"
            f"{row.get('errata', 0):>8}"
        )
    out += ["", f"Errata: {len(report.errata)}"]
    out.append("")
    out.append(f"Operations missing from the specs: {len(report.missing_from_specs)}")
    out += [f"  - {o.entry.id}" for o in report.missing_from_specs]
    out.append(f"Operations without fixtures: {len(report.without_fixtures)}")
    for o in report.without_fixtures:
        why = f" (errata {', '.join(o.errata)})" if o.errata else " (NO ERRATUM)"
        out.append(f"  - {o.entry.id}{why}")
    out.append(f"Fixtures that do not validate: {len(report.invalid_fixtures)}")
    for r in report.invalid_fixtures:
        out.append(f"  - {r.fixture.id} ({r.fixture.path.name})")
        limit = None if verbose else 3
        out += [f"      {p}" for p in r.problems[:limit]]
        if not r.problems:
            out.append("      listed invalid_by_errata but validates: stale exemption")
    out.append("")
    out.append("COMPLETE" if report.complete else "INCOMPLETE")
    return "\n".join(out)
