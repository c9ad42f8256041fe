"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import pytest

from voicekit.contracts import Contracts
from voicekit.corpus import Corpus


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return Contracts()


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus()
