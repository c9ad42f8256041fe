"""The certificate: scores, statuses, per-operation table, redaction and the three renderings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance.reporting.certificate import build, render_html, render_markdown, summary_lines, write
from conformance.reporting.results import TestResult

TARGET = {"name": "lab", "gws": "http://gws", "platform": None, "connect": None}


def result(profile: str, outcome: str, name: str = "t", **kwargs: object) -> TestResult:
    return TestResult(f"f.py::{name}", name, profile, outcome, **kwargs)  # type: ignore[arg-type]


def profile_of(certificate: dict[str, object], name: str) -> dict[str, object]:
    return next(p for p in certificate["profiles"] if p["name"] == name)  # type: ignore[union-attr,index]


def test_scores_exclude_not_run_and_separate_required() -> None:
    results = [
        result("gws-voice-core", "passed", "a"),
        result("gws-voice-core", "passed", "b"),
        result("gws-voice-core", "not-run", "c", reason="no event source"),
        result("gws-fuzz", "failed", "d"),
        result("gws-fuzz", "passed", "e"),
    ]
    cert = build(results, target=TARGET, kit_version="9.9")
    assert cert["score"] == {"required": 100.0, "overall": 75.0}
    assert cert["status"] == "passed", "an optional profile's failure does not fail the certificate"
    core = profile_of(cert, "gws-voice-core")
    assert (core["status"], core["passed"], core["not_run"], core["score"]) == ("passed", 2, 1, 100.0)
    assert profile_of(cert, "gws-fuzz")["status"] == "failed"
    assert profile_of(cert, "platform-calls")["reason"] == "no platform URL configured"
    assert profile_of(cert, "gws-call-data")["reason"] == "no tests for this profile in this kit"
    assert cert["not_run"] == [{"test": "f.py::c", "profile": "gws-voice-core", "reason": "no event source"}]


def test_required_failure_fail_under_and_errors() -> None:
    failing = build([result("gws-security", "failed"), result("gws-fuzz", "passed", "x")], target=TARGET)
    assert failing["status"] == "failed"
    assert failing["reasons"] == ["required profile gws-security failed (1 of 1 tests)"]
    low = build([result("gws-fuzz", "passed", "x"), result("gws-fuzz", "failed", "y")], target=TARGET, fail_under=60)
    assert low["status"] == "failed" and "overall score 50.00% is below --fail-under 60%" in low["reasons"][0]
    errored = build([result("gws-agent-state", "error", reason="ValueError")], target=TARGET)
    assert profile_of(errored, "gws-agent-state")["errors"] == 1 and errored["score"]["required"] == 0.0
    nothing = build([result("gws-agent-state", "not-run", reason="x")], target=TARGET)
    assert nothing["status"] == "failed" and nothing["reasons"] == ["no test ran"]
    stopped = build([result("gws-agent-state", "passed")], target=TARGET, interrupted="whole-run timeout")
    assert stopped["status"] == "failed" and "run interrupted: whole-run timeout" in stopped["reasons"]
    unhealthy = build(
        [result("gws-agent-state", "passed")], target=TARGET, health={"gws": {"ok": False, "detail": "refused"}}
    )
    assert "gws health check failed: refused" in unhealthy["reasons"]


def test_not_selected_profiles_are_listed_not_counted() -> None:
    cert = build(
        [result("gws-notifications", "passed"), result("gws-security", "not-selected", "s")],
        target=TARGET,
        selected=["gws-notifications"],
    )
    assert profile_of(cert, "gws-security")["status"] == "not-selected"
    assert profile_of(cert, "gws-security")["tests"] == 0
    assert cert["score"]["overall"] == 100.0 and cert["status"] == "passed"


def test_operations_per_profile_and_catalog() -> None:
    catalog = [
        {"id": "gws.getMe", "system": "gws"},
        {"id": "gws.Dial", "system": "gws"},
        {"id": "gws.Answer", "system": "gws"},
    ]
    results = [
        result("gws-voice-core", "passed", "a", operations=["gws.Dial"]),
        result("gws-voice-core", "failed", "b", operations=["gws.Dial", "gws.Answer"]),
        result("gws-security", "passed", "c", operations=["gws.getMe", "gws.custom"]),
    ]
    cert = build(results, target=TARGET, catalog=catalog)
    ops = {o["id"]: o for o in cert["operations"]}
    assert ops["gws.Dial"]["status"] == "failed" and ops["gws.Dial"]["passed"] == 1
    assert ops["gws.getMe"]["status"] == "passed"
    assert ops["gws.custom"]["reason"] == "not in the catalog"
    assert profile_of(cert, "gws-voice-core")["operations"]["gws.Answer"]["status"] == "failed"


def test_failure_evidence_is_redacted() -> None:
    failure = result(
        "gws-security",
        "failed",
        rule="GWS-SEC-001",
        title="t",
        message="sent Basic c2VjcmV0",
        fixture="gws.x",
        document="003_x.txt",
        lines=[1, 2],
        evidence=["POST /oauth/token?code=abc123 → 200 (1 ms)"],
    )
    cert = build([failure], target=TARGET)
    [entry] = cert["failures"]
    assert entry["rule"] == "GWS-SEC-001" and entry["evidence"]["fixture"] == "gws.x"
    assert entry["evidence"]["lines"] == [1, 2]
    text = json.dumps(cert)
    assert "c2VjcmV0" not in text and "abc123" not in text


def test_renderings(tmp_path: Path) -> None:
    failure = result(
        "gws-security",
        "failed",
        "x<script>",
        rule="R-1",
        message="<b>bad</b>",
        document="003_x.txt",
        lines=[10, 20],
        evidence=["GET /api/v2/me → 500 (2 ms)"],
    )
    cert = build(
        [failure, result("gws-notifications", "passed")],
        target=TARGET,
        kit_version="1.2.3",
        spec_versions={"gws.openapi.yaml": "8.5"},
    )
    paths = write(cert, tmp_path / "out")
    assert [p.name for p in paths] == ["certificate.json", "certificate.md", "certificate.html"]
    assert json.loads(paths[0].read_text())["kit_version"] == "1.2.3"
    markdown = render_markdown(cert)
    assert "# voicekit conformance certificate — FAILED" in markdown and "| gws-security | yes | failed |" in markdown
    assert "l.10-20" in markdown and "gws.openapi.yaml 8.5" in markdown
    page = render_html(cert)
    assert "<script>" not in page and "&lt;b&gt;bad&lt;/b&gt;" in page, "everything is escaped"
    assert "<style>" in page
    assert not re.search(r"<(link|script|img)\b|src=|url\(|@import", page), "self-contained: no external asset"
    lines = summary_lines(cert)
    assert lines[-1].startswith("certificate: FAILED") and any(line.startswith("gws-security") for line in lines)
