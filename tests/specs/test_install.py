"""voicekit installed from its wheel is a working package, away from the checkout — and the CI recipes of
``docs/ci/`` work with it, every command of them run as written.

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
        NPM_COPY.read_text(encoding="utf-8")
    )


def test_a_checkout_is_recognised_by_its_own_project_file() -> None:
    assert checkout_root() == ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh virtualenv outside the checkout with the built wheel and the ``fixtures`` distribution."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(work / "dist")],
        check=True,
        timeout=300,
        capture_output=True,
    )
    wheel = next((work / "dist").glob("voicekit-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "fixtures"],
        timeout=900,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VOICEKIT_PIP_SPEC"] = str(wheel)
    yield elsewhere, env
    shutil.rmtree(work, ignore_errors=True)


def _voicekit(
    installed: tuple[Path, dict[str, str]], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    cwd, env = installed
    return subprocess.run(
        ["voicekit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_installed_package_runs_from_elsewhere(installed: tuple[Path, dict[str, str]]) -> None:
    cwd, env = installed
    probe = subprocess.run(
        ["python", "-c", "import voicekit, fixtures; print(voicekit.__file__, fixtures.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
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
    process = subprocess.Popen(
        ["voicekit", "mock", "--port", "0", "--ready-file", str(ready)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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
    done = _voicekit(
        installed,
        "certify",
        "--target",
        "mock",
        "--profile",
        "gws-voice-core",
        "--report-dir",
        str(cwd / "reports"),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    certificate = json.loads((cwd / "reports" / "certificate.json").read_text(encoding="utf-8"))
    assert certificate["status"] == "passed", certificate.get("reasons")
    assert certificate["totals"].get("passed", 0) > 0, certificate["totals"]


# ---- the CI recipes (docs/ci/) ---------------------------------------------------------------------------------------
CI = ROOT / "docs" / "ci"
#: GitHub actions the recipes use, and what stands for them here: the checkout is the work folder, Python is the
#: installed virtualenv; upload-artifact is checked by the files it names existing after the job.
KNOWN_ACTIONS = {"actions/checkout", "actions/setup-python", "actions/upload-artifact"}


def _expand(text: str, values: dict[str, str]) -> str:
    """``${{ secrets.X }}`` / ``${{ vars.X }}`` as GitHub substitutes them (unknown ones become empty)."""
    import re

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: values.get(m.group(1), ""), text)


def _stop_background(marker: Path) -> None:
    """End the mocks a recipe left running in the background (a CI runner does so at the end of the job)."""
    subprocess.run(["pkill", "-f", "--", f"--ready-file {marker}"], check=False, capture_output=True)


def _bash(script: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def staging(installed: tuple[Path, dict[str, str]]) -> Iterator[dict[str, str]]:
    """A staging system for the recipes to certify: a running mock, described only by secrets."""
    from conformance.launcher import MockProcess
    from conformance.target import mock_data

    with MockProcess(csrf=False) as mock:
        assert mock.base_url is not None
        tree = mock_data(mock.base_url)
        yield {
            "STAGING_GWS_URL": tree["gws"]["url"],
            "STAGING_GWS_AGENTS": json.dumps(tree["gws"]["agents"]),
            "STAGING_GWS_SUPERVISOR": json.dumps(tree["gws"]["supervisor"]),
            "STAGING_CONTROL_URL": tree["events"]["control_url"],
            "STAGING_CONTROL_TOKEN": "",
            "VOICEKIT_PROFILES": "gws-voice-core",
        }


def _work(installed: tuple[Path, dict[str, str]], name: str) -> Path:
    """A fresh "checkout" holding what the recipes read (docs/ci)."""
    work = installed[0].parent / name
    shutil.rmtree(work, ignore_errors=True)
    (work / "docs").mkdir(parents=True)
    shutil.copytree(CI, work / "docs" / "ci")
    return work


def test_github_actions_recipe_runs(installed: tuple[Path, dict[str, str]], staging: dict[str, str]) -> None:
    import yaml

    workflow = yaml.safe_load((CI / "github-actions.yml").read_text(encoding="utf-8"))
    work = _work(installed, "github")
    values = {f"secrets.{k}": v for k, v in staging.items()} | {f"vars.{k}": v for k, v in staging.items()}
    ran = 0
    for name, job in workflow["jobs"].items():
        runner_temp = work / f"tmp-{name}"
        runner_temp.mkdir()
        github_env = runner_temp / "github.env"
        github_env.touch()
        exported: dict[str, str] = {}
        for step in job["steps"]:
            if "uses" in step and "run" not in step:
                action = step["uses"].split("@")[0]
                assert action in KNOWN_ACTIONS, f"{name}: unknown action {action}"
                if action == "actions/upload-artifact":
                    for path in step["with"]["path"].split():
                        assert (work / path).is_file(), f"{name}: {path} is not there to upload"
                continue
            env = {
                **installed[1],
                **exported,
                "RUNNER_TEMP": str(runner_temp),
                "GITHUB_ENV": str(github_env),
                "VOICEKIT_MOCK_PORT": "0",
            }
            env.update({k: _expand(str(v), values) for k, v in (step.get("env") or {}).items()})
            done = _bash(step["run"], work, env)
            ran += 1
            assert done.returncode == 0, (
                f"{name} / {step.get('name')}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
            for line in github_env.read_text().splitlines():
                key, _, value = line.partition("=")
                exported[key] = value
        _stop_background(runner_temp)
    assert ran >= 6
    certificate = json.loads((work / "reports" / "certificate.json").read_text(encoding="utf-8"))
    assert certificate["status"] == "passed" and (work / "reports" / "junit.xml").is_file()
    assert json.loads((work / "tmp-app-tests-against-the-mock" / "journal.json").read_text())["total"] == 0


def test_gitlab_ci_recipe_runs(installed: tuple[Path, dict[str, str]], staging: dict[str, str]) -> None:
    import yaml

    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text(encoding="utf-8"))
    work = _work(installed, "gitlab")
    variables = {("VOICEKIT_" + k[len("STAGING_") :] if k.startswith("STAGING_") else k): v for k, v in staging.items()}
    variables["VOICEKIT_EVENTS_CONTROL_URL"] = variables.pop("VOICEKIT_CONTROL_URL")
    variables["VOICEKIT_EVENTS_CONTROL_TOKEN"] = variables.pop("VOICEKIT_CONTROL_TOKEN")
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    assert set(jobs) == {"voice-app-tests", "certify-staging"}
    for name, job in jobs.items():
        env = {**installed[1], **variables, "CI_PROJECT_DIR": str(work), "VOICEKIT_MOCK_PORT": "0"}
        try:
            done = _bash("\n".join(job["script"]), work, env)
            after = _bash("\n".join(job.get("after_script") or ["true"]), work, env)
        finally:
            _stop_background(work)
        assert done.returncode == 0 and after.returncode == 0, f"{name}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        for path in (job.get("artifacts") or {}).get("paths", []):
            assert (work / path).is_file(), f"{name}: artifact {path} missing"
    assert json.loads((work / "journal.json").read_text())["total"] == 0
