"""The certificate: per profile and per operation pass/fail/not-run, the scores, the target, the kit and
spec versions, the date and the evidence of each failure — as ``certificate.json``, ``certificate.md`` and a
self-contained ``certificate.html`` (inline CSS, no external asset, so it can be mailed or archived).

Scores are percentages: passed / (passed + failed + error) — tests not run are listed but excluded from the
denominator. The *required* score counts only required profiles, the *overall* score all of them.

The certificate passes when no required profile failed, at least one test ran, the overall score is at
least ``fail_under``, and the run was not interrupted (whole-run timeout).

Advisory findings (``conformance.advisory``: what goes beyond the documents — an exact text, an order or a
notification they do not show) get their own section and counts; they never change a score or the verdict.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.profiles import PROFILES
from conformance.redact import redact_text
from conformance.reporting.results import Collector, SessionFinished, SessionStarted, TestFinished, TestResult

__all__ = ["CertificateReporter", "advisory_line", "build", "render_html", "render_markdown", "summary_lines", "write"]

FILES = ("certificate.json", "certificate.md", "certificate.html")


def _score(passed: int, failed: int) -> float | None:
    return round(100.0 * passed / (passed + failed), 2) if passed + failed else None


def _status_of(counts: Counter[str]) -> str:
    if counts["failed"] or counts["error"]:
        return "failed"
    if counts["passed"]:
        return "passed"
    return "not-run"


def build(
    results: Iterable[TestResult],
    *,
    target: dict[str, Any],
    selected: list[str] | None = None,
    health: dict[str, Any] | None = None,
    interrupted: str | None = None,
    fail_under: float = 0.0,
    kit_version: str = "",
    spec_versions: dict[str, str] | None = None,
    catalog: Iterable[Any] = (),
    date: str | None = None,
    notes: Iterable[str] = (),
    started: str | None = None,
) -> dict[str, Any]:
    """The certificate as a JSON-ready dict."""
    results = list(results)
    by_profile: dict[str, list[TestResult]] = {}
    for result in results:
        by_profile.setdefault(result.profile or "", []).append(result)
    profiles_out = []
    req_pass = req_fail = all_pass = all_fail = 0
    reasons: list[str] = []
    for profile in PROFILES.values():
        tests = by_profile.get(profile.name, [])
        counts = Counter(t.outcome for t in tests)
        entry: dict[str, Any] = {
            "name": profile.name,
            "system": profile.system,
            "required": profile.required,
            "description": profile.description,
            "passed": counts["passed"],
            "failed": counts["failed"],
            "errors": counts["error"],
            "not_run": counts["not-run"],
            "tests": len([t for t in tests if t.outcome != "not-selected"]),
            "advisories": sum(len(t.advisories) for t in tests),
        }
        if selected is not None and profile.name not in selected:
            entry.update(status="not-selected", reason="not selected (--profile)", score=None, operations={})
            profiles_out.append(entry)
            continue
        status = _status_of(counts)
        entry["status"] = status
        entry["score"] = _score(counts["passed"], counts["failed"] + counts["error"])
        entry["reason"] = None
        if status == "not-run":
            configured = target.get(profile.system, True)
            entry["reason"] = _not_run_reason(tests) if configured else f"no {profile.system} URL configured"
        entry["operations"] = _operations(tests)
        profiles_out.append(entry)
        failed = counts["failed"] + counts["error"]
        all_pass += counts["passed"]
        all_fail += failed
        if profile.required:
            req_pass += counts["passed"]
            req_fail += failed
            if status == "failed":
                reasons.append(
                    f"required profile {profile.name} failed ({failed} of {counts['passed'] + failed} tests)"
                )
    overall = _score(all_pass, all_fail)
    required = _score(req_pass, req_fail)
    if overall is None:
        reasons.append("no test ran")
    elif overall < fail_under:
        reasons.append(f"overall score {overall:.2f}% is below --fail-under {fail_under:g}%")
    if interrupted:
        reasons.append(f"run interrupted: {interrupted}")
    for system, state in sorted((health or {}).items()):
        if not state.get("ok", True):
            reasons.append(f"{system} {state.get('verdict', 'health check failed')}: {state.get('detail')}")
    unprofiled = [t for t in results if not t.profile and t.outcome != "not-selected"]
    return {
        "kit": "voicekit",
        "kit_version": kit_version,
        "date": date or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "started": started,
        "target": target,
        "spec_versions": dict(spec_versions or {}),
        "status": "passed" if not reasons else "failed",
        "reasons": reasons,
        "fail_under": fail_under,
        "score": {"required": required, "overall": overall},
        "totals": dict(Counter(t.outcome for t in results if t.profile)),
        "selected_profiles": selected,
        "health": health or {},
        "profiles": profiles_out,
        "operations": _catalog_operations(results, catalog),
        "failures": [_failure(t) for t in results if t.outcome in ("failed", "error")],
        "not_run": [
            {"test": t.nodeid, "profile": t.profile, "reason": t.reason} for t in results if t.outcome == "not-run"
        ],
        "advisory_summary": _advisory_summary(results),
        "advisories": _advisories(results),
        "unprofiled_tests": [t.nodeid for t in unprofiled],
        "notes": list(notes),
    }


def _advisories(results: list[TestResult]) -> list[dict[str, Any]]:
    """Every advisory finding, redacted, with the test and profile it came from (reported, never scored)."""
    return [
        {
            "test": t.nodeid,
            "profile": t.profile,
            "outcome": t.outcome,
            "rule": a.get("rule") or t.rule,
            "message": redact_text(str(a.get("message") or "")),
            "basis": redact_text(str(a.get("basis") or "")),
        }
        for t in results
        for a in t.advisories
    ]


def _advisory_summary(results: list[TestResult]) -> dict[str, Any]:
    with_findings = [t for t in results if t.advisories]
    return {
        "findings": sum(len(t.advisories) for t in with_findings),
        "tests": len(with_findings),
        "rules": sorted(
            {str(a.get("rule") or t.rule) for t in with_findings for a in t.advisories if a.get("rule") or t.rule}
        ),
        "scored": False,
    }


def _not_run_reason(tests: list[TestResult]) -> str:
    if not tests:
        return "no tests for this profile in this kit"
    reasons = Counter(t.reason or "not run" for t in tests if t.outcome == "not-run")
    if len(reasons) == 1:
        return next(iter(reasons))
    top, count = reasons.most_common(1)[0]
    return f"{top} (and {len(reasons) - 1} other reasons)" if count else "not run"


def _op_status(counts: Counter[str]) -> str:
    return _status_of(counts)


def _operations(tests: list[TestResult]) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    for test in tests:
        for op in test.operations:
            counts.setdefault(op, Counter())[test.outcome] += 1
    return {
        op: {
            "status": _op_status(c),
            "passed": c["passed"],
            "failed": c["failed"] + c["error"],
            "not_run": c["not-run"],
        }
        for op, c in sorted(counts.items())
    }


def _catalog_operations(results: list[TestResult], catalog: Iterable[Any]) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    for test in results:
        if test.outcome == "not-selected":
            continue
        for op in test.operations:
            counts.setdefault(op, Counter())[test.outcome] += 1
    out = []
    seen = set()
    for entry in catalog:
        op_id, system = (entry.id, entry.system) if hasattr(entry, "id") else (entry["id"], entry.get("system"))
        seen.add(op_id)
        c = counts.get(op_id, Counter())
        status = _op_status(c) if c else "not-run"
        out.append(
            {
                "id": op_id,
                "system": system,
                "status": status,
                "passed": c["passed"],
                "failed": c["failed"] + c["error"],
                "not_run": c["not-run"],
                **({} if c else {"reason": "no test covers it"}),
            }
        )
    for op_id in sorted(set(counts) - seen):
        c = counts[op_id]
        out.append(
            {
                "id": op_id,
                "system": op_id.split(".", 1)[0],
                "status": _op_status(c),
                "passed": c["passed"],
                "failed": c["failed"] + c["error"],
                "not_run": c["not-run"],
                "reason": "not in the catalog",
            }
        )
    return out


def _failure(test: TestResult) -> dict[str, Any]:
    return {
        "test": test.nodeid,
        "profile": test.profile,
        "outcome": test.outcome,
        "rule": test.rule,
        "title": test.title,
        "severity": test.severity,
        "check": test.check,
        "message": redact_text(test.message or test.reason or ""),
        "evidence": {
            "fixture": test.fixture,
            "document": test.document,
            "lines": test.lines,
            "exchanges": [redact_text(line) for line in test.evidence],
        },
    }


# ---- writing -------------------------------------------------------------------------------------------------
def write(certificate: dict[str, Any], directory: Path) -> list[Path]:
    """Write the three renderings; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in FILES]
    paths[0].write_text(json.dumps(certificate, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(certificate), encoding="utf-8")
    paths[2].write_text(render_html(certificate), encoding="utf-8")
    return paths


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _lines(value: Any) -> str:
    return f"l.{value[0]}-{value[1]}" if value else ""


def summary_lines(certificate: dict[str, Any]) -> list[str]:
    """A short console table: one line per profile, then the scores and the verdict."""
    out = [f"{'profile':<28}{'req':<5}{'status':<14}{'pass':>5}{'fail':>5}{'err':>5}{'n/r':>5}  score"]
    for p in certificate["profiles"]:
        out.append(
            f"{p['name']:<28}{'yes' if p['required'] else 'no':<5}{p['status']:<14}{p['passed']:>5}"
            f"{p['failed']:>5}{p['errors']:>5}{p['not_run']:>5}  {_pct(p['score'])}"
            + (f"  ({p['reason']})" if p.get("reason") and p["status"] == "not-run" else "")
        )
    score = certificate["score"]
    out.append(
        f"score: required {_pct(score['required'])}, overall {_pct(score['overall'])} "
        f"(fail under {certificate['fail_under']:g}%)"
    )
    out.append(advisory_line(certificate))
    out.append(
        f"certificate: {certificate['status'].upper()}"
        + (": " + "; ".join(certificate["reasons"]) if certificate["reasons"] else "")
    )
    return out


def advisory_line(certificate: dict[str, Any]) -> str:
    """``N advisory findings in M tests (not scored)``: the one line the console and the reports share."""
    summary = certificate.get("advisory_summary") or {"findings": 0, "tests": 0}
    count = summary["findings"]
    return (
        f"{count} advisory finding{'' if count == 1 else 's'} in {summary['tests']} "
        f"test{'' if summary['tests'] == 1 else 's'} (reported, not scored)"
    )


def render_markdown(c: dict[str, Any]) -> str:
    t = c["target"]
    out = [
        f"# voicekit conformance certificate — {c['status'].upper()}",
        "",
        f"- **Target:** {_md(t.get('name'))}",
        *[
            f"- **{system.upper()}:** {_md(t.get(system) or 'not configured')}"
            for system in ("gws", "platform", "connect")
        ],
        *([f"- **Mock variants:** {_md(', '.join(t['mock_variants']))}"] if t.get("mock_variants") else []),
        f"- **Kit:** voicekit {c['kit_version']}",
        "- **Specs:** " + ", ".join(f"{k} {v}" for k, v in c["spec_versions"].items()),
        f"- **Date:** {c['date']}",
        f"- **Score:** required {_pct(c['score']['required'])}, overall {_pct(c['score']['overall'])} "
        f"(fail under {c['fail_under']:g}%)",
        f"- **Advisory:** {advisory_line(c)}",
        "",
    ]
    if c["reasons"]:
        out += ["**Why it failed:**", "", *[f"- {_md(r)}" for r in c["reasons"]], ""]
    out += [
        "## Profiles",
        "",
        "| profile | required | status | passed | failed | errors | not run | score | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in c["profiles"]:
        out.append(
            f"| {p['name']} | {'yes' if p['required'] else 'no'} | {p['status']} | {p['passed']} | "
            f"{p['failed']} | {p['errors']} | {p['not_run']} | {_pct(p['score'])} | "
            f"{_md(p.get('reason') or '')} |"
        )
    covered = [o for o in c["operations"] if o["status"] != "not-run" or o.get("not_run")]
    out += [
        "",
        "## Operations",
        "",
        f"{len(covered)} of {len(c['operations'])} catalog operations were exercised.",
        "",
        "| operation | status | passed | failed | not run |",
        "|---|---|---|---|---|",
    ]
    for o in covered:
        out.append(f"| {o['id']} | {o['status']} | {o['passed']} | {o['failed']} | {o['not_run']} |")
    if c["failures"]:
        out += ["", "## Failures", ""]
        for f in c["failures"]:
            ev = f["evidence"]
            out += [
                f"### {_md(f['test'])}",
                "",
                f"- **Rule:** {_md(f['rule'] or '—')} — {_md(f['title'] or '')} ({f['severity'] or 'n/a'}, "
                f"{f['outcome']})",
                f"- **Message:** {_md(f['message'])}",
                f"- **Evidence:** fixture {_md(ev['fixture'] or '—')}, document {_md(ev['document'] or '—')} "
                f"{_lines(ev['lines'])}",
            ]
            if ev["exchanges"]:
                out += ["", "```", *ev["exchanges"], "```"]
            out.append("")
    if c.get("advisories"):
        out += [
            "",
            "## Advisory findings",
            "",
            "Beyond what the documents require: reported, never counted against the score.",
            "",
            "| rule | test | message | basis |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {_md(a['rule'] or '—')} | {_md(a['test'])} | {_md(a['message'])} | {_md(a['basis'])} |"
            for a in c["advisories"]
        ]
    if c["not_run"]:
        out += ["", "## Not run", "", "| test | profile | reason |", "|---|---|---|"]
        out += [f"| {_md(n['test'])} | {n['profile']} | {_md(n['reason'] or '')} |" for n in c["not_run"]]
    if c["notes"]:
        out += ["", "## Notes", "", *[f"- {_md(n)}" for n in c["notes"]]]
    if t.get("settings"):
        out += ["", "## Configuration", "", "Every setting of the run and where it came from (secrets as ***).", ""]
        out += ["| setting | value | source |", "|---|---|---|"]
        out += [f"| {_md(s['key'])} | {_md(_setting(s['value']))} | {_md(s['source'])} |" for s in t["settings"]]
    return "\n".join(out) + "\n"


def _setting(value: Any) -> str:
    """A setting's value as the configuration file would spell it."""
    return json.dumps(value) if not isinstance(value, str) else value


def _md(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.passed{color:#176317;font-weight:600}.failed,.error{color:#a11;font-weight:600}
.not-run,.not-selected{color:#777}.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;color:#fff}
.verdict.passed{background:#2a8a2a}.verdict.failed{background:#b22}pre{background:#f7f7f7;padding:.6em;
overflow-x:auto;font-size:.85em}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
"""


def render_html(c: dict[str, Any]) -> str:
    e = html.escape
    t = c["target"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>voicekit certificate — {e(str(t.get('name')))}</title><style>{_CSS}</style></head><body>",
        f"<h1>voicekit conformance certificate <span class='verdict {e(c['status'])}'>"
        f"{e(c['status'].upper())}</span></h1><dl>",
        f"<dt>Target</dt><dd>{e(str(t.get('name')))}</dd>",
    ]
    for system in ("gws", "platform", "connect"):
        parts.append(f"<dt>{system.upper()}</dt><dd>{e(str(t.get(system) or 'not configured'))}</dd>")
    if t.get("mock_variants"):
        parts.append(f"<dt>Mock variants</dt><dd>{e(', '.join(t['mock_variants']))}</dd>")
    parts += [
        f"<dt>Kit</dt><dd>voicekit {e(c['kit_version'])}</dd>",
        "<dt>Specs</dt><dd>" + e(", ".join(f"{k} {v}" for k, v in c["spec_versions"].items())) + "</dd>",
        f"<dt>Date</dt><dd>{e(c['date'])}</dd>",
        f"<dt>Score</dt><dd>required {_pct(c['score']['required'])}, overall {_pct(c['score']['overall'])} "
        f"(fail under {c['fail_under']:g}%)</dd>",
        f"<dt>Advisory</dt><dd>{e(advisory_line(c))}</dd></dl>",
    ]
    if c["reasons"]:
        parts.append("<h2>Why it failed</h2><ul>" + "".join(f"<li>{e(r)}</li>" for r in c["reasons"]) + "</ul>")
    parts.append(
        "<h2>Profiles</h2><table><tr><th>profile</th><th>required</th><th>status</th><th>passed</th>"
        "<th>failed</th><th>errors</th><th>not run</th><th>score</th><th>note</th></tr>"
    )
    for p in c["profiles"]:
        parts.append(
            f"<tr><td title='{e(p['description'])}'>{e(p['name'])}</td>"
            f"<td>{'yes' if p['required'] else 'no'}</td><td class='{e(p['status'])}'>{e(p['status'])}</td>"
            f"<td>{p['passed']}</td><td>{p['failed']}</td><td>{p['errors']}</td><td>{p['not_run']}</td>"
            f"<td>{_pct(p['score'])}</td><td>{e(p.get('reason') or '')}</td></tr>"
        )
    parts.append("</table>")
    covered = [o for o in c["operations"] if o["status"] != "not-run" or o.get("not_run")]
    parts.append(
        f"<h2>Operations</h2><p>{len(covered)} of {len(c['operations'])} catalog operations were "
        "exercised.</p><table><tr><th>operation</th><th>status</th><th>passed</th><th>failed</th>"
        "<th>not run</th></tr>"
    )
    for o in covered:
        parts.append(
            f"<tr><td>{e(o['id'])}</td><td class='{e(o['status'])}'>{e(o['status'])}</td>"
            f"<td>{o['passed']}</td><td>{o['failed']}</td><td>{o['not_run']}</td></tr>"
        )
    parts.append("</table>")
    if c["failures"]:
        parts.append("<h2>Failures</h2>")
        for f in c["failures"]:
            ev = f["evidence"]
            parts.append(
                f"<h3>{e(f['test'])}</h3><dl><dt>Rule</dt><dd>{e(f['rule'] or '—')} — "
                f"{e(f['title'] or '')}</dd><dt>Severity</dt><dd>{e(f['severity'] or 'n/a')} "
                f"({e(f['outcome'])})</dd><dt>Message</dt><dd>{e(f['message'])}</dd>"
                f"<dt>Evidence</dt><dd>fixture {e(ev['fixture'] or '—')}, document "
                f"{e(ev['document'] or '—')} {e(_lines(ev['lines']))}</dd></dl>"
            )
            if ev["exchanges"]:
                parts.append("<pre>" + e("\n".join(ev["exchanges"])) + "</pre>")
    if c.get("advisories"):
        parts.append(
            "<h2>Advisory findings</h2><p>Beyond what the documents require: reported, never counted "
            "against the score.</p><table><tr><th>rule</th><th>test</th><th>message</th><th>basis</th></tr>"
        )
        parts += [
            f"<tr><td>{e(a['rule'] or '—')}</td><td>{e(a['test'])}</td><td>{e(a['message'])}</td>"
            f"<td>{e(a['basis'])}</td></tr>"
            for a in c["advisories"]
        ]
        parts.append("</table>")
    if c["not_run"]:
        parts.append("<h2>Not run</h2><table><tr><th>test</th><th>profile</th><th>reason</th></tr>")
        parts += [
            f"<tr><td>{e(n['test'])}</td><td>{e(str(n['profile']))}</td><td>{e(n['reason'] or '')}</td></tr>"
            for n in c["not_run"]
        ]
        parts.append("</table>")
    if c["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in c["notes"]) + "</ul>")
    if t.get("settings"):
        parts.append(
            "<h2>Configuration</h2><p>Every setting of the run and where it came from (secrets as ***).</p>"
            "<table><tr><th>setting</th><th>value</th><th>source</th></tr>"
        )
        parts += [
            f"<tr><td>{e(s['key'])}</td><td>{e(_setting(s['value']))}</td><td>{e(s['source'])}</td></tr>"
            for s in t["settings"]
        ]
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


# ---- the reporter --------------------------------------------------------------------------------------------
@dataclass
class CertificateReporter:
    """Builds and writes the certificate when the session finishes."""

    directory: Path
    collector: Collector
    fail_under: float = 0.0
    kit_version: str = ""
    spec_versions: dict[str, str] | None = None
    catalog: Any = ()
    certificate: dict[str, Any] | None = None

    def start(self, event: SessionStarted) -> None:
        pass

    def handle_event(self, event: TestFinished) -> None:
        pass

    def shutdown(self, event: SessionFinished) -> None:
        started = self.collector.started
        self.certificate = build(
            self.collector.results,
            target=started.target if started else {},
            selected=started.selected if started else None,
            health=event.health,
            interrupted=event.interrupted,
            fail_under=self.fail_under,
            kit_version=self.kit_version,
            spec_versions=self.spec_versions,
            catalog=self.catalog,
            date=event.finished,
            notes=event.notes,
            started=started.started if started else None,
        )
        write(self.certificate, self.directory)
