"""The one cleanup of GWS calls (conformance.support.cleanup.release_calls): a call is only sent what its
capabilities offer — never a Hangup to a ringing call — and what is left is returned."""

from __future__ import annotations

from typing import Any

from conformance.events import EventSource
from conformance.support.cleanup import capabilities_of, release_calls
from conformance.support.gws import GwsAgent
from conformance.target import mock_config
from conformance.transport.http import HttpResponse


class FakeAgent:
    """Calls and what was sent to them; Hangup and Reject release a call, Answer establishes it."""

    def __init__(self, *calls: dict[str, Any]) -> None:
        self._calls = {str(c["id"]): dict(c) for c in calls}
        self.sent: list[tuple[str, str]] = []

    def calls(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self._calls.values()]

    def call_operation(self, call_id: str, operation: str, **_: Any) -> None:
        self.sent.append((call_id, operation))
        call = self._calls[call_id]
        assert operation in capabilities_of(call), f"{operation} sent to a call that does not offer it"
        if operation in ("Hangup", "Reject"):
            del self._calls[call_id]
        elif operation == "Answer":
            call.update(state="Established", capabilities=["Hangup", "Hold"])


def test_a_ringing_call_is_answered_then_hung_up() -> None:
    agent = FakeAgent({"id": "r", "state": "Ringing", "capabilities": ["Answer", "AttachUserData"]})
    assert release_calls([agent], pause=0) == []  # type: ignore[list-item]
    assert agent.sent == [("r", "Answer"), ("r", "Hangup")]


def test_reject_where_it_is_offered_and_hangup_first() -> None:
    queued = FakeAgent({"id": "q", "state": "Ringing", "capabilities": ["Answer", "Reject"]})
    talking = FakeAgent({"id": "t", "state": "Established", "capabilities": ["Hangup"]})
    assert release_calls([talking, queued], pause=0) == []  # type: ignore[list-item]
    assert talking.sent == [("t", "Hangup")] and queued.sent == [("q", "Reject")]


def test_without_capabilities_the_documented_sets_apply() -> None:
    agent = FakeAgent({"id": "h", "state": "Held"}, {"id": "r", "state": "Ringing"})
    assert release_calls([agent], pause=0) == []  # type: ignore[list-item]
    assert agent.sent == [("h", "Hangup"), ("r", "Answer"), ("r", "Hangup")]


def test_a_call_nothing_can_release_goes_to_the_fallback_or_is_returned() -> None:
    public = {"id": "p", "state": "Ringing", "capabilities": ["AttachUserData"]}  # no Answer (003 l.5061-5064)
    agent = FakeAgent(public)
    left = release_calls([agent], pause=0)  # type: ignore[list-item]
    assert [c["id"] for _, c in left] == ["p"] and agent.sent == []
    handed: list[str] = []
    release_calls([agent], fallback=lambda _a, c: handed.append(c["id"]), rounds=1, pause=0)  # type: ignore[list-item]
    assert handed == ["p"] and agent.sent == []


class RecordingAgent(GwsAgent):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, str]] = []

    def call_operation(self, call_id: str, operation: str, **members: Any) -> HttpResponse:
        state = next((c.get("state") for c in self.calls() if str(c.get("id")) == call_id), None)
        self.sent.append((str(state), operation))
        return super().call_operation(call_id, operation, **members)


def test_a_ringing_call_of_an_external_caller_on_the_mock(fresh_mock: str) -> None:
    base = mock_config(fresh_mock)
    source = EventSource(base)
    with RecordingAgent(fresh_mock, base.gws.agents[0], role="agent A") as agent:
        source.inbound_call(
            agent.phone_number, "+15550002222", expect=lambda t: agent.wait_for_call({"state": "Ringing"}, t)
        )
        assert release_calls([agent]) == []
        assert agent.sent == [("Ringing", "Answer"), ("Established", "Hangup")]
        assert all(c.get("state") == "Released" for c in agent.calls())
    source.close()
