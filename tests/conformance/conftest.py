"""Shared fixtures of the conformance infrastructure's tests: one real mock per session (started through the
launcher, as ``--target mock`` does), misbehaving servers, and pytester."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conformance.launcher import MockProcess
from conformance.target import mock_data


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockProcess]:
    with MockProcess() as mock:
        yield mock


@pytest.fixture(scope="session")
def mock_url(mock_server: MockProcess) -> str:
    assert mock_server.base_url
    return mock_server.base_url


@pytest.fixture
def fresh_mock(mock_url: str) -> str:
    """The shared mock, reset to its seed."""
    httpx.post(f"{mock_url}/control/reset", timeout=10).raise_for_status()
    return mock_url


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, tree: dict[str, dict[str, object]]) -> Path:
    lines = []
    for section, values in tree.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def mock_config_file(tmp_path: Path, mock_url: str) -> Callable[..., Path]:
    """Factory: a target configuration file (TOML) for the shared mock, with ``extra`` sections merged."""

    def make(name: str = "target.toml", **extra: dict[str, object]) -> Path:
        tree = mock_data(mock_url)
        tree.pop("platform", None)
        for section, values in extra.items():
            tree.setdefault(section, {}).update(values)
            for key in [k for k, v in values.items() if v is None]:
                del tree[section][key]
        return write_toml(tmp_path / name, tree)

    return make


class BadServer:
    """A TCP server that misbehaves (one thread per connection, every answer closes the connection):

    * ``hang`` accepts and never answers; ``garbage`` answers a non-JSON 200 (text/plain);
    * ``html`` an HTML page; ``redirect`` a 302 to the same path (a redirect loop);
    * ``deep`` 200 with JSON nested 100 000 levels deep; ``midheaders`` closes half way through the headers;
    * ``endless`` a chunked body that never ends, as fast as the socket takes it;
    * ``trickle`` a chunked body of one byte every 0.2 s, forever;
    * ``trickle-1g`` announces ``Content-Length: 1000000000`` and sends one byte every 0.2 s.

    With ``healthy_probe`` the GWS health probe (``GET /api/v2/diagnostics/version``) is answered properly and
    only the other requests misbehave, so the run gets past the health check (``hang`` then reads "answers,
    then hangs").
    """

    HEALTHY = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 35\r\nConnection: close\r\n\r\n"
        b'{"statusCode": 0, "version": "8.5"}'
    )

    def __init__(self, mode: str, *, healthy_probe: bool = False) -> None:
        self.mode = mode
        self.healthy_probe = healthy_probe
        self.requests = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            head = self._read_request(conn)
            self.requests += 1
            if self.healthy_probe and b" /api/v2/diagnostics/version" in head.split(b"\r\n", 1)[0]:
                conn.sendall(self.HEALTHY)
            elif self.mode != "hang":
                self._misbehave(conn, head.split(b" ")[1] if head.count(b" ") >= 2 else b"/")
                conn.shutdown(socket.SHUT_RDWR)
            else:
                return  # held open, never answered
            conn.close()
        except OSError:  # the kit hung up: that is the point
            conn.close()

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        """The whole request (closing with unread bytes would reset the connection instead of answering)."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head

    def _misbehave(self, conn: socket.socket, path: bytes) -> None:
        ok = b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
        if self.mode == "garbage":
            conn.sendall(ok + b"Content-Type: text/plain\r\n\r\nnot json")
        elif self.mode == "html":
            conn.sendall(ok + b"Content-Type: text/html\r\n\r\n<!DOCTYPE html><html><body>Welcome</body></html>")
        elif self.mode == "redirect":
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: " + path + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        elif self.mode == "deep":
            body = b"[" * 100_000 + b"]" * 100_000
            conn.sendall(ok + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif self.mode == "midheaders":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")
        elif self.mode == "endless":
            conn.sendall(ok + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
            while not self._stop.is_set():
                conn.sendall(chunk)
        elif self.mode in ("trickle", "trickle-1g"):
            framing = b"Content-Length: 1000000000" if self.mode == "trickle-1g" else b"Transfer-Encoding: chunked"
            conn.sendall(ok + b"Content-Type: application/json\r\n" + framing + b"\r\n\r\n")
            byte = b" " if self.mode == "trickle-1g" else b"1\r\n \r\n"
            while not self._stop.wait(0.2):
                conn.sendall(byte)
        else:
            raise ValueError(f"unknown mode {self.mode!r}")

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture
def bad_server() -> Iterator[Callable[..., BadServer]]:
    servers: list[BadServer] = []

    def make(mode: str, *, healthy_probe: bool = False) -> BadServer:
        server = BadServer(mode, healthy_probe=healthy_probe)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL nobody listens on (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def vk_pytester(request: pytest.FixtureRequest) -> pytest.Pytester:
    """pytester, registered on demand (``pytest_plugins`` is not allowed in a non-top-level conftest)."""
    manager = request.config.pluginmanager
    if not manager.has_plugin("pytester"):
        manager.import_plugin("pytester")
    return request.getfixturevalue("pytester")
