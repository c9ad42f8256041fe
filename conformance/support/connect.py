"""The Connect CTI bus as the families use it: requests as 004 shows them, matchers of the answers by content
(E501: the bus has no request ids), the failure envelope (E502), ButtonStates (E504), and :class:`Bus` — one
agent's bus, every message received validated against the AsyncAPI contract.

External events (an incoming call, the far end hanging up, a reset) come from
:class:`conformance.support.lab.ConnectLab` (control API, driver command or a person); without the mock's control API
an agent is reset over the bus itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from conformance.advisory import advise
from conformance.checks import expect_notification
from conformance.events import EventFailed
from conformance.failures import ConformanceFailure
from conformance.support.lab import CALLER, DIALLED, ConnectLab
from conformance.transport.ws import WsClient
from voicekit.tables import connect_buttons

__all__ = [
    "AMAZON",
    "AVAILABLE",
    "BUTTONS",
    "FAILURES",
    "INBOUND",
    "NOT_FOUND",
    "NOT_READY_REASON",
    "STATE_CHANGE",
    "Bus",
    "answer",
    "button_problems",
    "call_event",
    "call_of",
    "clean_agent",
    "connection_id",
    "connection_of",
    "either",
    "expect_failure",
    "failure_of",
    "offer",
    "refused",
    "request",
    "short",
    "validated",
]

APP = "voicekit"
AMAZON = "Amazon"
INBOUND = "InboundCall"
STATE_CHANGE = "InboundCallStateChange"
AVAILABLE = {"label": "Available", "code": "Available", "type": "Routable"}  # 004 l.80-96, paired (E500)
NOT_READY_REASON = "1"
BUTTONS = connect_buttons()
FAILURES = {  # request subtopic → (error type, message): 004 l.106-110 and the field notes (E502, E510)
    "Answer": ("ANSWER_CALL_FAILED", "Answering call failed."),
    "Hold": ("HOLD_CALL_FAILED", "Call hold failed."),
    "Resume": ("RESUME_CALL_FAILED", "Resuming call failed."),
    "Disconnect": ("DISCONNECT_CALL_FAILED", "Disconnecting call failed."),
}
NOT_FOUND = ("AGENT_STATE_NOT_FOUND", "Specified Agent State not found.")


# ---- messages ------------------------------------------------------------------------------------------------------
def request(topic: str, subtopic: str, data: Any = None, *, source: str = APP) -> dict[str, Any]:
    """A request as 004 l.24-42 and l.112-119 show it (``data`` only when given)."""
    message: dict[str, Any] = {"channel": AMAZON, "topic": topic, "subtopic": subtopic, "source": source}
    if data is not None:
        message["data"] = data
    return message


def call_of(message: Any) -> dict[str, Any]:
    call = message.get("message", {}).get("call") if isinstance(message, dict) else None
    return call if isinstance(call, dict) else {}


def connection_of(message: Any) -> str | None:
    call = call_of(message)
    actual = cast(dict[str, Any], call.get("ResponseActual")) if isinstance(call.get("ResponseActual"), dict) else {}
    value = call.get("id") or actual.get("connectionId")
    return str(value) if value else None


def call_event(event: str | tuple[str, ...], connection: str | None = None) -> Callable[[Any], bool]:
    """Matches InboundCallStateChange with ``event`` (one or several), for ``connection`` when given (E501)."""
    events = (event,) if isinstance(event, str) else event

    def match(message: Any) -> bool:
        return (
            message.get("topic") == INBOUND
            and message.get("subtopic") == STATE_CHANGE
            and call_of(message).get("event") in events
            and (connection is None or connection_of(message) == connection)
        )

    match.__name__ = f"InboundCallStateChange {'/'.join(events)}" + (f" for {connection}" if connection else "")
    return match


def failure_of(topic: str, subtopic: str) -> Callable[[Any], bool]:
    """Matches the failure of a request: ``<subtopic>Failed`` on the request's topic (E502)."""

    def match(message: Any) -> bool:
        matched: bool = message.get("topic") == topic and message.get("subtopic") == f"{subtopic}Failed"
        return matched

    match.__name__ = f"{topic}/{subtopic}Failed"
    return match


def either(*predicates: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def match(message: Any) -> bool:
        return any(p(message) for p in predicates)

    match.__name__ = " or ".join(getattr(p, "__name__", "?") for p in predicates)
    return match


def validated(message: Any) -> Any:
    """The message, once it matches a message of specs/connect.asyncapi.yaml (raises ConformanceFailure)."""
    expect_notification(message, system="connect")
    return message


def short(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False)[:300]


def expect_failure(message: Any, topic: str, subtopic: str, error_type: str, text: str) -> None:
    """The failure envelope of E502 with the documented error type and message (the members E502 requires from
    every target: topic, subtopic, message.errorType, message.message)."""
    body = message.get("message") if isinstance(message.get("message"), dict) else {}
    problems = []
    if message.get("topic") != topic or message.get("subtopic") != f"{subtopic}Failed":
        problems.append(
            f"topic/subtopic {message.get('topic')}/{message.get('subtopic')}, expected {topic}/{subtopic}Failed"
        )
    if body.get("errorType") != error_type:
        problems.append(f"errorType {body.get('errorType')!r}, expected {error_type!r}")
    if not isinstance(body.get("message"), str):
        problems.append(f"message {body.get('message')!r} is not a text")
    elif body.get("message") != text:  # human-readable: the documents' wording is advisory
        advise(
            f"{topic} {subtopic} failure: message {body.get('message')!r}, the documents word it {text!r}",
            basis="004 l.98-110 list the failure texts as human-readable messages; errorType identifies the "
            "failure (E502)",
        )
    if problems:
        raise ConformanceFailure(f"{topic} {subtopic} failure: " + "; ".join(problems) + f" — {short(message)}")
    validated(message)


def connection_id(view: dict[str, Any]) -> str:
    contact = cast(dict[str, Any], view.get("contact")) if isinstance(view.get("contact"), dict) else view
    value = contact.get("connectionId")
    if not value:
        raise EventFailed(f"the control API did not say which connection it offered: {short(view)}")
    return str(value)


def button_problems(call: dict[str, Any]) -> list[str]:
    """E504's rules for ButtonStates and ResponseActual.buttonStates (values are the target's to choose)."""
    states = cast(dict[str, Any], call.get("ButtonStates")) if isinstance(call.get("ButtonStates"), dict) else {}
    items = states.get("items") if isinstance(states.get("items"), dict) else None
    actual = cast(dict[str, Any], call.get("ResponseActual")) if isinstance(call.get("ResponseActual"), dict) else {}
    flags = actual.get("buttonStates") if isinstance(actual.get("buttonStates"), dict) else None
    if items is None or flags is None:
        return ["ButtonStates.items or ResponseActual.buttonStates is missing"]
    problems = []
    odd = {k: v for k, v in items.items() if v not in ("Enable", "Hide")}
    if odd:
        problems.append(f"items other than Enable/Hide: {odd}")
    if states.get("count") != len(items):
        problems.append(f"count {states.get('count')!r} but {len(items)} items")
    missing = [b for b in BUTTONS if b not in items]
    if missing:
        problems.append(f"items without {missing}")
    if set(flags) != set(items):
        problems.append(f"buttonStates keys {sorted(flags)} differ from the items {sorted(items)}")
    mismatched = [k for k in items if k in flags and flags[k] is not (items[k] == "Enable")]
    if mismatched:
        problems.append(f"buttonStates do not mirror Enable/Hide for {mismatched}")
    return problems


# ---- the bus, as a test uses it ------------------------------------------------------------------------------------
class Bus:
    """One agent's bus: send a request, await its answer by content; every message received is validated."""

    def __init__(self, client: WsClient, agent: str) -> None:
        self.client = client
        self.agent = agent

    def send(self, message: Any) -> None:
        self.client.send(message)

    def await_(self, predicate: Callable[[Any], bool], description: str | None = None) -> Any:
        return validated(self.client.await_message(predicate, description=description))

    def ask(self, message: dict[str, Any], *answers: Callable[[Any], bool]) -> Any:
        """Send ``message``; the first message matching one of ``answers``."""
        self.send(message)
        wanted = either(*answers)
        return self.await_(wanted, f"answer to {message['topic']}/{message['subtopic']} ({wanted.__name__})")

    def received(self) -> list[Any]:
        return self.client.messages

    def validate_all(self) -> None:
        """Every message received so far matches the contract (the first that does not fails)."""
        for message in self.received():
            validated(message)


def _reset_over_bus(bus: Callable[..., WsClient], agent: str) -> None:
    """Without a control API: end any call and go Available with the bus's own requests (answers ignored)."""
    client = bus(agent)
    try:
        client.send(request(INBOUND, "Disconnect"))
        client.send(request("Agent", "Update", dict(AVAILABLE)))
        client.await_message(lambda m: m.get("topic") == "Agent", description="answer to Agent/Update (reset)")
    except ConformanceFailure:
        pass
    finally:
        client.close()


def clean_agent(agent: str, events: ConnectLab, bus: Callable[..., WsClient]) -> None:
    if events.resettable:
        events.reset_agent(agent)
    else:
        _reset_over_bus(bus, agent)


def offer(events: ConnectLab, bus: Bus, caller: str = CALLER, dialled: str | None = DIALLED) -> tuple[str, Any]:
    """An incoming call to the bus's agent; returns its connection id and the connecting event."""
    connection = connection_id(events.incoming_call(bus.agent, caller, dialled))
    event = bus.await_(call_event("connecting", connection), "InboundCallStateChange connecting")
    return connection, event


def answer(bus: Bus, connection: str) -> Any:
    """Answer the offered call; the connected event (fails on AnswerFailed)."""
    reply = bus.ask(request(INBOUND, "Answer"), call_event("connected", connection), failure_of(INBOUND, "Answer"))
    if not call_event("connected", connection)(reply):
        raise ConformanceFailure(
            f"Answer of the offered call {connection} was refused: {short(reply)}", rule="CONNECT-ANSWER-002"
        )
    return reply


def refused(
    bus: Bus, subtopic: str, data: Any = None, *, topic: str = INBOUND, success: Callable[[Any], bool] | None = None
) -> None:
    """``subtopic`` must fail with its documented error (E502, E510) and nothing must succeed."""
    error_type, text = FAILURES[subtopic]
    success = success or call_event(("connected", "hold", "ACW", "Dropped"))
    reply = bus.ask(request(topic, subtopic, data), failure_of(topic, subtopic), success)
    if success(reply):
        raise ConformanceFailure(
            f"{topic} {subtopic} succeeded although its precondition does not hold: {short(reply)}"
        )
    expect_failure(reply, topic, subtopic, error_type, text)
    late = [m for m in bus.client.inbox.pending if success(m)]
    if late:
        raise ConformanceFailure(f"{topic} {subtopic} was refused and yet succeeded: {short(late[0])}")
