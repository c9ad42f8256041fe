"""The forwarding proxy: HTTP/1.1 with keep-alive, each client connection on its own thread (a held long-poll
blocks only its own), WebSocket upgrades tunnelled byte for byte. It never changes traffic — the request goes
upstream with the client's own Host header (so absolute URIs the server builds keep pointing at the proxy), the
response comes back with its raw, still-encoded body — and it judges each exchange only after relaying it.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from conformance import safejson
from conformance.proxy.observer import Observer
from conformance.proxy.wsframes import FrameReader, deflate_params
from voicekit.exchanges import NO_BODY

__all__ = ["ProxyServer", "route"]

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
}
#: Bodies larger than this are relayed but not judged.
MAX_JUDGED = 8 * 1024 * 1024
MAX_REQUEST = 64 * 1024 * 1024


def route(path: str, system: str | None) -> tuple[str, str]:
    """(system, API path as the contracts know it) of a request path. Without ``--system`` the layout of the
    voicekit mock is assumed (Platform under /platform, the bus under /connect, GWS at the root)."""
    if system == "platform" or (system is None and (path == "/platform" or path.startswith("/platform/"))):
        return "platform", path[len("/platform") :] if path.startswith("/platform/") else path
    if system == "connect" or (system is None and path.startswith("/connect/")):
        return "connect", path
    return "gws", path


def _decoded(raw: bytes, encoding: str | None) -> bytes:
    encoding = (encoding or "").lower()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    return raw


def _json(raw: bytes, content_type: str) -> tuple[Any, bool]:
    if not raw:
        return NO_BODY, True
    if "x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode("utf-8", "replace"))), True
    if len(raw) > MAX_JUDGED:
        return NO_BODY, True
    try:
        return safejson.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return NO_BODY, False


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        listen: tuple[str, int],
        upstream: str,
        observer: Observer,
        *,
        system: str | None = None,
        timeout: float = 120.0,
        verify: bool | str = True,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.observer = observer
        self.system = system
        parts = urlsplit(self.upstream)
        self.upstream_host = parts.hostname or "localhost"
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self.upstream_tls = parts.scheme == "https"
        self.verify = verify
        self.client = httpx.Client(
            base_url=self.upstream,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
            verify=verify,
            follow_redirects=False,
        )
        super().__init__(listen, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, (bytes, bytearray)):  # typeshed allows bytes; a TCP listener's host is a str
            host = host.decode()
        return f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="voicekit-proxy", daemon=True)
        thread.start()
        return thread

    def server_close(self) -> None:
        super().server_close()
        self.client.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # the observer prints its own lines
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _fail(self, status: int, message: str) -> None:
        """The proxy's own errors, as JSON (the upstream's answers pass unchanged)."""
        body = json.dumps({"error": message, "status": status, "source": "voicekit proxy"}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_REQUEST:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST:
            return None
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._tunnel()
            return
        started = time.perf_counter()
        arrived = time.monotonic()
        body = self._body()
        if body is None:
            self._fail(413, "request body too large for the proxy")
            return
        headers = [
            (k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
        ]
        try:
            request = self.server.client.build_request(self.command, self.path, headers=headers, content=body)
            response = self.server.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self._fail(502, f"upstream: {type(exc).__name__}")
            return
        try:
            raw = b"".join(response.iter_raw())
        except httpx.HTTPError as exc:
            self._fail(502, f"upstream broke off: {type(exc).__name__}")
            return
        finally:
            response.close()
        self.send_response_only(response.status_code, response.reason_phrase)
        for key, value in response.headers.multi_items():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)
        self.wfile.flush()
        with self.server.observer.judging():
            self._judge(body, response, raw, (time.perf_counter() - started) * 1000.0, arrived)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _relay

    def _judge(self, body: bytes, response: httpx.Response, raw: bytes, duration_ms: float, arrived: float) -> None:
        parts = urlsplit(self.path)
        system, path = route(parts.path, self.server.system)
        request_type = self.headers.get("Content-Type", "")
        try:
            decoded = _decoded(raw, response.headers.get("Content-Encoding"))
        except (OSError, zlib.error):
            decoded = b""
        request_body, request_json = _json(body, request_type)
        response_body, response_json = _json(decoded, response.headers.get("Content-Type", ""))
        observer = self.server.observer
        if system == "gws" and path.startswith("/api/v2/notifications") and self.command == "POST":
            observer.bayeux(
                path=path,
                request=None if request_body is NO_BODY else request_body,
                status=response.status_code,
                reply=None if response_body is NO_BODY else response_body,
                duration_ms=duration_ms,
            )
            return
        observer.http(
            system=system,
            method=self.command,
            path=path,
            query=dict(parse_qsl(parts.query)),
            request_body=request_body,
            request_is_json=request_json,
            request_type=request_type,
            status=response.status_code,
            response_body=response_body,
            response_is_json=response_json,
            duration_ms=duration_ms,
            started=arrived,
        )

    # ---- WebSocket ---------------------------------------------------------------------------------------------
    def _tunnel(self) -> None:
        server = self.server
        try:
            upstream = socket.create_connection((server.upstream_host, server.upstream_port), timeout=10)
            if server.upstream_tls:
                context = ssl.create_default_context()
                if server.verify is False:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                upstream = context.wrap_socket(upstream, server_hostname=server.upstream_host)
        except OSError as exc:
            self._fail(502, f"upstream: {exc}")
            return
        head = [f"{self.command} {self.path} {self.request_version}\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in self.headers.items()]
        upstream.sendall(("".join(head) + "\r\n").encode("latin-1"))
        answer = b""
        upstream.settimeout(30)
        while b"\r\n\r\n" not in answer:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            answer += chunk
            if len(answer) > 65536:
                break
        self.connection.sendall(answer)
        status_line = answer.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        if " 101 " not in status_line + " ":
            upstream.close()
            self.close_connection = True
            return
        header_block, _, rest = answer.partition(b"\r\n\r\n")
        extensions = next(
            (
                line.split(b":", 1)[1].decode("latin-1").strip()
                for line in header_block.split(b"\r\n")[1:]
                if line.lower().startswith(b"sec-websocket-extensions:")
            ),
            None,
        )
        system, path = route(urlsplit(self.path).path, server.system)
        observe = server.observer.frame
        down = FrameReader(
            **dict(
                zip(("compressed", "no_context_takeover"), deflate_params(extensions, from_server=True), strict=True)
            )
        )
        up = FrameReader(
            **dict(
                zip(("compressed", "no_context_takeover"), deflate_params(extensions, from_server=False), strict=True)
            )
        )

        def report(reader: FrameReader, data: bytes, direction: str) -> None:
            with server.observer.judging():
                for text in reader.feed(data):
                    try:
                        message = safejson.loads(text)
                    except ValueError:
                        message = text
                    observe(system=system, path=path, direction=direction, message=message)

        if rest:
            report(down, rest, "out")
        self.close_connection = True
        _pump(self.connection, upstream, lambda data: report(up, data, "in"), lambda data: report(down, data, "out"))


def _pump(
    client: socket.socket, upstream: socket.socket, seen_up: Callable[[bytes], None], seen_down: Callable[[bytes], None]
) -> None:
    """Relay bytes both ways until either side closes; each copy is shown to its observer after it is sent."""
    client.settimeout(None)
    upstream.settimeout(None)
    sockets = [client, upstream]
    try:
        while True:
            pending = [upstream] if isinstance(upstream, ssl.SSLSocket) and upstream.pending() else []
            readable = pending or select.select(sockets, [], [], 60)[0]
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                if source is client:
                    upstream.sendall(data)
                    seen_up(data)
                else:
                    client.sendall(data)
                    seen_down(data)
    except OSError:
        return
    finally:
        with contextlib.suppress(OSError):
            upstream.close()
