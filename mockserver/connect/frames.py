"""Turn one received WebSocket frame into a bus request, or into voicekit's own error (E513).

The bus carries one JSON message per text frame (specs/connect.asyncapi.yaml). A frame the bus cannot
handle is answered, to the sending socket only, with VoicekitError on channel ``voicekit``:

- MalformedMessage — binary frame, frame over the size limit, not JSON, or JSON but not an object;
- InvalidMessage — an object that breaks the request envelope (BusRequest: channel "Amazon", topic,
  subtopic and source strings) or the payload schema of its request (e.g. Hold without data);
- UnknownMessage — a valid envelope whose topic/subtopic pair is no request of the contract.

Validation goes through :class:`voicekit.contracts.Contracts`, so the schemas are the contract's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver import jsonsafe
from mockserver.domain.connect import REQUESTS
from voicekit.contracts import Contracts

ERROR_DESCRIPTION = "voicekit mock error; not part of the Amazon Connect bus."
RECEIVED_LIMIT = 1024  # characters of the offending frame echoed back in `received`

# (topic, subtopic) → AsyncAPI message name of the request (the `send` operations of the contract).
REQUEST_MESSAGES = {
    ("InboundCall", "Answer"): "InboundCallAnswer",
    ("InboundCall", "Hold"): "InboundCallHold",
    ("InboundCall", "Resume"): "InboundCallResume",
    ("InboundCall", "Disconnect"): "InboundCallDisconnect",
    ("Agent", "SetNotReady"): "AgentSetNotReady",
    ("Agent", "Update"): "AgentUpdate",
}

_KINDS = {
    "MalformedMessage": "VOICEKIT_MALFORMED_MESSAGE",
    "InvalidMessage": "VOICEKIT_INVALID_MESSAGE",
    "UnknownMessage": "VOICEKIT_UNKNOWN_MESSAGE",
}


@dataclass(frozen=True)
class Request:
    """A frame that is a valid bus request."""

    topic: str
    subtopic: str
    data: Any
    source: str


def voicekit_error(
    subtopic: str, message: str, received: Any = None, errors: list[str] | None = None, *, with_received: bool = True
) -> dict[str, Any]:
    """The VoicekitError message (schemas/connect/VoicekitError.json)."""
    error_type = _KINDS[subtopic]
    body: dict[str, Any] = {
        "errorType": error_type,
        "code": error_type,
        "message": message,
        "description": ERROR_DESCRIPTION,
    }
    if with_received:
        body["received"] = received
    if errors:
        body["errors"] = errors
    return {"channel": "voicekit", "topic": "Error", "subtopic": subtopic, "message": body}


class FrameReader:
    """Checks frames against the contract; one instance per app (validators are cached)."""

    def __init__(self, contracts: Contracts, max_bytes: int) -> None:
        self.contracts = contracts
        self.max_bytes = max_bytes
        payloads = dict(contracts.message_payload_refs("connect", None))
        missing = [name for name in REQUEST_MESSAGES.values() if name not in payloads]
        if missing or set(REQUEST_MESSAGES) != set(REQUESTS):
            raise RuntimeError(f"connect contract and adapter disagree on the requests (missing {missing})")
        self.request_refs = {key: payloads[name] for key, name in REQUEST_MESSAGES.items()}
        self.envelope_ref = contracts.uri_of("schemas/connect/BusRequest.json") + "#"

    def read(self, frame: str | bytes) -> Request | dict[str, Any]:
        """A :class:`Request`, or the VoicekitError message to send back."""
        if isinstance(frame, bytes | bytearray):
            return voicekit_error(
                "MalformedMessage",
                "Binary frame; the bus carries one JSON message per text frame.",
                _clip(bytes(frame).decode("utf-8", errors="replace")),
            )
        size = len(frame.encode("utf-8", errors="replace"))
        if size > self.max_bytes:
            limit = f"Frame of {size} bytes exceeds the {self.max_bytes}-byte limit; not parsed."
            return voicekit_error("MalformedMessage", limit, _clip(frame))
        try:
            value = jsonsafe.loads(frame)
        except jsonsafe.JsonRefused as exc:
            return voicekit_error("MalformedMessage", f"Frame is not JSON: {_reason(exc)}.", _clip(frame))
        received = _echo(value, frame)
        if not isinstance(value, dict):
            return voicekit_error("MalformedMessage", "Frame is not a JSON object.", received)
        problems = self.contracts.errors(self.envelope_ref, value)
        if problems:
            return voicekit_error("InvalidMessage", "Frame is not a valid bus request envelope.", received, problems)
        key = (value["topic"], value["subtopic"])
        if key not in self.request_refs:
            return voicekit_error("UnknownMessage", f"No message {key[0]}/{key[1]} on this bus.", received)
        problems = self.contracts.errors(self.request_refs[key], value)
        if problems:
            return voicekit_error("InvalidMessage", f"Invalid {key[0]}/{key[1]} request.", received, problems)
        return Request(topic=key[0], subtopic=key[1], data=value.get("data"), source=value["source"])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).rstrip(".")


def _clip(text: str) -> str:
    return text[:RECEIVED_LIMIT]


def _echo(value: Any, frame: str) -> Any:
    """The parsed frame when it is small enough to echo whole, else the raw text, clipped."""
    if len(frame) <= RECEIVED_LIMIT:
        return value
    return _clip(frame)
