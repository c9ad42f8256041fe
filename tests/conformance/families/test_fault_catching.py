"""The GWS rule and stateful families catch faults: run selected family tests (a subprocess with
``-p conformance.plugin`` and ``--vk-target <config>``) through the mutating proxy of ``faulty_proxy.py`` in front
of the mock — transparent, they pass; with a named fault, the test named after the violated rule fails with
that rule's id.

Why a proxy and not mock flags: the suite must be shown to catch a wrong *target*, seen only over the wire,
exactly as it would a vendor's system; and faults stay out of the mock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bayeux_faults  # noqa: F401  (registers the Bayeux faults)
import httpx
import pytest
from faulty_proxy import FAULTS, FaultyProxy

from conformance.launcher import MockProcess
from conformance.target import mock_data

ROOT = Path(__file__).resolve().parents[3]
FAMILIES = "conformance/families"
CALLS = f"{FAMILIES}/test_rules_gws_calls.py"
CONF = f"{FAMILIES}/test_rules_gws_conference_transfer.py"
DATA = f"{FAMILIES}/test_rules_gws_call_data.py"
AGENT = f"{FAMILIES}/test_rules_gws_agent_state.py"
PARAMS = f"{FAMILIES}/test_rules_gws_params.py"
SECURITY = f"{FAMILIES}/test_rules_gws_security.py"
SUPERVISOR = f"{FAMILIES}/test_rules_gws_supervisor.py"
STATEFUL = f"{FAMILIES}/test_stateful_gws.py"
BAYEUX = f"{FAMILIES}/test_rules_gws_bayeux.py"
SESSION = f"{FAMILIES}/test_rules_gws_session.py"


@dataclass
class Case:
    """A fault, the family test that must catch it, and the rule id it must report."""

    fault: str
    test: str  # node id under the repository root
    rule: str
    csrf: bool = False
    env: dict[str, str] = field(default_factory=dict)
    evidence: str | None = None  # a text the failure's evidence must contain

    @property
    def name(self) -> str:
        return self.test.rsplit("::", 1)[-1]


CASES = [
    Case("hold-wrong-state", f"{CALLS}::test_hold_notifies_held", "GWS-CALL-003"),
    Case("extra-capability", f"{CALLS}::test_ringing_call_capabilities", "GWS-CAP-001"),
    Case("missing-capability", f"{CALLS}::test_established_call_capabilities", "GWS-CAP-003"),
    Case(
        "wrong-status-code",
        f"{CALLS}::test_operation_not_in_capabilities_is_refused[established-Retrieve]",
        "GWS-CAP-006",
    ),
    Case("ignore-limit", f"{PARAMS}::test_limit_above_500_refused", "GWS-PARAM-006"),
    Case("no-csrf", f"{SECURITY}::test_csrf_token_required", "GWS-SEC-004", csrf=True),
    Case("no-basic", f"{SECURITY}::test_only_version_is_anonymous", "GWS-SEC-001"),
    Case("leak-other-agent-call", f"{SECURITY}::test_other_agents_call_not_found", "GWS-SEC-009"),
    Case("reorder-notifications", f"{CONF}::test_initiate_transfer_holds_then_dials", "GWS-XFER-001"),
    Case("drop-notification", f"{CALLS}::test_send_dtmf_is_confirmed", "GWS-CALL-006"),
    Case("duplicate-notification", f"{AGENT}::test_ready_changes_agent_state", "GWS-AGENT-002"),
    Case("wrong-notification-type", f"{DATA}::test_attach_user_data", "GWS-DATA-001"),
    Case("offline-not-logged-out", f"{AGENT}::test_offline_reports_logged_out", "GWS-AGENT-006"),
    Case("dnd-stale-capability", f"{AGENT}::test_do_not_disturb_on", "GWS-DEV-002"),
    Case("mute-not-applied", f"{CONF}::test_mute_and_unmute_conference_call", "GWS-CONF-006"),
    Case("cors-any-origin", f"{SECURITY}::test_cors_disallowed_origin", "GWS-SEC-007"),
    Case("public-answer", f"{CALLS}::test_public_network_device_hides_answer", "GWS-CALL-007"),
    Case("no-total-count", f"{PARAMS}::test_pagination_and_total_count", "GWS-PARAM-008"),
    Case("partial-as-0", f"{PARAMS}::test_partial_success", "GWS-RET-003"),
    Case("start-session-no-login", f"{SESSION}::test_start_session_logs_in", "GWS-SESSION-001"),
    Case("end-session-ignored", f"{SESSION}::test_end_session_logs_out_and_ends_the_http_session", "GWS-SESSION-002"),
    Case("services-agent-forbidden", f"{SESSION}::test_agent_reads_services", "GWS-SVC-001"),
    # Bayeux 1.0 (gws-notifications)
    Case("bayeux-no-id-echo", f"{BAYEUX}::test_meta_replies_echo_the_request_id", "GWS-BAYEUX-001"),
    Case("bayeux-handshake-no-types", f"{BAYEUX}::test_handshake_reply_members", "GWS-BAYEUX-002"),
    Case("bayeux-connect-no-client-id", f"{BAYEUX}::test_connect_reply_members", "GWS-BAYEUX-003"),
    Case("bayeux-bad-advice", f"{BAYEUX}::test_connect_reply_members", "GWS-BAYEUX-003"),
    Case("bayeux-no-subscription", f"{BAYEUX}::test_subscribe_reply_members", "GWS-BAYEUX-004"),
    Case("bayeux-unsubscribe-ignored", f"{BAYEUX}::test_unsubscribe_stops_delivery", "GWS-BAYEUX-005"),
    Case("bayeux-no-402", f"{BAYEUX}::test_unknown_client_is_refused", "GWS-BAYEUX-006"),
    Case("bayeux-deaf-after-rehandshake", f"{BAYEUX}::test_recovery_after_unknown_client", "GWS-BAYEUX-007"),
    Case("bayeux-replay-on-reconnect", f"{BAYEUX}::test_no_duplicates_across_a_reconnect", "GWS-BAYEUX-008"),
    Case("bayeux-deny-services", f"{BAYEUX}::test_documented_topics_can_be_subscribed", "GWS-BAYEUX-009"),
    Case("bayeux-leak-other-user", f"{BAYEUX}::test_no_other_users_messages", "GWS-BAYEUX-010"),
    Case("bayeux-reverse-devices", f"{BAYEUX}::test_notifications_in_order", "GWS-BAYEUX-011"),
    Case("released-disposition-refused", f"{DATA}::test_set_call_disposition_on_released_call", "GWS-DATA-010"),
    Case("next-call-as-all-calls", f"{SUPERVISOR}::test_next_call_mode_monitors_one_call", "GWS-SUP-008"),
    Case("admin-removes-feature", f"{SECURITY}::test_contact_center_admin_cannot_remove_a_feature", "GWS-SEC-011"),
    Case("skill-level-order-ignored", f"{PARAMS}::test_sorting_by_skill_level", "GWS-PARAM-012"),
    # The stateful family: the shrunk reproducer must reach the report.
    Case(
        "missing-capability",
        f"{STATEFUL}::test_call_state_machine",
        "GWS-STATE-101",
        env={
            "VOICEKIT_STATEFUL_EXAMPLES": "4",
            "VOICEKIT_STATEFUL_STEPS": "6",
            "VOICEKIT_STATEFUL_SEED": "1",
            "VOICEKIT_STATEFUL_SHRINK_SECONDS": "10",
        },
        evidence="minimal sequence",
    ),
]
SMALL_STATEFUL = {"VOICEKIT_STATEFUL_EXAMPLES": "3", "VOICEKIT_STATEFUL_STEPS": "8", "VOICEKIT_STATEFUL_SEED": "1"}


# ---- the harness ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mocks() -> Iterator[dict[bool, MockProcess]]:
    """The mock without and (started on first use) with CSRF protection; stopped at the end."""
    started: dict[bool, MockProcess] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, csrf: bool) -> MockProcess:
            mock = MockProcess(csrf=csrf)
            mock.start()
            started[csrf] = mock
            self[csrf] = mock
            return mock

    yield Lazy()
    for mock in started.values():
        mock.stop()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def write_config(path: Path, mock: MockProcess, proxy_url: str, *, csrf: bool) -> Path:
    """A target configuration (conformance/config.py format) for the proxy: the mock's users, its control API
    for events, short timeouts."""
    assert mock.base_url is not None
    tree = mock_data(mock.base_url)
    gws = tree["gws"]
    sections: dict[str, dict[str, Any]] = {
        "target": {"name": "faulty proxy", "allow_destructive": True},
        "gws": {
            "url": proxy_url,
            "csrf": "on" if csrf else "off",
            "agents": gws["agents"],
            "supervisor": gws.get("supervisor"),
            "admin": gws.get("admin"),
            "users": gws.get("users", {}),
        },
        "timeouts": {"request": 10, "notification": 3, "run": 600},
        "events": {"control_url": tree["events"]["control_url"]},
    }
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_families(
    tmp: Path,
    mock: MockProcess,
    fault: str,
    tests: list[str],
    *,
    csrf: bool = False,
    env: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run ``tests`` through the proxy with ``fault``; returns the results.ndjson records by test name."""
    assert mock.base_url is not None
    assert httpx.post(f"{mock.base_url}/control/reset", timeout=10).status_code // 100 == 2, "mock reset failed"
    with FaultyProxy(mock.base_url, fault, options) as proxy:
        config = write_config(tmp / "target.toml", mock, proxy.url, csrf=csrf)
        report = tmp / "report"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *tests,
            "-p",
            "conformance.plugin",
            "--vk-target",
            str(config),
            "--vk-report-dir",
            str(report),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ]
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **(env or {})},
            check=False,
        )
    path = report / "results.ndjson"
    assert path.is_file(), f"no results.ndjson; pytest said:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = {r["name"]: r for r in records if r.get("event") == "test-finished"}
    assert results, f"no test results; pytest said:\n{done.stdout[-3000:]}"
    return results


def _credentials(mock: MockProcess) -> dict[str, str]:
    assert mock.base_url is not None
    agent = mock_data(mock.base_url)["gws"]["agents"][0]
    return {"user": agent["username"], "password": agent["password"]}


# ---- the tests ---------------------------------------------------------------------------------------------------
def test_every_case_names_a_registered_fault() -> None:
    assert {c.fault for c in CASES} <= set(FAULTS)
    assert len({c.fault for c in CASES}) >= 12


def test_families_pass_through_a_transparent_proxy(mocks: dict[bool, MockProcess], tmp_path: Path) -> None:
    """Baseline: every selected test passes against the correct mock (seen through the proxy, no fault)."""
    tests = sorted({c.test for c in CASES if not c.csrf})
    results = run_families(tmp_path, mocks[False], "none", tests, env=SMALL_STATEFUL)
    wrong = {name: (r["outcome"], r.get("message")) for name, r in results.items() if r["outcome"] != "passed"}
    assert not wrong, f"tests that do not pass against the correct mock: {wrong}"
    assert len(results) == len(tests)


def test_csrf_family_passes_against_a_csrf_target(mocks: dict[bool, MockProcess], tmp_path: Path) -> None:
    tests = [c.test for c in CASES if c.csrf]
    results = run_families(tmp_path, mocks[True], "none", tests, csrf=True)
    assert {r["outcome"] for r in results.values()} == {"passed"}, results


@pytest.mark.parametrize("case", CASES, ids=[f"{c.fault}->{c.name}" for c in CASES])
def test_fault_is_caught_by_its_rule(case: Case, mocks: dict[bool, MockProcess], tmp_path: Path) -> None:
    mock = mocks[case.csrf]
    options = _credentials(mock) if case.fault == "no-basic" else None
    results = run_families(tmp_path, mock, case.fault, [case.test], csrf=case.csrf, env=case.env, options=options)
    result = results.get(case.name) or results.get(case.test.rsplit("::", 1)[-1])
    assert result is not None, f"{case.name} did not run: {sorted(results)}"
    assert result["outcome"] == "failed", (
        f"fault {case.fault}: {case.name} {result['outcome']} ({result.get('reason') or result.get('message')})"
    )
    assert result["rule"] == case.rule, (
        f"fault {case.fault}: {case.name} failed under rule {result['rule']} "
        f"({result.get('message')}), expected {case.rule}"
    )
    if case.evidence:
        text = " ".join([str(result.get("message")), *map(str, result.get("evidence") or [])])
        assert case.evidence in text, f"the failure's evidence lacks {case.evidence!r}: {text[:1000]}"
