"""Platform refusals. Each class carries the HTTP status and ErrorBody code it is answered with, so the
adapter renders every refusal the same way (ErrorBody on /api/v2, {error, description} on /oauth)."""

from __future__ import annotations

from mockserver.domain.errors import VoicekitError

# Texts decided by the errata (E406, E407, E408, E413, E414) or taken from the seeds.
USER_CONTEXT = "This request requires a user context. Client credentials cannot be used for requests to this resource."
NOT_PARTICIPANT = "Only the user associated with this participant can answer or place this call."
NOT_VALID_STATE = "User is not in a valid state"
INVALID_PHONE = "Invalid phone number format"
INSUFFICIENT = "Insufficient permissions"


class PlatformError(VoicekitError):
    """A refusal answered with an ErrorBody."""

    status = 400
    code = "bad.request"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, params: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.details: list[dict[str, str]] = []
        if field:
            self.details.append({"errorCode": self.code, "fieldName": field})
        self.params = dict(params or {})
        self.headers: dict[str, str] = {}


class BadRequest(PlatformError):
    status, code = 400, "bad.request"


class InvalidValue(PlatformError):
    status, code = 400, "invalid.value"


class UserContextRequired(BadRequest):
    """000 l.96-99 (E400, E408): a client-credentials token on an operation that needs a user."""

    def __init__(self) -> None:
        super().__init__(USER_CONTEXT)


class AuthenticationRequired(PlatformError):
    status, code = 401, "authentication.required"


class BadCredentials(PlatformError):
    status, code = 401, "bad.credentials"


class CredentialsExpired(PlatformError):
    status, code = 401, "credentials.expired"


class NotAuthorized(PlatformError):
    status, code = 403, "not.authorized"


class MissingPermissions(PlatformError):
    status, code = 403, "missing.permissions"


class NotFound(PlatformError):
    status, code = 404, "not.found"


class Conflict(PlatformError):
    status, code = 409, "conflict"


class TooManyRequests(PlatformError):
    """E417: always with Retry-After, so the SDK retries by itself."""

    status, code = 429, "too.many.requests.retry.after"

    def __init__(self, retry_after: int, count: int, allowed: int) -> None:
        super().__init__(f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds")
        self.retry_after = retry_after
        self.params = {"retryAfter": str(retry_after)}
        self.headers = {
            "Retry-After": str(retry_after),
            "inin-ratelimit-count": str(count),
            "inin-ratelimit-allowed": str(allowed),
            "inin-ratelimit-reset": str(retry_after),
        }


class OAuthFailure(VoicekitError):
    """A refusal of the login host: {error, description} (RFC 6749 error codes)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
