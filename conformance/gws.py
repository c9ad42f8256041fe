"""Moved: the GWS agent session client is :mod:`conformance.support.gws`. This name stays only while
``conformance/events.py`` imports it (being rewritten on another branch); delete it once that import is switched."""

from conformance.support.gws import GwsAgent, find_call

__all__ = ["GwsAgent", "find_call"]
