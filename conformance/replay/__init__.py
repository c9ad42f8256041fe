"""The documented-sample replay: every fixture of a system, over the wire, against any implementation.

See ``conformance/replay/README.md``. The matching (bindings, the comparison and its per-system strategies, the
errata's ``replay`` vocabulary, a fixture's alternative forms) is :mod:`voicekit.replay`, shared with the mock's
own tests. Modules here: ``plan`` (a fixture as a replay plan), ``gws`` (the GWS replay over the wire),
``recipes`` (preconditions), ``driver`` (sessions and event source).
"""

from __future__ import annotations

from conformance.replay.gws import FAILED, NOT_RUN, PASSED, GwsReplayer, ReplayResult
from voicekit.replay.bindings import Bindings
from voicekit.replay.compare import Mismatch, compare

__all__ = ["FAILED", "NOT_RUN", "PASSED", "Bindings", "GwsReplayer", "Mismatch", "ReplayResult", "compare"]
