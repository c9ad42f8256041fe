"""Scenarios: the two shipped examples run on the mock's manual clock (minutes in milliseconds) and produce the
documented sequences of notifications; invalid scenarios are refused whole; ``--scenario`` runs one from the
server's start and the control API loads, reports and stops them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from live_mock import running_mock

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler
from mockserver.domain.events import Notification
from mockserver.scenarios import ScenarioError, validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "scenarios"
AGENT = ("paveld@redwings.com", "password")  # device 5000
JSMITH = ("jsmith@uppercape.ca", "password")  # device 5001
SUPERVISOR = ("sgarcia@redwings.com", "password")  # device 5005


def _auth(user: tuple[str, str]) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()}


class Lab:
    """The mock in-process on a manual clock, with every notification it publishes."""

    def __init__(self) -> None:
        self.clock = ManualScheduler()
        self.app = create_app(scheduler=self.clock)
        self.client = self.app.test_client()
        self.notes: list[Notification] = []
        self.app.extensions["voicekit.bus"].subscribe(self.notes.append)
        self.runner = self.app.extensions["voicekit.scenario"]

    def post(self, user: tuple[str, str], path: str, body: dict[str, Any]) -> Any:
        answer = self.client.post(path, json=body, headers=_auth(user))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def get(self, user: tuple[str, str], path: str) -> Any:
        return self.client.get(path, headers=_auth(user)).get_json()

    def device_id(self, user: tuple[str, str]) -> str:
        return self.get(user, "/api/v2/me/devices?fields=*")["devices"][0]["id"]

    def call_states(self, user_id: str, call_id: str | None = None) -> list[str]:
        """The call states the user's /v2/me/calls notifications reported (of one call, when given), in order,
        repeats collapsed."""
        states: list[str] = []
        for note in self.notes:
            if (
                note.channel == "/v2/me/calls"
                and note.audience == user_id
                and call_id in (None, note.data["call"]["id"])
            ):
                state = note.data["call"]["state"]
                if not states or states[-1] != state:
                    states.append(state)
        return states

    def user_id(self, user: tuple[str, str]) -> str:
        return self.get(user, "/api/v2/me")["user"]["id"]


def _example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def test_busy_inbound_queue_example() -> None:
    """Every 20 s a call reaches queue 9000 and rings the Ready agent (Ringing), who answers (Established); 30 s
    later the customer hangs up (Released) — the inbound call's documented sequence (003 l.5076-5150 Answer,
    l.5465-5540 the released call)."""
    lab = Lab()
    agent = lab.user_id(AGENT)
    lab.post(AGENT, "/api/v2/me/channels/voice", {"operationName": "Ready"})
    lab.runner.start(_example("busy-inbound-queue.yaml"))
    lab.clock.advance(0.1)
    assert lab.call_states(agent) == ["Ringing"]
    ringing = lab.get(AGENT, "/api/v2/me/calls?fields=*")["calls"][0]
    first = ringing["id"]
    assert ringing["callType"] == "Inbound" and ringing["userData"]["Campaign"] == "Inbound"
    assert ringing["participants"][0].startswith("+1415555")
    lab.post(AGENT, f"/api/v2/me/calls/{first}", {"operationName": "Answer"})
    assert lab.call_states(agent, first) == ["Ringing", "Established"]
    lab.clock.advance(19.5)
    assert lab.runner.status()["steps"][0]["fired"] == 1
    lab.clock.advance(1)
    assert lab.runner.status()["steps"][0]["fired"] == 2, "every 20 s a call (it waits in the queue: agent busy)"
    lab.clock.advance(8.5)
    assert lab.call_states(agent, first)[-1] == "Established", "the customer waits 30 s after the answer"
    lab.clock.advance(1.5)
    assert lab.call_states(agent, first) == ["Ringing", "Established", "Released"]
    status = lab.runner.status()
    assert status["running"] and status["steps"][0]["fired"] == 2
    lab.clock.advance(0.1)
    waiting = lab.get(AGENT, "/api/v2/me/calls?fields=*")["calls"]
    assert [c["state"] for c in waiting] == ["Ringing"], "the call waiting in the queue rings the agent, now free"
    assert waiting[0]["dnis"] == "9000"
    assert any("hung up" in line["text"] for line in status["log"])


def test_an_unanswered_customer_abandons() -> None:
    lab = Lab()
    agent = lab.user_id(AGENT)
    lab.post(AGENT, "/api/v2/me/channels/voice", {"operationName": "Ready"})
    lab.runner.start({"name": "abandon", "steps": [{"action": "offer-call", "queue": "9000", "abandonAfter": 10}]})
    lab.clock.advance(0.1)
    assert lab.call_states(agent) == ["Ringing"]
    lab.clock.advance(10.5)
    assert lab.call_states(agent) == ["Ringing", "Released"]


def test_supervisor_monitoring_example() -> None:
    """The supervisor monitors 5001 (ListenIn, 003 l.9754-9823); each call the scenario offers to 5001 rings the
    agent, who answers; the supervisor is brought into the established call (003 l.9684-10094) and both see it
    released when the customer hangs up 20 s later."""
    lab = Lab()
    agent, supervisor = lab.user_id(JSMITH), lab.user_id(SUPERVISOR)
    target = lab.device_id(JSMITH)
    lab.post(
        SUPERVISOR,
        f"/api/v2/me/devices/{lab.device_id(SUPERVISOR)}",
        {"operationName": "ListenIn", "targetDeviceUri": f"http://localhost/api/v2/devices/{target}"},
    )
    lab.runner.start(_example("supervisor-monitoring.yaml"))
    lab.clock.advance(5.1)
    assert lab.call_states(agent) == ["Ringing"]
    call = lab.get(JSMITH, "/api/v2/me/calls?fields=*")["calls"][0]
    assert call["userData"] == {"Reason": "Complaint"}
    lab.post(JSMITH, f"/api/v2/me/calls/{call['id']}", {"operationName": "Answer"})
    assert lab.call_states(agent) == ["Ringing", "Established"]
    assert lab.call_states(supervisor) == ["Established"], "the supervisor joins the answered call"
    monitored = lab.get(SUPERVISOR, "/api/v2/me/calls?fields=*")["calls"][0]
    assert monitored["monitoring"] is True and monitored["mute"] == "On"
    lab.clock.advance(20.5)
    assert lab.call_states(agent) == ["Ringing", "Established", "Released"]
    assert lab.call_states(supervisor) == ["Established", "Released"]
    lab.clock.advance(45)
    assert lab.call_states(agent)[-1] == "Ringing", "the next call arrives 45 s after the first"


@pytest.mark.parametrize(
    "doc, problem",
    [
        ({"steps": [{"action": "offer-call", "queue": "9000"}]}, "name"),
        ({"name": "x", "steps": [{"action": "offer-call"}]}, "to"),
        ({"name": "x", "steps": [{"action": "offer-call", "queue": "9000", "every": 0}]}, "every"),
        ({"name": "x", "steps": [{"action": "teleport"}]}, "teleport"),
        ({"name": "x", "steps": [{"action": "voice-service", "state": "Active", "at": "25:00"}]}, "at"),
        ({"name": "x", "steps": []}, "steps"),
        ([1, 2], "object"),
    ],
)
def test_invalid_scenarios_are_refused_whole(doc: Any, problem: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        validate(doc)
    assert problem in str(refused.value)


def test_examples_are_valid() -> None:
    for path in EXAMPLES.glob("*.yaml"):
        validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_scenario_over_the_wire(tmp_path: Path) -> None:
    """``--scenario`` runs from the start; the control API reports it, refuses a bad one without touching the
    running one, replaces and stops it."""
    scenario = tmp_path / "fast.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "fast",
                "steps": [
                    {
                        "action": "offer-call",
                        "to": "5000",
                        "from": "+14155550111",
                        "at": 0.2,
                        "hangupAfterAnswered": 0.5,
                    }
                ],
            }
        )
    )
    with running_mock("--scenario", str(scenario)) as base:
        deadline = time.monotonic() + 10
        calls: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not calls:
            calls = httpx.get(f"{base}/api/v2/me/calls", params={"fields": "*"}, auth=AGENT, timeout=10).json()["calls"]
            time.sleep(0.1)
        assert calls and calls[0]["state"] == "Ringing", calls
        assert httpx.get(f"{base}/control/scenario", timeout=10).json()["name"] == "fast"
        bad = httpx.put(
            f"{base}/control/scenario", content=b"name: [", headers={"Content-Type": "application/yaml"}, timeout=10
        )
        assert bad.status_code == 400
        invalid = httpx.put(f"{base}/control/scenario", json={"name": "x", "steps": [{"action": "nope"}]}, timeout=10)
        assert invalid.status_code == 400 and invalid.json()["problems"]
        assert httpx.get(f"{base}/control/scenario", timeout=10).json()["name"] == "fast", "the running one stays"
        other = {"name": "other", "steps": [{"action": "voice-service", "state": "Inactive", "at": 3600}]}
        replaced = httpx.put(
            f"{base}/control/scenario",
            content=json.dumps(other),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert replaced.status_code == 200 and replaced.json()["name"] == "other"
        stopped = httpx.delete(f"{base}/control/scenario", timeout=10).json()
        assert stopped["running"] is False


def test_a_bad_scenario_file_stops_the_mock_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: [{action: offer-call}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.serve", "--port", "0", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "not a valid scenario" in done.stderr
