"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voicekit.contracts import Contracts
from voicekit.corpus import Corpus
from voicekit.paths import seeds_dir


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The seed documents' folder, for tests that compare with the documents themselves.

    The seeds are not part of the project (they sit in ``../shared/seeds``): without them such a test is skipped
    with that reason — except under CI (``CI`` set), where a missing folder fails, so CI can never silently skip.
    """
    folder = seeds_dir()
    if not folder.is_dir() or not any(folder.glob("*.txt")):
        message = (f"the seed documents are not at {folder} (set VOICEKIT_SEEDS_DIR, or place ../shared beside "
                   "the clone)")
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must have them", pytrace=False)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    return Contracts()


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus()
