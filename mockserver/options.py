"""The command line of ``python -m mockserver.serve`` (and ``voicekit mock``), apart from the server module:
importing ``mockserver.serve`` monkey-patches the standard library for gevent, which a process that only wants
to read the options (a test, the CLI's help) must never suffer."""

from __future__ import annotations

import argparse
from pathlib import Path


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicekit mock", description="Run the voicekit mock server.")
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--seed", type=Path, default=None, help="seed YAML file (default: the built-in seed)")
    parser.add_argument("--csrf", choices=["on", "off"], default=None, help="GWS CSRF protection")
    parser.add_argument("--allow-origin", action="append", default=None, help="global CORS origin (repeatable)")
    parser.add_argument("--control-token", default=None, help="require this bearer token on the control API")
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        metavar="NAME[,NAME]",
        help="a documented alternative the mock switches to (repeatable or comma-separated; "
        "mockserver/variants.py lists them)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        default=None,
        help="write the bound base URL to this file once the server accepts connections",
    )
    parser.add_argument(
        "--bus-auth",
        choices=["on", "off"],
        default=None,
        help="the Connect bus needs the agent's credential and an allowed Origin (default on, E516)",
    )
    parser.add_argument(
        "--journal-size",
        type=int,
        default=None,
        help="requests kept by the request journal (default 1000; 0 turns it off)",
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help="a scenario file (YAML) the mock carries out from its start (see docs/scenarios)",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)
