"""Load the contracts once and validate bodies and messages against them.

Every JSON Schema, OpenAPI and AsyncAPI document under specs/ is registered under its file URI, so
relative ``$ref``s (``schemas/gws/Call.json``) resolve exactly as written in the documents. The mock
server and the conformance suite both validate through this module; no schema is copied into code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from voicekit.paths import specs_dir

HTTP_METHODS = ("get", "put", "post", "delete", "patch")

OPENAPI_DOCUMENTS = {"gws": "gws.openapi.yaml", "platform": "platform.openapi.yaml"}
# The mock's own control API: served and validated like the systems' APIs, but not a system under test (no
# fixtures, profiles or certificate entries), so it is kept out of OPENAPI_DOCUMENTS.
CONTROL_DOCUMENTS = {"control": "control.openapi.yaml"}
ALL_OPENAPI_DOCUMENTS = {**OPENAPI_DOCUMENTS, **CONTROL_DOCUMENTS}
ASYNCAPI_DOCUMENTS = {
    "gws": "gws.asyncapi.yaml",
    "platform": "platform.asyncapi.yaml",
    "connect": "connect.asyncapi.yaml",
}
# Which AsyncAPI document describes a fixture notification's transport.
TRANSPORT_DOCUMENT = {"cometd": "gws", "push": "gws", "bus": "connect", "platform-ws": "platform"}


def load_document(path: Path) -> Any:
    """Read a YAML or JSON file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


FOUND_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of an OpenAPI document."""

    system: str
    method: str
    template: str
    operation_id: str
    pointer: str  # JSON pointer of the operation object inside its document
    document_uri: str

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.template))
        return re.compile(f"^{regex}$")

    @property
    def ref(self) -> str:
        return f"{self.document_uri}#{self.pointer}"


@dataclass
class Problem:
    """A validation failure, with where it was found."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Contracts:
    """All documents under one specs folder, with a shared reference registry."""

    root: Path = field(default_factory=specs_dir)
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict, repr=False, compare=False)
    # (system, method, path) → operation: the documents never change, and the mock looks one up per request.
    _found: dict[tuple[str, str, str], Operation | None] = field(default_factory=dict, repr=False, compare=False)
    _request_refs: dict[tuple[Operation, str], str | None] = field(default_factory=dict, repr=False, compare=False)
    # (schema ref, canonical JSON) of values a caller found valid and chose to remember (see mockserver/gws/bodies).
    valid_memo: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)

    @cached_property
    def documents(self) -> dict[str, Any]:
        docs: dict[str, Any] = {}
        for path in sorted(self.root.rglob("*")):
            if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
                docs[path.resolve().as_uri()] = load_document(path)
        return docs

    @cached_property
    def registry(self) -> Registry:
        resources = [
            (uri, DRAFT202012.create_resource(doc)) for uri, doc in self.documents.items() if isinstance(doc, Mapping)
        ]
        return Registry().with_resources(resources)

    def uri_of(self, relative: str) -> str:
        return (self.root / relative).resolve().as_uri()

    def document(self, relative: str) -> Any:
        return self.documents[self.uri_of(relative)]

    def has_document(self, relative: str) -> bool:
        return self.uri_of(relative) in self.documents

    # ---- generic resolution and validation -----------------------------------------------------
    def locate(self, ref: str) -> tuple[str, Any]:
        """Absolute ``uri#pointer`` and contents of the object at ``ref``, following ``$ref`` at every
        step (for non-schema objects such as operations, responses, request bodies and messages)."""
        uri, _, pointer = ref.partition("#")
        node = self.documents[uri]
        current = ""
        node, uri, current = self._deref(node, uri, current)
        for token in [t for t in pointer.split("/")[1:]] if pointer else []:
            key = token.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
            current += "/" + token
            node, uri, current = self._deref(node, uri, current)
        return f"{uri}#{current}", node

    def _deref(self, node: Any, uri: str, pointer: str) -> tuple[Any, str, str]:
        while (
            isinstance(node, Mapping)
            and isinstance(node.get("$ref"), str)
            and set(node) <= {"$ref", "summary", "description"}
        ):
            target = urljoin(uri, node["$ref"])
            uri, _, pointer = target.partition("#")
            node = self.documents[uri]
            for token in [t for t in pointer.split("/")[1:]] if pointer else []:
                key = token.replace("~1", "/").replace("~0", "~")
                node = node[int(key)] if isinstance(node, list) else node[key]
        return node, uri, pointer

    def validator(self, ref: str) -> Draft202012Validator:
        """A validator for the schema at ``ref`` (a URI with a JSON-pointer fragment)."""
        validator = self._validators.get(ref)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": ref}, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self._validators[ref] = validator
        return validator

    def errors(
        self, ref: str, instance: Any, *, ignore_required: bool = False, placeholders: bool = False
    ) -> list[str]:
        """Validation errors of ``instance``; ``ignore_required`` for bodies the document shows only in
        part (match subset), ``placeholders`` also for string placeholders standing for any value
        (match shape: "<queue_id>", "X")."""
        out: list[str] = []
        for error in self.validator(ref).iter_errors(instance):
            out.extend(_flatten(error, ignore_required or placeholders, placeholders))
        return out

    # ---- OpenAPI ---------------------------------------------------------------------------------
    @cached_property
    def operations(self) -> dict[str, list[Operation]]:
        ops: dict[str, list[Operation]] = {}
        for system, name in ALL_OPENAPI_DOCUMENTS.items():
            if not self.has_document(name):
                continue
            uri = self.uri_of(name)
            doc = self.documents[uri]
            found = []
            for template, item in (doc.get("paths") or {}).items():
                for method in HTTP_METHODS:
                    if method in item:
                        pointer = "/paths/" + _escape(template) + "/" + method
                        found.append(
                            Operation(
                                system, method.upper(), template, item[method].get("operationId", ""), pointer, uri
                            )
                        )
            # Literal segments win over templated ones (/me/calls before /me/{x}).
            found.sort(key=lambda op: (-op.template.count("/") + op.template.count("{"), op.template))
            ops[system] = found
        return ops

    def find_operation(self, system: str, method: str, path: str) -> Operation | None:
        """The operation whose path template matches ``path`` (a decoded path without a query string);
        remembered (bounded: paths carry ids, so the cache starts over when full)."""
        key = (system, method.upper(), path)
        try:
            return self._found[key]
        except KeyError:
            pass
        if len(self._found) >= FOUND_CACHE_SIZE:
            self._found.clear()
        found = self._found[key] = self._find_operation(system, method, path)
        return found

    def _find_operation(self, system: str, method: str, path: str) -> Operation | None:
        candidates = [op for op in self.operations.get(system, []) if op.method == method.upper()]
        matches = [op for op in candidates if op.pattern.match(path)]
        if not matches:
            return None
        return min(matches, key=lambda op: op.template.count("{"))

    def operation_object(self, op: Operation) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.locate(op.ref)[1]
        return found

    def request_schema_ref(self, op: Operation, content_type: str = "application/json") -> str | None:
        key = (op, content_type)
        if key not in self._request_refs:
            self._request_refs[key] = self._request_schema_ref(op, content_type)
        return self._request_refs[key]

    def _request_schema_ref(self, op: Operation, content_type: str) -> str | None:
        body = self.operation_object(op).get("requestBody")
        if not body:
            return None
        where, body = self.locate(f"{op.ref}/requestBody")
        if content_type not in body.get("content", {}):
            return None
        return f"{where}/content/{_escape(content_type)}/schema"

    def response_schema_refs(self, op: Operation, status: int | None) -> list[str]:
        """Schemas for a documented status (all declared ones when the status is unknown)."""
        responses = self.operation_object(op).get("responses", {})
        keys = [str(status)] if status is not None else list(responses)
        if status is not None and str(status) not in responses:
            wildcard = f"{str(status)[0]}XX"
            keys = [wildcard] if wildcard in responses else ["default"] if "default" in responses else []
        refs = []
        for key in keys:
            where, response = self.locate(f"{op.ref}/responses/{_escape(key)}")
            for media, content in (response.get("content") or {}).items():
                if "schema" in content and "json" in media:
                    refs.append(f"{where}/content/{_escape(media)}/schema")
        return refs

    def query_parameters(self, op: Operation) -> dict[str, str]:
        """Name → schema ref of the query parameters of an operation (its own and its path item's)."""
        params: dict[str, str] = {}
        where, path_item = self.locate(op.ref.rsplit("/", 1)[0])
        for owner_ref, owner in ((op.ref, self.operation_object(op)), (where, path_item)):
            for index in range(len(owner.get("parameters", []))):
                pref, resolved = self.locate(f"{owner_ref}/parameters/{index}")
                if resolved.get("in") == "query":
                    params.setdefault(resolved["name"], f"{pref}/schema")
        return params

    def path_errors(self, op: Operation, path: str) -> list[str]:
        """Path parameters (``{action}`` of ``/calls/{id}/{action}``) against their schemas; [] when ``path`` does
        not match the operation's template."""
        names = re.findall(r"\{([^}]+)\}", op.template)
        if not names:
            return []
        regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.template))
        found = re.fullmatch(regex, path)
        if found is None:
            return []
        values = dict(zip(names, found.groups(), strict=True))
        errors = []
        where, path_item = self.locate(op.ref.rsplit("/", 1)[0])
        for owner_ref, owner in ((op.ref, self.operation_object(op)), (where, path_item)):
            for index in range(len(owner.get("parameters", []))):
                pref, resolved = self.locate(f"{owner_ref}/parameters/{index}")
                name = resolved.get("name")
                if resolved.get("in") == "path" and name in values:
                    errors += [f"{name}: {e}" for e in self.errors(f"{pref}/schema", values.pop(name))]
        return errors

    def query_errors(self, op: Operation, query: Mapping[str, str], *, undocumented: bool = True) -> list[str]:
        """Documented query parameters must satisfy their schemas; undocumented ones are reported only
        when ``undocumented`` (a server may treat them as filters)."""
        params = self.query_parameters(op)
        errors = []
        for name, value in query.items():
            if name not in params:
                if undocumented:
                    errors.append(f"{name}: not a documented parameter of {op.operation_id}")
                continue
            schema = self.locate(params[name])[1]
            typed: Any = value
            if schema.get("type") == "integer":
                try:
                    typed = int(value)
                except ValueError:
                    typed = value
            errors += [f"{name}: {e}" for e in self.errors(params[name], typed)]
        return errors

    def declared_statuses(self, op: Operation) -> list[str]:
        return list(self.operation_object(op).get("responses", {}))

    def operation_names(self, op: Operation) -> set[str]:
        """operationName values accepted by an operation's discriminated body."""
        ref = self.request_schema_ref(op)
        if not ref:
            return set()
        names: set[str] = set()
        self._collect_consts(ref, names, depth=0)
        return names

    def _collect_consts(self, ref: str, names: set[str], depth: int) -> None:
        where, schema = self.locate(ref)
        if depth > 6 or not isinstance(schema, Mapping):
            return
        const = schema.get("properties", {}).get("operationName", {}).get("const")
        if const:
            names.add(const)
        for i, _ in enumerate(schema.get("oneOf", [])):
            self._collect_consts(f"{where}/oneOf/{i}", names, depth + 1)

    # ---- AsyncAPI --------------------------------------------------------------------------------
    def message_payload_refs(self, system: str, channel: str | None = None) -> list[tuple[str, str]]:
        """(message name, payload schema ref) pairs of a channel, or of the whole document."""
        name = ASYNCAPI_DOCUMENTS.get(system)
        if not name or not self.has_document(name):
            return []
        uri = self.uri_of(name)
        doc = self.documents[uri]
        pairs: list[tuple[str, str]] = []
        channels = doc.get("channels") or {}
        chosen = [
            key for key, ch in channels.items() if channel is None or _address_matches(ch.get("address"), channel)
        ]
        if channel is not None and not chosen:
            chosen = list(channels)
        for key in chosen:
            for msg_key in channels[key].get("messages") or {}:
                where, message = self.locate(f"{uri}#/channels/{_escape(key)}/messages/{_escape(msg_key)}")
                payload = message.get("payload")
                if payload is None:
                    continue
                if isinstance(payload, Mapping) and "schemaFormat" in payload:
                    pairs.append((msg_key, f"{where}/payload/schema"))
                else:
                    pairs.append((msg_key, f"{where}/payload"))
        return pairs

    def validate_message(
        self,
        system: str,
        channel: str | None,
        message: Any,
        *,
        ignore_required: bool = False,
        placeholders: bool = False,
    ) -> list[str]:
        """Empty when the message matches one of the channel's message payloads."""
        pairs = self.message_payload_refs(system, channel)
        if not pairs:
            return [f"no AsyncAPI messages for {system} channel {channel!r}"]
        failures = []
        for name, ref in pairs:
            errs = self.errors(ref, message, ignore_required=ignore_required, placeholders=placeholders)
            if not errs:
                return []
            failures.append((len(errs), name, errs))
        failures.sort(key=lambda f: f[0])
        _, name, errs = failures[0]
        return [f"closest message {name}: {e}" for e in errs[:5]]


def _flatten(error: ValidationError, ignore_required: bool, placeholders: bool = False) -> Iterator[str]:
    if error.context:
        # oneOf/anyOf: if some branch fits once tolerated errors are dropped, the instance fits;
        # otherwise report the branch that fits best (no failed discriminating const, fewest errors).
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        ranked = []
        for errs in branches.values():
            messages = [m for e in errs for m in _flatten(e, ignore_required, placeholders)]
            ranked.append((any(e.validator == "const" for e in errs), len(messages), messages))
        if error.validator in ("oneOf", "anyOf") and any(not r[2] for r in ranked):
            return
        ranked.sort(key=lambda r: (r[0], r[1]))
        yield from ranked[0][2]
        return
    if ignore_required and error.validator == "required":
        return
    if placeholders and isinstance(error.instance, str) and error.validator in _PLACEHOLDER_TOLERANT:
        return
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    yield f"{where}: {error.message}"


_PLACEHOLDER_TOLERANT = {"type", "format", "pattern", "const", "enum", "minLength", "maxLength", "not"}


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _address_matches(address: str | None, channel: str) -> bool:
    if address is None:
        return False
    regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(address))
    return re.fullmatch(regex, channel) is not None


_SHARED: dict[Path, Contracts] = {}


def shared_contracts(root: Path | None = None) -> Contracts:
    """One loaded copy per specs folder: documents and compiled validators are reused, never mutated."""
    root = (root or specs_dir()).resolve()
    if root not in _SHARED:
        _SHARED[root] = Contracts(root)
    return _SHARED[root]
