"""JSON views of the Platform records, with the SDK's member names (purecloudplatformclientv2 269.0.0).

URIs are server-relative (/api/v2/...), as the real service returns them. Members without a value are left
out, as the real service and the SDK's serializer do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mockserver.domain.platform.model import STATION_TYPES, Channel, Conversation, Participant, PresenceDefinition, User

if TYPE_CHECKING:
    from mockserver.domain.platform.world import PlatformWorld


def iso(ts: float | None) -> str | None:
    """UTC ISO 8601 with milliseconds, e.g. 2024-01-01T12:00:00.000Z."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _clean(members: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in members.items() if v is not None}


def user_ref(world: PlatformWorld, user_id: str | None, *, uri: bool = True) -> dict[str, Any] | None:
    if user_id is None:
        return None
    user = world.users.get(user_id)
    ref = {"id": user_id, "name": user.name if user else None}
    if uri:
        ref["selfUri"] = f"/api/v2/users/{user_id}"
    return _clean(ref)


def queue_ref(world: PlatformWorld, queue_id: str | None, *, uri: bool = True) -> dict[str, Any] | None:
    if queue_id is None:
        return None
    queue = world.queues.get(queue_id)
    ref = {"id": queue_id, "name": queue.name if queue else None}
    if uri:
        ref["selfUri"] = f"/api/v2/routing/queues/{queue_id}"
    return _clean(ref)


def _common(p: Participant) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "address": p.address,
        "startTime": iso(p.start_time),
        "connectedTime": iso(p.connected_time),
        "endTime": iso(p.end_time),
        "startHoldTime": iso(p.hold_time) if p.held else None,
        "purpose": p.purpose,
        "state": p.state,
        "direction": p.direction,
        "disconnectType": p.disconnect_type,
        "held": p.held,
        "wrapupRequired": p.wrapup_required,
        "startAcwTime": iso(p.acw_start),
        "endAcwTime": iso(p.acw_end),
    }


def call_participant(world: PlatformWorld, p: Participant) -> dict[str, Any]:
    """CallMediaParticipant."""
    view = _common(p)
    view.update(
        {
            "startAlertingTime": iso(p.alerting_time),
            "user": user_ref(world, p.user_id),
            "queue": queue_ref(world, p.queue_id),
            "attributes": dict(p.attributes),
            "errorInfo": p.error_info,
            "wrapup": p.wrapup,
            "wrapupSkipped": p.wrapup_skipped or None,
            "muted": p.muted,
            "confined": p.confined,
            "recording": p.recording,
            "recordingState": "none",
            "ani": p.ani,
            "dnis": p.dnis,
        }
    )
    return _clean(view)


def call_conversation(world: PlatformWorld, conv: Conversation) -> dict[str, Any]:
    """CallConversation (GET /api/v2/conversations/calls/{id}): only participants with a call."""
    return {
        "id": conv.id,
        "participants": [call_participant(world, p) for p in conv.participants if p.state is not None],
        "otherMediaUris": [],
        "recordingState": "none",
        "maxParticipants": 10,
        "selfUri": f"/api/v2/conversations/calls/{conv.id}",
    }


def event_participant(world: PlatformWorld, p: Participant) -> dict[str, Any]:
    """CallEventParticipant (ConversationCallEventTopicCallMediaParticipant)."""
    view = _common(p)
    view.update(
        {
            "initialState": p.initial_state,
            "user": user_ref(world, p.user_id, uri=False),
            "queue": queue_ref(world, p.queue_id, uri=False),
            "attributes": dict(p.attributes),
            "errorInfo": p.error_info,
            "wrapup": p.wrapup,
            "wrapupSkipped": p.wrapup_skipped or None,
            "muted": p.muted,
            "confined": p.confined,
            "recording": p.recording,
            "ani": p.ani,
            "dnis": p.dnis,
        }
    )
    return _clean(view)


def call_event(world: PlatformWorld, conv: Conversation) -> dict[str, Any]:
    """eventBody of v2.users.{id}.conversations.calls (CallConversationEvent)."""
    return {
        "id": conv.id,
        "participants": [event_participant(world, p) for p in conv.participants if p.state is not None],
        "otherMediaUris": [],
        "recordingState": "none",
        "maxParticipants": 10,
    }


def _call(p: Participant) -> dict[str, Any]:
    return _clean(
        {
            "state": p.state,
            "initialState": p.initial_state,
            "id": p.call_id,
            "direction": p.direction,
            "recording": p.recording,
            "recordingState": "none",
            "muted": p.muted,
            "confined": p.confined,
            "held": p.held,
            "errorInfo": p.error_info,
            "disconnectType": p.disconnect_type,
            "startHoldTime": iso(p.hold_time) if p.held else None,
            "startAlertingTime": iso(p.alerting_time),
            "connectedTime": iso(p.connected_time),
            "disconnectedTime": iso(p.end_time) if p.state in ("disconnected", "terminated") else None,
            "self": _clean({"addressNormalized": p.address}),
            "wrapup": p.wrapup,
        }
    )


def conversation(world: PlatformWorld, conv: Conversation) -> dict[str, Any]:
    """Conversation (GET /api/v2/conversations/{id}): media live in calls[] and callbacks[]."""
    participants = []
    for p in conv.participants:
        view = _clean(
            {
                "id": p.id,
                "startTime": iso(p.start_time),
                "endTime": iso(p.end_time),
                "connectedTime": iso(p.connected_time),
                "name": p.name,
                "userId": p.user_id,
                "userUri": f"/api/v2/users/{p.user_id}" if p.user_id else None,
                "queueId": p.queue_id,
                "queueName": world.queues[p.queue_id].name if p.queue_id in world.queues else None,
                "purpose": p.purpose,
                "address": p.address,
                "ani": p.ani,
                "dnis": p.dnis,
                "wrapupRequired": p.wrapup_required,
                "wrapupSkipped": p.wrapup_skipped or None,
                "wrapup": p.wrapup,
                "attributes": dict(p.attributes),
                "startAcwTime": iso(p.acw_start),
                "endAcwTime": iso(p.acw_end),
            }
        )
        view["calls"] = [_call(p)] if p.state is not None else []
        if p.callback_state is not None:
            view["callbacks"] = [
                {
                    "state": p.callback_state,
                    "id": f"{p.id}-callback",
                    "direction": p.direction,
                    "callbackNumbers": list(p.callback_numbers),
                }
            ]
        participants.append(view)
    return _clean(
        {
            "id": conv.id,
            "startTime": iso(conv.start_time),
            "endTime": iso(conv.end_time),
            "participants": participants,
            "recordingState": "NONE",
            "maxParticipants": 10,
            "selfUri": f"/api/v2/conversations/{conv.id}",
        }
    )


def listing(
    entities: list[dict[str, Any]], self_uri: str, *, page_size: int = 25, page_number: int = 1
) -> dict[str, Any]:
    total = len(entities)
    page_count = max(1, -(-total // page_size))
    start = (page_number - 1) * page_size
    return {
        "entities": entities[start : start + page_size],
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "firstUri": f"{self_uri}?pageSize={page_size}&pageNumber=1",
        "selfUri": f"{self_uri}?pageSize={page_size}&pageNumber={page_number}",
        "lastUri": f"{self_uri}?pageSize={page_size}&pageNumber={page_count}",
        "pageCount": page_count,
    }


# ---- presence ------------------------------------------------------------------------------------------------
def presence_definition_ref(definition: PresenceDefinition) -> dict[str, Any]:
    return {
        "id": definition.id,
        "systemPresence": definition.system_presence,
        "selfUri": f"/api/v2/presencedefinitions/{definition.id}",
    }


def presence(world: PlatformWorld, user: User) -> dict[str, Any]:
    """UserPresence of the Genesys Cloud (PURECLOUD) source."""
    return {
        "source": "PURECLOUD",
        "presenceDefinition": presence_definition_ref(world.presence_of(user)),
        "message": user.presence_message,
        "modifiedDate": iso(user.presence_modified),
        "primary": True,
        "selfUri": f"/api/v2/users/{user.id}/presences/purecloud",
    }


def presence_event(world: PlatformWorld, user: User) -> dict[str, Any]:
    """eventBody of v2.users.{id}.presence (PresenceEvent)."""
    definition = world.presence_of(user)
    return {
        "source": "PURECLOUD",
        "presenceDefinition": {"id": definition.id, "systemPresence": definition.system_presence},
        "primary": True,
        "message": user.presence_message,
        "modifiedDate": iso(user.presence_modified),
    }


def organization_presence_definition(definition: PresenceDefinition) -> dict[str, Any]:
    """Entity of GET /api/v2/presence/definitions."""
    return {
        "id": definition.id,
        "type": "System",
        "languageLabels": {"en_US": definition.name},
        "systemPresence": definition.system_presence,
        "deactivated": False,
        "selfUri": f"/api/v2/presence/definitions/{definition.id}",
    }


def organization_presence(definition: PresenceDefinition) -> dict[str, Any]:
    """Entity of GET /api/v2/presencedefinitions (the older API)."""
    return {
        "id": definition.id,
        "name": definition.name,
        "languageLabels": {"en_US": definition.name},
        "systemPresence": definition.system_presence,
        "deactivated": False,
        "primary": True,
        "selfUri": f"/api/v2/presencedefinitions/{definition.id}",
    }


# ---- users ----------------------------------------------------------------------------------------------------
def station(world: PlatformWorld, user: User) -> dict[str, Any]:
    phone = user.phone
    ref = {
        "id": phone.station_id,
        "name": phone.station_name,
        "type": STATION_TYPES[phone.type],
        "associatedDate": iso(user.presence_modified),
        "webRtcPersistentEnabled": phone.persistent_connection if phone.type == "webrtc" else None,
        "selfUri": f"/api/v2/stations/{phone.station_id}",
    }
    ref = _clean(ref)
    return {"associatedStation": ref, "effectiveStation": ref, "defaultStation": ref}


def routing_status(world: PlatformWorld, user: User) -> dict[str, Any]:
    on_queue = world.presence_of(user).system_presence == "OnQueue"
    busy = any(p.user_id == user.id and p.active for c in world.conversations.values() for p in c.participants)
    status = ("INTERACTING" if busy else "IDLE") if on_queue else "OFF_QUEUE"
    return {"userId": user.id, "status": status, "startTime": iso(user.presence_modified)}


def user(world: PlatformWorld, record: User, expand: set[str]) -> dict[str, Any]:
    """User, with the members asked for with expand= (E415)."""
    view: dict[str, Any] = _clean(
        {
            "id": record.id,
            "name": record.name,
            "division": {
                "id": world.org["divisionId"],
                "name": "Home",
                "selfUri": f"/api/v2/authorization/divisions/{world.org['divisionId']}",
            },
            "chat": {"jabberId": f"{record.id}@voicekit.orgspan.com"},
            "department": record.department,
            "email": record.email,
            "primaryContactInfo": [{"address": record.email, "mediaType": "EMAIL", "type": "PRIMARY"}],
            "addresses": [
                _clean(
                    {
                        "address": record.phone.address,
                        "display": record.phone.address,
                        "mediaType": "PHONE",
                        "type": "WORK",
                        "extension": record.extension,
                    }
                )
            ],
            "state": record.state,
            "title": record.title,
            "username": record.email,
            "version": 1,
            "acdAutoAnswer": False,
            "selfUri": f"/api/v2/users/{record.id}",
        }
    )
    if "presence" in expand:
        view["presence"] = presence(world, record)
    if "routingStatus" in expand:
        view["routingStatus"] = routing_status(world, record)
    if "station" in expand:
        view["station"] = station(world, record)
    if "conversationSummary" in expand:
        active = sum(
            1
            for c in world.conversations.values()
            if c.end_time is None and any(p.user_id == record.id and p.active for p in c.participants)
        )
        view["conversationSummary"] = {
            "userId": record.id,
            "call": {"contactCenter": {"active": active, "acw": 0}, "enterprise": {"active": 0, "acw": 0}},
        }
    return view


def user_me(world: PlatformWorld, record: User, expand: set[str], token_info: dict[str, Any]) -> dict[str, Any]:
    """UserMe: a User plus the extras asked for with expand=."""
    view = user(world, record, expand)
    if "presenceDefinitions" in expand:
        view["presenceDefinitions"] = [organization_presence(d) for d in world.presences.values()]
    if "organization" in expand:
        view["organization"] = {
            "id": world.org["id"],
            "name": world.org["name"],
            "thirdPartyOrgName": world.org["name"],
            "selfUri": "/api/v2/organizations/me",
        }
    if "token" in expand:
        view["token"] = token_info
    if "date" in expand:
        view["date"] = {"currentDate": iso(world.wall())}
    return view


def channel(record: Channel, connect_uri: str) -> dict[str, Any]:
    return {"connectUri": connect_uri, "id": record.id, "expires": iso(record.expires)}
