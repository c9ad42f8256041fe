"""Parallel certification (conformance.parallel): a run with pytest-xdist workers, each with its own embedded
mock, writes the same certificate, results and JUnit verdicts as a serial run; any other target stays serial
unless its modules are declared independent."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from test_plugin import FAMILY, SELECTED  # tests/conformance is on sys.path (rootdir-relative imports)

from conformance import parallel
from conformance.cli import EXIT_KIT_ERROR, CertifyOptions, certify, pytest_arguments
from conformance.errors import VoicekitError

ADVISORY_FAMILY = """
import pytest
from conformance.advisory import advise

@pytest.mark.vk_profile("gws-security")
@pytest.mark.vk_rule("T-ADV", document="003", lines=(97, 221), title="version")
def test_with_a_finding(vk_gws_anonymous):
    assert vk_gws_anonymous.get("/api/v2/diagnostics/version").status == 200
    advise("the text differs", rule="T-ADV", basis="003 l.97-221 shows no text")

@pytest.mark.vk_profile("gws-agent-state")
def test_agent(vk_gws_agent):
    assert vk_gws_agent.get("/api/v2/me").status == 200
"""

PLUGINS = ("-p", "conformance.plugin", "-p", "allure_pytest.plugin", "-p", "xdist.plugin", "-p", "no:cacheprovider")
#: What differs between two runs of the same tests whatever the order: times, the mock's port, the notes.
VOLATILE = ("date", "started", "target", "notes")
PORT, MILLISECONDS = re.compile(r"localhost:\d+"), re.compile(r"\(\d+(\.\d+)? ms\)")


def steady(data: Any) -> Any:
    """``data`` with the mock's port and the exchanges' times blanked (the evidence of a failure shows both)."""
    text = MILLISECONDS.sub("(… ms)", PORT.sub("localhost:…", json.dumps(data, ensure_ascii=False)))
    return json.loads(text)


def comparable(report: Path) -> dict[str, Any]:
    """The certificate, the per-test results and the JUnit verdicts of a report folder, without timings and
    ports (the order of results.ndjson is the order tests finished in, so it is sorted)."""
    certificate = json.loads((report / "certificate.json").read_text())
    for key in VOLATILE:
        certificate.pop(key)
    for verdict in certificate["health"].values():
        verdict.pop("elapsed_ms")
    events = [json.loads(line) for line in (report / "results.ndjson").read_text().splitlines()]
    results = sorted(
        ({k: v for k, v in e.items() if k != "duration"} for e in events if e["event"] == "test-finished"),
        key=lambda r: r["nodeid"],
    )
    cases = {}
    for case in ET.parse(report / "junit.xml").getroot().iter("testcase"):
        verdict = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        properties = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        out = [c.text for c in case if c.tag == "system-out"]
        cases[f"{case.get('classname')}::{case.get('name')}"] = (verdict, properties, out)
    return {"certificate": steady(certificate), "results": steady(results), "junit": cases}


def test_a_parallel_run_certifies_like_a_serial_one(
    vk_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers, two mocks, three modules: the same tests, outcomes, counts, reasons, failures, advisory
    findings (certificate and JUnit ``<system-out>``) and not-selected tests as one process."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    vk_pytester.makepyfile(test_family_a=FAMILY, test_family_b=FAMILY, test_family_c=ADVISORY_FAMILY)
    reports = {}
    for name, extra in (("serial", ()), ("parallel", ("-n", "2", "--dist", "loadfile"))):
        result = vk_pytester.runpytest_subprocess(
            *PLUGINS, SELECTED, "--vk-report-dir", name, "--junitxml", f"{name}/junit.xml", *extra, timeout=300
        )
        assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
        reports[name] = comparable(vk_pytester.path / name)
    serial, parallel_run = reports["serial"], reports["parallel"]
    assert {"passed", "failed", "error", "not-run", "not-selected"} <= set(serial["certificate"]["totals"])
    assert serial["certificate"]["advisory_summary"]["findings"] == 1
    assert any(out for _, _, out in serial["junit"].values())
    assert parallel_run["certificate"] == serial["certificate"]
    assert parallel_run["junit"] == serial["junit"]
    assert [r["nodeid"] for r in parallel_run["results"]] == [r["nodeid"] for r in serial["results"]]
    for ours, theirs in zip(parallel_run["results"], serial["results"], strict=True):
        assert ours == theirs
    certificate = json.loads((vk_pytester.path / "parallel" / "certificate.json").read_text())
    assert any("2 pytest-xdist workers" in note for note in certificate["notes"])
    assert len([n for n in certificate["notes"] if n.startswith("embedded mock at")]) == 2


def test_parallel_runs_need_loadfile_and_a_mock_or_a_declaration(
    vk_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Another target is shared by the workers: refused unless --vk-independent-agents; and only --dist
    loadfile keeps a module's tests together and in order."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    vk_pytester.makepyfile(test_family=FAMILY)
    config = tmp_path / "t.toml"
    config.write_text('[gws]\nurl = "http://127.0.0.1:9"\n')
    plugins = ("-p", "conformance.plugin", "-p", "xdist.plugin", "-p", "no:cacheprovider")
    load = vk_pytester.runpytest_subprocess(*plugins, "-n", "2", "--vk-report-dir=report", timeout=120)
    assert load.ret == pytest.ExitCode.USAGE_ERROR
    load.stderr.fnmatch_lines(["*a parallel conformance run needs --dist loadfile*"])
    shared = ("-n", "2", "--dist", "loadfile", f"--vk-config={config}", "--co")
    refused = vk_pytester.runpytest_subprocess(*plugins, *shared, timeout=120)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*conformance tests of a shared target run in one process*"])
    declared = vk_pytester.runpytest_subprocess(*plugins, *shared, "--vk-independent-agents", timeout=120)
    assert declared.ret == pytest.ExitCode.OK, declared.stderr.str()
    assert not (vk_pytester.path / "report").exists()


def test_worker_count() -> None:
    assert parallel.worker_count(None, mock=True) == parallel.DEFAULT_MOCK_WORKERS == 3
    assert parallel.worker_count(None, mock=False) == 1
    assert parallel.worker_count("1", mock=False) == 1
    assert parallel.worker_count("3", mock=True) == 3
    assert 1 <= parallel.worker_count("auto", mock=True) <= 4
    assert parallel.worker_count("2", mock=False, independent=True) == 2
    for bad in ("0", "two"):
        with pytest.raises(VoicekitError):
            parallel.worker_count(bad, mock=True)
    with pytest.raises(VoicekitError, match="--independent-agents"):
        parallel.worker_count("2", mock=False)


def has(args: list[str], expected: list[str]) -> bool:
    return any(args[i : i + len(expected)] == expected for i in range(len(args)))


def test_scopes_keep_modules_whole_but_split_fuzzing_by_system() -> None:
    assert parallel.scope_of("test_rules_gws_calls.py::test_hold[a]") == "test_rules_gws_calls.py"
    assert parallel.scope_of("test_replay_platform.py::test_platform_sample[x]") == "test_replay_platform.py"
    assert parallel.scope_of("test_fuzz_openapi.py::test_gws_operation[getMe]") == "test_fuzz_openapi.py::gws"
    assert parallel.scope_of("test_fuzz_openapi.py::test_gws_links") == "test_fuzz_openapi.py::gws"
    assert parallel.scope_of("test_fuzz_openapi.py::test_platform_links") == "test_fuzz_openapi.py::platform"
    assert parallel.scope_of("test_fuzz_openapi.py::test_helper") == "test_fuzz_openapi.py"


def test_certify_runs_the_mock_in_three_workers_and_other_targets_serially(tmp_path: Path) -> None:
    assert has(pytest_arguments(CertifyOptions(target="mock")), ["-n", "3", "--dist", "loadfile"])
    assert has(pytest_arguments(CertifyOptions()), ["-n", "3", "--dist", "loadfile"])  # the mock by default
    assert "-n" not in pytest_arguments(CertifyOptions(target="mock", workers="1"))
    assert "-n" not in pytest_arguments(CertifyOptions(config="t.toml"))
    assert "-n" not in pytest_arguments(CertifyOptions(target="t.toml"))
    declared = pytest_arguments(CertifyOptions(target="t.toml", workers="2", independent_agents=True))
    assert has(declared, ["-n", "2", "--dist", "loadfile"]) and "--vk-independent-agents" in declared
    config = tmp_path / "t.toml"
    config.write_text('[gws]\nurl = "http://127.0.0.1:9"\n')
    said: list[str] = []

    def never(argv: list[str]) -> int:
        raise AssertionError("pytest must not run")

    code = certify(CertifyOptions(target=str(config), workers="2", report_dir=tmp_path / "r"), said.append, never)
    assert code == EXIT_KIT_ERROR and any("--independent-agents" in line for line in said)
