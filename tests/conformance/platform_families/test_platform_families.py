"""The Platform families (``test_rules_platform.py``, ``test_notifications_platform.py``,
``test_replay_platform.py``) work, run as ``voicekit certify`` runs them — a pytest subprocess with
``-p conformance.plugin``:

* against the mock (``--vk-target mock --vk-profile <profile>``) every test passes (the replay's code listings that
  other fixtures cover are not run, by design);
* against a target without the control API (tokens given, nothing configurable) nothing fails or errors: what needs
  the control API is not run with the reason;
* through the fault proxy of ``platform_proxy.py`` in front of the mock — transparent, the tests pass; with a named
  fault, the named test fails with the named rule.

Why a proxy and not mock flags: the suite must be shown to catch a wrong *target*, seen only over the wire, exactly
as it would a vendor's system; faults stay out of the mock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from platform_proxy import FAULTS, PlatformProxy

from conformance.launcher import MockProcess
from conformance.target import mock_data

ROOT = Path(__file__).resolve().parents[3]
FAMILIES = "conformance/families"
RULES = f"{FAMILIES}/test_rules_platform.py"
NOTIFICATIONS = f"{FAMILIES}/test_notifications_platform.py"
REPLAY = f"{FAMILIES}/test_replay_platform.py"
ALL = [RULES, NOTIFICATIONS, REPLAY]
PROFILES = ("platform-calls", "platform-auth-rules", "platform-notifications", "platform-samples")
COVERED_LISTING = "a code listing whose SDK calls other fixtures already replay"


@dataclass
class Case:
    """A fault, the family test that must catch it, and the rule id it must report."""

    fault: str
    test: str  # node id under the repository root
    rule: str

    @property
    def name(self) -> str:
        return self.test.rsplit("::", 1)[-1]


CASES = [
    Case("cc-answer-accepted", f"{RULES}::test_client_credentials_cannot_answer[calls]", "PLATFORM-AUTH-002"),
    Case("cc-call-for-user-accepted", f"{RULES}::test_client_credentials_cannot_make_call", "PLATFORM-AUTH-001"),
    Case(
        "other-user-answer-accepted",
        f"{RULES}::test_only_the_participants_user_can_answer[conversations]",
        "PLATFORM-AUTH-004",
    ),
    Case(
        "answer-reported-connected",
        f"{RULES}::test_remote_phone_answers_only_on_a_persistent_connection[no-connection-remote]",
        "PLATFORM-PHONE-005",
    ),
    Case("no-retry-after", f"{RULES}::test_rate_limited_make_call_says_when_to_retry", "PLATFORM-ERR-003"),
    Case(
        "make-call-201-without-id", f"{RULES}::test_user_token_can_make_call[authorization_code]", "PLATFORM-AUTH-003"
    ),
    Case(
        "make-call-201-without-id",
        f"{REPLAY}::test_documented_sample[platform.calls.make-call-listing-python]",
        "SAMPLE-platform.calls.make-call-listing-python",
    ),
    Case("scope-ignored", f"{RULES}::test_token_without_call_scope_cannot_make_call", "PLATFORM-AUTH-006"),
    Case(
        "invalid-number-accepted",
        f"{REPLAY}::test_documented_sample[platform.errors.invalid-phone-number]",
        "SAMPLE-platform.errors.invalid-phone-number",
    ),
    Case(
        "ghost-conversation",
        f"{RULES}::test_persistent_connection_outlives_the_call_until_its_timeout",
        "PLATFORM-PERSIST-001",
    ),
    Case("error-body-without-code", f"{RULES}::test_formatted_phone_number_is_refused", "PLATFORM-ERR-001"),
    Case("invalid-number-accepted", f"{RULES}::test_formatted_phone_number_is_refused", "PLATFORM-ERR-001"),
    Case("reads-without-token", f"{RULES}::test_conversation_reads_need_a_token", "PLATFORM-AUTH-007"),
]


# ---- the harness ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    """One mock for the proxy and no-control-API runs (reset before each run)."""
    with MockProcess() as process:
        yield process


def reset(mock: MockProcess) -> None:
    httpx.post(f"{mock.base_url}/control/reset", timeout=10).raise_for_status()


def run_suite(tmp: Path, tests: list[str], *args: str) -> dict[str, dict[str, Any]]:
    """One conformance run in a subprocess; its results.ndjson records by test name."""
    report = tmp / "report"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        "-p",
        "conformance.plugin",
        "--vk-report-dir",
        str(report),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--vk-no-summary",
        *args,
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VOICEKIT_")}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment, check=False)
    path = report / "results.ndjson"
    assert path.is_file(), f"no results.ndjson; pytest said:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = {r["name"]: r for r in records if r.get("event") == "test-finished"}
    assert results, f"no test results; pytest said:\n{done.stdout[-3000:]}"
    return results


def write_config(path: Path, tree: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


def proxy_config(path: Path, mock: MockProcess, proxy_url: str) -> Path:
    """The mock's Platform configuration with the API behind the proxy; the control API stays the mock's."""
    assert mock.base_url is not None
    tree = mock_data(mock.base_url)
    platform = dict(tree["platform"], url=f"{proxy_url}/platform")
    return write_config(
        path,
        {
            "target": {"name": "platform fault proxy"},
            "platform": platform,
            "timeouts": {"request": 10, "notification": 5, "run": 600},
            "events": {"control_url": tree["events"]["control_url"]},
        },
    )


def outcomes(results: dict[str, dict[str, Any]]) -> dict[str, tuple[str, Any]]:
    return {name: (r["outcome"], r.get("reason") or r.get("message")) for name, r in results.items()}


# ---- against the mock -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_passes_against_the_mock(profile: str, tmp_path: Path) -> None:
    results = run_suite(tmp_path, ALL, "--vk-target", "mock", "--vk-profile", profile)
    mine = {name: r for name, r in results.items() if r.get("profile") == profile and r["outcome"] != "not-selected"}
    assert len(mine) >= 5, f"{profile}: too few tests ran: {outcomes(results)}"
    wrong = {
        name: (r["outcome"], r.get("reason") or r.get("message"))
        for name, r in mine.items()
        if r["outcome"] != "passed" and not str(r.get("reason") or "").startswith(COVERED_LISTING)
    }
    assert not wrong, f"{profile}: tests that do not pass against the mock: {wrong}"
    assert all(r["rule"] for r in mine.values()), "every test names its rule"


def test_target_without_control_api_is_not_run_never_failed(mock: MockProcess, tmp_path: Path) -> None:
    """A vendor's system: user tokens given, no control API. Nothing may fail or error; what needs a configured
    phone, an external caller or a login page is not run, saying so."""
    reset(mock)
    assert mock.base_url is not None
    platform = mock_data(mock.base_url)["platform"]
    tokens = []
    for user in platform["users"][:2]:
        answer = httpx.post(
            f"{mock.base_url}/control/platform/tokens",
            timeout=10,
            json={"clientId": platform["code_client"]["client_id"], "userId": user["user_id"]},
        )
        tokens.append({"token": answer.json()["access_token"]})
    config = write_config(
        tmp_path / "vendor.yaml",
        {
            "target": {"name": "no control API"},
            "platform": {"url": platform["url"], "client_credentials": platform["client_credentials"], "users": tokens},
            "timeouts": {"request": 10, "notification": 2, "run": 600},
        },
    )
    results = run_suite(tmp_path, ALL, "--vk-target", str(config))
    bad = {n: o for n, o in outcomes(results).items() if o[0] in ("failed", "error")}
    assert not bad, f"failures against a target without control API: {bad}"
    passed = {n for n, o in outcomes(results).items() if o[0] == "passed"}
    assert {
        "test_client_credentials_cannot_make_call",
        "test_ping_is_answered_with_pong",
        "test_documented_sample[platform.auth.client-credentials-token-python]",
    } <= passed, outcomes(results)
    reasons = [str(r.get("reason")) for r in results.values() if r["outcome"] == "not-run"]
    assert reasons and all(reason.strip() for reason in reasons)
    assert any("events.control_url" in reason for reason in reasons), reasons


# ---- through the fault proxy ----------------------------------------------------------------------------------------
def run_through_proxy(tmp: Path, mock: MockProcess, fault: str, tests: list[str]) -> dict[str, dict[str, Any]]:
    assert mock.base_url is not None
    reset(mock)
    with PlatformProxy(mock.base_url, fault) as proxy:
        config = proxy_config(tmp / "target.yaml", mock, proxy.url)
        return run_suite(tmp, tests, "--vk-target", str(config))


def test_every_case_names_a_registered_fault() -> None:
    assert {c.fault for c in CASES} <= set(FAULTS)
    assert set(FAULTS) - {"none"} <= {c.fault for c in CASES}, "every registered fault has a case"


def test_families_pass_through_a_transparent_proxy(mock: MockProcess, tmp_path: Path) -> None:
    """Baseline: every test of the table passes against the correct mock seen through the proxy."""
    tests = sorted({c.test for c in CASES})
    results = run_through_proxy(tmp_path, mock, "none", tests)
    wrong = {n: o for n, o in outcomes(results).items() if o[0] != "passed"}
    assert not wrong, f"tests that do not pass through the transparent proxy: {wrong}"
    assert len(results) == len(tests)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.fault}->{c.name}" for c in CASES])
def test_fault_is_caught_by_its_rule(case: Case, mock: MockProcess, tmp_path: Path) -> None:
    results = run_through_proxy(tmp_path, mock, case.fault, [case.test])
    result = results.get(case.name)
    assert result is not None, f"{case.name} did not run: {sorted(results)}"
    assert result["outcome"] == "failed", (
        f"fault {case.fault}: {case.name} {result['outcome']} ({result.get('reason') or result.get('message')})"
    )
    assert result["rule"] == case.rule, (
        f"fault {case.fault}: {case.name} failed under rule {result['rule']} "
        f"({result.get('message')}), expected {case.rule}"
    )
