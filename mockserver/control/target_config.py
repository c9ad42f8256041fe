"""``GET /control/target-config``: the configuration a suite needs to test this mock, as a tree valid under
specs/schemas/config/TargetConfig.json (its URLs, the seed's users, clients and bus agents, its control API).

Why the mock says it: the seed file is the mock's own business; a kit (``voicekit certify --target mock``) or a
vendor's suite reads this route after starting the mock instead of parsing a private file. Behind the control
guard like every route under the control prefix.

GWS: agents are the ``ROLE_AGENT`` users with a device, in seed order (users whose device is on the ``Public``
telephony network go to ``gws.users`` as ``public_network_agent``); the first ``ROLE_SUPERVISOR`` and ``ROLE_ADMIN``
users. Platform and Connect are published only when the seed has ``platform:``/``connect:`` sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mockserver.config import MockConfig

__all__ = ["init_app", "target_config"]

bp = Blueprint("target_config", __name__)


@bp.get("/target-config")
def published() -> Response:
    config: MockConfig = current_app.config["VOICEKIT"]
    return jsonify(target_config(request.host_url, current_app.extensions["voicekit.seed"], config))


def target_config(base_url: str, seed: Mapping[str, Any], config: MockConfig) -> dict[str, Any]:
    """The tree for a mock reached at ``base_url``, started with ``seed`` and ``config``."""
    base = base_url.rstrip("/")
    tree: dict[str, Any] = {
        "target": {"name": "voicekit mock"},
        "events": {"control_url": f"{base}{config.control_prefix}"},
    }
    if "gws" in seed:
        tree["gws"] = _mock_gws(base, seed["gws"] or {})
    if "platform" in seed:
        tree["platform"] = _mock_platform(f"{base}{config.platform_prefix}", seed["platform"] or {})
    if "connect" in seed:
        ws = "ws" + base[len("http") :] if base.startswith("http") else base
        section = seed["connect"] or {}
        tree["connect"] = {
            "url": f"{ws}{config.connect_prefix}",
            "agents": _mock_connect_agents(section),
            "tokens": _mock_connect_tokens(section),
            "auth": "on" if config.bus_auth else "auto",
        }
    return tree


def init_app(app: Flask) -> None:
    config: MockConfig = app.config["VOICEKIT"]
    app.register_blueprint(bp, url_prefix=config.control_prefix)


def _mock_gws(base: str, gws: Mapping[str, Any]) -> dict[str, Any]:
    devices = {str(d.get("phoneNumber")): d for d in gws.get("devices", []) if isinstance(d, Mapping)}
    out: dict[str, Any] = {"url": base, "agents": [], "users": {}}
    for user in gws.get("users", []):
        roles = user.get("roles") or []
        numbers = [str(n) for n in user.get("devices") or []]
        login = {"username": user["userName"], "password": str(user.get("password", "password"))}
        if numbers:
            login["phone_number"] = numbers[0]
        if "ROLE_SUPERVISOR" in roles:
            out.setdefault("supervisor", login)
        elif "ROLE_ADMIN" in roles:
            out.setdefault("admin", login)
        elif "ROLE_AGENT" in roles and numbers:
            network = str((devices.get(numbers[0]) or {}).get("telephonyNetwork") or "Private")
            if network.lower() == "public":
                out["users"].setdefault("public_network_agent", login)
            else:
                out["agents"].append(login)
    return out


def _first(item: Mapping[str, Any], *names: str) -> Any:
    return next((item[n] for n in names if item.get(n) not in (None, "", [])), None)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _mock_platform(url: str, platform: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": url}
    clients = platform.get("clients") or platform.get("oauthClients") or platform.get("oauth_clients") or []
    for client in clients if isinstance(clients, list) else []:
        if not isinstance(client, Mapping):
            continue
        client_id = _first(client, "clientId", "client_id", "id")
        secret = _first(client, "clientSecret", "client_secret", "secret")
        grants = " ".join(
            _as_list(
                _first(
                    client,
                    "grantTypes",
                    "grant_types",
                    "authorizedGrantTypes",
                    "grants",
                    "grantType",
                    "grant_type",
                    "type",
                )
            )
        ).lower()
        redirects = _as_list(_first(client, "redirectUris", "redirect_uris", "redirectUri", "redirect_uri"))
        if client_id and secret and "client" in grants and "client_credentials" not in out:
            out["client_credentials"] = {"client_id": client_id, "client_secret": secret}
        if client_id and redirects and ("code" in grants or "pkce" in grants) and "code_client" not in out:
            out["code_client"] = {"client_id": client_id, "redirect_uri": redirects[0]}
            if secret:
                out["code_client"]["client_secret"] = secret
    users = []
    for user in platform.get("users") or []:
        if not isinstance(user, Mapping):
            continue
        name = _first(user, "username", "userName", "email", "name")
        password = _first(user, "password")
        token = _first(user, "token", "accessToken", "access_token")
        if name or token:  # without password or token: the mock's control API logs the user in
            entry = {
                "username": name,
                "password": password,
                "token": token,
                "user_id": _first(user, "id", "userId", "user_id"),
            }
            users.append({k: str(v) for k, v in entry.items() if v is not None})
    out["users"] = users
    return out


def _mock_connect_tokens(connect: Mapping[str, Any]) -> dict[str, str]:
    agents = connect.get("agents") or []
    return {str(a["id"]): str(a["token"]) for a in agents if isinstance(a, Mapping) and a.get("id") and a.get("token")}


def _mock_connect_agents(connect: Mapping[str, Any]) -> list[str]:
    agents = connect.get("agents") or []
    out = []
    for agent in agents if isinstance(agents, list) else []:
        if isinstance(agent, Mapping):
            value = _first(agent, "id", "agentId", "agent_id", "username")
            if value:
                out.append(str(value))
        elif agent:
            out.append(str(agent))
    return out
