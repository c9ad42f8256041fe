"""OAuth on the login host and bearer tokens on the API host (000 l.88-99, 001 l.24-77, E400, E416).

Only user grants (implicit, authorization code, PKCE, SAML2 bearer, and refresh of those) give a token with a
user; client credentials give a token without one, which the call operations refuse (E400, E408). There is no
login page: /oauth/authorize logs in the configured test user at once (login_hint, the control API's login
user, the client's loginUser, in that order).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from mockserver.domain.platform import errors
from mockserver.domain.platform.model import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    IMPLICIT,
    PKCE,
    REFRESH_TOKEN,
    SAML2_BEARER,
    AuthorizationCode,
    OAuthClient,
    RefreshToken,
    Token,
    User,
)
from mockserver.domain.platform.world import PlatformWorld

SAML2_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:saml2-bearer"
# Seed 001's scope names are accepted as aliases of the real ones (E413).
SCOPE_ALIASES = {"conversation:call:create": "conversations", "user:read": "users:readonly"}
_NAME_ID = re.compile(r"<(?:[\w-]+:)?NameID\b[^>]*>\s*([^<\s][^<]*?)\s*</(?:[\w-]+:)?NameID>", re.S)


# ---- the API host: bearer tokens -------------------------------------------------------------------
def authenticate(world: PlatformWorld, authorization: str | None) -> Token:
    """The token of an ``Authorization: Bearer`` header, or the 401 the real service gives."""
    if not authorization or not authorization.strip():
        raise errors.AuthenticationRequired("No authentication bearer token specified in authorization header.")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise errors.AuthenticationRequired("No authentication bearer token specified in authorization header.")
    with world.lock:
        token = world.tokens.get(value)
        if token is None:
            raise errors.BadCredentials("Invalid login credentials.")
        if world.now() >= token.expires:
            raise errors.CredentialsExpired("The bearer token has expired.")
        if token.user_id is not None and token.user_id not in world.users:
            raise errors.BadCredentials("Invalid login credentials.")
        return token


def require_user(world: PlatformWorld, token: Token) -> User:
    """000 l.96-99: a client-credentials token has no user context (400, E408)."""
    if token.user_id is None:
        raise errors.UserContextRequired()
    return world.user(token.user_id)


def effective_scopes(scopes: Iterable[str]) -> set[str]:
    return {SCOPE_ALIASES.get(s, s) for s in scopes}


def has_scope(token: Token, alternatives: Iterable[str]) -> bool:
    """Any of the alternatives; a write scope also grants its ``:readonly`` variant."""
    wanted = list(alternatives)
    if token.scopes is None or not wanted:
        return True
    granted = effective_scopes(token.scopes)
    for scope in effective_scopes(wanted):
        if scope in granted or (scope.endswith(":readonly") and scope.removesuffix(":readonly") in granted):
            return True
    return False


def require_scope(token: Token, alternatives: Iterable[str]) -> None:
    """001 l.311-314, E413: 403 missing.permissions "Insufficient permissions"."""
    wanted = list(alternatives)
    if not has_scope(token, wanted):
        raise errors.MissingPermissions(errors.INSUFFICIENT, params={"scope": " or ".join(wanted)})


# ---- issuing -----------------------------------------------------------------------------------------
def issue(
    world: PlatformWorld,
    client: OAuthClient,
    user_id: str | None,
    grant: str,
    scopes: frozenset[str] | None = None,
    lifetime: float | None = None,
) -> Token:
    with world.lock:
        if lifetime is None:
            lifetime = client.token_lifetime if client.token_lifetime is not None else world.settings.token_lifetime
        token = Token(
            value=secrets.token_urlsafe(32),
            client_id=client.id,
            user_id=user_id,
            grant=grant,
            scopes=client.scopes if scopes is None else scopes,
            issued=world.now(),
            expires=world.now() + lifetime,
        )
        while world.max_tokens and len(world.tokens) >= world.max_tokens:
            del world.tokens[next(iter(world.tokens))]  # the oldest issued: bounded memory, like a real token store
        world.tokens[token.value] = token
        return token


def _response(world: PlatformWorld, token: Token, *, refresh: bool) -> dict[str, object]:
    """The token response; a refresh token descends from the same authorization code as ``token``."""
    body: dict[str, object] = {
        "access_token": token.value,
        "token_type": "bearer",
        "expires_in": max(0, round(token.expires - token.issued)),
    }
    if refresh and token.user_id is not None:
        value = secrets.token_urlsafe(32)
        world.refresh_tokens[value] = RefreshToken(value, token.client_id, token.user_id, token.scopes, token.code)
        body["refresh_token"] = value
    return body


def _client(world: PlatformWorld, client_id: str | None) -> OAuthClient:
    client = world.clients.get(client_id or "")
    if client is None:
        raise errors.OAuthFailure("invalid_client", "client not found", 401)
    return client


def _authenticated_client(world: PlatformWorld, basic: tuple[str, str] | None) -> OAuthClient:
    if basic is None:
        raise errors.OAuthFailure("invalid_client", "client authentication (HTTP Basic) is required", 401)
    if world.auth_failures.locked(basic[0]):
        raise errors.OAuthFailure("invalid_client", "client authentication failed", 401)
    client = _client(world, basic[0])
    if client.secret is None or not _same(basic[1], client.secret):
        world.auth_failures.failed(basic[0])
        raise errors.OAuthFailure("invalid_client", "client authentication failed", 401)
    return client


def _same(given: str, expected: str) -> bool:
    """Constant time, on UTF-8 bytes: any character in a secret or verifier is a mismatch, never an error."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def _require_grant(client: OAuthClient, *grants: str) -> None:
    if not client.grants.intersection(grants):
        raise errors.OAuthFailure("unauthorized_client", f"client {client.id} may not use this grant type")


def token_request(world: PlatformWorld, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, object]:
    """POST /oauth/token with the form the SDK sends for each grant."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise errors.OAuthFailure("invalid_request", "grant_type is required")
    with world.lock:
        if grant_type == "client_credentials":
            client = _authenticated_client(world, basic)
            _require_grant(client, CLIENT_CREDENTIALS)
            return _response(world, issue(world, client, None, CLIENT_CREDENTIALS), refresh=False)
        if grant_type == "authorization_code":
            return _exchange_code(world, form, basic)
        if grant_type == "refresh_token":
            return _refresh(world, form, basic)
        if grant_type == SAML2_GRANT_TYPE:
            return _saml2(world, form, basic)
    raise errors.OAuthFailure("unsupported_grant_type", f"grant type {grant_type} is not supported")


def _exchange_code(world: PlatformWorld, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, object]:
    verifier = form.get("code_verifier")
    if basic is not None:
        client = _authenticated_client(world, basic)
    elif verifier is not None:  # PKCE: a public client names itself
        client = _client(world, form.get("client_id"))
    else:
        raise errors.OAuthFailure(
            "invalid_client", "client authentication (HTTP Basic) or a PKCE code_verifier is required", 401
        )
    _require_grant(client, AUTHORIZATION_CODE if basic is not None else PKCE)
    code = world.codes.get(form.get("code") or "")
    if code is not None and code.used:
        revoke_descendants(world, code.value)  # RFC 6749 §4.1.2: a reused code revokes what it issued
        raise errors.OAuthFailure("invalid_grant", "authorization code is invalid or expired")
    if code is None or world.now() >= code.expires or code.client_id != client.id:
        raise errors.OAuthFailure("invalid_grant", "authorization code is invalid or expired")
    if form.get("redirect_uri") != code.redirect_uri:
        raise errors.OAuthFailure("invalid_grant", "redirect_uri does not match the authorization request")
    if code.challenge is not None:
        if verifier is None:
            raise errors.OAuthFailure("invalid_grant", "code_verifier is required for this code")
        if not _same(pkce_challenge(verifier, code.method or "S256"), code.challenge):
            raise errors.OAuthFailure("invalid_grant", "code_verifier does not match the code challenge")
    elif basic is None:
        raise errors.OAuthFailure("invalid_grant", "this code was not issued with a PKCE code challenge")
    if code.user_id not in world.users:
        raise errors.OAuthFailure("invalid_grant", "the user of this code no longer exists")
    code.used = True
    token = issue(world, client, code.user_id, PKCE if code.challenge is not None else AUTHORIZATION_CODE)
    token.code = code.value
    return _response(world, token, refresh=True)


def prune_expired(world: PlatformWorld) -> int:
    """Forget expired access tokens and authorization codes (housekeeping); returns how many."""
    with world.lock:
        now = world.now()
        tokens = [v for v, t in world.tokens.items() if t.expires <= now]
        codes = [v for v, c in world.codes.items() if c.expires <= now]
        for value in tokens:
            del world.tokens[value]
        for value in codes:
            del world.codes[value]
    return len(tokens) + len(codes)


def revoke_descendants(world: PlatformWorld, code: str) -> None:
    """Every access and refresh token issued from ``code``, directly or through refreshes."""
    for value in [v for v, t in world.tokens.items() if t.code == code]:
        del world.tokens[value]
    for value in [v for v, t in world.refresh_tokens.items() if t.code == code]:
        del world.refresh_tokens[value]


def _refresh(world: PlatformWorld, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, object]:
    client = _authenticated_client(world, basic) if basic is not None else _client(world, form.get("client_id"))
    if basic is None and client.secret is not None:
        raise errors.OAuthFailure("invalid_client", "client authentication (HTTP Basic) is required", 401)
    stored = world.refresh_tokens.get(form.get("refresh_token") or "")
    if stored is None or stored.client_id != client.id or stored.user_id not in world.users:
        raise errors.OAuthFailure("invalid_grant", "refresh token is invalid or expired")
    del world.refresh_tokens[stored.value]  # rotated: each refresh token is used once
    token = issue(world, client, stored.user_id, REFRESH_TOKEN, stored.scopes)
    token.code = stored.code
    return _response(world, token, refresh=True)


def _saml2(world: PlatformWorld, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, object]:
    client = _authenticated_client(world, basic)
    _require_grant(client, SAML2_BEARER)
    if (form.get("orgName") or "").lower() != world.org["name"].lower():
        raise errors.OAuthFailure("invalid_grant", f"unknown organization {form.get('orgName')!r}")
    subject = saml_subject(form.get("assertion") or "")
    user = world.find_user(subject) if subject else None
    if user is None or user.state != "active":
        raise errors.OAuthFailure("invalid_grant", "the assertion names no user of this organization")
    return _response(world, issue(world, client, user.id, SAML2_BEARER), refresh=False)


def saml_subject(assertion: str) -> str | None:
    """The NameID of a base64 SAML2 assertion. The mock trusts the assertion: no signature is checked."""
    text = assertion.strip()
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            xml = decode(padded).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        match = _NAME_ID.search(xml)
        if match:
            return match.group(1).strip()
    return None


def pkce_challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# ---- the browser login: /oauth/authorize ------------------------------------------------------------
def authorize(world: PlatformWorld, params: Mapping[str, str]) -> str:
    """The Location of the 302 to redirect_uri (token in the fragment, code in the query, or error=...).

    An unknown client or a redirect_uri the client does not allow is raised (400, not redirected)."""
    with world.lock:
        client = world.clients.get(params.get("client_id") or "")
        if client is None:
            raise errors.OAuthFailure("invalid_client", "client not found")
        redirect_uri = params.get("redirect_uri") or ""
        if redirect_uri not in client.redirect_uris:
            raise errors.OAuthFailure("invalid_request", "redirect_uri is not allowed for this client")
        response_type = params.get("response_type")
        state = params.get("state")
        fragment = response_type == "token"
        try:
            user = _logged_in_user(world, client, params.get("login_hint"))
            if response_type == "token":
                _require_grant(client, IMPLICIT)
                token = issue(world, client, user.id, IMPLICIT)
                values = {
                    "access_token": token.value,
                    "expires_in": str(round(token.expires - token.issued)),
                    "token_type": "bearer",
                }
            elif response_type == "code":
                values = {"code": _new_code(world, client, user, redirect_uri, params)}
            else:
                raise errors.OAuthFailure("unsupported_response_type", "response_type must be token or code")
        except errors.OAuthFailure as failure:
            values = {"error": failure.error, "error_description": failure.description}
        if state is not None:
            values["state"] = state
        return _redirect(redirect_uri, values, fragment=fragment)


def _logged_in_user(world: PlatformWorld, client: OAuthClient, hint: str | None) -> User:
    for key in (hint, world.login_user, client.login_user):
        if key:
            user = world.find_user(key)
            if user is None:
                raise errors.OAuthFailure("access_denied", f"no user {key!r} can log in")
            if user.state != "active":
                raise errors.OAuthFailure("access_denied", f"user {user.name} is {user.state}")
            return user
    raise errors.OAuthFailure("access_denied", "no test user is configured to log in")


def _new_code(
    world: PlatformWorld, client: OAuthClient, user: User, redirect_uri: str, params: Mapping[str, str]
) -> str:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method") or ("S256" if challenge else None)
    if challenge is not None:
        _require_grant(client, PKCE, AUTHORIZATION_CODE)
        if method not in ("S256", "plain"):
            raise errors.OAuthFailure("invalid_request", "code_challenge_method must be S256 or plain")
        if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", challenge):
            raise errors.OAuthFailure("invalid_request", "code_challenge is not a valid PKCE challenge")
    else:
        _require_grant(client, AUTHORIZATION_CODE)
    value = secrets.token_urlsafe(24)
    world.codes[value] = AuthorizationCode(
        value,
        client.id,
        user.id,
        redirect_uri,
        challenge,
        method if challenge else None,
        world.now() + world.settings.code_lifetime,
    )
    return value


def _redirect(uri: str, values: Mapping[str, str], *, fragment: bool) -> str:
    encoded = urlencode(values)
    if fragment:
        return f"{uri.split('#', 1)[0]}#{encoded}"
    base = uri.split("#", 1)[0]
    return f"{base}{'&' if '?' in base else '?'}{encoded}"


def client_of(world: PlatformWorld, token: Token) -> OAuthClient | None:
    return world.clients.get(token.client_id)
