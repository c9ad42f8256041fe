"""A vendor's driver command gives the Platform and Connect families their events (not only the mock's control
API): a family test run like ``voicekit certify`` runs it, against the mock, with ``events.driver_command`` and no
``events.control_url``. The driver is a tiny script that calls the mock's control API itself, as a vendor's lab
driver would call its own lab."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from test_families_fuzz_and_connect import run_suite  # this directory is on sys.path (rootdir-relative imports)

from conformance.control import ControlClient
from conformance.target import mock_data

FAMILIES = Path(__file__).resolve().parents[3] / "conformance" / "families"

# The driver protocol of conformance/events.py, mapped onto the mock's control API (only the events these tests need;
# any other is "not supported here", exit 3). Every event is logged so the test sees the driver was used.
DRIVER = """
import json, sys, urllib.request
event, args, control, log = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(log, "a") as f:
    f.write(event + "\\n")

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(control + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read().decode()
    return json.loads(text) if text.strip() else {}

if event == "reset":
    out = call("POST", "/reset")
elif event == "platform-phone":
    user = args.pop("userId")
    active = args.pop("active")
    call("PUT", f"/platform/users/{user}/phone", args)
    out = call("PUT", f"/platform/users/{user}/persistent-connection", {"active": active})
elif event in ("platform-remote-answer", "platform-remote-hangup"):
    out = call("POST", f"/platform/conversations/{args['conversationId']}/remote/{event.rsplit('-', 1)[1]}")
elif event == "connect-incoming-call":
    agent = args.pop("agent")
    out = call("POST", f"/connect/agents/{agent}/calls", {"ringTimeout": None, **args})
elif event == "connect-remote-hangup":
    out = call("POST", f"/connect/agents/{args['agent']}/calls/current/hangup")
else:
    sys.stderr.write(f"{event} is not supported by this driver")
    sys.exit(3)
print(json.dumps(out))
"""


def driver_config(tmp_path: Path, mock_url: str) -> tuple[Path, Path]:
    """The mock's configuration with a driver command instead of its control API; (config file, driver log)."""
    script, log = tmp_path / "lab_driver.py", tmp_path / "driver.log"
    script.write_text(DRIVER, encoding="utf-8")
    tree: dict[str, Any] = mock_data(mock_url)
    control = str(tree["events"].pop("control_url"))
    # Without the control API the suite cannot log Platform users in: they get tokens, as a vendor's users would.
    with ControlClient(control, record=False) as client:
        for user in tree["platform"]["users"]:
            minted = client.platform_token(tree["platform"]["code_client"]["client_id"], user_id=user["user_id"])
            user["token"] = minted["access_token"]
    tree["events"]["driver_command"] = f"{sys.executable} {script} {{event}} {{args_json}} {control} {log}"
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path, log


def run_with_driver(tmp_path: Path, mock_url: str, family: str, test: str, profile: str) -> list[str]:
    """One family test against the mock with the driver as its event source: must pass; the driver's events."""
    config, log = driver_config(tmp_path, mock_url)
    run = run_suite(tmp_path, str(FAMILIES / family), "-k", test, "--vk-target", str(config), "--vk-profile", profile)
    assert run.outcome(test) == "passed", run.tail()
    return log.read_text(encoding="utf-8").split()


def test_a_platform_family_test_gets_its_events_from_a_driver(tmp_path: Path, fresh_mock: str) -> None:
    events = run_with_driver(
        tmp_path, fresh_mock, "test_rules_platform.py", "test_call_to_an_external_number", "platform-calls"
    )
    assert {"platform-phone", "platform-remote-answer", "platform-remote-hangup", "reset"} <= set(events), events


def test_a_connect_family_test_gets_its_events_from_a_driver(tmp_path: Path, fresh_mock: str) -> None:
    events = run_with_driver(
        tmp_path, fresh_mock, "test_rules_connect.py", "test_remote_hangup_drops_call", "connect-bus"
    )
    assert events[:2] == ["connect-incoming-call", "connect-remote-hangup"], events
