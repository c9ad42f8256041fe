"""Refusals of the Connect bus domain.

Two families, kept apart because their audiences differ:

- :class:`BusRefusal` — a bus request that cannot be carried out. Each subclass is one documented error
  type (004 l.98-110 for ANSWER_CALL_FAILED, the field notes for the family); the adapter turns it into
  the failure event of E502 ``{channel: Amazon, topic, subtopic: "<Request>Failed", message: {...}}``.
- :class:`ControlRefusal` — something the control API was asked that the simulated world cannot do
  (unknown agent, agent busy, bad argument); the control adapter maps it to an HTTP status.

``detail`` says why, for logs and tests; the wire carries only the documented text.
"""

from __future__ import annotations

from typing import ClassVar

from mockserver.domain.errors import VoicekitError

# The text 004 prints in the "Code" column; E503 keeps it as `description` for every error type.
FAILURE_DESCRIPTION = "Amazon Connect Failure Error Message."


class BusRefusal(VoicekitError):
    """A refused bus request. Refusals never change state (each operation checks before it mutates)."""

    error_type: ClassVar[str] = ""
    text: ClassVar[str] = ""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, str]:
        """The failure body of E502/E503: errorType, code (= the error type), message, description."""
        return {
            "errorType": self.error_type,
            "code": self.error_type,
            "message": self.text,
            "description": FAILURE_DESCRIPTION,
        }


class AnswerCallFailed(BusRefusal):
    error_type = "ANSWER_CALL_FAILED"
    text = "Answering call failed."


class HoldCallFailed(BusRefusal):
    error_type = "HOLD_CALL_FAILED"
    text = "Call hold failed."


class ResumeCallFailed(BusRefusal):
    error_type = "RESUME_CALL_FAILED"
    text = "Resuming call failed."


class DisconnectCallFailed(BusRefusal):
    error_type = "DISCONNECT_CALL_FAILED"
    text = "Disconnecting call failed."


class UpdateAgentStateFailed(BusRefusal):
    error_type = "UPDATE_AGENT_STATE_FAILED"
    text = "Agent state change failed."


class AgentStateNotFound(BusRefusal):
    error_type = "AGENT_STATE_NOT_FOUND"
    text = "Specified Agent State not found."


class ControlRefusal(VoicekitError):
    """A control-API request the world refuses; ``kind`` is not-found, conflict or invalid."""

    kind: ClassVar[str] = "invalid"


class UnknownAgent(ControlRefusal):
    kind = "not-found"


class UnknownState(ControlRefusal):
    kind = "not-found"


class Conflict(ControlRefusal):
    kind = "conflict"


class InvalidArgument(ControlRefusal):
    kind = "invalid"
