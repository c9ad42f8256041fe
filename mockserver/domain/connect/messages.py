"""The messages the bus delivers, built as plain dicts that validate against specs/connect.asyncapi.yaml.

The call event follows the only documented one, 004's Sample Response (l.121-195), member for member and
in the same order; what 004 leaves open is decided in specs/errata/connect.yaml:

- button states are computed from the call state (E504), as ``Enable``/``Hide`` in ButtonStates.items and
  as the same booleans in ResponseActual.buttonStates;
- ActionsAllowed, phoneNumber, ExtendedCallVariables and fromAddress are null as in the sample (E505);
- CallType, Type, MediaProperties.callType and ResponseActual.type are "agent" as in the sample (E507);
- failures use voicekit's envelope ``<Request>Failed`` (E502) with the body of E503.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mockserver.domain.connect.errors import BusRefusal
from mockserver.domain.connect.model import CONNECTED, CONNECTING, HOLD, AgentState, Contact
from voicekit.tables import connect_buttons

CHANNEL = "Amazon"

# The buttons of 004 l.131-141, in the printed order (specs/tables/connect-buttons.yaml).
BUTTONS = connect_buttons()

# E504: which buttons are enabled in each call state; every other button is hidden.
_ENABLED = {
    CONNECTING: {"answer", "reject"},
    CONNECTED: {"disconnect", "hold", "consult", "numberpad"},
    HOLD: {"resume", "disconnect"},
    "ACW": {"clearContact"},
}


def iso(seconds: float) -> str:
    """UTC timestamp with milliseconds and Z, as 004 prints them (2020-04-09T09:14:58.955Z)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def enabled_buttons(contact: Contact) -> set[str]:
    """E504's rule. An ended call keeps only clearContact, and only while it is in after-call work."""
    if contact.in_acw:
        return set(_ENABLED["ACW"])
    return set(_ENABLED.get(contact.status, set()))


def button_states(contact: Contact) -> tuple[dict[str, Any], dict[str, bool]]:
    """ButtonStates {items, count} and ResponseActual.buttonStates; the two always agree (Enable ↔ true)."""
    enabled = enabled_buttons(contact)
    items = {name: "Enable" if name in enabled else "Hide" for name in BUTTONS}
    flags = {name: name in enabled for name in BUTTONS}
    return {"items": items, "count": len(items)}, flags


def call_event(contact: Contact, event: str) -> dict[str, Any]:
    """InboundCallStateChange for the contact as it is now; ``event`` is the CallEventName."""
    items, flags = button_states(contact)
    status_at = iso(contact.status_at)
    return {
        "channel": CHANNEL,
        "topic": "InboundCall",
        "subtopic": "InboundCallStateChange",
        "message": {
            "call": {
                "ButtonStates": items,
                "ActionsAllowed": None,
                "ResponseType": 0,
                "ResponseText": "Success",
                "ResponseActual": {
                    "connectionId": contact.connection_id,
                    "contactId": contact.contact_id,
                    "phoneNumber": None,
                    "status": contact.status,
                    "statusTimestamp": status_at,
                    "type": "agent",
                    "buttonStates": flags,
                    "previousStatus": contact.previous_status,
                },
                "CallVariables": {"ANI": contact.ani, "DNIS": contact.dnis},
                "ExtendedCallVariables": None,
                "ResponseFields": {
                    "Participants": [],
                    "MediaProperties": {
                        "callType": contact.call_type,
                        "queueName": contact.queue,
                        "queueTimestamp": iso(contact.queued_at),
                    },
                    "fromAddress": None,
                    "CallState": contact.status,
                    "Type": contact.call_type,
                    "CurrentStateTime": status_at,
                    "Campaign": "",
                    "DN": contact.queue,
                },
                "id": contact.connection_id,
                "event": event,
                "CallType": contact.call_type,
            },
            "source": "event",
        },
    }


def agent_state_event(state: AgentState) -> dict[str, Any]:
    """SetAgentState: the agent's new configured state (E510)."""
    return {"channel": CHANNEL, "topic": "Agent", "subtopic": "SetAgentState", "message": state.wire()}


def failure(topic: str, subtopic: str, refusal: BusRefusal) -> dict[str, Any]:
    """The failure event of E502: same topic as the request, subtopic ``<request subtopic>Failed``."""
    return {"channel": CHANNEL, "topic": topic, "subtopic": f"{subtopic}Failed", "message": refusal.body()}
