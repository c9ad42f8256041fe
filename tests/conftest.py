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
        message = (
            f"the seed documents are not at {folder} (set VOICEKIT_SEEDS_DIR, or place ../shared beside the clone)"
        )
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


def _gevent_patched() -> bool:
    import sys

    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_anything_patched())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Importing ``mockserver.serve`` monkey-patches the test process for gevent, after which thread-based live
    servers deadlock (``LoopExit``) in whichever tests share the worker. Tests start the server as a subprocess;
    a module that imports it in-process is refused here, at collection, instead of failing dozens of others."""
    if _gevent_patched():
        raise pytest.UsageError(
            "a test module imported mockserver.serve (gevent monkey-patching) in the test "
            "process; import mockserver.options for its command line, or start a subprocess"
        )
