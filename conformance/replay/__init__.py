"""The documented-sample replay: every fixture of a system, over the wire, against any implementation.

See ``conformance/replay/README.md``. Modules: ``bindings`` (documented ↔ actual identities), ``compare``
(the comparison rules), ``rules`` (the errata's ``replay`` members), ``plan`` (a fixture as a replay plan),
``gws`` (the GWS replay engine), ``recipes`` (preconditions), ``driver`` (sessions and event source).
"""

from __future__ import annotations

from conformance.replay.bindings import Bindings
from conformance.replay.compare import Mismatch, compare
from conformance.replay.gws import FAILED, NOT_RUN, PASSED, GwsReplayer, ReplayResult

__all__ = ["FAILED", "NOT_RUN", "PASSED", "Bindings", "GwsReplayer", "Mismatch", "ReplayResult", "compare"]
