"""Advisory findings: what a test notices that the documents do not require.

Why a second level: the suite judges against the documents, and must accept every reading they support. Some
observations are still worth telling a vendor — our reading of an ambiguity, an exact message text, an order or a
notification the documents do not show, "the reference mock does it this way". Those are *advisory*: reported in
the certificate (their own section) and in JUnit as warnings, never counted against the score, never a failure.

A family calls :func:`advise` where it would otherwise have asserted something the documents do not fix::

    if body.get("message") != EXPECTED_TEXT:
        advise(f"message is {body.get('message')!r}", basis="000 l.96-98 give the status only, not the text")

Or wraps a check that goes beyond the documents with :func:`advisory_check`, which turns its failure into a
finding and lets the test go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

__all__ = ["Advisory", "advise", "advisory_check", "begin", "collected", "end", "lenient"]

T = TypeVar("T")

#: At most this many findings are kept per test: a loop that advises on every message must not bloat a report.
MAX_PER_TEST = 20


@dataclass(frozen=True)
class Advisory:
    """One finding: what was seen, the rule it relates to (if any) and why it is not a failure."""

    message: str
    rule: str | None = None
    basis: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_current: list[Advisory] | None = None
_dropped = 0


def begin() -> None:
    """Start collecting for a new test (called by the plugin)."""
    global _current, _dropped
    _current, _dropped = [], 0


def end() -> list[Advisory]:
    """Stop collecting; the findings of the test that just ended (called by the plugin)."""
    global _current, _dropped
    found, dropped = _current or [], _dropped
    _current, _dropped = None, 0
    if dropped:
        found = [*found, Advisory(f"{dropped} more advisory findings were not kept")]
    return found


def collected() -> list[Advisory]:
    """The findings of the running test so far (a copy)."""
    return list(_current or [])


def advise(message: str, *, rule: str | None = None, basis: str | None = None) -> None:
    """Record an advisory finding for the running test (outside a test: ignored).

    Args:
        message: What was seen, in words a vendor can act on.
        rule: The rule id it relates to (default: the test's own rule, filled in by the plugin).
        basis: Why it is advisory — which documents leave it open (``"003 l.5638 shows no notification"``).
    """
    global _dropped
    if _current is None:
        return
    finding = Advisory(message, rule, basis)
    if finding in _current:
        return
    if len(_current) >= MAX_PER_TEST:
        _dropped += 1
        return
    _current.append(finding)


@contextmanager
def lenient(*, rule: str | None = None, basis: str | None = None) -> Iterator[None]:
    """Inside this block an ``AssertionError`` (a failed check) becomes an advisory finding."""
    try:
        yield
    except AssertionError as failure:
        advise(str(failure), rule=rule, basis=basis)


def advisory_check(func: Callable[..., T], *args: Any, basis: str, rule: str | None = None, **kwargs: Any) -> T | None:
    """Call ``func``; an ``AssertionError`` it raises becomes an advisory finding (and None is returned)."""
    try:
        return func(*args, **kwargs)
    except AssertionError as failure:
        advise(str(failure), rule=rule, basis=basis)
        return None
