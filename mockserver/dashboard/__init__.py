"""The live dashboard at ``/dashboard``: a page served by the mock itself (no build step) that shows agents, calls,
the bus agents and Platform conversations, streams every notification the mock sends and every journaled request,
and has buttons for what the control API can do.

Why server-sent events: one long-lived GET per open page, which gevent holds as cheaply as a CometD long-poll,
and which the browser reconnects by itself. Each page gets a bounded queue filled by the notification bus and the
journal (publishers only enqueue); a page that falls behind gets an ``overflow`` event and re-reads the state.

The page and its script are public (they hold no data); the state and the stream require the control token when
one is configured — as ``Authorization: Bearer`` or, for ``EventSource`` which cannot send headers, ``?token=``.
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_from_directory

from mockserver.dashboard.state import build
from mockserver.domain.events import Notification

__all__ = ["init_app"]

STATIC = Path(__file__).resolve().parent / "static"
QUEUE_SIZE = 500
MAX_PAGES = 20
KEEPALIVE_SECONDS = 15.0

bp = Blueprint("dashboard", __name__)


class Pages:
    """The open pages' queues (bounded in number and in size)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[queue.Queue[str]] = []

    def open(self) -> queue.Queue[str] | None:
        with self._lock:
            if len(self._queues) >= MAX_PAGES:
                return None
            q: queue.Queue[str] = queue.Queue(maxsize=QUEUE_SIZE)
            self._queues.append(q)
            return q

    @property
    def open_count(self) -> int:
        return len(self._queues)

    def close(self, q: queue.Queue[str]) -> None:
        with self._lock:
            if q in self._queues:
                self._queues.remove(q)

    def send(self, event: str, data: Any) -> None:
        with self._lock:
            targets = list(self._queues)
        if not targets:
            return
        frame = f"event: {event}\ndata: {json.dumps(data, default=str, allow_nan=False)}\n\n"
        for q in targets:
            try:
                q.put_nowait(frame)
            except queue.Full:  # this page is behind: drop, and tell it to re-read the state
                _overflow(q)


def _overflow(q: queue.Queue[str]) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass
    q.put_nowait("event: overflow\ndata: {}\n\n")


def _pages() -> Pages:
    return current_app.extensions["voicekit.dashboard"]


def _authorized() -> bool:
    token = current_app.config["VOICEKIT"].control_token
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("token", "")
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _unauthorized() -> Response:
    response = jsonify({"error": "control API token required", "status": 401})
    response.status_code = 401
    return response


@bp.get("")
@bp.get("/")
def page() -> Response:
    response = send_from_directory(STATIC, "index.html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_from_directory(STATIC, name)


@bp.get("/state")
def state() -> Response:
    if not _authorized():
        return _unauthorized()
    return jsonify(build(current_app.extensions))


@bp.get("/events")
def events() -> Response:
    if not _authorized():
        return _unauthorized()
    pages = _pages()
    q = pages.open()
    if q is None:
        response = jsonify({"error": f"at most {MAX_PAGES} dashboards may be open", "status": 503})
        response.status_code = 503
        return response

    def stream() -> Iterator[str]:
        try:
            yield "retry: 2000\n\nevent: hello\ndata: {}\n\n"
            while True:
                try:
                    yield q.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    yield ": keep-alive\n\n"
        finally:
            pages.close(q)

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def init_app(app: Flask) -> Pages:
    pages = Pages()
    app.extensions["voicekit.dashboard"] = pages

    def on_notification(note: Notification) -> None:
        pages.send(
            "notification",
            {"system": note.system, "channel": note.channel, "audience": note.audience, "data": note.data},
        )

    app.extensions["voicekit.bus"].subscribe(on_notification)
    journal = app.extensions.get("voicekit.journal")
    if journal is not None:

        def on_entry(entry: Any) -> None:
            if not pages.open_count:
                return  # judging costs time: only when someone is watching
            verdict = entry.verdict
            pages.send(
                "journal",
                {
                    "id": entry.id,
                    "time": entry.time,
                    "system": entry.system,
                    "kind": entry.kind,
                    "method": entry.method,
                    "path": entry.path,
                    "status": entry.status,
                    "user": entry.user,
                    "operation": entry.operation or verdict.operation,
                    "operationName": verdict.operation_name,
                    "ok": verdict.ok,
                    "violations": [v.as_dict() for v in verdict.violations[:3]],
                },
            )

        journal.listeners.append(on_entry)
    app.register_blueprint(bp, url_prefix="/dashboard")
    return pages
