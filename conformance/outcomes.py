"""How a test says "I could not run here" — reported *not run* with its reason, never passed, never failed.

Why a pytest skip: pytest, JUnit and Allure all know skips, and every reporter of the kit recognises the
``not-run:`` prefix of the reason. Families call :func:`not_run` (or raise :class:`NotRunnable`).
"""

from __future__ import annotations

from typing import NoReturn

import pytest

__all__ = ["NOT_RUN_PREFIX", "NotRunnable", "not_run", "not_run_reason"]

NOT_RUN_PREFIX = "not-run: "


class NotRunnable(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """The test cannot run against this target (no event source, no credentials, feature absent…).

    Args:
        reason: Why, in words a vendor can act on (``no event source for inbound-call``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(msg=NOT_RUN_PREFIX + reason)
        self.reason = reason


def not_run(reason: str) -> NoReturn:
    """Stop the current test and report it not run with ``reason``."""
    raise NotRunnable(reason)


def not_run_reason(skip_message: str) -> str:
    """The reason of a skip, without the ``not-run:`` prefix and whatever pytest put before it
    (``Skipped: ``, ``conformance.outcomes.NotRunnable: ``)."""
    text = skip_message.strip()
    index = text.find(NOT_RUN_PREFIX)
    if index >= 0:
        return text[index + len(NOT_RUN_PREFIX) :]
    return text[len("Skipped: ") :] if text.startswith("Skipped: ") else text
