"""How a replay stops early: not runnable on this target, or its precondition refused. Apart from ``gws.py`` so the
recipes (which raise them) and the replayer (which reports them) share them without importing each other."""

from __future__ import annotations

__all__ = ["NotRunnable", "SetupFailed"]


class NotRunnable(Exception):
    """The fixture cannot be replayed against this target (the message says why)."""


class SetupFailed(Exception):
    """The precondition could not be established: the target refused a documented request the recipe needs."""
