"""The Genesys Cloud Platform API (seeds 000 and 001) as a pure state machine.

``world.PlatformWorld`` holds the organization (users and their phones, presence definitions, queues, flows,
OAuth clients, tokens, conversations, notification channels); ``seed.build`` makes one from the seed's
``platform:`` section. The rules of 000 live in ``phones`` (what each phone type allows), ``oauth`` (user
tokens versus client credentials) and ``calls`` (who may answer or place which call); ``views`` renders the
SDK's JSON shapes. No Flask, no sockets: the adapter is ``mockserver.platform``.
"""

from mockserver.domain.platform.seed import build
from mockserver.domain.platform.world import SOCKET_CLOSING, SYSTEM, PlatformWorld

__all__ = ["SOCKET_CLOSING", "SYSTEM", "PlatformWorld", "build"]
