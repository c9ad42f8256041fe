"""Shared fixtures of the conformance infrastructure's tests: one real mock per session (started through the
launcher, as ``--target mock`` does), misbehaving servers, and pytester."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conformance.config import mock_data
from conformance.launcher import MockProcess


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
    """A TCP server that misbehaves: ``hang`` accepts and never answers, ``garbage`` answers a non-JSON 200."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
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
            if self.mode == "hang":
                self._held.append(conn)
                continue
            threading.Thread(target=self._garbage, args=(conn,), daemon=True).start()

    @staticmethod
    def _garbage(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot json")
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def bad_server() -> Iterator[Callable[[str], BadServer]]:
    servers: list[BadServer] = []

    def make(mode: str) -> BadServer:
        server = BadServer(mode)
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
