"""The one cleanup of GWS calls: after a test or a replayed fixture, no call is left on the agents concerned.

Why one routine, and why by capabilities: a call may only be sent an operation its ``capabilities`` list (003
l.1206-1214: a Ringing call offers Answer but no Hangup; l.5159-5162: Reject only on a call delivered through a
queue). So each call is released with what it offers — Hangup, else Reject — and a call that offers neither goes
when its caller hangs up (it usually does, in the same round). When only ringing calls are left (their caller is
not ours), one is answered and hung up in the next round. A call that offers none of these (e.g. ringing on a
Public-network device, which has no Answer, l.5061-5064) is handed to ``fallback`` when the caller has one (the
replay asks the mock's control API for a remote hang-up) and otherwise left to its caller.

A target that omits ``capabilities`` is read by the documents' sets: Hangup in Dialing, Established and Held
(l.4937-4946, 1264-1277, 5302-5315), Answer when Ringing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.support.gws import GwsAgent

__all__ = ["capabilities_of", "live_calls", "release_calls"]

#: Where a call lists no capabilities, what the documents show for its state.
DOCUMENTED = {"Dialing": ("Hangup",), "Established": ("Hangup",), "Held": ("Hangup",), "Ringing": ("Answer",)}

Left = list[tuple["GwsAgent", dict[str, Any]]]


def capabilities_of(call: dict[str, Any]) -> set[str]:
    listed = call.get("capabilities")
    if isinstance(listed, list):
        return {str(c) for c in listed}
    return set(DOCUMENTED.get(str(call.get("state")), ()))


def live_calls(agents: Iterable[GwsAgent]) -> Left:
    """Every call of ``agents`` that is not over."""
    return [(a, c) for a in agents for c in a.calls() if c.get("state") not in (None, "Released")]


def release_calls(
    agents: Iterable[GwsAgent],
    rounds: int = 4,
    *,
    fallback: Callable[[GwsAgent, dict[str, Any]], None] | None = None,
    pause: float = 0.05,
) -> Left:
    """Best effort: release every call of ``agents`` (see the module docstring); returns what is left.

    Args:
        agents: Whose calls.
        rounds: Passes over the call lists (a hang-up may release other calls, a transfer hand them over).
        fallback: Called for a call that offers nothing the agent could release it with.
        pause: Seconds between rounds in which something was done.
    """
    agents = list(agents)
    for _ in range(rounds):
        left = live_calls(agents)
        if not left:
            return []
        acted = False
        for agent, call in left:
            caps = capabilities_of(call)
            operation = "Hangup" if "Hangup" in caps else "Reject" if "Reject" in caps else None
            if operation is not None:
                agent.call_operation(str(call["id"]), operation)
                acted = True
        if not acted:
            answerable = [(a, c) for a, c in left if "Answer" in capabilities_of(c)]
            if answerable:
                agent, call = answerable[0]
                agent.call_operation(str(call["id"]), "Answer")  # hung up next round
                acted = True
            elif fallback is not None:
                for agent, call in left:
                    fallback(agent, call)
                acted = True
        if not acted:
            break
        time.sleep(pause)
    return live_calls(agents)
