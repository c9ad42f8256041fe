"""The world's look-up shortcuts (the index of the calls each device joined, the memos of call views and user names)
answer exactly what a scan of every call and user answers, through any sequence of call operations, transfers,
conferences, releases and restores."""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from gws_seed import AGENT_A, AGENT_B, AGENT_C, SUPERVISOR
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.config import DEFAULT_SEED
from mockserver.domain.clock import ManualScheduler
from mockserver.domain.errors import GwsError, NotFound
from mockserver.domain.gws import calls, operations
from mockserver.domain.gws.model import Call, Party, User
from mockserver.domain.gws.seed import build_world
from mockserver.domain.gws.world import World

AGENTS = (AGENT_A, AGENT_B, AGENT_C, SUPERVISOR)
NUMBERS = ("5000", "5001", "5002", "5005", "+14155550100", "5999")


@pytest.fixture(scope="module")
def world_factory() -> Callable[[], tuple[World, ManualScheduler]]:
    """A fresh world per example (Hypothesis runs many examples in one test call)."""
    seed = yaml.safe_load(DEFAULT_SEED.read_text(encoding="utf-8"))["gws"]

    def make() -> tuple[World, ManualScheduler]:
        clock = ManualScheduler()
        return build_world(copy.deepcopy(seed), clock), clock

    return make


def scanned_calls_of(world: World, device_id: str) -> list[tuple[Call, Party]]:
    """What ``calls_of`` answered before its index: every call of the world, scanned."""
    found = []
    for call in world.calls.values():
        party = call.party(device_id)
        if party and party.active:
            found.append((call, party))
    return sorted(found, key=lambda pair: pair[1].started)


def scanned_view(world: World, user: User, view_id: str) -> tuple[Call, Party] | None:
    for device_id in user.device_ids:
        for call, party in scanned_calls_of(world, device_id):
            if party.view_id == view_id:
                return call, party
    return None


def _same_answers(world: World) -> None:
    for device_id in world.devices:
        assert [(c.id, id(p)) for c, p in world.calls_of(device_id)] == [
            (c.id, id(p)) for c, p in scanned_calls_of(world, device_id)
        ]
    views = {p.view_id for c in world.calls.values() for p in c.parties} | {"nothing"}
    for user_id in AGENTS:
        user = world.users[user_id]
        for view_id in sorted(views):
            expected = scanned_view(world, user, view_id)
            try:
                call, party = world.find_view(user, view_id)
            except NotFound:
                assert expected is None
            else:
                assert expected is not None and (call.id, party) == (expected[0].id, expected[1])


def _step(world: World, clock: ManualScheduler, rnd: random.Random) -> None:
    user = world.users[rnd.choice(AGENTS)]
    own = [(c, p) for d in user.device_ids for c, p in scanned_calls_of(world, d)]
    clock.advance(rnd.choice((0, 0, 1)))  # equal start times too: the order must not depend on them
    if not own or rnd.random() < 0.3:
        body = {"operationName": "Dial", "destination": {"phoneNumber": rnd.choice(NUMBERS)}}
        operations.dial(world, user, user.device_ids[0], body)
        return
    call, party = rnd.choice(own)
    other = rnd.choice(own)[1].view_id
    names = calls.capabilities(world, call, party) or ["Hangup"]
    params: dict[str, Any] = {
        "operationName": rnd.choice(names),
        "destination": {"phoneNumber": rnd.choice(NUMBERS)},
        "dtmfDigits": "1",
        "userData": {"k": "v"},
        "key": "k",
        "parentCallUri": f"/api/v2/me/calls/{other}",
        "otherCallUri": f"/api/v2/me/calls/{other}",
    }
    operations.call_operation(world, user, party.view_id, params)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_call_look_ups_answer_as_a_scan_does(world_factory: Any, seed: int) -> None:
    """A random walk of 60 steps per example (seeded: Hypothesis's own random draws stayed on the first choices)."""
    rnd = random.Random(seed)
    steps = 60
    world, clock = world_factory()
    for n in range(steps):
        with world.lock:
            with contextlib.suppress(GwsError):  # a refusal changes nothing; the look-ups must still agree
                _step(world, clock, rnd)
            if n % 7 == 6:  # a restore replaces every call and party: the index is rebuilt
                world.restore(copy.deepcopy(world.snapshot()))
            _same_answers(world)


def test_user_names_follow_renames_and_removals(world: World) -> None:
    user = world.users[AGENT_A]
    assert world.user_by_name(user.user_name.upper()) is user
    old = user.user_name
    user.user_name = "renamed@redwings.com"
    assert world.user_by_name(old) is None
    assert world.user_by_name("Renamed@Redwings.com") is user
    del world.users[user.id]
    assert world.user_by_name("renamed@redwings.com") is None


def test_a_view_is_the_devices_first_active_party_in_the_call(world: World) -> None:
    """A device can hold two active parties in one call (a consult merged back): ``Call.party`` answers its first,
    and the remembered view must not find the second."""
    user = world.users[AGENT_B]
    device = world.devices[user.device_ids[0]]
    call = Call(id=world.new_conn_id(), uuid=world.new_call_uuid(), created=0.0)
    world.calls[call.id] = call
    joined: dict[str, Any] = {"device": device, "number": "5001", "call_type": "Internal", "dnis": "5001"}
    first = calls.new_party(world, call, state="Ringing", **joined)
    assert world.find_view(user, call.id) == (call, first)  # remembered
    first.state = "Released"
    calls.new_party(world, call, state="Ringing", view_id="consult", **joined)
    calls.new_party(world, call, state="Ringing", **joined)  # the view id of the call, but not the device's party
    assert scanned_view(world, user, call.id) is None
    with pytest.raises(NotFound):
        world.find_view(user, call.id)
    _same_answers(world)
