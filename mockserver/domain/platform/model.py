"""The Platform world's records. Plain dataclasses; behaviour lives in the modules that change them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.clock import Handle

# Phone types of 000 l.106-109 and Appendix B. "generic-sip-broadsoft" advertises Broadsoft talk events.
WEBRTC = "webrtc"
MANAGED = "managed"
BROADSOFT = "generic-sip-broadsoft"
GENERIC_SIP = "generic-sip"
REMOTE = "remote"
PHONE_TYPES = (WEBRTC, MANAGED, BROADSOFT, GENERIC_SIP, REMOTE)
STATION_TYPES = {
    WEBRTC: "inin_webrtc_softphone",
    MANAGED: "inin_managed_phone",
    BROADSOFT: "unmanaged_sip",
    GENERIC_SIP: "unmanaged_sip",
    REMOTE: "inin_remote",
}

# Participant (call media) states (ParticipantState.json) that still hold a leg.
ACTIVE_STATES = frozenset({"alerting", "dialing", "contacting", "offering", "connected"})
ENDED_STATES = frozenset({"disconnected", "terminated"})

# Grants an OAuth client may allow (000 l.92 plus client credentials and refresh).
CLIENT_CREDENTIALS = "client_credentials"
IMPLICIT = "implicit"
AUTHORIZATION_CODE = "authorization_code"
PKCE = "pkce"
SAML2_BEARER = "saml2_bearer"
REFRESH_TOKEN = "refresh_token"
GRANTS = (CLIENT_CREDENTIALS, IMPLICIT, AUTHORIZATION_CODE, PKCE, SAML2_BEARER, REFRESH_TOKEN)
USER_GRANTS = frozenset({IMPLICIT, AUTHORIZATION_CODE, PKCE, SAML2_BEARER, REFRESH_TOKEN})


@dataclass
class Settings:
    """What the seed, MockConfig and the control API can tune."""

    token_lifetime: int = 86_400  # E416: default expires_in
    code_lifetime: float = 300.0  # authorization codes
    rate_limit: int = 0  # Make Call requests per window per token (0 = no limit)
    rate_limit_window: float = 60.0  # "requests per minute" unless the control API shortens it
    retry_after: int | None = None  # fixed Retry-After (seconds) instead of the time left in the window
    persistent_connection_timeout: float = 300.0  # idle time before a persistent connection drops
    force_disconnect_silence: float = 3.0  # 000 l.240: the flow's silence before it disconnects
    heartbeat_seconds: float = 30.0  # channel.metadata heartbeat on notification sockets
    channel_lifetime: float = 86_400.0  # a notification channel lives this long, then socket_closing
    presence_rule: bool = True  # E406: Offline/Meal/Break callers are refused (switchable)
    max_topics: int = 1000  # subscriptions per channel

    def snapshot(self) -> dict[str, Any]:
        return {
            "tokenLifetimeSeconds": self.token_lifetime,
            "authorizationCodeLifetimeSeconds": self.code_lifetime,
            "rateLimit": self.rate_limit,
            "rateLimitWindowSeconds": self.rate_limit_window,
            "retryAfterSeconds": self.retry_after,
            "persistentConnectionTimeoutSeconds": self.persistent_connection_timeout,
            "forceDisconnectSilenceSeconds": self.force_disconnect_silence,
            "heartbeatSeconds": self.heartbeat_seconds,
            "channelLifetimeSeconds": self.channel_lifetime,
            "presenceRule": self.presence_rule,
            "maxTopicsPerChannel": self.max_topics,
        }


SETTING_KEYS = {
    "tokenLifetimeSeconds": ("token_lifetime", int),
    "authorizationCodeLifetimeSeconds": ("code_lifetime", float),
    "rateLimit": ("rate_limit", int),
    "rateLimitWindowSeconds": ("rate_limit_window", float),
    "retryAfterSeconds": ("retry_after", int),
    "persistentConnectionTimeoutSeconds": ("persistent_connection_timeout", float),
    "forceDisconnectSilenceSeconds": ("force_disconnect_silence", float),
    "heartbeatSeconds": ("heartbeat_seconds", float),
    "channelLifetimeSeconds": ("channel_lifetime", float),
    "presenceRule": ("presence_rule", bool),
    "maxTopicsPerChannel": ("max_topics", int),
}


@dataclass
class PresenceDefinition:
    id: str
    system_presence: str  # Available, Busy, Away, Break, Meal, Meeting, Training, Offline, OnQueue, Idle
    name: str


@dataclass
class Phone:
    """A user's station: its type, its settings and the persistent connection (E410: phone state)."""

    type: str
    persistent_connection: bool = False  # "Maintain Persistent Connection" (000 l.141-160)
    allow_placing_calls: bool = True  # WebRTC "placing calls with another app" (000 l.171-180, E419)
    address: str = ""
    station_id: str = ""
    station_name: str = ""
    persistent_active: bool = False
    drop_timer: Handle | None = None


@dataclass
class User:
    id: str
    name: str
    email: str
    phone: Phone
    presence_id: str
    presence_message: str = ""
    presence_modified: float = 0.0
    extension: str | None = None
    department: str | None = None
    title: str | None = None
    state: str = "active"


@dataclass
class Queue:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # conversation ids waiting for an agent
    wrapup_required: bool = True  # its agents go to after-call work when the call ends


@dataclass
class Flow:
    """An Architect inbound call flow reachable as NAME@localhost (000 Appendix A)."""

    name: str
    silence: float | None = None  # None: the setting forceDisconnectSilenceSeconds


@dataclass
class OAuthClient:
    id: str
    name: str
    secret: str | None
    grants: frozenset[str]
    redirect_uris: tuple[str, ...] = ()
    scopes: frozenset[str] | None = None  # None: every scope
    token_lifetime: int | None = None  # None: the setting
    login_user: str | None = None  # who "logs in" on /oauth/authorize (no login page)


@dataclass
class Token:
    value: str
    client_id: str
    user_id: str | None
    grant: str
    scopes: frozenset[str] | None
    issued: float
    expires: float
    code: str | None = None  # the authorization code it descends from (revoked with it on the code's reuse)

    @property
    def has_user(self) -> bool:
        return self.user_id is not None


@dataclass
class RefreshToken:
    value: str
    client_id: str
    user_id: str
    scopes: frozenset[str] | None
    code: str | None = None  # as Token.code


@dataclass
class AuthorizationCode:
    value: str
    client_id: str
    user_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    expires: float
    used: bool = False


@dataclass
class Participant:
    id: str
    purpose: str  # agent, user, customer, external, acd, ivr
    direction: str  # inbound | outbound
    state: str | None  # call state; None while the participant has no call (callback only)
    start_time: float
    call_id: str = ""
    user_id: str | None = None
    queue_id: str | None = None
    name: str | None = None
    address: str | None = None
    ani: str | None = None
    dnis: str | None = None
    initial_state: str | None = None
    alerting_time: float | None = None
    connected_time: float | None = None
    end_time: float | None = None
    held: bool = False
    hold_time: float | None = None
    muted: bool = False
    confined: bool = False
    recording: bool = False
    disconnect_type: str | None = None
    error_info: dict[str, str] | None = None
    wrapup_required: bool = False
    wrapup: dict[str, Any] | None = None
    wrapup_skipped: bool = False
    acw_start: float | None = None
    acw_end: float | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    flow: str | None = None
    callback_state: str | None = None
    callback_numbers: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def in_acw(self) -> bool:
        """Disconnected, wrap-up required and not yet given (after-call work)."""
        return self.state == "disconnected" and self.wrapup_required


@dataclass
class Conversation:
    id: str
    start_time: float
    participants: list[Participant] = field(default_factory=list)
    end_time: float | None = None
    kind: str = "call"  # call | callback
    pending: list[dict[str, Any]] = field(default_factory=list)  # destinations dialled once the caller connects
    timers: list[Handle] = field(default_factory=list)
    ever_users: set[str] = field(default_factory=set)  # users who took part (may read it afterwards)

    def participant(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def active_participants(self) -> list[Participant]:
        return [p for p in self.participants if p.active]

    @property
    def active(self) -> bool:
        return self.end_time is None


@dataclass
class Channel:
    """A notification channel: created with a token, read by whoever knows its id (the WebSocket key)."""

    id: str
    token: str
    client_id: str
    user_id: str | None
    created: float  # wall clock
    expires: float  # wall clock
    topics: dict[str, None] = field(default_factory=dict)  # ordered set
    closed: bool = False
    timer: Handle | None = None
