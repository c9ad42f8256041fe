"""Documented value ↔ actual value bindings, learned while a fixture is replayed.

Why: a documented sample was captured on another contact center — its call ids, callUuids, device ids, user
ids and phone numbers are not the target's. The replay binds each documented token to the actual value the
first time it meets it (or when a recipe creates the thing), and from then on the documented token must
mean that same actual value, and no other documented token may mean it: identity consistency is part of
conformance (a call that changes its id between two notifications is a failure, not a volatile value).

A binding is a bijection per *kind*:

* ``call`` (call ids, also ``callId`` of push messages), ``uuid`` (callUuid), ``device``, ``user``,
  ``username`` (the login identity of a documented user), ``number`` (phone numbers / DNs: participants,
  dnis, phoneNumber, digits, e164Number, formattedPhoneNumber, forwardTo, destinations),
  ``agent-state`` (agent-state operation ids), ``id:<collection>`` (other resource ids: skills, queues,
  groups, services, voice environments…, and ids a replay creates), ``placeholder`` (``{id}``-style
  placeholders of requests that a recipe fills in).

Requests are rewritten with :meth:`Bindings.substitute_request` before they are sent.

``named`` values are not a bijection: Platform placeholders (``{agentUserToken}``, ``{callerUserToken}``) may
name the same value, and a replay may fill them in before it compares (:meth:`Bindings.with_named`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ID_COLLECTIONS",
    "NUMBER_KEYS",
    "URI_KEYS",
    "BindingConflict",
    "Bindings",
    "collection_kind",
    "is_placeholder_token",
]

#: Members whose (string) value is a phone number / DN.
NUMBER_KEYS = frozenset(
    {
        "dnis",
        "phoneNumber",
        "digits",
        "e164Number",
        "formattedPhoneNumber",
        "forwardTo",
        "ani",
        "E164digits",
        "localPhoneNumber",
        "participant",
        "FirstConferencePartyDN",
    }
)
#: Members whose value is a URI (compared by path only, E002).
URI_KEYS = frozenset(
    {
        "uri",
        "deviceUri",
        "parentCallUri",
        "callUri",
        "otherCallUri",
        "consultCallUri",
        "targetDeviceUri",
        "voiceEnvironmentUri",
        "phoneNumberUri",
        "routingTemplateUri",
        "parentUri",
    }
)
#: Path segments followed by a resource id, and the binding kind of that id.
ID_COLLECTIONS: dict[str, str] = {
    "calls": "call",
    "devices": "device",
    "users": "user",
    "skills": "id:skills",
    "queues": "id:queues",
    "voice-environments": "id:voice-environments",
    "groups": "id:groups",
    "dispositions": "id:dispositions",
    "services": "id:services",
    "routing-templates": "id:routing-templates",
    "phone-numbers": "id:phone-numbers",
    "features": "id:features",
    "contacts": "id:contacts",
}
_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def collection_kind(collection: str) -> str:
    """The binding kind of an id that follows ``collection`` in a path (``calls`` → ``call``)."""
    return ID_COLLECTIONS.get(collection, f"id:{collection}")


def is_placeholder_token(value: Any) -> str | None:
    """``{name}`` → ``name``; anything else → None."""
    if isinstance(value, str):
        found = _PLACEHOLDER.match(value)
        if found:
            return found.group(1)
    return None


@dataclass(frozen=True)
class BindingConflict:
    """A documented token met an actual value that breaks the bijection."""

    kind: str
    documented: str
    actual: str
    bound_to: str | None  # the actual value the documented token already means
    bound_from: str | None  # the documented token the actual value already means

    def describe(self) -> str:
        if self.bound_to is not None:
            return (
                f"documented {self.kind} {self.documented!r} was already bound to {self.bound_to!r}, "
                f"now it is {self.actual!r}"
            )
        return (
            f"actual {self.kind} {self.actual!r} already stands for documented {self.bound_from!r}, "
            f"so it cannot also be documented {self.documented!r}"
        )


class Bindings:
    """The bijections of one replay (see the module docstring)."""

    def __init__(self) -> None:
        self._fwd: dict[tuple[str, str], str] = {}
        self._rev: dict[tuple[str, str], str] = {}
        self.named: dict[str, str] = {}
        self.base_url: str | None = None

    @classmethod
    def with_named(cls, values: Mapping[str, str]) -> Bindings:
        """Bindings that start from named placeholder values (``{"conversationId": "…"}``)."""
        out = cls()
        out.named = dict(values)
        return out

    # ---- reading ------------------------------------------------------------------------------------------------
    def get(self, kind: str, documented: str) -> str | None:
        return self._fwd.get((kind, documented))

    def documented_for(self, kind: str, actual: str) -> str | None:
        return self._rev.get((kind, actual))

    def placeholder(self, name: str) -> str | None:
        return self._fwd.get(("placeholder", name))

    def items(self) -> Iterator[tuple[str, str, str]]:
        for (kind, documented), actual in sorted(self._fwd.items()):
            yield kind, documented, actual

    def __len__(self) -> int:
        return len(self._fwd)

    # ---- writing ------------------------------------------------------------------------------------------------
    def check(self, kind: str, documented: str, actual: str) -> BindingConflict | None:
        """Bind on first sight; afterwards require the same actual value. Returns the conflict, if any."""
        bound = self._fwd.get((kind, documented))
        if bound is not None:
            if bound == actual:
                return None
            return BindingConflict(kind, documented, actual, bound, None)
        other = self._rev.get((kind, actual))
        if other is not None and other != documented:
            return BindingConflict(kind, documented, actual, None, other)
        self._fwd[(kind, documented)] = actual
        self._rev[(kind, actual)] = documented
        return None

    def bind(self, kind: str, documented: str, actual: str) -> None:
        """Bind a value a recipe established.

        Raises:
            ValueError: the binding contradicts an earlier one (a bug of the plan, not of the target).
        """
        conflict = self.check(kind, documented, actual)
        if conflict is not None:
            raise ValueError(conflict.describe())

    def bind_placeholder(self, name: str, actual: str, kind: str | None = None) -> None:
        """``{name}`` means ``actual``; with ``kind`` the token ``{name}`` is also bound under that kind, so an
        expectation written with the placeholder (``call.id: "{id}"``) compares by identity."""
        self.bind("placeholder", name, actual)
        if kind:
            self.bind(kind, "{" + name + "}", actual)

    def snapshot(self) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str], dict[str, str]]:
        return dict(self._fwd), dict(self._rev), dict(self.named)

    def restore(self, state: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str], dict[str, str]]) -> None:
        self._fwd, self._rev, self.named = dict(state[0]), dict(state[1]), dict(state[2])

    # ---- requests ------------------------------------------------------------------------------------------------
    def substitute_path(self, path: str) -> str:
        """Replace bound ids and ``{placeholders}`` in a request path (``/api/v2/me/calls/<documented id>``)."""
        parts = path.split("/")
        out = []
        for index, segment in enumerate(parts):
            name = is_placeholder_token(segment)
            if name is not None:
                actual = self.placeholder(name)
                if actual is None:
                    raise KeyError(name)
                out.append(actual)
                continue
            previous = parts[index - 1] if index else ""
            if previous in ID_COLLECTIONS and segment:
                actual = self.get(collection_kind(previous), segment)
                out.append(actual if actual is not None else segment)
            else:
                out.append(segment)
        return "/".join(out)

    def substitute_uri(self, uri: str) -> str:
        """A URI sent by the client: the documented scheme and host stay (E002), bound ids are replaced."""
        parts = urlsplit(uri)
        if not parts.scheme:
            return self.substitute_path(uri)
        return urlunsplit((parts.scheme, parts.netloc, self.substitute_path(parts.path), parts.query, parts.fragment))

    def substitute_value(self, key: str | None, value: Any) -> Any:
        """Deep substitution of a request body member (``key`` is its member name)."""
        if isinstance(value, Mapping):
            return {k: self.substitute_value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute_value(key, v) for v in value]
        if not isinstance(value, str):
            return value
        name = is_placeholder_token(value)
        if name is not None and self.placeholder(name) is not None:
            return self.placeholder(name)
        if key in URI_KEYS or key in ("uris", "paths"):
            return self.substitute_uri(value)
        if key in NUMBER_KEYS or key == "destination":
            return self.get("number", value) or value
        if key == "callUuid":
            return self.get("uuid", value) or value
        return value

    def substitute_request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a fixture request with bound values in its path, query and body.

        Raises:
            KeyError: a ``{placeholder}`` of the path is not bound (the plan could not establish it).
        """
        out = copy.deepcopy(dict(request))
        out["path"] = self.substitute_path(str(request["path"]))
        if isinstance(request.get("query"), Mapping):
            out["query"] = {k: self._query_value(str(v)) for k, v in request["query"].items()}
        if "body" in request:
            out["body"] = self.substitute_value(None, request["body"])
        return out

    def _query_value(self, value: str) -> str:
        name = is_placeholder_token(value)
        return (self.placeholder(name) or value) if name else value
