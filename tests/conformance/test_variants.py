"""The suite tolerates every documented reading: the mock certified under each of its variants
(mockserver/variants.py) passes every required profile — all variants at once over all required profiles
through ``voicekit certify``, then each variant alone over the required profiles its registry entry declares
as affected.

Why: the suite was written beside the mock and could quietly certify "behaves like our mock". A variant is a
server that differs from the mock only where the documents allow it; a required test that fails on one
asserts something the documents do not say (it belongs in an advisory, ``conformance.advisory``).
The opposite direction — the suite still fails what no reading supports — is the fault proofs'
(tests/conformance/families/test_fault_catching.py, platform_families/, fuzz_and_connect/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import profiles
from conformance.cli import CertifyOptions, pytest_arguments
from mockserver.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
VOICEKIT = str(Path(sys.executable).with_name("voicekit"))
REQUIRED = [p.name for p in profiles.PROFILES.values() if p.required]
#: The stateful machines at a CI budget (a fixed seed, so a failure replays); the variants change single
#: operations, which the rule families exercise directly.
STATEFUL = {
    "VOICEKIT_STATEFUL_EXAMPLES": "3",
    "VOICEKIT_STATEFUL_STEPS": "10",
    "VOICEKIT_STATEFUL_SEED": "1",
    "VOICEKIT_STATEFUL_SHRINK_SECONDS": "10",
}


def _env() -> dict[str, str]:
    env = {**os.environ, **STATEFUL, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("VOICEKIT_VARIANTS", None)  # only what the test asks for
    return env


def _without_allure(args: list[str]) -> list[str]:
    """The certification's pytest arguments without Allure (the certificate is what is judged here) and without
    the plugin flags (added once by the caller)."""
    out: list[str] = []
    skip = False
    for arg, following in zip(args, [*args[1:], None], strict=True):
        if skip:
            skip = False
            continue
        if arg == "--alluredir" or (arg == "-p" and following in ("conformance.plugin", "allure_pytest.plugin")):
            skip = True
            continue
        if arg != "--clean-alluredir":
            out.append(arg)
    return out


def _verdict(report: Path, output: str) -> dict[str, Any]:
    path = report / "certificate.json"
    assert path.is_file(), f"no certificate; the run said:\n{output[-3000:]}"
    return json.loads(path.read_text(encoding="utf-8"))


def _check(cert: dict[str, Any], selected: list[str], variants: list[str], output: str) -> None:
    failures = [(f["test"].rsplit("::", 1)[-1], f["rule"], f["message"][:300]) for f in cert["failures"]]
    assert not failures, f"variants {variants}: required tests fail on a documented reading: {failures}"
    for profile in cert["profiles"]:
        if profile["name"] in selected:
            assert profile["status"] == "passed" and profile["score"] == 100.0, (variants, profile, output[-2000:])
    assert cert["status"] == "passed" and cert["score"]["required"] == 100.0
    assert set(cert["target"].get("mock_variants") or []) == set(variants), cert["target"]


def test_registry_names_required_profiles_of_its_system() -> None:
    """Each variant declares the required profiles where it shows: they exist, are required and belong to its
    system (the per-variant runs below select them)."""
    for variant in VARIANTS.values():
        for name in variant.profiles:
            profile = profiles.get(name)
            assert profile.required and profile.system == variant.system, (variant.name, name)


def test_all_variants_together_pass_every_required_profile(tmp_path: Path) -> None:
    """One ``voicekit certify --target mock --set mock.variants=…`` with every variant on, over every required
    profile: exit 0, 100% on each; what the variants change shows up as advisory findings, never as failures."""
    report = tmp_path / "reports"
    names = list(VARIANTS)
    done = subprocess.run(
        [
            VOICEKIT,
            "certify",
            "--target",
            "mock",
            "--profile",
            ",".join(REQUIRED),
            "--set",
            f"mock.variants={','.join(names)}",
            "--report-dir",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
        check=False,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    cert = _verdict(report, output)
    _check(cert, REQUIRED, names, output)
    assert done.returncode == 0, output[-3000:]
    assert cert["advisory_summary"]["findings"] > 0, "the variants differ from the mock: advisories expected"
    assert "advisory finding" in done.stdout


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_passes_its_affected_profiles(name: str, tmp_path: Path) -> None:
    """The variant alone (so no other variant masks it), on the required profiles its entry declares."""
    variant = VARIANTS[name]
    report = tmp_path / "reports"
    options = CertifyOptions(
        target="mock",
        profile=",".join(variant.profiles),
        report_dir=report,
        junit=False,
        overrides=[f"mock.variants={name}"],
        workers="1",  # a few profiles: one process is cheaper than two workers with a mock each
    )
    args = _without_allure(pytest_arguments(options))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "conformance.plugin", "-q"],
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
        check=False,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    cert = _verdict(report, output)
    _check(cert, list(variant.profiles), [name], output)
    assert done.returncode == 0, output[-3000:]
