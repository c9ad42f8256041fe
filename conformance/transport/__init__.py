"""The wire: HTTP (``http``), Bayeux long-polling (``cometd``) and WebSocket (``ws``) clients that record
every exchange as redacted evidence and share one await API (``inbox``)."""

from __future__ import annotations

from conformance.transport.cometd import DEFAULT_CHANNELS, BayeuxError, CometdClient
from conformance.transport.http import HttpClient, HttpResponse
from conformance.transport.inbox import Inbox, Predicate
from conformance.transport.ws import WsClient, WsRejected

__all__ = [
    "DEFAULT_CHANNELS",
    "BayeuxError",
    "CometdClient",
    "HttpClient",
    "HttpResponse",
    "Inbox",
    "Predicate",
    "WsClient",
    "WsRejected",
]
