"""``json.loads`` for what the target sends: nesting is bounded, so hostile JSON is a ``ValueError`` the decode
site turns into the target's failure, never a ``RecursionError`` from the kit.

Why a limit well below Python's recursion limit: a document that ``json.loads`` still accepts (up to ~1000
levels) would blow the stack later, in code that walks it recursively (redaction, schema validation,
reporting). No API payload of the documents comes near :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JsonTooDeep", "loads"]

#: Deepest nesting accepted (arrays and objects); the documents' samples are under 10 levels.
MAX_DEPTH = 100


class JsonTooDeep(ValueError):
    """The JSON text nests arrays/objects deeper than :data:`MAX_DEPTH`."""


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON like :func:`json.loads`.

    Raises:
        JsonTooDeep: nested deeper than ``max_depth`` (a ``ValueError``, like malformed JSON).
        ValueError: not JSON.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels") from None
    opening = text.count("[") + text.count("{") if isinstance(text, str) else text.count(b"[") + text.count(b"{")
    if opening > max_depth and _depth_exceeds(value, max_depth):  # the count bounds the depth: cheap when small
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` deep (iterative: safe for any depth)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
