"""Mock fixes found by the GWS conformance families: MergeWithOtherCall keeps the otherCallUri call (E314)
and a non-owner's RemoveParticipantFromConference is invalid for the state (E315)."""

from __future__ import annotations

import pytest
from gws_seed import AGENT_A, Recorder

from mockserver.domain.errors import InvalidState
from mockserver.domain.gws import operations
from mockserver.domain.gws.world import World


def _dial(world: World, user, number: str) -> str:
    with world.lock:
        before = set(world.calls)
        body = {"operationName": "Dial", "destination": {"phoneNumber": number}}
        operations.dial(world, user, user.device_ids[0], body)
        return (set(world.calls) - before).pop()


def _op(world: World, user, call_id: str, name: str, **params) -> None:
    with world.lock:
        operations.call_operation(world, user, call_id, {"operationName": name, **params})


def test_merge_with_other_call_releases_the_url_call_first(world, users, rec: Recorder) -> None:
    """E314: Released for the call in the URL, then ParticipantsUpdated of the otherCallUri call."""
    first = _dial(world, users["a"], "5001")
    _op(world, users["b"], first, "Answer")
    _op(world, users["a"], first, "Hold")
    second = _dial(world, users["a"], "5002")
    _op(world, users["c"], second, "Answer")
    rec.take()
    _op(world, users["a"], second, "MergeWithOtherCall", otherCallUri=f"http://localhost/api/v2/me/calls/{first}")
    mine = [
        (n.data["notificationType"], n.data["call"]["id"], n.data["call"]["state"])
        for n in rec.seen
        if n.audience == AGENT_A
    ]
    assert mine == [("StatusChange", second, "Released"), ("ParticipantsUpdated", first, "Established")]
    merged = rec.seen[[n.audience for n in rec.seen].index(AGENT_A, 1)].data["call"]
    assert sorted(merged["participants"]) == ["5001", "5002"]


def test_remove_participant_by_non_owner_is_invalid_state(world, users) -> None:
    call_id = _dial(world, users["a"], "5001")
    _op(world, users["b"], call_id, "Answer")
    _op(world, users["a"], call_id, "SingleStepConference", destination={"phoneNumber": "5002"})
    _op(world, users["c"], call_id, "Answer")
    with pytest.raises(InvalidState):
        _op(world, users["b"], call_id, "RemoveParticipantFromConference", participant="5002")


def test_device_brought_back_into_a_call_sees_it(world, users) -> None:
    """Found by the stateful family: A transfers A↔B to C, then B single-step-conferences A back in. A's new
    ringing leg must be A's call again (listed, answerable), not hidden behind A's released leg."""
    call_id = _dial(world, users["a"], "5001")
    _op(world, users["b"], call_id, "Answer")
    _op(world, users["a"], call_id, "SingleStepTransfer", destination={"phoneNumber": "5002"})
    _op(world, users["b"], call_id, "SingleStepConference", destination={"phoneNumber": "5000"})
    with world.lock:
        mine = [(c.id, p.state) for c, p in world.calls_of(users["a"].device_ids[0])]
    assert mine == [(call_id, "Ringing")]
    _op(world, users["a"], call_id, "Answer")
    with world.lock:
        assert world.find_view(users["a"], call_id)[1].state == "Established"
