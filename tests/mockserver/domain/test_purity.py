"""The domain stays pure: no web framework, no sockets, no gevent, no adapter imports."""

from __future__ import annotations

import ast
from pathlib import Path

import mockserver.domain as domain

FORBIDDEN = (
    "flask",
    "werkzeug",
    "gevent",
    "socket",
    "websockets",
    "httpx",
    "requests",
    "simple_websocket",
    "flask_sock",
    "mockserver.gws",
    "mockserver.cometd",
    "mockserver.control",
    "mockserver.platform",
    "mockserver.connect",
    "mockserver.app",
    "conformance",
)


def test_domain_imports_no_framework_or_adapter() -> None:
    offenders = []
    for path in Path(domain.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
