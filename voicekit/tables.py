"""Rule tables that the mock and the suite must read from one place (``specs/tables/``), so they cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from voicekit.contracts import load_document
from voicekit.paths import specs_dir

__all__ = ["gws_documented_pairs", "gws_http_status"]


@cache
def _gws_table() -> dict[str, Any]:
    table: dict[str, Any] = load_document(specs_dir() / "tables" / "gws-http-status.yaml")
    return table


def gws_http_status(status_code: int, *, unavailable: bool = False) -> int:
    """E001: the HTTP status that goes with a GWS statusCode (``unavailable``: the voice service is down)."""
    table = _gws_table()
    if status_code == 4 and unavailable:
        return int(table["unavailable"])
    return int(table["http"].get(status_code, table["default"]))


def gws_documented_pairs() -> list[dict[str, Any]]:
    """The (statusCode, HTTP status) pairs the documents themselves show — required of every target."""
    return list(_gws_table()["documented"])
