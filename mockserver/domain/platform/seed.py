"""Build the Platform world from the seed's ``platform:`` section (mockserver/seed/default.yaml).

Keys are camelCase like the rest of the seed; see mockserver/platform/README.md for the section's layout.
A broken seed raises ValueError at start-up rather than misbehaving later.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from typing import Any

from mockserver.domain.clock import Scheduler
from mockserver.domain.events import EventBus
from mockserver.domain.platform.model import (
    GRANTS,
    PHONE_TYPES,
    SETTING_KEYS,
    Flow,
    OAuthClient,
    Phone,
    PresenceDefinition,
    Queue,
    Settings,
    User,
)
from mockserver.domain.platform.world import PlatformWorld

DEFAULT_PRESENCES = [
    ("Available", "Available"),
    ("Busy", "Busy"),
    ("Away", "Away"),
    ("Break", "Break"),
    ("Meal", "Meal"),
    ("Meeting", "Meeting"),
    ("Training", "Training"),
    ("Offline", "Offline"),
    ("OnQueue", "On Queue"),
    ("Idle", "Idle"),
]


def build(
    section: dict[str, Any] | None, scheduler: Scheduler, bus: EventBus, settings: Settings | None = None
) -> PlatformWorld:
    """``settings`` carries what MockConfig decides (token lifetime, rate limit); the seed's settings win."""
    section = copy.deepcopy(section or {})
    base = apply_settings(replace(settings or Settings()), section.get("settings") or {})
    world = PlatformWorld(scheduler, bus, base)
    world.seed = section
    world.populate = populate
    with world.lock:
        populate(world, copy.deepcopy(section))
    return world


def apply_settings(settings: Settings, values: dict[str, Any]) -> Settings:
    """camelCase settings onto a Settings; unknown keys and wrong types are a ValueError."""
    for key, value in values.items():
        if key not in SETTING_KEYS:
            raise ValueError(f"unknown platform setting {key!r} (known: {', '.join(SETTING_KEYS)})")
        attribute, kind = SETTING_KEYS[key]
        if value is None and attribute == "retry_after":
            settings.retry_after = None
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a non-negative number")
        setattr(settings, attribute, kind(value))
    return settings


def populate(world: PlatformWorld, section: dict[str, Any]) -> None:
    org = section.get("organization") or {}
    world.org = {
        "id": str(org.get("id") or uuid.uuid4()),
        "name": str(org.get("name") or "voicekit"),
        "divisionId": str(org.get("divisionId") or uuid.uuid4()),
    }
    definitions = section.get("presenceDefinitions") or [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"voicekit-presence-{s}")), "systemPresence": s, "name": n}
        for s, n in DEFAULT_PRESENCES
    ]
    for item in definitions:
        definition = PresenceDefinition(
            str(item["id"]), str(item["systemPresence"]), str(item.get("name") or item["systemPresence"])
        )
        world.presences[definition.id] = definition
    for item in section.get("flows") or [{"name": "ForceDisconnect"}]:
        silence = item.get("silenceSeconds")
        world.flows[str(item["name"]).lower()] = Flow(str(item["name"]), None if silence is None else float(silence))
    for item in section.get("users") or []:
        add_user(world, item)
    for item in section.get("queues") or []:
        members = [str(m) for m in item.get("members") or []]
        unknown = [m for m in members if m not in world.users]
        if unknown:
            raise ValueError(f"queue {item.get('name')}: unknown members {unknown}")
        queue = Queue(
            str(item.get("id") or uuid.uuid4()),
            str(item["name"]),
            members,
            wrapup_required=bool(item.get("wrapupRequired", True)),
        )
        world.queues[queue.id] = queue
    for item in section.get("clients") or []:
        add_client(world, item)
    login = (section.get("login") or {}).get("user")
    if login is not None and world.find_user(str(login)) is None:
        raise ValueError(f"login user {login!r} is not a seed user")
    world.login_user = None if login is None else str(login)
    world.default_login = world.login_user


def add_user(world: PlatformWorld, item: dict[str, Any]) -> User:
    """A user from a seed or control-API description (ValueError when it is not usable)."""
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a user needs a name")
    user_id = str(item.get("id") or uuid.uuid4())
    if user_id in world.users:
        raise ValueError(f"user {user_id} already exists")
    phone_spec = item.get("phone") or {}
    kind = phone_spec.get("type", "managed")
    if kind not in PHONE_TYPES:
        raise ValueError(f"user {name}: phone type must be one of {', '.join(PHONE_TYPES)}")
    for key in ("persistentConnection", "allowPlacingCalls", "persistentActive"):
        if key in phone_spec and not isinstance(phone_spec[key], bool):
            raise ValueError(f"user {name}: phone.{key} must be true or false")
    extension = item.get("extension")
    email = str(item.get("email") or f"{name.split()[0].lower()}@voicekit.example")
    address = str(phone_spec.get("address") or (f"tel:{extension}" if extension else f"sip:{email}"))
    phone = Phone(
        type=kind,
        persistent_connection=bool(phone_spec.get("persistentConnection", False)),
        allow_placing_calls=bool(phone_spec.get("allowPlacingCalls", True)),
        address=address,
        station_id=str(phone_spec.get("stationId") or uuid.uuid5(uuid.NAMESPACE_URL, f"station-{user_id}")),
        station_name=str(phone_spec.get("stationName") or f"{name} ({kind})"),
    )
    presence = str(item.get("presence") or "Available")
    definition = world.presences.get(presence) or world.presence_by_system(presence)
    if definition is None:
        raise ValueError(f"user {name}: unknown presence {presence!r}")
    user = User(
        id=user_id,
        name=name,
        email=email,
        phone=phone,
        presence_id=definition.id,
        presence_modified=world.wall(),
        extension=None if extension is None else str(extension),
        department=item.get("department"),
        title=item.get("title"),
        state=str(item.get("state") or "active"),
    )
    world.users[user.id] = user
    if phone_spec.get("persistentActive"):
        world.persistent.open(user)
    return user


def add_client(world: PlatformWorld, item: dict[str, Any]) -> OAuthClient:
    client_id = str(item.get("id") or uuid.uuid4())
    if client_id in world.clients:
        raise ValueError(f"client {client_id} already exists")
    grants = item.get("grants") or []
    if not isinstance(grants, list) or not grants or any(g not in GRANTS for g in grants):
        raise ValueError(f"client {client_id}: grants must be a non-empty list of {', '.join(GRANTS)}")
    secret = item.get("secret")
    if secret is None and set(grants) & {"client_credentials", "authorization_code", "saml2_bearer"}:
        raise ValueError(f"client {client_id}: a secret is needed for {grants}")
    scopes = item.get("scopes")
    lifetime = item.get("tokenLifetimeSeconds")
    login = item.get("loginUser")
    if login is not None and world.find_user(str(login)) is None:
        raise ValueError(f"client {client_id}: loginUser {login!r} is not a user")
    client = OAuthClient(
        id=client_id,
        name=str(item.get("name") or client_id),
        secret=None if secret is None else str(secret),
        grants=frozenset(grants),
        redirect_uris=tuple(str(u) for u in item.get("redirectUris") or []),
        scopes=None if scopes is None else frozenset(str(s) for s in scopes),
        token_lifetime=None if lifetime is None else int(lifetime),
        login_user=None if login is None else str(login),
    )
    world.clients[client.id] = client
    return client
