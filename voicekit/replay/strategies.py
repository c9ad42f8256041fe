"""The per-system part of the one comparison (:mod:`voicekit.replay.compare`): what each system's documents
mean beyond members, lists, subset/shape and the errata rules.

* :data:`GWS` (003, 002) — capabilities are sets (E208, E330), participants unordered, ``duration`` and ISO-8601
  timestamps volatile, URIs by path (E002), call/device/user ids, callUuids and phone numbers by identity binding.
* :data:`PLATFORM` (000, 001) — ``{placeholders}`` stand for the target's values (bound on first sight, then
  equal, any value in ``shape``), ids inside a string by the same bindings; lists in any order (the SDK reads
  them by content); a list the document shows empty must be empty; E454: the documented agent participant of a
  direct (non-ACD) call may have purpose ``user``.
* :func:`connect` (004, with the errata the fixture lists) — ``statusTimestamp``/``queueTimestamp``/
  ``CurrentStateTime`` volatile (any ISO-8601 date-time); E504: button blocks by their button names, never by
  value (their values by rule, outside the comparison); E505: ``ActionsAllowed``, ``phoneNumber``,
  ``ExtendedCallVariables``, ``fromAddress`` printed null, any value accepted; E507: call types may be any of
  agent/inbound/outbound.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from voicekit.replay.bindings import ID_COLLECTIONS, NUMBER_KEYS, URI_KEYS, collection_kind
from voicekit.replay.engine import ISO8601, Comparer, Strategy, last_key
from voicekit.replay.rules import Path

__all__ = [
    "CONNECT_CALL_TYPES",
    "GWS",
    "PLATFORM",
    "ConnectStrategy",
    "GwsStrategy",
    "PlatformStrategy",
    "compare_location",
    "connect",
    "for_system",
    "placeholder_pattern",
]


class GwsStrategy(Strategy):
    name = "gws"
    set_keys = frozenset({"capabilities"})
    unordered_keys = frozenset({"participants", "participantsInfo"})

    def scalar(self, c: Comparer, exp: Any, act: Any, path: Path) -> bool:
        if not isinstance(exp, str):
            return False
        key = last_key(path)
        in_list = bool(path) and isinstance(path[-1], int)
        if key == "duration" and exp.isdigit():
            if not (isinstance(act, str) and act.isdigit()):
                c.fail(path, exp, act, "volatile duration", "duration is a string of digits")
            return True
        if ISO8601.match(exp):
            if not (isinstance(act, str) and ISO8601.match(act)):
                c.fail(path, exp, act, "volatile timestamp", "an ISO-8601 timestamp was expected")
            return True
        if key in URI_KEYS or (in_list and key == "uris") or key == "path" or (in_list and key == "paths"):
            self.uri(c, exp, act, path)
            return True
        kind = self.identity_kind(path, key, in_list)
        if kind is not None:
            self.identity(c, kind, exp, act, path)
            return True
        return False

    def identity_kind(self, path: Path, key: str | None, in_list: bool) -> str | None:
        if key in NUMBER_KEYS or (in_list and key == "participants"):
            return "number"
        if key == "callUuid":
            return "uuid"
        if key == "callId":
            return "call"
        if key == "deviceId":
            return "device"
        if key == "userName":
            return "username"
        if key == "id":
            parent = _parent_key(path)
            if parent in ("call", "calls"):
                return "call"
            if parent in ("device", "devices"):
                return "device"
            if parent in ("user", "users"):
                return "user"
            if parent in ("userState", "settings"):
                return "agent-state"
            if parent is None or parent == "body":
                return "id:created"
            return collection_kind(_plural(parent))
        return None

    def identity(self, c: Comparer, kind: str, exp: str, act: Any, path: Path) -> None:
        if not isinstance(act, str):
            c.fail(path, exp, act, "type", "a string was expected")
            return
        conflict = c.bindings.check(kind, exp, act)
        if conflict is not None:
            c.fail(path, exp, act, f"identity ({kind})", conflict.describe())

    def uri(self, c: Comparer, exp: str, act: Any, path: Path) -> None:
        """By path only (E002); id segments by binding; errata aliases map path prefixes."""
        if not isinstance(act, str):
            c.fail(path, exp, act, "type", "a URI string was expected")
            return
        exp_path, act_path = self._alias(c, _uri_path(exp)), self._alias(c, _uri_path(act))
        exp_parts, act_parts = exp_path.split("/"), act_path.split("/")
        if len(exp_parts) != len(act_parts):
            c.fail(path, exp, act, "uri path (E002)", f"path {act_path} is not {exp_path}")
            return
        for index, (e, a) in enumerate(zip(exp_parts, act_parts, strict=True)):
            previous = exp_parts[index - 1] if index else ""
            if previous in ID_COLLECTIONS and e:
                conflict = c.bindings.check(collection_kind(previous), e, a)
                if conflict is not None:
                    c.fail(path, exp, act, f"identity ({collection_kind(previous)})", conflict.describe())
                    return
            elif e != a:
                c.fail(path, exp, act, "uri path (E002)", f"path {act_path} is not {exp_path}")
                return

    def _alias(self, c: Comparer, path: str) -> str:
        for prefix, canonical, _erratum in c.rules.uri_aliases:
            if path.startswith(prefix):
                return canonical + path[len(prefix) :]
        return path


def _uri_path(value: str) -> str:
    parts = urlsplit(value)
    return parts.path if parts.scheme else value.split("?", 1)[0]


def _parent_key(path: Path) -> str | None:
    """The nearest member name above the last one (``call`` for ``data.call.id``)."""
    names = [p for p in path if isinstance(p, str)]
    return names[-2] if len(names) >= 2 else None


def _plural(name: str) -> str:
    kebab = re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()
    return kebab if kebab.endswith("s") else kebab + "s"


_WHOLE = re.compile(r"^\{([A-Za-z][A-Za-z0-9_]*)\}$")
_ANY = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def placeholder_pattern(template: str, c_or_values: Comparer | Mapping[str, str]) -> re.Pattern[str]:
    """``/api/v2/conversations/calls/{conversationId}`` as a pattern: bound placeholders literal, others any
    run of characters without ``/ & # ?``."""

    def bound(name: str) -> str | None:
        if isinstance(c_or_values, Comparer):
            return c_or_values.bindings.named.get(name)
        return c_or_values.get(name)

    parts = []
    for index, part in enumerate(_ANY.split(template)):
        if index % 2:
            value = bound(part)
            parts.append(re.escape(value) if value is not None else r"[^/&#?]+")
        else:
            parts.append(re.escape(part))
    return re.compile("".join(parts))


class PlatformStrategy(Strategy):
    name = "platform"
    unordered_lists = True

    def special(self, c: Comparer, exp: Any, act: Any, path: Path, mode: str) -> bool:
        if isinstance(exp, list) and not exp and mode != "shape" and isinstance(act, list) and act:
            c.fail(path, exp, act, "length", f"{len(act)} item(s), the document shows none")
            return True
        if not isinstance(exp, str) or not _ANY.search(exp):
            return False
        whole = _WHOLE.match(exp)
        if whole is not None:
            name = whole.group(1)
            if act is None:
                c.fail(path, exp, act, f"placeholder {exp}", "missing")
                return True
            if isinstance(act, bool) or not isinstance(act, str | int):
                c.fail(path, exp, act, f"placeholder {exp}", "a string or number was expected")
                return True
            bound = c.bindings.named.get(name)
            if bound is None:
                c.bindings.named[name] = str(act)
            elif mode != "shape" and str(act) != bound:
                c.fail(path, exp, act, f"placeholder {exp}", f"{exp} was already {bound!r}")
            return True
        if not isinstance(act, str):
            c.fail(path, exp, act, "type", "a string was expected")
        elif mode != "shape" and not placeholder_pattern(exp, c).fullmatch(act):
            c.fail(path, exp, act, "value", f"does not match {exp!r}")
        return True

    def scalar(self, c: Comparer, exp: Any, act: Any, path: Path) -> bool:
        return last_key(path) == "purpose" and exp == "agent" and act == "user"  # E454: a direct call


def compare_location(template: str, actual: str, values: Mapping[str, str]) -> list[str]:
    """A documented redirect (``{redirectUri}#access_token={token}&state={state}``): the same base URI; every
    documented query/fragment parameter present, and equal where the document or a binding fixes its value
    (parameter order is free: the document's is one of many)."""
    expected = urlsplit(_ANY.sub(lambda m: values.get(m.group(1), m.group(0)), template))
    got = urlsplit(actual)
    if (expected.scheme, expected.netloc, expected.path) != (got.scheme, got.netloc, got.path):
        return [f"Location {actual!r} does not go to {template!r}"]
    problems = []
    for part in ("query", "fragment"):
        present = dict(parse_qsl(getattr(got, part)))
        for key, value in parse_qsl(getattr(expected, part)):
            if key not in present:
                problems.append(f"Location lacks {key} in its {part}")
            elif not _WHOLE.match(value) and present[key] != value:
                problems.append(f"Location {key}={present[key]!r}, expected {value!r}")
    return problems


CONNECT_TIMESTAMPS = frozenset({"statusTimestamp", "queueTimestamp", "CurrentStateTime"})
CONNECT_NULLABLE = frozenset({"ActionsAllowed", "phoneNumber", "ExtendedCallVariables", "fromAddress"})  # E505
CONNECT_CALL_TYPES = frozenset({"agent", "inbound", "outbound"})  # E507
_CALL_TYPE_MEMBERS = frozenset(
    {("ResponseFields", "Type"), ("MediaProperties", "callType"), ("ResponseActual", "type")}
)
_BUTTON_BLOCKS = frozenset({"ButtonStates", "buttonStates"})  # E504


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _button_names(block: Any) -> set[str] | None:
    if not isinstance(block, Mapping):
        return None
    items = block.get("items", block)
    return set(items) if isinstance(items, Mapping) else None


class ConnectStrategy(Strategy):
    name = "connect"

    def __init__(self, errata: frozenset[str]) -> None:
        self.errata = errata

    def special(self, c: Comparer, exp: Any, act: Any, path: Path, mode: str) -> bool:
        key = last_key(path)
        parent = next((p for p in reversed(path[:-1]) if isinstance(p, str)), None)
        if key in CONNECT_TIMESTAMPS and mode != "shape":
            if not _is_timestamp(act):
                c.fail(path, exp, act, "volatile timestamp", "an ISO-8601 date-time was expected")
            return True
        if "E504" in self.errata and key in _BUTTON_BLOCKS and mode != "shape":
            names, got = _button_names(exp), _button_names(act)
            if got is None:
                c.fail(path, exp, act, "buttons (E504)", "a button block was expected")
            elif names is not None and names != got:
                c.fail(path, sorted(names), sorted(got), "buttons (E504)", "not the documented buttons")
            return True
        if "E505" in self.errata and key in CONNECT_NULLABLE:
            return True  # printed null; their content is documented nowhere, so any value (null or not) is read
        if "E507" in self.errata and mode != "shape" and (key == "CallType" or (parent, key) in _CALL_TYPE_MEMBERS):
            if act not in CONNECT_CALL_TYPES:
                c.fail(path, exp, act, "call type (E507)", f"one of {sorted(CONNECT_CALL_TYPES)} was expected")
            return True
        return False


GWS = GwsStrategy()
PLATFORM = PlatformStrategy()


def connect(errata: frozenset[str] | set[str] | list[str] = frozenset()) -> ConnectStrategy:
    """The Connect strategy with the errata a fixture lists (E504, E505, E507 apply only where listed)."""
    return ConnectStrategy(frozenset(errata))


def for_system(system: str, errata: frozenset[str] | set[str] | list[str] = frozenset()) -> Strategy:
    """The strategy of a fixture's ``system``."""
    if system == "gws":
        return GWS
    if system == "platform":
        return PLATFORM
    if system == "connect":
        return connect(errata)
    raise ValueError(f"no comparison strategy for system {system!r}")
