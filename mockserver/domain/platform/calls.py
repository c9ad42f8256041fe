"""Call conversations: Make Call, Answer Call, hold, mute, hang-up, callbacks, ACD and direct inbound calls,
the remote party and the simulated phone, and the ForceDisconnect flow (000, E405, E406, E407, E412, E414).

Every change is published, as the whole conversation, on v2.users.{id}.conversations.calls to each user who
takes part in it. Every public function takes the world's lock.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from typing import Any

from mockserver.domain.platform import errors, phones, views
from mockserver.domain.platform.model import Conversation, Participant, Queue, Token, User
from mockserver.domain.platform.world import PlatformWorld

REFUSED_PRESENCES = frozenset({"offline", "meal", "break"})  # E406 (001's "Lunch" is Meal)

# E414: what a phoneNumber may be.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_DIGITS = re.compile(r"^[+*#]?\d{2,15}$")
_NAME_AT_HOST = re.compile(r"^[A-Za-z0-9._%+~!$&'=-]+@[A-Za-z0-9.-]+(?::\d{1,5})?$")
_URI = re.compile(r"^(tel|sip|sips):(\S+)$", re.I)


def classify_number(value: str) -> str | None:
    """The participant address for a dialled value (tel:… or sip:…), or None when it is not dialable (E414)."""
    value = value.strip()
    match = _URI.match(value)
    if match:
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme == "tel":
            return f"tel:{rest}" if _E164.match(rest) or _DIGITS.match(rest) else None
        return f"{scheme}:{rest}" if _NAME_AT_HOST.match(rest) or re.fullmatch(r"[A-Za-z0-9.-]+", rest) else None
    if _E164.match(value) or _DIGITS.match(value):
        return f"tel:{value}"
    if _NAME_AT_HOST.match(value):
        return f"sip:{value}"
    return None


@dataclass
class AnswerOutcome:
    """What a PATCH participant did; ``processed`` is False when the phone could not answer (E412)."""

    processed: bool
    reason: str = ""


# ---- helpers ---------------------------------------------------------------------------------------------
def _new_id() -> str:
    return str(uuid.uuid4())


def _leg(
    world: PlatformWorld,
    conv: Conversation,
    purpose: str,
    direction: str,
    state: str | None,
    *,
    user: User | None = None,
    queue: Queue | None = None,
    **members: Any,
) -> Participant:
    now = world.wall()
    participant = Participant(
        id=_new_id(),
        purpose=purpose,
        direction=direction,
        state=state,
        start_time=now,
        call_id=_new_id(),
        initial_state=state,
        **members,
    )
    if user is not None:
        participant.user_id = user.id
        participant.name = participant.name or user.name
        participant.address = participant.address or user.phone.address
        conv.ever_users.add(user.id)
        world.persistent.leg_started(user)
    if queue is not None:
        participant.queue_id = queue.id
    if state == "alerting":
        participant.alerting_time = now
    if state == "connected":
        participant.connected_time = now
    conv.participants.append(participant)
    return participant


def _notify(world: PlatformWorld, conv: Conversation) -> None:
    body = views.call_event(world, conv)
    for user_id in sorted(conv.ever_users):
        world.publish(f"v2.users.{user_id}.conversations.calls", body, user_id)


def _busy(world: PlatformWorld, user_id: str) -> bool:
    return any(p.user_id == user_id and p.active for c in world.conversations.values() for p in c.participants)


def _connect(world: PlatformWorld, conv: Conversation, participant: Participant) -> None:
    participant.state = "connected"
    participant.connected_time = world.wall()
    if participant.user_id is not None:
        world.persistent.leg_connected(world.users[participant.user_id])
    if participant.purpose == "agent" and conv.pending and participant.direction == "outbound":
        _dial(world, conv)


def _disconnect(world: PlatformWorld, participant: Participant, disconnect_type: str) -> None:
    if not participant.active:
        return
    participant.state = "disconnected"
    participant.held = False
    participant.end_time = world.wall()
    participant.disconnect_type = disconnect_type
    queue = world.queues.get(participant.queue_id or "")
    if (
        participant.purpose == "agent"
        and participant.direction == "inbound"
        and queue is not None
        and queue.wrapup_required
        and participant.connected_time is not None
    ):
        participant.wrapup_required = True  # an answered ACD call: after-call work until the wrap-up is given
        participant.acw_start = participant.end_time
    if participant.user_id is not None and participant.user_id in world.users:
        world.persistent.leg_ended(world.users[participant.user_id], _busy(world, participant.user_id))


def _settle(world: PlatformWorld, conv: Conversation) -> None:
    """After someone left: a call needs two parties, so a lone remaining party is released too."""
    remaining = conv.active_participants()
    if len(remaining) <= 1:
        for participant in remaining:
            _disconnect(world, participant, "peer")
        _end(world, conv)


def _end(world: PlatformWorld, conv: Conversation) -> None:
    if conv.end_time is not None:
        return
    conv.end_time = world.wall()
    conv.pending.clear()
    for participant in conv.participants:
        if participant.callback_state == "connected":
            participant.callback_state = "disconnected"
    for handle in conv.timers:
        handle.cancel()
    conv.timers.clear()
    for queue in world.queues.values():
        if conv.id in queue.waiting:
            queue.waiting.remove(conv.id)


def _presence_allows_calls(world: PlatformWorld, user: User) -> bool:
    return world.presence_of(user).system_presence.lower() not in REFUSED_PRESENCES


# ---- reading ---------------------------------------------------------------------------------------------
def readable(world: PlatformWorld, token: Token, conversation_id: str) -> Conversation:
    """A user token reads the conversations its user takes or took part in (E450); client credentials read any
    (permissions are not modelled, E413)."""
    with world.lock:
        conv = world.conversation(conversation_id)
        if token.user_id is not None and token.user_id not in conv.ever_users:
            raise errors.NotAuthorized(
                f"User is not a participant of conversation {conversation_id}",
                params={"conversationId": conversation_id},
            )
        return conv


def active_for(world: PlatformWorld, user_id: str, *, calls_only: bool) -> list[Conversation]:
    """Conversations the user is on now (E410: a persistent connection alone is no conversation)."""
    with world.lock:
        found = []
        for conv in world.conversations.values():
            if conv.end_time is not None and not any(p.user_id == user_id and p.in_acw for p in conv.participants):
                continue
            mine = [p for p in conv.participants if p.user_id == user_id]
            on_call = any(p.active or p.in_acw for p in mine)
            on_callback = any(p.callback_state == "connected" for p in mine)
            if on_call or (on_callback and not calls_only):
                found.append(conv)
        return sorted(found, key=lambda c: c.start_time)


# ---- Make Call -------------------------------------------------------------------------------------------
def check_caller(world: PlatformWorld, caller: User) -> None:
    """E406: an Offline, Meal or Break caller is refused (403) — before the body is read (E400's order)."""
    with world.lock:
        if world.settings.presence_rule and not _presence_allows_calls(world, caller):
            raise errors.NotAuthorized(
                errors.NOT_VALID_STATE, params={"systemPresence": world.presence_of(caller).system_presence}
            )


def _destination(
    world: PlatformWorld,
    caller: User,
    *,
    address: str | None = None,
    user_id: str | None = None,
    queue_id: str | None = None,
    name: str | None = None,
    field: str,
) -> dict[str, Any]:
    if user_id is not None:
        callee = world.users.get(user_id)
        if callee is None:
            raise errors.InvalidValue(f"User {user_id} not found", field=field)
        if callee.id == caller.id:
            raise errors.InvalidValue("A user cannot call themselves", field=field)
        return {"kind": "user", "user": callee.id}
    if queue_id is not None:
        if queue_id not in world.queues:
            raise errors.InvalidValue(f"Queue {queue_id} not found", field=field)
        return {"kind": "queue", "queue": queue_id}
    normalized = classify_number(address or "")
    if normalized is None:
        raise errors.InvalidValue(errors.INVALID_PHONE, field=field)
    local = normalized.split(":", 1)[1]
    if normalized.startswith("sip:") and "@" in local:
        flow_name, host = local.split("@", 1)
        flow = world.flows.get(flow_name.lower())
        if flow is not None and host.split(":")[0].lower() == "localhost":
            return {"kind": "flow", "flow": flow.name, "address": normalized}
    callee = next((u for u in world.users.values() if u.extension and u.extension == local), None)
    if callee is not None and callee.id != caller.id:
        return {"kind": "user", "user": callee.id}
    return {"kind": "external", "address": normalized, "name": name}


def _destinations(world: PlatformWorld, caller: User, body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("conversationIds"):
        raise errors.BadRequest(
            "conversationIds: conferencing existing conversations is not modelled by the mock (E452)",
            field="conversationIds",
        )
    found = []
    if body.get("phoneNumber") is not None:
        found.append(_destination(world, caller, address=str(body["phoneNumber"]), field="phoneNumber"))
    if body.get("callUserId") is not None:
        found.append(_destination(world, caller, user_id=str(body["callUserId"]), field="callUserId"))
    if body.get("callQueueId") is not None:
        found.append(_destination(world, caller, queue_id=str(body["callQueueId"]), field="callQueueId"))
    for index, item in enumerate(body.get("participants") or []):
        where = f"participants[{index}]"
        if not isinstance(item, dict) or not any(item.get(k) for k in ("address", "userId", "queueId")):
            raise errors.BadRequest(f"{where} names no address, userId or queueId", field=where)
        found.append(
            _destination(
                world,
                caller,
                address=item.get("address"),
                user_id=item.get("userId"),
                queue_id=item.get("queueId"),
                name=item.get("name"),
                field=where,
            )
        )
    if not found:
        raise errors.BadRequest(
            "The request names no destination: phoneNumber, callUserId, callQueueId, "
            "participants or conversationIds (E401)"
        )
    return found


def make_call(world: PlatformWorld, caller_id: str, body: dict[str, Any]) -> Conversation:
    """POST /api/v2/conversations/calls: the caller is the token's user (000 l.93, E401)."""
    with world.lock:
        caller = world.user(caller_id)
        check_caller(world, caller)
        dialled = _destinations(world, caller, body)
        from_queue = None
        if body.get("callFromQueueId") is not None:
            from_queue = world.queues.get(str(body["callFromQueueId"]))
            if from_queue is None:
                raise errors.InvalidValue(f"Queue {body['callFromQueueId']} not found", field="callFromQueueId")
        conv = Conversation(id=_new_id(), start_time=world.wall())
        ani = str(body.get("callerId") or caller.phone.address)
        for item in dialled:
            item["ani"] = ani
            item["attributes"] = {str(k): str(v) for k, v in (body.get("attributes") or {}).items()}
        conv.pending = dialled
        world.conversations[conv.id] = conv
        _start_agent_leg(world, conv, caller, queue=from_queue)
        return conv


def _start_agent_leg(
    world: PlatformWorld,
    conv: Conversation,
    caller: User,
    *,
    queue: Queue | None = None,
    existing: Participant | None = None,
) -> Participant:
    """The caller's own leg, per phone type (phones.make_call_leg)."""
    mode = phones.make_call_leg(caller.phone)
    first = "alerting" if mode == phones.ALERT else "contacting"
    if existing is None:
        agent = _leg(world, conv, "agent", "outbound", first, user=caller, queue=queue)
    else:
        agent = existing
        agent.state = agent.initial_state = first
        agent.call_id = _new_id()
        agent.alerting_time = world.wall() if first == "alerting" else None
        world.persistent.leg_started(caller)
    _notify(world, conv)
    if mode == phones.CONNECT:
        _connect(world, conv, agent)
        _notify(world, conv)
    elif mode == phones.FAIL:
        agent.error_info = {
            "code": "error.phone.placing.calls.not.allowed",
            "message": "The WebRTC phone does not allow placing calls with another app (E419)",
        }
        _disconnect(world, agent, "error")
        _end(world, conv)
        _notify(world, conv)
    return agent


def _dial(world: PlatformWorld, conv: Conversation) -> None:
    """Reach the destinations once the caller's leg is connected."""
    pending, conv.pending = conv.pending, []
    for item in pending:
        kind = item["kind"]
        attributes = item.get("attributes") or {}
        if kind == "user":
            callee = world.users[item["user"]]
            _leg(
                world,
                conv,
                "user",
                "inbound",
                "alerting",
                user=callee,
                ani=item.get("ani"),
                dnis=callee.phone.address,
                attributes=dict(attributes),
            )
        elif kind == "queue":
            queue = world.queues[item["queue"]]
            acd = _leg(
                world,
                conv,
                "acd",
                "outbound",
                "connected",
                queue=queue,
                name=queue.name,
                address=f"queue:{queue.name}",
                attributes=dict(attributes),
            )
            _route(world, conv, queue, acd)
        elif kind == "flow":
            flow = world.flows[item["flow"].lower()]
            ivr = _leg(
                world,
                conv,
                "ivr",
                "outbound",
                "connected",
                name=flow.name,
                address=item["address"],
                ani=item.get("ani"),
                dnis=item["address"],
                flow=flow.name,
            )
            silence = flow.silence if flow.silence is not None else world.settings.force_disconnect_silence
            conv.timers.append(
                world.scheduler.call_later(silence, functools.partial(_flow_disconnects, world, conv, ivr))
            )
        elif kind == "callback":
            customer = conv.participant(item["participant"])
            if customer is not None:
                customer.state = customer.initial_state = "dialing"
                customer.call_id = _new_id()
                customer.address = customer.dnis = item["address"]
        else:
            _leg(
                world,
                conv,
                "customer",
                "outbound",
                "dialing",
                address=item["address"],
                name=item.get("name"),
                ani=item.get("ani"),
                dnis=item["address"],
                attributes=dict(attributes),
            )


def _flow_disconnects(world: PlatformWorld, conv: Conversation, ivr: Participant) -> None:
    """000 Appendix A: after its silence the flow's Disconnect action ends the call (no wrap-up: non-ACD)."""
    with world.lock:
        if not ivr.active:
            return
        _disconnect(world, ivr, "endpoint")
        _settle(world, conv)
        _notify(world, conv)


# ---- ACD -------------------------------------------------------------------------------------------------
def _route(world: PlatformWorld, conv: Conversation, queue: Queue, acd: Participant, user: User | None = None) -> bool:
    """Offer a queued call to an On Queue member with no active leg (or to ``user``)."""
    if user is None:
        user = next(
            (
                world.users[m]
                for m in queue.members
                if m in world.users
                and world.presence_of(world.users[m]).system_presence == "OnQueue"
                and not _busy(world, m)
            ),
            None,
        )
    if user is None:
        if conv.id not in queue.waiting:
            queue.waiting.append(conv.id)
        return False
    if conv.id in queue.waiting:
        queue.waiting.remove(conv.id)
    customer = next((p for p in conv.participants if p.purpose == "customer"), None)
    _leg(
        world,
        conv,
        "agent",
        "inbound",
        "alerting",
        user=user,
        queue=queue,
        ani=customer.ani if customer else None,
        dnis=customer.dnis if customer else None,
    )
    _disconnect(world, acd, "transfer")
    return True


def route_waiting(world: PlatformWorld, user: User) -> None:
    """A member went On Queue: offer them the oldest waiting call of their queues."""
    with world.lock:
        for queue in world.queues.values():
            if user.id not in queue.members or _busy(world, user.id):
                continue
            for conv_id in list(queue.waiting):
                conv = world.conversations.get(conv_id)
                acd = next((p for p in conv.participants if p.purpose == "acd" and p.active), None) if conv else None
                if conv is None or acd is None:
                    queue.waiting.remove(conv_id)
                    continue
                if _route(world, conv, queue, acd, user):
                    _notify(world, conv)
                    return


# ---- inbound (control API) -------------------------------------------------------------------------------
def deliver_call(
    world: PlatformWorld,
    *,
    ani: str,
    user_id: str | None = None,
    queue_id: str | None = None,
    dnis: str | None = None,
    name: str | None = None,
    attributes: dict[str, str] | None = None,
) -> Conversation:
    """An external caller reaches a user directly (purpose user, alerting) or an ACD queue (purpose agent)."""
    with world.lock:
        caller_address = classify_number(ani)
        if caller_address is None:
            raise errors.InvalidValue(errors.INVALID_PHONE, field="from")
        user = world.user(user_id) if user_id is not None else None
        queue = None
        if queue_id is not None:
            queue = world.queues.get(queue_id)
            if queue is None:
                raise errors.NotFound(f"Queue {queue_id} not found")
        if user is None and queue is None:
            raise errors.BadRequest("Name a user or a queue to deliver the call to")
        dnis_address = classify_number(dnis) if dnis else (user.phone.address if user and not queue else None)
        conv = Conversation(id=_new_id(), start_time=world.wall())
        world.conversations[conv.id] = conv
        _leg(
            world,
            conv,
            "customer",
            "inbound",
            "connected",
            address=caller_address,
            ani=caller_address,
            dnis=dnis_address,
            name=name,
            attributes=dict(attributes or {}),
        )
        if queue is not None:
            acd = _leg(
                world,
                conv,
                "acd",
                "inbound",
                "connected",
                queue=queue,
                name=queue.name,
                address=f"queue:{queue.name}",
                ani=caller_address,
                dnis=dnis_address,
            )
            _route(world, conv, queue, acd, user)
        else:
            assert user is not None
            _leg(world, conv, "user", "inbound", "alerting", user=user, ani=caller_address, dnis=dnis_address)
        _notify(world, conv)
        return conv


def create_callback(world: PlatformWorld, user_id: str, numbers: list[str], name: str | None = None) -> Conversation:
    """A callback conversation connected to the agent, waiting for POST /api/v2/conversations/calls/{id}."""
    with world.lock:
        user = world.user(user_id)
        if not numbers:
            raise errors.BadRequest("A callback needs at least one number")
        normalized = []
        for number in numbers:
            address = classify_number(str(number))
            if address is None:
                raise errors.InvalidValue(errors.INVALID_PHONE, field="numbers")
            normalized.append(address)
        conv = Conversation(id=_new_id(), start_time=world.wall(), kind="callback")
        world.conversations[conv.id] = conv
        _leg(
            world,
            conv,
            "customer",
            "outbound",
            None,
            name=name,
            callback_numbers=normalized,
            callback_state="connected",
        )
        agent = _leg(world, conv, "agent", "outbound", None, user=user, callback_state="connected")
        agent.callback_numbers = list(normalized)
        _notify(world, conv)
        return conv


# ---- callback: place the call ----------------------------------------------------------------------------
def callback_agent(world: PlatformWorld, user_id: str, conversation_id: str) -> Conversation:
    """E407: only the callback's agent may place its call (403), checked before the body is read."""
    with world.lock:
        conv = world.conversation(conversation_id)
        if not any(p.user_id == user_id and p.callback_state is not None for p in conv.participants):
            raise errors.NotAuthorized(errors.NOT_PARTICIPANT, params={"conversationId": conversation_id})
        return conv


def place_callback_call(world: PlatformWorld, user_id: str, conversation_id: str, body: dict[str, Any]) -> Conversation:
    """POST /api/v2/conversations/calls/{conversationId} (000 l.48) with a CallCommand."""
    with world.lock:
        conv = callback_agent(world, user_id, conversation_id)
        if conv.kind != "callback" or conv.end_time is not None:
            raise errors.BadRequest(f"Conversation {conversation_id} is not an active callback")
        agent = next(p for p in conv.participants if p.user_id == user_id and p.callback_state is not None)
        customer = next((p for p in conv.participants if p.callback_numbers and p.user_id is None), None)
        if customer is None:
            raise errors.BadRequest("The callback has no number to call")
        if agent.active or customer.active:
            raise errors.BadRequest("The callback's call is already in progress")
        number = body.get("callNumber")
        if number is None:
            address: str | None = customer.callback_numbers[0]
        else:
            address = classify_number(str(number))
            if address is None:
                raise errors.InvalidValue(errors.INVALID_PHONE, field="callNumber")
            if address not in customer.callback_numbers:
                raise errors.InvalidValue("callNumber is not one of the callback's numbers", field="callNumber")
        conv.pending = [{"kind": "callback", "participant": customer.id, "address": address}]
        _start_agent_leg(world, conv, world.users[user_id], existing=agent)
        return conv


# ---- Answer Call and the other participant updates -------------------------------------------------------
def owned_participant(
    world: PlatformWorld, user_id: str, conversation_id: str, participant_id: str
) -> tuple[Conversation, Participant]:
    """000 l.88-93, E407: the token's user must be this participant's user (403), before the body is read."""
    with world.lock:
        conv = world.conversation(conversation_id)
        participant = conv.participant(participant_id)
        if participant is None:
            raise errors.NotFound(
                f"Participant {participant_id} not found in conversation {conversation_id}",
                params={"participantId": participant_id},
            )
        if participant.user_id != user_id:
            raise errors.NotAuthorized(errors.NOT_PARTICIPANT, params={"participantId": participant_id})
        return conv, participant


def update_participant(
    world: PlatformWorld, user_id: str, conversation_id: str, participant_id: str, body: dict[str, Any]
) -> AnswerOutcome:
    """PATCH participant with a MediaParticipantRequest: state connected (answer) or disconnected (hang up),
    held, muted, confined, recording, wrapup (ends an ACD agent's after-call work: terminated). Everything is
    checked before anything changes."""
    with world.lock:
        conv, participant = owned_participant(world, user_id, conversation_id, participant_id)
        state = body.get("state")
        if state is not None and state not in ("connected", "disconnected"):
            raise errors.BadRequest(
                f"state {state!r} cannot be requested: use connected (answer) or disconnected", field="state"
            )
        if state == "connected" and participant.state not in ("alerting", "offering", "contacting", "connected"):
            raise errors.BadRequest(
                f"Participant {participant_id} has no call to answer (state {participant.state or 'none'})",
                field="state",
            )
        if "held" in body and participant.state != "connected":
            raise errors.BadRequest("Only a connected participant can be held or resumed", field="held")
        for flag in ("muted", "confined", "recording"):
            if flag in body and not participant.active:
                raise errors.BadRequest(f"{flag} applies to an active participant only", field=flag)
        outcome = AnswerOutcome(processed=True)
        before = views.call_event(world, conv)
        if "wrapup" in body:
            participant.wrapup = dict(body["wrapup"] or {})
        if "wrapupSkipped" in body:
            participant.wrapup_skipped = bool(body["wrapupSkipped"])
        if participant.in_acw and (participant.wrapup or participant.wrapup_skipped):
            participant.state = "terminated"  # after-call work done
            participant.acw_end = world.wall()
        for flag in ("muted", "confined", "recording"):
            if flag in body:
                setattr(participant, flag, bool(body[flag]))
        if "held" in body and participant.held != bool(body["held"]):
            participant.held = bool(body["held"])
            participant.hold_time = world.wall() if participant.held else None
        if state == "connected" and participant.state != "connected":
            phone = world.users[user_id].phone
            if phones.can_answer_remotely(phone):
                _connect(world, conv, participant)
            else:  # E412: accepted, not processed — the leg keeps alerting
                outcome = AnswerOutcome(processed=False, reason=phones.refusal_reason(phone))
        elif state == "disconnected" and participant.active:
            _disconnect(world, participant, "client")
            _settle(world, conv)
        if views.call_event(world, conv) != before:
            _notify(world, conv)
        return outcome


def disconnect_conversation(world: PlatformWorld, token: Token, conversation_id: str) -> Conversation:
    """POST /api/v2/conversations/{id}/disconnect: every leg ends (disconnectType system)."""
    with world.lock:
        conv = readable(world, token, conversation_id)
        for participant in conv.participants:
            _disconnect(world, participant, "system")
        _end(world, conv)
        _notify(world, conv)
        return conv


# ---- the other side and the phone (control API) ----------------------------------------------------------
def _pick(conv: Conversation, participant_id: str | None, states: tuple[str, ...], *, users: bool) -> Participant:
    if participant_id is not None:
        participant = conv.participant(participant_id)
        if participant is None:
            raise errors.NotFound(f"Participant {participant_id} not found in conversation {conv.id}")
        return participant
    for participant in conv.participants:
        if participant.state in states and (participant.user_id is not None) == users:
            return participant
    raise errors.Conflict(
        f"Conversation {conv.id} has no {'user' if users else 'remote'} participant in state {' or '.join(states)}"
    )


def remote_answer(world: PlatformWorld, conversation_id: str, participant_id: str | None = None) -> Conversation:
    """The remote party (or, given a user's participant, that user's phone) answers — always possible by hand."""
    with world.lock:
        conv = world.conversation(conversation_id)
        participant = _pick(conv, participant_id, ("dialing", "alerting", "offering", "contacting"), users=False)
        if participant.state not in ("dialing", "alerting", "offering", "contacting"):
            raise errors.Conflict(f"Participant {participant.id} is {participant.state}, not ringing")
        _connect(world, conv, participant)
        _notify(world, conv)
        return conv


def remote_hangup(world: PlatformWorld, conversation_id: str, participant_id: str | None = None) -> Conversation:
    with world.lock:
        conv = world.conversation(conversation_id)
        participant = _pick(
            conv, participant_id, ("connected", "dialing", "alerting", "contacting", "offering"), users=False
        )
        if not participant.active:
            raise errors.Conflict(f"Participant {participant.id} is {participant.state}")
        _disconnect(world, participant, "endpoint")
        _settle(world, conv)
        _notify(world, conv)
        return conv


def _user_leg(world: PlatformWorld, user_id: str, states: tuple[str, ...]) -> tuple[Conversation, Participant]:
    world.user(user_id)
    legs = [
        (c, p)
        for c in world.conversations.values()
        for p in c.participants
        if p.user_id == user_id and p.state in states
    ]
    if not legs:
        raise errors.Conflict(f"User {user_id} has no leg in state {' or '.join(states)}")
    return max(legs, key=lambda pair: pair[1].start_time)


def phone_answer(world: PlatformWorld, user_id: str) -> Conversation:
    """The person picks up the ringing phone (every phone type can be answered by hand)."""
    with world.lock:
        conv, participant = _user_leg(world, user_id, ("alerting", "offering", "contacting"))
        _connect(world, conv, participant)
        _notify(world, conv)
        return conv


def phone_hangup(world: PlatformWorld, user_id: str) -> Conversation:
    with world.lock:
        conv, participant = _user_leg(world, user_id, ("connected", "alerting", "offering", "contacting"))
        _disconnect(world, participant, "endpoint")
        _settle(world, conv)
        _notify(world, conv)
        return conv
