"""The one matching engine of the fixture replays, shared by the conformance suite and the mock's own tests.

Modules: ``bindings`` (documented ↔ actual identities and placeholders), ``rules`` (the errata's ``replay``
vocabulary), ``compare`` (the comparison: members, lists, subset/shape, errata rules), ``strategies`` (what
differs per system: GWS, Platform, Connect), ``forms`` (a fixture's form and its ``alternatives``: the printed
reading where the fixture repaired a value). The transports stay with their callers: the suite replays over the
wire (``conformance/replay``, ``conformance/families/test_replay_*.py``), the mock's tests in process.
"""

from __future__ import annotations

from voicekit.replay.bindings import Bindings
from voicekit.replay.compare import Mismatch, Strategy, compare, describe_mismatches
from voicekit.replay.forms import Form, apply_patch, compare_forms, forms_of
from voicekit.replay.strategies import GWS, PLATFORM, connect, for_system

__all__ = [
    "GWS",
    "PLATFORM",
    "Bindings",
    "Form",
    "Mismatch",
    "Strategy",
    "apply_patch",
    "compare",
    "compare_forms",
    "connect",
    "describe_mismatches",
    "for_system",
    "forms_of",
]
