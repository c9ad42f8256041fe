"""The Amazon Connect CTI bus of seed 004 (Acqueon agent workspace) as a pure state machine.

``center.ConnectCenter`` holds agents and contacts and carries out the bus requests; ``messages`` builds
the bus messages; ``errors`` holds the documented failure types. No Flask, no sockets: the WebSocket
adapter is ``mockserver.connect``.
"""

from mockserver.domain.connect.center import BUS_CHANNEL, REQUESTS, SYSTEM, ConnectCenter

__all__ = ["BUS_CHANNEL", "REQUESTS", "SYSTEM", "ConnectCenter"]
