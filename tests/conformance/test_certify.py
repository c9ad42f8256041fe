"""``voicekit certify`` end to end: the embedded mock, and targets that refuse, hang or answer garbage — each
must end within its timeouts with a certificate and the right exit code, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import CertifyOptions, certify, pytest_arguments

VOICEKIT = str(Path(sys.executable).with_name("voicekit"))


#: Runs a command and writes its peak RSS in KiB to the file named first: the highest ``VmHWM`` of the kit
#: process itself, read every 50 ms (not ``ru_maxrss``, which would count the Allure CLI's JVM too).
MEASURE = """
import re, subprocess, sys, time
child, peak = subprocess.Popen(sys.argv[2:]), 0
while child.poll() is None:
    try:
        status = open(f"/proc/{child.pid}/status").read()
    except OSError:
        break
    found = re.search(r"VmHWM:\\s+(\\d+) kB", status)
    peak = max(peak, int(found.group(1)) if found else 0)
    time.sleep(0.05)
open(sys.argv[1], "w").write(str(peak))
sys.exit(child.wait())
"""


def run_certify(
    *args: str, fast: bool = True, timeout: float = 120, peak_rss: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``voicekit certify ARGS``; with ``peak_rss``, the kit process's peak RSS (KiB) is written to that file."""
    env = dict(os.environ)
    if fast:  # load only the plugins a certification needs (autoloading every installed one costs seconds)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    command = [VOICEKIT, "certify", *args]
    if peak_rss is not None:
        command = [sys.executable, "-c", MEASURE, str(peak_rss), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_certify_the_mock_end_to_end(tmp_path: Path) -> None:
    report = tmp_path / "reports"
    done = run_certify("--target", "mock", "--profile", "gws-notifications", "--report-dir", str(report), fast=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for name in ("certificate.json", "certificate.md", "certificate.html", "junit.xml", "results.ndjson"):
        assert (report / name).is_file(), name
    assert list((report / "allure-results").glob("*-result.json"))
    cert = json.loads((report / "certificate.json").read_text())
    assert cert["status"] == "passed" and cert["kit_version"]
    assert cert["target"]["name"] == "voicekit mock" and cert["target"]["gws"].startswith("http://localhost:")
    assert cert["spec_versions"]["gws.openapi.yaml"]
    statuses = {p["name"]: p["status"] for p in cert["profiles"]}
    assert statuses["gws-notifications"] == "passed"
    assert statuses["gws-security"] == "not-selected" and statuses["gws-voice-core"] == "not-selected"
    assert cert["score"] == {"required": 100.0, "overall": 100.0}
    cases = {c.get("name"): c for c in ET.parse(report / "junit.xml").getroot().iter("testcase")}
    smoke = cases["test_cometd_handshake_subscribe_disconnect"]
    properties = {p.get("name"): p.get("value") for p in smoke.iter("property")}
    assert properties == {"profile": "gws-notifications", "rule": "GWS-COMETD-001"}
    assert "certificate: PASSED" in done.stdout and "wrote " in done.stdout
    assert "Allure HTML" in done.stdout
    assert "# voicekit conformance certificate — PASSED" in (report / "certificate.md").read_text()


def dead_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(
        f'[target]\nname = "broken lab"\n[gws]\nurl = "{url}"\n'
        'agents = [{username = "a", password = "b"}, {username = "c", password = "d"}]\n'
        "[timeouts]\nrequest = 1\nnotification = 1\nrun = 120\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("kind", ["closed", "hang", "garbage"])
def test_broken_targets_end_with_a_failed_certificate(
    tmp_path: Path, kind: str, closed_port_url: str, bad_server: Callable[[str], Any]
) -> None:
    url = closed_port_url if kind == "closed" else bad_server(kind).url
    report = tmp_path / "reports"
    started = time.monotonic()
    done = run_certify(
        "--config",
        str(dead_config(tmp_path, url)),
        "--report-dir",
        str(report),
        "--profile",
        "gws-notifications,gws-security",
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and done.stderr.strip() == ""
    assert elapsed < 60
    cert = json.loads((report / "certificate.json").read_text())
    assert cert["status"] == "failed" and cert["target"]["name"] == "broken lab"
    expected = {"closed": "connection refused", "hang": "no answer within 1 s", "garbage": "not JSON"}[kind]
    assert expected in cert["health"]["gws"]["detail"]
    assert any("gws health check failed" in r and expected in r for r in cert["reasons"])
    assert cert["failures"] and all(f["outcome"] == "failed" for f in cert["failures"])
    assert "certificate: FAILED" in done.stdout


#: What the certificate must say for each hostile target: (where, text). ``health``: the health check's detail
#: (the probe met the hostility); ``run``: the reason the system was given up during the run.
HOSTILE = {
    "hang-after-probe": ("run", "no answer within 1 s"),
    "endless": ("health", "exceeds the limit of 1048576 bytes (--max-response-bytes)"),
    "endless-after-probe": ("failures", "exceeds the limit of 1048576 bytes (--max-response-bytes)"),
    "trickle": ("health", "did not complete within 1 s"),
    "trickle-after-probe": ("run", "did not complete within 1 s"),
    "trickle-1g": ("health", "Content-Length 1000000000 exceeds the limit of 1048576 bytes"),
    "html": ("health", "not JSON"),
    "redirect": ("health", "answered 302"),
    "deep": ("health", "JSON nested deeper than"),
    "midheaders": ("health", "not valid HTTP"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_targets_end_within_their_timeouts_with_bounded_memory(
    tmp_path: Path, kind: str, bad_server: Callable[..., Any]
) -> None:
    """Never answers after the probe, answers endlessly or by the byte, HTML, a redirect loop, 100k-deep JSON,
    a connection closed mid-headers: the run ends within its timeouts (generous margin: these are deadline
    checks, not timings), the kit's RSS stays bounded, exit 1, and the certificate names the cause."""
    mode = kind.removesuffix("-after-probe")
    server = bad_server(mode, healthy_probe=kind.endswith("-after-probe"))
    report, rss = tmp_path / "reports", tmp_path / "rss"
    started = time.monotonic()
    done = run_certify(
        "--config",
        str(dead_config(tmp_path, server.url)),
        "--report-dir",
        str(report),
        "--profile",
        "gws-notifications,gws-security",
        "--max-response-bytes",
        "1048576",
        peak_rss=rss,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout and "RecursionError" not in done.stdout
    assert elapsed < 60, f"{elapsed:.0f} s"
    assert 0 < int(rss.read_text()) < 300 * 1024, f"peak RSS {int(rss.read_text()) // 1024} MiB"
    cert = json.loads((report / "certificate.json").read_text())
    assert cert["status"] == "failed" and cert["failures"]
    assert all(f["outcome"] == "failed" for f in cert["failures"]), [
        f for f in cert["failures"] if f["outcome"] != "failed"
    ][:1]
    where, expected = HOSTILE[kind]
    summary = next(line for line in done.stdout.splitlines() if line.startswith("certificate: FAILED"))
    if where == "health":
        assert expected in cert["health"]["gws"]["detail"] and expected in summary
    elif where == "run":
        assert cert["health"]["gws"]["ok"] is False and expected in cert["health"]["gws"]["detail"]
        assert "gws stopped answering during the run" in summary and expected in summary
        fast = [f for f in cert["failures"] if f["title"] == "Target unhealthy"]
        assert len(fast) >= len(cert["failures"]) - 3, "after two hangs the remaining tests fail at once"
    else:
        assert cert["health"]["gws"]["ok"] and all(expected in f["message"] for f in cert["failures"])


def test_configuration_errors_exit_2_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[gws]\nurl = "gws.example.com"\n', encoding="utf-8")
    done = run_certify("--config", str(bad), "--report-dir", str(tmp_path / "r"))
    assert done.returncode == 2
    assert "gws.url: 'gws.example.com' is not a http/https URL" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    unknown = run_certify("--target", "mock", "--profile", "gws-nope", "--report-dir", str(tmp_path / "r"))
    assert unknown.returncode == 2 and "unknown profile 'gws-nope'" in unknown.stdout


def test_a_pytest_usage_error_still_leaves_a_failed_certificate(tmp_path: Path) -> None:
    outputs: list[str] = []
    options = CertifyOptions(target="mock", report_dir=tmp_path / "r", pytest_args=["--no-such-option"])
    code = certify(options, echo=outputs.append, run_pytest=lambda args: 4)
    assert code == 2
    cert = json.loads((tmp_path / "r" / "certificate.json").read_text())
    assert cert["status"] == "failed"
    assert any("pytest stopped with exit code 4" in r for r in cert["reasons"])
    assert any(line.startswith("certificate: FAILED") for line in outputs)


def test_pytest_arguments() -> None:
    options = CertifyOptions(
        config="t.toml",
        profile="gws-*",
        allow_destructive=True,
        fail_under=90,
        report_dir=Path("out"),
        junit=False,
        timeout=3,
        overrides=["gws.csrf=on"],
        pytest_args=["-x"],
    )
    args = pytest_arguments(options)
    assert args[0].endswith("conformance/families")
    for expected in (
        ["--vk-config", "t.toml"],
        ["--vk-profile", "gws-*"],
        ["--vk-allow-destructive"],
        ["--vk-fail-under", "90"],
        ["--vk-request-timeout", "3"],
        ["--vk-set", "gws.csrf=on"],
        ["--alluredir", str(Path("out") / "allure-results")],
        ["--vk-report-dir", "out"],
    ):
        assert any(args[i : i + len(expected)] == expected for i in range(len(args))), expected
    assert "--junitxml" not in args and "--vk-target" not in args and args[-1] == "-x"
