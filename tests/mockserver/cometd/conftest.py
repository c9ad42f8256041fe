"""A real HTTP server around the CometD blueprint, shared by the HTTP-level tests of this directory.

A minimal Flask app (the blueprint, a fake HTTP-Basic authenticator for two users and a /ping probe) is
served by ``gevent.pywsgi.WSGIServer`` on a free port in a background thread.  The test process is not
monkey-patched: the blueprint notices that and waits for held connects through a gevent async watcher,
so one held long-poll never stalls the other requests (test_cometd_http proves it).
"""

from __future__ import annotations

import base64
import hmac
import json
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, Request, Response

from mockserver.cometd import BayeuxServer, make_blueprint

PREFIX = "/api/v2/notifications"
USERS = {"alice": "alice-secret", "bob": "bob-secret"}
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "specs" / "schemas" / "bayeux"


@dataclass(frozen=True)
class User:
    """The principal of the test app: one per login name."""

    user_id: str


def basic(user: str, password: str | None = None) -> str:
    """An HTTP Basic Authorization header value."""
    secret = USERS[user] if password is None else password
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def authenticate(req: Request) -> User | None:
    auth = req.authorization
    if auth is None or auth.type != "basic" or auth.username not in USERS:
        return None
    if not hmac.compare_digest(USERS[auth.username].encode(), (auth.password or "").encode()):
        return None
    return User(auth.username)


def unauthorized() -> Response:
    body = json.dumps({"statusCode": 2, "statusMessage": "Unauthorized"})
    return Response(body, 401, mimetype="application/json", headers={"WWW-Authenticate": 'Basic realm="gws"'})


def build_app(bayeux: BayeuxServer) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(make_blueprint(bayeux, authenticate, on_unauthenticated=unauthorized))

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app


class LiveServer:
    """``gevent.pywsgi`` serving the test app for real, in a thread with its own gevent hub."""

    prefix = PREFIX

    def __init__(self, bayeux: BayeuxServer) -> None:
        self.bayeux = bayeux
        self.app = build_app(bayeux)
        self.port = 0
        self._thread: threading.Thread | None = None
        self._stopper: Any = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + PREFIX

    def start(self) -> None:
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_sigchld = signal.getsignal(signal.SIGCHLD) if in_main_thread else None
        ready: queue.Queue[int | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="gevent-wsgi", daemon=True)
        self._thread.start()
        result = ready.get(timeout=10)
        if isinstance(result, BaseException):
            raise result
        self.port = result
        if previous_sigchld is not None:
            # gevent's libev backend installs libev's SIGCHLD reaper (waitpid(-1)) whenever a process
            # creates its second event loop; it would steal the exit status of every subprocess the
            # tests start (Popen.wait() then reports 0).  No child watchers are used here: undo it.
            signal.signal(signal.SIGCHLD, previous_sigchld)

    def _run(self, ready: queue.Queue[int | BaseException]) -> None:
        import gevent
        from gevent.pywsgi import WSGIHandler, WSGIServer

        class SocketExposingHandler(WSGIHandler):
            """Lets the blueprint see whether a held connect's client hung up; no Nagle delay."""

            def handle(self) -> None:
                # pywsgi writes headers and body with two send() calls: without TCP_NODELAY a keep-alive
                # client waits for its delayed ACK (~40 ms) on every response.
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().handle()

            def get_environ(self) -> dict[str, Any]:
                environ = super().get_environ()
                environ["mockserver.cometd.socket"] = self.socket
                return environ

        hub = gevent.get_hub()
        try:
            server = WSGIServer(
                ("127.0.0.1", 0),
                self.app,
                handler_class=SocketExposingHandler,
                log=None,
                environ={"SERVER_NAME": "127.0.0.1"},  # spares a reverse-DNS lookup at start
            )
            server.start()
            stopper = hub.loop.async_()
            stopper.start(lambda: gevent.spawn(server.stop, timeout=5))
            self._stopper = stopper
        except BaseException as exc:
            ready.put(exc)
            raise
        ready.put(server.server_port)
        try:
            server.serve_forever()
        finally:
            stopper.stop()
            stopper.close()
            hub.destroy(destroy_loop=True)

    def stop(self) -> None:
        self.bayeux.close()  # answer every held connect first
        if self._stopper is not None:
            self._stopper.send()  # thread-safe wake-up of the server's hub
        if self._thread is not None:
            self._thread.join(timeout=15)
            assert not self._thread.is_alive(), "the gevent server thread did not stop"


@pytest.fixture
def live_factory() -> Iterator[Callable[..., LiveServer]]:
    """Start live servers with custom BayeuxServer settings; all are stopped at teardown."""
    started: list[LiveServer] = []

    def start(**settings: Any) -> LiveServer:
        server = LiveServer(BayeuxServer(**settings))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live(live_factory: Callable[..., LiveServer]) -> LiveServer:
    """A live server with the production defaults (30 s long-poll timeout)."""
    return live_factory()


class BayeuxHttp:
    """A bare Bayeux client over httpx for protocol-level HTTP tests (no client library in between)."""

    def __init__(self, live: LiveServer, user: str = "alice") -> None:
        self.live = live
        self.user = user
        self.http = httpx.Client(headers={"Authorization": basic(user)}, timeout=30)
        self.client_id: str | None = None
        self._ids = iter(range(1, 1_000_000))

    def next_id(self) -> str:
        return str(next(self._ids))

    def post(self, messages: Any, path: str = "/") -> httpx.Response:
        return self.http.post(self.live.url + path, json=messages)

    def send(self, messages: list[dict[str, Any]], path: str = "/") -> list[dict[str, Any]]:
        response = self.post(messages, path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    def handshake(self) -> dict[str, Any]:
        message = {
            "id": self.next_id(),
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling", "callback-polling"],
            "advice": {"timeout": 60000, "interval": 0},
        }
        [reply] = self.send([message], "/handshake")
        assert reply["successful"] is True, reply
        self.client_id = reply["clientId"]
        return reply

    def subscribe(self, *channels: str) -> dict[str, Any]:
        subscription: str | list[str] = channels[0] if len(channels) == 1 else list(channels)
        [reply] = self.send(
            [
                {
                    "id": self.next_id(),
                    "channel": "/meta/subscribe",
                    "clientId": self.client_id,
                    "subscription": subscription,
                }
            ]
        )
        assert reply["successful"] is True, reply
        return reply

    def connect_message(self, timeout: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.next_id(),
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
        }
        if timeout is not None:
            message["advice"] = {"timeout": timeout}
        return message

    def connect(self, timeout: int | None = None) -> list[dict[str, Any]]:
        return self.send([self.connect_message(timeout)], "/connect")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def bayeux_http(live: LiveServer) -> Iterator[Callable[..., BayeuxHttp]]:
    """Factory of bare HTTP Bayeux clients: ``bayeux_http(user="alice", live=<the default live server>)``."""
    clients: list[BayeuxHttp] = []

    def make(user: str = "alice", server: LiveServer | None = None) -> BayeuxHttp:
        client = BayeuxHttp(server or live, user)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def basic_auth() -> Callable[..., str]:
    """``basic_auth(user, password=None)``: an Authorization header value for a test user."""
    return basic


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(predicate, timeout=10)``: poll server-side state instead of sleeping a fixed time."""

    def wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.005)

    return wait


@pytest.fixture(scope="session")
def meta_reply_validator() -> Any:
    """jsonschema validator of specs/schemas/bayeux/MetaReply.json (with its $refs)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = {}
    for path in SCHEMA_DIR.glob("*.json"):
        resources[path.name] = Resource.from_contents(json.loads(path.read_text()))
    registry = Registry().with_resources(resources.items())
    schema = json.loads((SCHEMA_DIR / "MetaReply.json").read_text())
    return Draft202012Validator(schema, registry=registry)
