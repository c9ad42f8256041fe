"""CometD / Bayeux 1.0 server for the GWS notifications endpoint: a pure engine and a Flask blueprint.

``bayeux`` holds the protocol engine (no web framework); ``blueprint`` serves it over HTTP with Flask.
"""

from __future__ import annotations

from mockserver.cometd.bayeux import (
    BAYEUX_VERSION,
    SUPPORTED_CONNECTION_TYPES,
    BayeuxServer,
    Hold,
    Principal,
    Reply,
    SessionInfo,
    channel_matches,
    is_valid_channel,
    is_valid_subscription,
)
from mockserver.cometd.blueprint import make_blueprint

__all__ = [
    "BAYEUX_VERSION",
    "SUPPORTED_CONNECTION_TYPES",
    "BayeuxServer",
    "Hold",
    "Principal",
    "Reply",
    "SessionInfo",
    "channel_matches",
    "is_valid_channel",
    "is_valid_subscription",
    "make_blueprint",
]
