"""The request path's shortcuts change no answer: a body is remembered only once found valid (an invalid one is
refused every time), and the journal keeps raw bytes only for bodies that cannot hold a secret."""

from __future__ import annotations

import pytest

from mockserver.domain.errors import ValidationFailed
from mockserver.gws import bodies
from mockserver.journal import Entry, Journal
from voicekit.contracts import Contracts
from voicekit.exchanges import ExchangeJudge

CALL = "/api/v2/me/calls/0123"


@pytest.fixture(scope="module")
def contracts() -> Contracts:
    return Contracts()


def test_a_valid_body_is_validated_once(contracts: Contracts, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies.validate(contracts, "POST", CALL, {"operationName": "Hold"})
    monkeypatch.setattr(contracts, "errors", lambda *a, **k: pytest.fail("validated again"))
    bodies.validate(contracts, "POST", CALL, {"operationName": "Hold"})


def test_an_invalid_body_is_refused_every_time(contracts: Contracts) -> None:
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            bodies.validate(contracts, "POST", CALL, {"operationName": "Teleport"})
    with pytest.raises(ValidationFailed):  # same members, other type: not the remembered valid body
        bodies.validate(contracts, "POST", CALL, {"operationName": ["Hold"]})


def test_the_memo_is_bounded(contracts: Contracts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "VALID_CACHE_SIZE", 2)
    for name in ("Hold", "Retrieve", "Answer"):
        bodies.validate(contracts, "POST", CALL, {"operationName": name})
    assert len(contracts.valid_memo) <= 2


def _record(journal: Journal, body: bytes, response: bytes = b'{"statusCode":0}') -> Entry | None:
    return journal.record_http(
        system="gws",
        method="POST",
        path=CALL,
        api_path=CALL,
        query={},
        user="u",
        request_bytes=body,
        request_type="application/json",
        status=200,
        response_bytes=response,
        response_type="application/json",
        duration_ms=1.0,
    )


@pytest.mark.parametrize(
    "body", [b'{"operationName":"Login","password":"s3cret"}', b'{"operationName":"Login","p\\u0061ssword":"s3cret"}']
)
def test_a_body_that_may_hold_a_secret_is_redacted_at_once(contracts: Contracts, body: bytes) -> None:
    entry = _record(Journal(ExchangeJudge(contracts)), body)
    assert entry is not None and entry.bodies is None  # shaped now: the raw bytes are not kept
    assert "s3cret" not in str(entry.request)


def test_other_bodies_are_parsed_when_read(contracts: Contracts) -> None:
    entry = _record(Journal(ExchangeJudge(contracts)), b'{"operationName":"Hold"}')
    assert entry is not None and entry.bodies is not None
    shown = entry.as_dict()
    assert shown["request"] == {"operationName": "Hold"} and shown["response"] == {"statusCode": 0}
    assert entry.bodies is None


def test_a_flag_named_like_a_secret_is_shown_and_not_redacted_at_once(contracts: Contracts) -> None:
    """GWS's user carries ``changePasswordOnFirstLogin``: a flag, not a secret (every GET /me was redacted at once)."""
    me = b'{"statusCode":0,"user":{"userName":"u","changePasswordOnFirstLogin":false}}'
    entry = _record(Journal(ExchangeJudge(contracts)), b"", response=me)
    assert entry is not None and entry.bodies is not None  # kept raw until read
    assert entry.as_dict()["response"]["user"]["changePasswordOnFirstLogin"] is False


@pytest.mark.parametrize(
    "body",
    [b'{"password": 1234}', b'{"code" : "abc"}', b'{"token":{"value":"s3cret"}}', b'{"clientSecret":["s3cret"]}'],
)
def test_a_secret_of_any_shape_is_redacted_at_once(contracts: Contracts, body: bytes) -> None:
    entry = _record(Journal(ExchangeJudge(contracts)), body)
    assert entry is not None and entry.bodies is None
    assert "s3cret" not in str(entry.request) and "1234" not in str(entry.request) and "abc" not in str(entry.request)


def test_the_session_cookie_is_written_as_werkzeug_writes_it() -> None:
    import secrets

    from flask import Response

    from mockserver.gws import security

    for _ in range(200):
        session_id = secrets.token_urlsafe(18)
        ours, theirs = Response(), Response()
        security.set_session_cookie(ours, session_id)
        theirs.set_cookie(security.SESSION_COOKIE, session_id, path="/", httponly=True)
        assert ours.headers.getlist("Set-Cookie") == theirs.headers.getlist("Set-Cookie")
