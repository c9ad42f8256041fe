"""A test's scope: its undo actions and the clients it opened, closed after it (no hooks here; the ``fixtures``
job gives every test one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance import evidence as evidence_log

__all__ = ["Cleanup", "TestScope"]


class Cleanup:
    """Undo actions of one test, run after it (LIFO) even when it failed. A failing action is reported as a
    warning, not as the test's failure."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, func: Callable[..., Any], *args: Any, description: str | None = None, **kwargs: Any) -> None:
        """Register ``func(*args, **kwargs)`` to run after the test."""
        name = description or str(getattr(func, "__name__", repr(func)))
        self._actions.append((name, func, args, kwargs))

    add = __call__

    def run(self) -> list[str]:
        problems = []
        while self._actions:
            name, func, args, kwargs = self._actions.pop()
            try:
                with evidence_log.step(f"cleanup: {name}"):
                    func(*args, **kwargs)
            except Exception as exc:  # a cleanup must not hide the test's own outcome
                problems.append(f"cleanup {name} failed: {exc}")
        return problems


@dataclass
class TestScope:
    __test__ = False

    cleanup: Cleanup = field(default_factory=Cleanup)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def own(self, closer: Callable[[], Any]) -> None:
        self.closers.append(closer)

    def close(self) -> list[str]:
        problems = self.cleanup.run()
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception as exc:
                problems.append(f"closing a client failed: {exc}")
        return problems
