"""voicekit installed from its wheel is a working package, away from the checkout.

Why a real install: data found by probing folders beside the package works in a checkout and breaks in
site-packages (the popular ``fixtures`` distribution owns ``site-packages/fixtures``; the AsyncAPI meta-schema came
from ``node_modules``). The only faithful test is the user's: build the wheel, install it with ``fixtures`` into a
fresh virtualenv, and run the commands from a directory that is not the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from voicekit.corpus import Corpus
from voicekit.paths import asyncapi_meta_schema, checkout_root

ROOT = Path(__file__).resolve().parents[2]
NPM_COPY = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0-without-$id.json"


def test_shipped_asyncapi_meta_schema_is_the_official_one() -> None:
    """The copy in the package is byte-equal to the one npm installs (``@asyncapi/specs``, package-lock.json)."""
    if not NPM_COPY.is_file():
        pytest.skip("node_modules/@asyncapi/specs is not installed (make setup installs it); nothing to compare")
    assert json.loads(asyncapi_meta_schema().read_text(encoding="utf-8")) == json.loads(
        NPM_COPY.read_text(encoding="utf-8"))


def test_a_checkout_is_recognised_by_its_own_project_file() -> None:
    assert checkout_root() == ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh virtualenv outside the checkout with the built wheel and the ``fixtures`` distribution."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(work / "dist")],
                   check=True, timeout=300, capture_output=True)
    wheel = next((work / "dist").glob("voicekit-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "fixtures"],
                          timeout=900, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    yield elsewhere, env
    shutil.rmtree(work, ignore_errors=True)


def _voicekit(installed: tuple[Path, dict[str, str]], *args: str,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cwd, env = installed
    return subprocess.run(["voicekit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_installed_package_runs_from_elsewhere(installed: tuple[Path, dict[str, str]]) -> None:
    cwd, env = installed
    probe = subprocess.run(["python", "-c", "import voicekit, fixtures; print(voicekit.__file__, fixtures.__file__)"],
                           cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert probe.returncode == 0 and str(ROOT) not in probe.stdout, probe.stdout + probe.stderr

    validate = _voicekit(installed, "validate")
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]

    coverage = _voicekit(installed, "coverage", "--json")
    assert coverage.returncode == 0, coverage.stdout[-2000:] + coverage.stderr[-2000:]
    report = json.loads(coverage.stdout)
    found = sum(system["fixtures"] for system in report["systems"])
    assert found == len(Corpus().fixtures) > 0, report["systems"]
    assert report["complete"], report


def test_installed_mock_answers(installed: tuple[Path, dict[str, str]]) -> None:
    cwd, env = installed
    ready = cwd / "ready"
    process = subprocess.Popen(["voicekit", "mock", "--port", "0", "--ready-file", str(ready)], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not ready.is_file() or not ready.read_text().strip():
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            assert time.monotonic() < deadline, "the installed mock did not start in 60 s"
            time.sleep(0.2)
        base = ready.read_text().strip()
        answer = httpx.get(f"{base}/api/v2/diagnostics/version", timeout=10)
        assert answer.status_code == 200 and answer.json().get("statusCode") == 0, answer.text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_installed_certify_passes_on_the_mock(installed: tuple[Path, dict[str, str]]) -> None:
    cwd, _ = installed
    done = _voicekit(installed, "certify", "--target", "mock", "--profile", "gws-voice-core", "--report-dir",
                     str(cwd / "reports"), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    certificate = json.loads((cwd / "reports" / "certificate.json").read_text(encoding="utf-8"))
    assert certificate["status"] == "passed", certificate.get("reasons")
    assert certificate["totals"].get("passed", 0) > 0, certificate["totals"]
