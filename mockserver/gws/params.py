"""Request parameters of list and read requests (003 l.2901-3527, 3911-4324) and the return-value
rules (l.3529-3727): uris/paths by default, a plural member with fields, a singular wrapper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mockserver.domain.errors import MissingParameter, ValidationFailed

RESERVED = {"fields", "subresources", "resolveUris", "offset", "limit", "sortBy", "order"}
MAX_LIMIT = 500
T = TypeVar("T")


def _identity(item: Any) -> dict[str, Any]:
    return item


def csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ValidationFailed("An empty list is not a valid parameter value")
    return items


def project(item: dict[str, Any], fields: list[str] | None, keep: Iterable[str] = ()) -> dict[str, Any]:
    """fields=a,b keeps those members (dotted names reach into objects); * or None keeps all."""
    if fields is None or fields == ["*"]:
        return item
    out: dict[str, Any] = {}
    for name in [*fields, *keep]:
        head, _, rest = name.partition(".")
        if head not in item:
            continue
        if rest and isinstance(item[head], dict):
            out.setdefault(head, {}).update(project(item[head], [rest]))
        else:
            out[head] = item[head]
    return out


def resolve(
    item: dict[str, Any], names: list[str] | None, lookup: Callable[[str], dict[str, Any] | None]
) -> dict[str, Any]:
    """resolveUris=* or a list of *Uri properties: add the referenced object under the name without Uri."""
    if not names:
        return item
    out = dict(item)
    wanted = [k for k in item if k.endswith("Uri")] if names == ["*"] else names
    for key in wanted:
        if not key.endswith("Uri") or key not in item:
            raise ValidationFailed(f"{key} is not a resolvable URI property of this resource")
        target = lookup(str(item[key]))
        if target is not None:
            out[key[:-3]] = target
    return out


def _value(item: dict[str, Any], dotted: str) -> list[Any]:
    """All values at a dotted path; lists fan out (skills.name → every skill's name)."""
    current: list[Any] = [item]
    for part in dotted.split("."):
        nxt: list[Any] = []
        for value in current:
            value_list = value if isinstance(value, list) else [value]
            for v in value_list:
                if isinstance(v, dict) and part in v:
                    nxt.append(v[part])
        current = nxt
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def filter_items(
    items: list[T], query: dict[str, str], allowed: set[str], view: Callable[[T], dict[str, Any]] = _identity
) -> list[T]:
    """Every non-reserved parameter filters by the field of that exact name; a list means any of.
    ``view`` gives the dict to look at (it may hold subresources the answer will not show)."""
    out = items
    for name, raw in query.items():
        if name in RESERVED:
            continue
        if name not in allowed:
            raise ValidationFailed(f"{name} is not a field that can be filtered on")
        wanted = {v.strip().lower() for v in raw.split(",")}
        out = [i for i in out if any(str(v).lower() in wanted for v in _value(view(i), name))]
    return out


def sort_items(
    items: list[T],
    sort_by: str | None,
    order: str | None,
    allowed: set[str],
    view: Callable[[T], dict[str, Any]] = _identity,
) -> list[T]:
    if order not in (None, "Ascending", "Descending"):
        raise ValidationFailed("order must be Ascending or Descending")
    keys = csv(sort_by)
    if not keys:
        return items
    bad = [k for k in keys if k not in allowed and not (k.startswith("statistics.") and k.endswith(".value"))]
    if bad:
        raise ValidationFailed(f"Cannot sort by {', '.join(bad)}")

    descending = order == "Descending"
    result = list(items)
    # One stable pass per key, the last key first: within a pass numbers compare as numbers, text without case,
    # and items without a value go last in either order (E131) — so the order is not one reversed sort.
    for k in reversed(keys):
        firsts = [(item, _first(view(item), k)) for item in result]
        present = sorted(
            ((i, v) for i, v in firsts if v is not None), key=lambda pair: _sort_key(pair[1]), reverse=descending
        )
        result = [i for i, _ in present] + [i for i, v in firsts if v is None]
    return result


def _first(view: dict[str, Any], name: str) -> Any:
    values = _value(view, name)
    return values[0] if values else None


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order (a skill level 10 sorts after 4, not before)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value).lower())


def paginate(items: list[T], offset: str | None, limit: str | None) -> tuple[list[T], int | None]:
    """E120: offset needs limit; limit ≤ 500; totalCount whenever limit is given."""
    if offset is not None and limit is None:
        raise MissingParameter("A required parameter is missing: limit (mandatory when paginating)")
    if limit is None:
        return items, None
    try:
        start = int(offset or 0)
        count = int(limit)
    except ValueError:
        raise ValidationFailed("offset and limit must be integers") from None
    if start < 0 or count < 1 or count > MAX_LIMIT:
        raise ValidationFailed(f"offset must be ≥ 0 and limit between 1 and {MAX_LIMIT}")
    return items[start : start + count], len(items)
