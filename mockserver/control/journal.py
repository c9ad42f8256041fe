"""The request journal on the wire: recording every API request (``after_request``, bus frames) and the control
routes that read it — ``GET/DELETE {control}/journal``, ``POST {control}/journal/count`` and ``.../find``
(WireMock's ``/__admin/requests`` shape: filters in, ``{"count": n}`` or entries out).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from mockserver import jsonsafe
from mockserver.journal import FILTERS, Journal, unknown_filters
from voicekit.contracts import shared_contracts
from voicekit.exchanges import ExchangeJudge, parse_json

__all__ = ["init_app", "journal_frame"]

bp = Blueprint("journal", __name__)
MAX_LIMIT = 1000


def _journal() -> Journal:
    return current_app.extensions["voicekit.journal"]


def _refused(message: str) -> Response:
    response = jsonify({"error": message, "status": 400})
    response.status_code = 400
    return response


def _filters(source: Any) -> dict[str, Any] | Response:
    if not isinstance(source, dict):
        return _refused("filters must be a JSON object")
    unknown = unknown_filters(source)
    if unknown:
        return _refused(f"unknown filters {unknown} (known: {', '.join(FILTERS)}, limit)")
    for key in ("since", "until"):
        if source.get(key) not in (None, ""):
            try:
                float(source[key])
            except (TypeError, ValueError):
                return _refused(f"{key} must be a number of seconds since the epoch")
    return source


def _limit(raw: Any) -> int | Response:
    try:
        limit = int(raw) if raw not in (None, "") else 100
    except (TypeError, ValueError):
        return _refused("limit must be an integer")
    return max(1, min(limit, MAX_LIMIT))


def _listing(filters: dict[str, Any], limit: int) -> Response:
    journal = _journal()
    found = journal.find({k: v for k, v in filters.items() if k != "limit"})
    newest = list(reversed(found))[:limit]
    return jsonify(
        {
            "total": len(found),
            "returned": len(newest),
            "dropped": journal.dropped,
            "size": journal.size,
            "entries": [e.as_dict() for e in newest],
        }
    )


@bp.get("")
def list_entries() -> Response:
    filters = _filters(request.args.to_dict())
    if isinstance(filters, Response):
        return filters
    limit = _limit(filters.get("limit"))
    return limit if isinstance(limit, Response) else _listing(filters, limit)


@bp.delete("")
def clear() -> Response:
    _journal().clear()
    return jsonify({"cleared": True})


def _body_filters() -> dict[str, Any] | Response:
    try:
        body = parse_json(request.get_data())
    except (ValueError, RecursionError):
        return _refused("the body must be a JSON object of filters")
    return _filters({} if body is None or not request.get_data().strip() else body)


@bp.post("/count")
def count() -> Response:
    filters = _body_filters()
    if isinstance(filters, Response):
        return filters
    return jsonify({"count": len(_journal().find({k: v for k, v in filters.items() if k != "limit"}))})


@bp.post("/find")
def find() -> Response:
    filters = _body_filters()
    if isinstance(filters, Response):
        return filters
    limit = _limit(filters.get("limit"))
    return limit if isinstance(limit, Response) else _listing(filters, limit)


# ---- recording ------------------------------------------------------------------------------------------------
def _where(path: str) -> tuple[str, str, str] | None:
    """(system, kind, api path) of a request path the journal records; None for control, bus and other paths."""
    config = current_app.config["VOICEKIT"]
    platform = config.platform_prefix.rstrip("/")
    if path.startswith(config.control_prefix) or path.startswith(config.connect_prefix):
        return None
    if platform and (path == platform or path.startswith(platform + "/")):
        return "platform", "http", path[len(platform) :] or "/"
    if path.startswith("/api/v2/notifications"):
        return "gws", "bayeux", path
    if path.startswith("/api/"):
        return "gws", "http", path
    return None


def _user(system: str) -> str | None:
    """Who sent the request, for filtering: the Basic user, the GWS session's user, or the Platform token's."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username
    if system == "gws":
        context = current_app.extensions.get("voicekit.gws")
        session = context.sessions.get(request.cookies.get("JSESSIONID")) if context is not None else None
        user = context.world.users.get(session.user_id) if session is not None else None
        return getattr(user, "user_name", None) or (session.user_id if session is not None else None)
    header = request.headers.get("Authorization", "")
    platform = current_app.extensions.get("voicekit.platform")
    if platform is not None and header[:7].lower() == "bearer ":
        token = platform.world.tokens.get(header[7:].strip()) if hasattr(platform.world, "tokens") else None
        return getattr(token, "user_id", None) or getattr(token, "client_id", None)
    return None


def _bayeux_channels(data: bytes) -> str | None:
    try:
        body = parse_json(data)
    except (ValueError, RecursionError):
        return None
    messages = body if isinstance(body, list) else [body]
    channels = [str(m.get("channel")) for m in messages if isinstance(m, dict) and m.get("channel")]
    return ",".join(channels[:10]) or None


def _started() -> None:
    g.voicekit_started = time.perf_counter()


def _record(response: Response) -> Response:
    """Journal the exchange. On every request's path: one look-up of the request behind the proxy, and the user
    from the GWS guard when it authenticated one (parsing the credentials again cost as much as the rest)."""
    journal: Journal = current_app.extensions["voicekit.journal"]
    if not journal.enabled:
        return response
    req = request._get_current_object()  # type: ignore[attr-defined]
    path = req.path
    where = _where(path)
    if where is None or response.direct_passthrough or response.is_streamed:
        return response
    system, kind, api_path = where
    started = g.get("voicekit_started") or time.perf_counter()
    request_bytes = req.get_data(cache=True) if req.content_length or req.is_json else b""
    authenticated = g.get("gws_user") if system == "gws" else None
    try:
        user = authenticated.user_name if authenticated is not None else _user(system)
    except Exception:  # the journal never breaks a response
        user = None
    journal.record_http(
        system=system,
        method=req.method,
        path=path,
        api_path=api_path,
        query=req.args.to_dict() if req.query_string else {},
        user=user,
        request_bytes=request_bytes,
        request_type=req.content_type or "",
        status=response.status_code,
        response_bytes=response.get_data(),
        response_type=response.content_type or "",
        duration_ms=(time.perf_counter() - started) * 1000.0,
        kind=kind,
        operation=_bayeux_channels(request_bytes) if kind == "bayeux" else None,
    )
    return response


def journal_frame(app: Flask, agent_id: str, frame: str | bytes, path: str) -> None:
    """Record one bus frame a client sent (called by the bus adapter for every text frame)."""
    journal: Journal | None = app.extensions.get("voicekit.journal")
    if journal is None or not journal.enabled:
        return
    try:
        message = parse_json(frame)
        jsonsafe.check(message)  # what the bus refuses (1e999, too deep) is kept as text, never re-emitted
    except (ValueError, RecursionError):
        message = frame[:512] if isinstance(frame, str) else frame[:512].decode("utf-8", "replace")
    subtopic = message.get("subtopic") if isinstance(message, dict) else None
    journal.record_message(
        system="connect",
        channel=None,
        message=message,
        user=agent_id,
        operation=str(subtopic) if subtopic is not None else None,
        direction="in",
        path=path,
    )


def init_app(app: Flask) -> Journal:
    config = app.config["VOICEKIT"]
    journal = Journal(ExchangeJudge(shared_contracts()), size=config.journal_size)
    app.extensions["voicekit.journal"] = journal
    app.before_request(_started)
    app.after_request(_record)
    app.extensions.setdefault("voicekit.reset_hooks", []).append(journal.clear)
    app.register_blueprint(bp, url_prefix=f"{config.control_prefix}/journal")
    return journal
