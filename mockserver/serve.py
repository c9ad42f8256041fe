"""Run the mock for real: gevent's WSGI server, monkey-patched before anything else is imported, so a
held CometD long-poll or WebSocket is a greenlet and never blocks other requests.

Usage: python -m mockserver.serve [--host H] [--port P] [--seed FILE] [--csrf on|off] [--variant NAME[,NAME]]
                                  [--ready-file F]
"""

from __future__ import annotations

import gevent
from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from gevent.pywsgi import WSGIHandler, WSGIServer, _NoopLog  # noqa: E402

from mockserver.app import error_bytes  # noqa: E402
from mockserver.options import parse  # noqa: E402
from mockserver.wsgi_headers import request_headers  # noqa: E402


class Handler(WSGIHandler):
    """pywsgi writes headers and body separately; without TCP_NODELAY, Nagle's algorithm and delayed ACKs
    add ~40 ms to every keep-alive response. The raw socket goes into the environ so a held CometD
    connect can notice a client that hung up."""

    header_timeout: float | None = None  # set from MockConfig.header_timeout in main()

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle()

    def MessageClass(self, *args: Any) -> Any:
        """Plain request headers without the e-mail parser (see mockserver/wsgi_headers.py)."""
        return request_headers(*args)

    def log_request(self) -> None:
        """The server runs without an access log (``log=None``): skip formatting a line nobody writes."""
        if not isinstance(self.server.log, _NoopLog):
            super().log_request()

    def read_requestline(self) -> str:
        """A client gets ``header_timeout`` seconds for its request line and headers (and an idle keep-alive
        connection as long for its next request); the application then runs without a socket timeout,
        since CometD connects and WebSockets are held on purpose."""
        self.socket.settimeout(self.header_timeout)
        return super().read_requestline()

    def start_response(self, status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        """A refused body (413) is not read to its end, so the connection closes after the answer: say so in it,
        or a client would reuse the connection and lose its next request."""
        unread = str(status).startswith("413") or getattr(self.wsgi_input, "_chunked_input_error", False)
        if unread and not any(k.lower() == "connection" for k, _ in headers):
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def run_application(self) -> None:
        super().run_application()
        if self.code == 413 or getattr(self.wsgi_input, "_chunked_input_error", False):
            # The body was refused for its size, or its chunks were malformed: close the connection instead of
            # reading (and waiting for) the rest. pywsgi drains the input after every response unless it is
            # marked unusable.
            self.close_connection = True
            self.wsgi_input._chunked_input_error = True
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_WR)  # the answer is complete: let the client see its end

    def handle_one_request(self):  # type: ignore[no-untyped-def]
        """pywsgi refuses an over-long or malformed request line with a bare 414/400; answer it in the
        envelope of the system the path belongs to, like every other error."""
        result = super().handle_one_request()
        if isinstance(result, tuple) and len(result) == 2 and str(result[0]).isdigit():
            status = int(result[0])
            message = "Request-URI too long" if status == 414 else "Bad request"
            return result[0], self._enveloped(status, message)
        return result

    def _send_error_response_if_possible(self, error_code: int) -> None:
        if self.response_length:
            self.close_connection = True
            return
        with contextlib.suppress(OSError):
            self.socket.sendall(
                self._enveloped(error_code, "Bad request" if error_code == 400 else "An internal error occurred")
            )
        self.close_connection = True

    def _enveloped(self, status: int, message: str) -> bytes:
        parts = (self.requestline or "").split(" ")
        path = parts[1] if len(parts) > 1 and parts[1].startswith("/") else "/"
        app = self.server.application
        try:
            return error_bytes(app, path.split("?")[0][:2000], status, message)
        except Exception:
            return error_bytes(app, "/", status, message)

    def get_environ(self) -> dict:
        self.socket.settimeout(None)
        environ = super().get_environ()
        environ["mockserver.cometd.socket"] = self.socket
        return environ


def _scenario(path: str | None) -> Any:
    """The scenario to run, validated before the server starts (a bad file stops the mock with exit 2)."""
    if not path:
        return None
    from mockserver.control.scenario import load_file
    from mockserver.scenarios import ScenarioError, validate

    try:
        return validate(load_file(path))
    except ScenarioError as invalid:
        print(f"voicekit mock: {path} is not a valid scenario: {invalid}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from mockserver.app import create_app
    from mockserver.config import MockConfig

    overrides = {
        "host": args.host,
        "port": args.port,
        "seed": args.seed,
        "csrf": None if args.csrf is None else args.csrf == "on",
        "allow_origins": args.allow_origin,
        "control_token": args.control_token,
        "journal_size": args.journal_size,
        "variants": args.variant,
        "bus_auth": None if args.bus_auth is None else args.bus_auth == "on",
    }
    config = MockConfig.load(overrides)
    from mockserver.variants import parse as parse_variants

    try:
        config.variants = sorted(parse_variants(config.variants))
    except ValueError as exc:
        print(f"voicekit mock: error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    scenario = _scenario(args.scenario)
    # What start-up built (the contracts, the seed, the world) lives as long as the process: keep it out of every
    # garbage collection, so a full collection does not stall requests for tens of milliseconds (the p99).
    gc.collect()
    gc.freeze()
    server = WSGIServer(
        (config.host, config.port), app, log=None, error_log=logging.getLogger("voicekit.wsgi"), handler_class=Handler
    )
    Handler.header_timeout = config.header_timeout or None
    server.init_socket()
    housekeeping = gevent.spawn(_housekeeping, app, max(1, config.housekeeping_interval))
    host, port = server.socket.getsockname()[:2]
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    print(
        f"voicekit mock listening on {url} (GWS {url}/api/v2, Platform {url}{config.platform_prefix}, "
        f"Connect {url.replace('http', 'ws')}{config.connect_prefix}, control {url}{config.control_prefix})",
        flush=True,
    )
    if scenario is not None:
        app.extensions["voicekit.scenario"].start(scenario)
    if args.ready_file:
        args.ready_file.write_text(url, encoding="utf-8")
    signal.signal(signal.SIGTERM, lambda *_: server.stop(timeout=1))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    housekeeping.kill()
    return 0


def _housekeeping(app: object, seconds: float) -> None:
    """Expiry on a timer, not only when requests happen to come (CometD sessions past max-interval, idle
    GWS HTTP sessions, expired Platform tokens): the hooks in ``app.extensions["voicekit.housekeeping"]``."""
    log = logging.getLogger("voicekit.mock")
    while True:
        gevent.sleep(seconds)
        for hook in app.extensions.get("voicekit.housekeeping", []):  # type: ignore[attr-defined]
            try:
                hook()
            except Exception:
                log.exception("housekeeping hook %r failed", hook)


if __name__ == "__main__":
    sys.exit(main())
