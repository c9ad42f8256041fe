"""The pytest plugin, run from outside with pytester against the shared mock: profile selection, destructive
skip, not-run reporting, failures with their evidence, the certificate and exit codes, Allure labels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FAMILY = """
import time
import pytest
from conformance.outcomes import not_run

@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule("T-PASS", document="003", lines=(97, 221), title="version")
@pytest.mark.vk_operations("gws.getVersion")
def test_pass(vk_gws_anonymous):
    assert vk_gws_anonymous.get("/api/v2/diagnostics/version").status == 200

@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule("T-FAIL", document="003", lines=(223, 370), title="me")
@pytest.mark.vk_fixture_id("gws.samples.get-version.rest-client")
@pytest.mark.vk_operations("gws.getMe")
def test_fail(vk_gws_agent):
    response = vk_gws_agent.get("/api/v2/me")
    assert response.status == 299, "the status should be 299"

@pytest.mark.vk_profile("gws-agent-state")
def test_not_run():
    not_run("feature X is absent")

@pytest.mark.vk_profile("gws-agent-state")
def test_kit_error(vk_gws_agent):
    raise RuntimeError("a bug in the family")

@pytest.mark.vk_profile("gws-settings-provisioning")
def test_destructive(vk_gws_admin):
    assert vk_gws_admin.get("/api/v2/me").status == 200

@pytest.mark.vk_profile("gws-voice-core")
@pytest.mark.vk_needs_event("inbound-call")
def test_needs_event():
    pass

@pytest.mark.vk_profile("gws-fuzz")
def test_not_selected():
    raise AssertionError("deselected tests never run")

def test_plain():
    pass
"""

SELECTED = "--vk-profile=gws-security,gws-agent-state,gws-settings-provisioning,gws-voice-core"


# Autoloading every installed plugin (hypothesis, schemathesis…) costs seconds per run: load only ours.
PLUGINS = ("-p", "conformance.plugin", "-p", "allure_pytest.plugin", "-p", "no:cacheprovider")


@pytest.fixture
def run(
    vk_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[pytest.RunResult, dict[str, Any] | None]]:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def run(*args: str) -> tuple[pytest.RunResult, dict[str, Any] | None]:
        result = vk_pytester.runpytest_subprocess(*PLUGINS, "--vk-report-dir", "report", *args, timeout=120)
        path = vk_pytester.path / "report" / "certificate.json"
        return result, json.loads(path.read_text()) if path.exists() else None

    return run


def outcomes(certificate: dict[str, Any]) -> dict[str, str]:
    out = {f["test"].split("::")[-1]: f["outcome"] for f in certificate["failures"]}
    out.update({n["test"].split("::")[-1]: "not-run" for n in certificate["not_run"]})
    return out


def profile(certificate: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in certificate["profiles"] if p["name"] == name)


def test_selection_not_run_failures_and_certificate(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]
) -> None:
    vk_pytester.makepyfile(test_family=FAMILY)
    config = mock_config_file(events={"control_url": None})
    result, cert = run(f"--vk-config={config}", SELECTED)
    result.assert_outcomes(passed=1, failed=2, skipped=3, errors=0, deselected=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert cert is not None and cert["status"] == "failed"
    assert outcomes(cert) == {
        "test_fail": "failed",
        "test_kit_error": "error",
        "test_not_run": "not-run",
        "test_destructive": "not-run",
        "test_needs_event": "not-run",
    }
    reasons = {n["test"].split("::")[-1]: n["reason"] for n in cert["not_run"]}
    assert reasons["test_not_run"] == "feature X is absent"
    assert reasons["test_destructive"] == "destructive tests need --allow-destructive"
    assert reasons["test_needs_event"].startswith("no event source for inbound-call")
    failure = next(f for f in cert["failures"] if f["test"].endswith("test_fail"))
    assert failure["rule"] == "T-FAIL" and failure["severity"] == "critical"
    assert "the status should be 299" in failure["message"]
    assert failure["evidence"]["document"] == "003_ca6f4272dc604134.txt"
    assert failure["evidence"]["lines"] == [223, 370]
    assert failure["evidence"]["fixture"] == "gws.samples.get-version.rest-client"
    assert any(line.startswith("GET /api/v2/me → 200") for line in failure["evidence"]["exchanges"])
    kit = next(f for f in cert["failures"] if f["test"].endswith("test_kit_error"))
    assert kit["title"] == "Kit error (RuntimeError)" and "a bug in the family" in kit["message"]
    assert profile(cert, "gws-security")["status"] == "failed"
    assert profile(cert, "gws-fuzz")["status"] == "not-selected"
    assert profile(cert, "gws-settings-provisioning")["status"] == "not-run"
    assert cert["unprofiled_tests"] == [], "--vk-profile deselects the tests of no profile"
    ops = {o["id"]: o["status"] for o in cert["operations"]}
    assert ops["gws.getVersion"] == "passed" and ops["gws.getMe"] == "failed"
    report = vk_pytester.path / "report"
    assert {p.name for p in report.iterdir()} >= {
        "certificate.json",
        "certificate.md",
        "certificate.html",
        "results.ndjson",
    }
    result.stdout.fnmatch_lines(["*= voicekit =*", "certificate: FAILED*"])


def test_allow_destructive_runs_them(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]
) -> None:
    vk_pytester.makepyfile(test_family=FAMILY)
    """Through the ini twins of the options, this time."""
    vk_pytester.makeini("[pytest]\nvk_profile = gws-settings-provisioning\nvk_allow_destructive = true\n")
    result, cert = run(f"--vk-config={mock_config_file()}")
    result.assert_outcomes(passed=1, deselected=7)
    assert result.ret == pytest.ExitCode.OK
    assert cert is not None and profile(cert, "gws-settings-provisioning")["status"] == "passed"
    assert cert["status"] == "passed"


def test_fail_under_changes_the_exit_code(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]
) -> None:
    vk_pytester.makepyfile(
        test_only_not_run="""
import pytest
from conformance.outcomes import not_run

@pytest.mark.vk_profile("gws-agent-state")
def test_a():
    not_run("nothing to do here")
"""
    )
    config = mock_config_file()
    plain, cert = run(f"--vk-config={config}")
    assert plain.ret == pytest.ExitCode.OK and cert is not None and cert["reasons"] == ["no test ran"]
    strict, _ = run(f"--vk-config={config}", "--vk-fail-under=50")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('vk_profile("gws-nope")', "unknown profile 'gws-nope'"),
        ('vk_profile("gws-security")\n@pytest.mark.vk_operations("gws.NoSuchOp")', "unknown catalog operations"),
        ('vk_profile("gws-security")\n@pytest.mark.vk_needs_event("earthquake")', "needs_event takes one of"),
        ('vk_profile("gws-security")\n@pytest.mark.vk_severity("huge")', "severity is one of"),
    ],
)
def test_marker_mistakes_are_usage_errors(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path], marker: str, message: str
) -> None:
    vk_pytester.makepyfile(test_bad=f"import pytest\n\n@pytest.mark.{marker}\ndef test_x():\n    pass\n")
    result, cert = run(f"--vk-config={mock_config_file()}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert cert is None


def test_a_selected_profile_without_credentials_is_a_usage_error(
    vk_pytester: pytest.Pytester, run: Any, tmp_path: Path
) -> None:
    vk_pytester.makepyfile(test_family=FAMILY)
    config = tmp_path / "t.toml"
    config.write_text(
        '[gws]\nurl = "http://127.0.0.1:9"\nagents = [{username = "a", password = "b"}, '
        '{username = "c", password = "d"}]\n'
    )
    result, _ = run(f"--vk-config={config}", "--vk-profile=gws-supervisor")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*profile gws-supervisor cannot run: no GWS supervisor credentials*"])


def test_parallel_workers_are_refused(
    vk_pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xdist workers would share the target's agents and truncate each other's reports (a results.ndjson with
    interleaved lines was seen): -n with --vk-* options is a usage error unless conformance.parallel accepts the
    run (tests/conformance/test_parallel.py), and without them the conformance tests are not run, with the
    reason, while plain tests still run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    vk_pytester.makepyfile(test_family=FAMILY)
    plugins = ("-p", "conformance.plugin", "-p", "xdist.plugin", "-p", "no:cacheprovider")
    refused = vk_pytester.runpytest_subprocess(*plugins, "-n", "2", "--vk-report-dir=report", timeout=120)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*a parallel conformance run needs --dist loadfile*"])
    assert not (vk_pytester.path / "report").exists()
    skipped = vk_pytester.runpytest_subprocess(*plugins, "-n", "2", "-rs", timeout=120)
    skipped.assert_outcomes(passed=1, skipped=7)
    skipped.stdout.fnmatch_lines(["*not-run: conformance tests run in one process*"])


def test_inert_without_profile_markers(vk_pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Also the entry point and -p together: the plugin blocks its second registration."""
    vk_pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    broken = tmp_path / "broken.toml"
    broken.write_text("this is [not toml")
    result = vk_pytester.runpytest_subprocess(
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:schemathesis",
        f"--vk-config={broken}",
        "--vk-report-dir=report",
        timeout=60,
    )
    result.assert_outcomes(passed=1)
    assert "voicekit" not in result.stdout.str()
    assert not (vk_pytester.path / "report").exists(), "nothing loaded, nothing started, nothing written"


def test_unhealthy_target_fails_every_test_fast(
    vk_pytester: pytest.Pytester, run: Any, tmp_path: Path, closed_port_url: str
) -> None:
    vk_pytester.makepyfile(test_family=FAMILY)
    config = tmp_path / "dead.toml"
    config.write_text(
        f'[gws]\nurl = "{closed_port_url}"\nagents = [{{username = "a", password = "b"}}]\n[timeouts]\nrequest = 2\n'
    )
    result, cert = run(f"--vk-config={config}", "--vk-profile=gws-security")
    result.assert_outcomes(errors=2, deselected=6)
    assert cert is not None and cert["status"] == "failed"
    assert {f["outcome"] for f in cert["failures"]} == {"failed"}, "an unreachable target fails; it is no kit error"
    assert all("health check failed" in f["message"] for f in cert["failures"])
    assert cert["health"]["gws"]["ok"] is False


def test_reset_between_modules(vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]) -> None:
    state = """
import pytest

def state(agent):
    body = agent.get("/api/v2/me/devices", params={"fields": "*"}).json()
    return body["devices"][0]["userState"]["state"]

@pytest.mark.vk_profile("gws-agent-state")
def test_STEP(vk_gws_agent):
    ACTION
"""
    vk_pytester.makepyfile(
        test_1=state.replace("STEP", "make_ready").replace(
            "ACTION",
            'vk_gws_agent.post("/api/v2/me/channels/voice", json={"operationName": "Ready"})\n'
            '    assert state(vk_gws_agent) == "Ready"',
        ),
        test_2=state.replace("STEP", "after").replace("ACTION", 'print("STATE", state(vk_gws_agent))'),
    )
    config = mock_config_file()
    result, _ = run(f"--vk-config={config}", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*STATE NotReady*"])
    result, _ = run(f"--vk-config={config}", "-s", "--vk-reset=none")
    result.stdout.fnmatch_lines(["*STATE Ready*"])


def test_whole_run_timeout_stops_the_run(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]
) -> None:
    vk_pytester.makepyfile(
        test_slow="""
import time
import pytest

@pytest.mark.vk_profile("gws-agent-state")
def test_first(vk_gws_agent):
    time.sleep(1.0)

@pytest.mark.vk_profile("gws-agent-state")
def test_second():
    pass

@pytest.mark.vk_profile("gws-agent-state")
def test_third():
    pass
"""
    )
    _, cert = run(f"--vk-config={mock_config_file()}", "--vk-run-timeout=0.5")
    assert cert is not None and cert["status"] == "failed"
    assert any("whole-run timeout" in r for r in cert["reasons"])
    reasons = {n["test"].split("::")[-1]: n["reason"] for n in cert["not_run"]}
    assert reasons["test_second"] == "whole-run timeout exceeded"
    assert reasons["test_third"].startswith("the run stopped before this test")


def test_allure_labels_and_links(vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]) -> None:
    vk_pytester.makepyfile(test_family=FAMILY)
    run(f"--vk-config={mock_config_file()}", "--vk-profile=gws-security", "--alluredir=allure")
    results = [json.loads(p.read_text()) for p in (vk_pytester.path / "allure").glob("*-result.json")]
    passed = next(r for r in results if r["name"] == "test_pass")
    labels = {(label["name"], label["value"]) for label in passed["labels"]}
    assert {
        ("epic", "gws"),
        ("feature", "gws-security"),
        ("story", "T-PASS"),
        ("severity", "critical"),
        ("tag", "required"),
    } <= labels
    assert passed["links"][0]["name"] == "003 l.97-221" and passed["links"][0]["url"].endswith("#L97")
    attachments = [p.read_text() for p in (vk_pytester.path / "allure").glob("*-attachment*")]
    failed = next(r for r in results if r["name"] == "test_fail")
    assert failed["status"] == "failed" and any(s["name"].startswith("GET /api/v2/me") for s in failed["steps"])
    assert attachments and not any("cGFzc3dvcmQ" in a for a in attachments), "no credentials in attachments"


ADVISORY_FAMILY = """
import pytest
from conformance.advisory import advise, lenient

@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule("T-ADV", document="003", lines=(97, 221), title="version")
def test_advised(vk_gws_anonymous):
    assert vk_gws_anonymous.get("/api/v2/diagnostics/version").status == 200
    advise("the message text is 'Bad'", basis="000 l.96-98 give the status only")
    with lenient(rule="T-OTHER", basis="no order is documented"):
        assert False, "the notifications came in another order"
"""


def test_advisories_reported_never_scored(
    vk_pytester: pytest.Pytester, run: Any, mock_config_file: Callable[..., Path]
) -> None:
    """An advisory finding passes the test and the certificate, and is reported in the certificate (json, md,
    html), JUnit (a property and a <system-out> line), Allure (an attachment) and the terminal summary."""
    vk_pytester.makepyfile(test_family=ADVISORY_FAMILY)
    result, cert = run(
        f"--vk-config={mock_config_file()}", "--vk-profile=gws-security", "--alluredir=allure", "--junitxml=junit.xml"
    )
    result.assert_outcomes(passed=1)
    assert cert is not None and cert["status"] == "passed" and cert["score"]["overall"] == 100.0
    assert cert["advisory_summary"] == {"findings": 2, "tests": 1, "rules": ["T-ADV", "T-OTHER"], "scored": False}
    assert [(a["rule"], a["basis"]) for a in cert["advisories"]] == [
        ("T-ADV", "000 l.96-98 give the status only"),
        ("T-OTHER", "no order is documented"),
    ]
    assert profile(cert, "gws-security")["advisories"] == 2
    report = vk_pytester.path / "report"
    assert "## Advisory findings" in (report / "certificate.md").read_text()
    assert "<h2>Advisory findings</h2>" in (report / "certificate.html").read_text()
    junit = (vk_pytester.path / "junit.xml").read_text()
    assert 'name="voicekit.advisory"' in junit and "[T-OTHER] the notifications came in another order" in junit
    assert "<system-out>voicekit advisory (not scored): [T-ADV]" in junit
    attachments = [p.read_text() for p in (vk_pytester.path / "allure").glob("*-attachment*")]
    assert any("[T-ADV] the message text is 'Bad'" in a for a in attachments)
    result.stdout.fnmatch_lines(["2 advisory findings in 1 test (reported, not scored)"])


def test_the_plugin_claims_only_vk_names() -> None:
    """A pytest11 plugin is loaded into every pytest session where voicekit is installed: its fixtures and markers
    carry the vk_ prefix, so they never take common names (``profile``, ``events``, ``bus``) from a user's suite."""
    import ast

    from conformance.pytest_plugin import collection, fixtures

    tree = ast.parse(Path(fixtures.__file__).read_text(encoding="utf-8"))
    names = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert names and all(n.startswith(("vk_", "_vk_")) for n in names), names
    markers = [line.split("(")[0].split(":")[0] for line in collection.MARKERS]
    assert all(m.startswith(("vk_", "allure_")) for m in markers), markers
