"""Domain refusals. Adapters map each class to their documented wire error in one table."""

from __future__ import annotations


class VoicekitError(Exception):
    """Base of every refusal the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GwsError(VoicekitError):
    """A GWS refusal carrying its statusCode (003 l.3539-3574)."""

    status_code = 4


class MissingParameter(GwsError):
    status_code = 1


class InvalidState(GwsError):
    status_code = 2


class Forbidden(GwsError):
    status_code = 3


class ServiceUnavailable(GwsError):
    status_code = 4


class NoPermission(GwsError):
    status_code = 5


class NotFound(GwsError):
    status_code = 6


class ValidationFailed(GwsError):
    status_code = 10


class ReadOnly(GwsError):
    status_code = 11


class AlreadyExists(GwsError):
    status_code = 18


class InUse(GwsError):
    status_code = 19


class NotAuthenticated(GwsError):
    status_code = 20
