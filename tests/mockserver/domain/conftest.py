"""A GWS world built from the default seed, on a hand-driven clock, with every notification recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from gws_seed import ADMIN, AGENT_A, AGENT_B, AGENT_C, AGENT_PUBLIC, SUPERVISOR, Recorder

from mockserver.config import DEFAULT_SEED
from mockserver.domain.clock import ManualScheduler
from mockserver.domain.gws.model import User
from mockserver.domain.gws.seed import build_world
from mockserver.domain.gws.world import World


@pytest.fixture
def clock() -> ManualScheduler:
    return ManualScheduler()


@pytest.fixture
def world(clock: ManualScheduler) -> World:
    seed = yaml.safe_load(DEFAULT_SEED.read_text(encoding="utf-8"))["gws"]
    return build_world(seed, clock)


@pytest.fixture
def rec(world: World) -> Iterator[Recorder]:
    recorder = Recorder()
    token = world.bus.subscribe(recorder)
    yield recorder
    world.bus.unsubscribe(token)


@pytest.fixture
def users(world: World) -> dict[str, User]:
    return {
        "a": world.users[AGENT_A],
        "b": world.users[AGENT_B],
        "c": world.users[AGENT_C],
        "public": world.users[AGENT_PUBLIC],
        "sup": world.users[SUPERVISOR],
        "admin": world.users[ADMIN],
    }
