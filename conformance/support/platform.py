"""Platform API: what its answers and notifications must be, and how to read them — the participant readers,
the ErrorBody and acceptance checks of the errata (E402, E418), AsyncAPI validation of notifications, and the
OAuth helpers (HTTP Basic client authentication, PKCE). The clients that use them are in
:mod:`conformance.support.platform_kit`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from conformance.advisory import advise
from conformance.checks import expect
from conformance.evidence import attach, step
from conformance.failures import ConformanceFailure
from conformance.loading import default_contracts
from conformance.transport.http import HttpResponse

__all__ = [
    "ACCEPTED",
    "ACTIVE",
    "EXTERNAL",
    "FORCE_DISCONNECT",
    "FORMATTED",
    "INSUFFICIENT",
    "INVALID_PHONE",
    "NOT_VALID_STATE",
    "QUIET",
    "SAML2_GRANT",
    "USER_CONTEXT",
    "VALID_E164",
    "active_legs",
    "basic",
    "ended",
    "expect_accepted",
    "expect_error",
    "leg",
    "note",
    "others",
    "participant_path",
    "participants",
    "pkce_challenge",
    "pkce_pair",
    "schema_problems",
    "state_of",
    "summary",
    "user_of",
    "validated_message",
]

ACCEPTED = (200, 201, 202, 203, 204, 205)  # what the SDK takes for Make Call and answer (E402, E418)
USER_CONTEXT = (
    "This request requires a user context. Client credentials cannot be used for requests to this resource."  # E408
)
NOT_VALID_STATE = "User is not in a valid state"  # 001 l.307, E406
INVALID_PHONE = "Invalid phone number format"  # 001 l.303, E414
INSUFFICIENT = "Insufficient permissions"  # 001 l.311, E413
EXTERNAL = "+15551234567"  # 001 l.101 and l.264: the tutorial's E.164 recipient
VALID_E164 = "+14155552671"  # 001 l.306: the documented good form
FORMATTED = "(415) 555-2671"  # the same number with the formatting 001 l.305-306 forbids (E414's replay value)
FORCE_DISCONNECT = "ForceDisconnect@localhost"  # 000 l.244-251
SAML2_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
QUIET = 1.0  # seconds without a notification that show a request was not processed (E412)
ACTIVE = frozenset({"alerting", "dialing", "contacting", "offering", "connected"})


# ---- participants --------------------------------------------------------------------------------------------------
def participants(body: Any) -> list[dict[str, Any]]:
    items = body.get("participants") if isinstance(body, dict) else None
    return [p for p in items or [] if isinstance(p, dict)]


def user_of(participant: dict[str, Any]) -> str | None:
    user = participant.get("user")
    if isinstance(user, dict) and user.get("id"):
        return str(user["id"])
    return str(participant["userId"]) if participant.get("userId") else None


def leg(body: Any, *, pid: str | None = None, user_id: str | None = None) -> dict[str, Any] | None:
    """The participant with id ``pid`` or (the latest one) of user ``user_id``, in a CallConversation or an event."""
    found = [
        p
        for p in participants(body)
        if (pid is None or p.get("id") == pid) and (user_id is None or user_of(p) == user_id)
    ]
    return found[-1] if found else None


def state_of(body: Any, *, pid: str | None = None, user_id: str | None = None) -> str | None:
    found = leg(body, pid=pid, user_id=user_id)
    return None if found is None else found.get("state")


def active_legs(body: Any) -> list[dict[str, Any]]:
    return [p for p in participants(body) if p.get("state") in ACTIVE]


def ended(body: Any) -> bool:
    """Every participant has left (a call that is over)."""
    legs = participants(body)
    return bool(legs) and not active_legs(body)


def others(body: Any, user_id: str) -> list[dict[str, Any]]:
    """The participants that are not ``user_id``'s (the far end, a flow, the other user)."""
    return [p for p in participants(body) if user_of(p) != user_id]


def summary(body: Any) -> str:
    """``purpose/state`` of each participant, for failure messages."""
    return (
        ", ".join(
            f"{p.get('purpose')}({user_of(p) or p.get('address') or '-'})={p.get('state')}" for p in participants(body)
        )
        or "no participants"
    )


def participant_path(endpoint: str, conversation_id: str, participant_id: str) -> str:
    """The two answer endpoints of 000 l.42 and l.44."""
    if endpoint == "calls":
        return f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}"
    return f"/api/v2/conversations/{conversation_id}/participants/{participant_id}"


# ---- checks --------------------------------------------------------------------------------------------------------
def note(text: str) -> None:
    """A remark that is not a failure (e.g. another accepted 2xx than the one the errata expect)."""
    with step(f"note: {text}"):
        attach(text, "note", "text")


def schema_problems(response: HttpResponse, status: int) -> list[str]:
    """Problems of the body against the OpenAPI schema of ``status`` (for bodies answered with another accepted
    status, which the contract does not declare)."""
    contracts = default_contracts()
    op = contracts.find_operation("platform", response.method, response.path.split("?", 1)[0])
    refs = contracts.response_schema_refs(op, status) if op is not None else []
    if not refs:
        return []
    body = response.json_or_none()
    found = [contracts.errors(ref, body) for ref in refs]
    return [] if any(not f for f in found) else found[0]


def expect_accepted(response: HttpResponse, expected: int, what: str) -> Any:
    """A success the SDK accepts (200–205): the body must still match the schema of ``expected``; another status
    is noted, not failed (E402, E418)."""
    body = expect(response, status=ACCEPTED)
    problems = schema_problems(response, expected)
    if problems:
        raise ConformanceFailure(
            f"{response.method} {response.path} answered {response.status} with a body that is "
            f"not the documented one ({what}): " + "; ".join(problems[:4]),
            title="Response does not match the schema",
        )
    if response.status != expected:
        note(
            f"{what}: {response.method} {response.path} answered {response.status}; the errata expect {expected} "
            "(the SDK accepts 200-205)"
        )
    return body


MESSAGE_TEXT_BASIS = (
    "the ErrorBody message is human-readable text: 000 l.96-98 give the HTTP status only, and "
    "001 l.303-314 quote texts as examples of what a client sees"
)


def expect_error(response: HttpResponse, status: int, code: str | None = None, message: str | None = None) -> Any:
    """An ErrorBody (checks ``platform_error_body`` and the operation's error schema) with the decided status and
    ``code``; another ``message`` text than the documented one is an advisory finding."""
    body = expect(response, status=status)
    problems = []
    if code is not None and body.get("code") != code:
        problems.append(f"code is {body.get('code')!r}, expected {code!r}")
    if message is not None and body.get("message") != message:
        advise(
            f"{response.method} {response.path} → {status}: message is {body.get('message')!r}, the documents "
            f"show {message!r}",
            basis=MESSAGE_TEXT_BASIS,
        )
    if problems:
        raise ConformanceFailure(
            f"{response.method} {response.path} → {status}: " + "; ".join(problems), title="Wrong error"
        )
    return body


def validated_message(message: Any, name: str) -> Any:
    """``message`` once it matches the AsyncAPI message ``name`` of specs/platform.asyncapi.yaml."""
    contracts = default_contracts()
    refs = dict(contracts.message_payload_refs("platform"))
    problems = contracts.errors(refs[name], message)
    if problems:
        raise ConformanceFailure(
            f"platform notification is not a {name}: " + "; ".join(problems[:5]),
            title="Notification does not match the AsyncAPI contract",
        )
    return message


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic client authentication of the token endpoint."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier (RFC 7636; the SDK's compute_pkce_code_challenge)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636; what the SDK's compute_pkce_code_challenge makes)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)
