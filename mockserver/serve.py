"""Run the mock for real: gevent's WSGI server, monkey-patched before anything else is imported, so a
held CometD long-poll or WebSocket is a greenlet and never blocks other requests.

Usage: python -m mockserver.serve [--host H] [--port P] [--seed FILE] [--csrf on|off] [--variant NAME[,NAME]]
                                  [--ready-file F]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402


class Handler(WSGIHandler):
    """pywsgi writes headers and body separately; without TCP_NODELAY, Nagle's algorithm and delayed ACKs
    add ~40 ms to every keep-alive response. The raw socket goes into the environ so a held CometD
    connect can notice a client that hung up."""

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle()

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["mockserver.cometd.socket"] = self.socket
        return environ


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicekit mock", description="Run the voicekit mock server.")
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--seed", type=Path, default=None, help="seed YAML file (default: the built-in seed)")
    parser.add_argument("--csrf", choices=["on", "off"], default=None, help="GWS CSRF protection")
    parser.add_argument("--allow-origin", action="append", default=None, help="global CORS origin (repeatable)")
    parser.add_argument("--control-token", default=None, help="require this bearer token on the control API")
    parser.add_argument("--variant", action="append", default=None, metavar="NAME[,NAME]",
                        help="a documented alternative the mock switches to (repeatable or comma-separated; "
                             "mockserver/variants.py lists them)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="write the bound base URL to this file once the server accepts connections")
    parser.add_argument("--journal-size", type=int, default=None,
                        help="requests kept by the request journal (default 1000; 0 turns it off)")
    parser.add_argument("--scenario", default=None,
                        help="a scenario file (YAML) the mock carries out from its start (see docs/scenarios)")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


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

    overrides = {"host": args.host, "port": args.port, "seed": args.seed,
                 "csrf": None if args.csrf is None else args.csrf == "on",
                 "allow_origins": args.allow_origin, "control_token": args.control_token,
                 "journal_size": args.journal_size, "variants": args.variant}
    config = MockConfig.load(overrides)
    from mockserver.variants import parse as parse_variants

    try:
        config.variants = sorted(parse_variants(config.variants))
    except ValueError as exc:
        print(f"voicekit mock: error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    scenario = _scenario(args.scenario)
    server = WSGIServer((config.host, config.port), app, log=None, error_log=logging.getLogger("voicekit.wsgi"),
                        handler_class=Handler)
    server.init_socket()
    host, port = server.socket.getsockname()[:2]
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    print(f"voicekit mock listening on {url} (GWS {url}/api/v2, Platform {url}{config.platform_prefix}, "
          f"Connect {url.replace('http', 'ws')}{config.connect_prefix}, control {url}{config.control_prefix})",
          flush=True)
    if scenario is not None:
        app.extensions["voicekit.scenario"].start(scenario)
    if args.ready_file:
        args.ready_file.write_text(url, encoding="utf-8")
    signal.signal(signal.SIGTERM, lambda *_: server.stop(timeout=1))
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
