"""The /api/v2 routes of GWS. Each view parses and validates input, calls the domain under the world's
lock, and shapes the answer by the documented return-value rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request

from mockserver.config import MockConfig
from mockserver.domain.errors import GwsError, NotFound, ValidationFailed
from mockserver.domain.gws import operations, provisioning, settings
from mockserver.domain.gws.model import User
from mockserver.domain.gws.views import absolutize, call_view, device_view
from mockserver.domain.gws.world import World
from mockserver.gws import bodies, envelope, params, security
from voicekit.contracts import Contracts

API = "/api/v2"
VOICE_PREFIXES = ("/api/v2/me/calls", "/api/v2/me/devices", "/api/v2/me/channels")
PROVISIONING_PREFIXES = (
    "/api/v2/users",
    "/api/v2/devices",
    "/api/v2/skills",
    "/api/v2/queues",
    "/api/v2/system/routing-templates",
    "/api/v2/contacts",
)
USER_SORT_FIELDS = {
    "userName",
    "firstName",
    "lastName",
    "enabled",
    "roles",
    "devices.phoneNumber",
    "skills.name",
    "skills.level",
    "statistics.channels.voice.state",
    "statistics.channels.voice.activity",
    "statistics.channels.voice.displayName",
    "statistics.channels.voice.workMode",
}
USER_FILTER_FIELDS = USER_SORT_FIELDS | {"id"}


@dataclass
class GwsContext:
    world: World
    contracts: Contracts
    config: MockConfig
    sessions: security.Sessions = field(default_factory=security.Sessions)
    on_session_end: list[Callable[[str], None]] = field(default_factory=list)


bp = Blueprint("gws", __name__, url_prefix=API)


def ctx() -> GwsContext:
    return current_app.extensions["voicekit.gws"]


def base_url() -> str:
    """``scheme://host`` as the client addressed the mock (``request.host_url`` without its IRI decoding, which
    cost a tenth of a GET; the host is the client's own Host header either way)."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    return f"{req.scheme}://{req.host}"


def respond(**members: Any) -> Response:
    return envelope.ok(**absolutize(members, base_url()))


def me() -> User:
    return g.gws_user


def _origin_ok(c: GwsContext, origin: str) -> bool:
    return security.origin_allowed(c.world, c.config.allow_origins, origin, security.own_origins(request.environ))


# ---- the filters every request passes ----------------------------------------------------------------------
@bp.before_request
def guard() -> Response | None:
    # ``req``: the request behind Flask's proxy, looked up once (this filter runs on every GWS request).
    c = ctx()
    req = request._get_current_object()  # type: ignore[attr-defined]
    headers = req.headers
    origin = headers.get("Origin")
    if origin and not _origin_ok(c, origin):
        return envelope.error(3, f"Origin {origin} is not allowed")
    method, path = req.method, req.path
    if method == "OPTIONS":
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-CSRF-TOKEN"
        response.headers["Access-Control-Max-Age"] = "600"
        return response
    world = c.world
    if path == f"{API}/diagnostics/version":
        # Readable without credentials (003 l.100-101); with them it opens the session and, with CSRF on,
        # issues the token like any GET — the CSRF Python sample reads both from this response (l.943-948).
        if headers.get("Authorization") or req.cookies.get(security.SESSION_COOKIE):
            with world.lock:
                user, session = security.authenticate(world, c.sessions, req)
            if user is not None:
                g.gws_user, g.gws_session = user, session
        return None
    with world.lock:
        user, session = security.authenticate(world, c.sessions, req)
        if user is not None:
            if path.startswith(VOICE_PREFIXES) and not world.feature_enabled("api-voice"):
                refused: tuple[int, str] | None = (6, "Not found: the api-voice feature is not assigned")
            elif path.startswith(PROVISIONING_PREFIXES):
                feature = "api-provisioning-read" if method == "GET" else "api-provisioning-write"
                refused = (
                    None if world.feature_enabled(feature) else (6, f"Not found: the {feature} feature is not assigned")
                )
            else:
                refused = None
    if user is None:
        return envelope.error(20, "User is not authenticated")
    g.gws_user, g.gws_session = user, session
    if c.config.csrf and not security.csrf_ok(req, session):
        return envelope.error(3, "CSRF token is missing or invalid")
    if req.query_string:
        bodies.validate_query(c.contracts, method, path, req.args.to_dict())
    if refused is not None:
        return envelope.error(*refused)
    return None


@bp.after_request
def decorate(response: Response) -> Response:
    c = ctx()
    req = request._get_current_object()  # type: ignore[attr-defined]
    origin = req.headers.get("Origin")
    if origin and _origin_ok(c, origin):
        security.add_cors_headers(response, origin)
    session = g.get("gws_session")
    ended = g.get("gws_session_ended")
    if session is not None and not ended:
        if req.cookies.get(security.SESSION_COOKIE) != session.id:
            security.set_session_cookie(response, session.id)
        if c.config.csrf and req.method == "GET":
            security.add_csrf_headers(response, session)
    if ended:
        response.delete_cookie(security.SESSION_COOKIE, path="/")
    response.headers.setdefault("Cache-Control", "no-cache, no-store")
    return response


def applied(action: Callable[[World, User, Any], Any], *, required: bool = True) -> Response:
    """Parse and validate the body, run ``action(world, user, body)`` under the world's lock, answer 0."""
    c = ctx()
    data = body(required)
    with c.world.lock:
        action(c.world, me(), data)
    return envelope.ok()


def body(required: bool = True) -> Any:
    c = ctx()
    req = request._get_current_object()  # type: ignore[attr-defined]
    data = bodies.json_body(req, c.config.max_body_bytes, required=required)
    if data is not None:
        bodies.validate(c.contracts, req.method, req.path, data)
    return data


# ---- collections -------------------------------------------------------------------------------------------
def collection(
    plural: str,
    items: list[tuple[str, dict[str, Any]]],
    *,
    filterable: set[str] | None = None,
    sortable: set[str] | None = None,
    paged: bool = False,
    resolver: Callable[[str], dict[str, Any] | None] | None = None,
) -> Response:
    """``items`` are (path relative to /api/v2, resource) pairs."""
    query = {k: v for k, v in request.args.items()}
    fields = params.csv(query.get("fields"))
    resolve_names = params.csv(query.get("resolveUris"))
    pairs = items
    if filterable is not None:
        pairs = params.filter_items(pairs, query, filterable, view=lambda pr: pr[1])
    elif any(k not in params.RESERVED for k in query):
        raise ValidationFailed(f"Unknown parameter: {next(k for k in query if k not in params.RESERVED)}")
    if sortable is not None:
        pairs = params.sort_items(pairs, query.get("sortBy"), query.get("order"), sortable, view=lambda pr: pr[1])
    total = None
    if paged:
        pairs, total = params.paginate(pairs, query.get("offset"), query.get("limit"))
    members: dict[str, Any] = {}
    if fields is None:
        members["uris"] = [f"{base_url()}{API}{path}" for path, _ in pairs]
        members["paths"] = [path for path, _ in pairs]
    else:
        members[plural] = [
            params.project(params.resolve(r, resolve_names, resolver or (lambda _: None)), fields) for _, r in pairs
        ]
    if total is not None:
        members["totalCount"] = total
    return respond(**members)


def single(
    singular: str, resource: dict[str, Any], resolver: Callable[[str], dict[str, Any] | None] | None = None
) -> Response:
    fields = params.csv(request.args.get("fields"))
    resolved = params.resolve(resource, params.csv(request.args.get("resolveUris")), resolver or (lambda _: None))
    return respond(**{singular: params.project(resolved, fields)})


# ---- diagnostics and me ------------------------------------------------------------------------------------
@bp.get("/diagnostics/version")
def version() -> Response:
    return envelope.ok(version=ctx().world.version)


@bp.get("/me")
def get_me() -> Response:
    w = ctx().world
    with w.lock:
        user = me()
        resource = provisioning.user_resource(w, user)
        wanted = params.csv(request.args.get("subresources"))
        if wanted:
            extra = provisioning.user_subresources(w, user)
            extra["calls"] = [call_view(w, c, p) for d in user.device_ids for c, p in w.calls_of(d)]
            names = list(extra) if wanted == ["*"] else wanted
            unknown = [n for n in names if n not in extra]
            if unknown:
                raise ValidationFailed(f"Unknown subresource: {', '.join(unknown)}")
            for name in names:
                resource[name] = extra[name]
        return respond(user=params.project(resource, params.csv(request.args.get("fields"))))


@bp.post("/me", strict_slashes=False)  # E317: /api/v2/me/ too
def post_me() -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        name = operations.me_operation(c.world, me(), data)
    if name == "EndContactCenterSession":
        # The request also ends the HTTP session; the CSRF token dies with it (003 l.10735-10736).
        session = g.get("gws_session")
        if session is not None:
            c.sessions.end(session.id)
        for hook in c.on_session_end:
            hook(me().id)
        g.gws_session_ended = True
    return envelope.ok()


@bp.get("/me/calls")
def list_my_calls() -> Response:
    w = ctx().world
    with w.lock:
        views = [call_view(w, c, p) for d in me().device_ids for c, p in w.calls_of(d)]
    return collection("calls", [(f"/me/calls/{v['id']}", v) for v in views])


@bp.get("/me/calls/<view_id>")
def get_my_call(view_id: str) -> Response:
    w = ctx().world
    with w.lock:
        call, party = w.find_view(me(), view_id)
        view = call_view(w, call, party)
    return single("call", view)


@bp.post("/me/calls/<view_id>")
def post_call(view_id: str) -> Response:
    return applied(lambda w, u, d: operations.call_operation(w, u, view_id, d))


@bp.get("/me/devices")
def list_my_devices() -> Response:
    w = ctx().world
    with w.lock:
        views = [device_view(w, w.devices[d]) for d in me().device_ids if d in w.devices]
    return collection("devices", [(f"/devices/{v['id']}", v) for v in views])


@bp.get("/me/devices/<device_id>")
def get_my_device(device_id: str) -> Response:
    w = ctx().world
    with w.lock:
        view = device_view(w, w.own_device(me(), device_id))
    return single("device", view)


@bp.post("/me/devices/<device_id>")
def post_device(device_id: str) -> Response:
    return applied(lambda w, u, d: operations.device_operation(w, u, device_id, d))


@bp.post("/me/devices/<device_id>/calls")
def post_dial(device_id: str) -> Response:
    return applied(lambda w, u, d: operations.dial(w, u, device_id, d))


@bp.post("/me/channels/voice")
def post_agent_state() -> Response:
    return applied(lambda w, u, d: operations.agent_state_operation(w, u, d))


@bp.get("/me/skills")
def list_my_skills() -> Response:
    w = ctx().world
    with w.lock:
        skills = [provisioning.skill_resource(w, sid, lvl) for sid, lvl in me().skills.items() if sid in w.skills]
    return collection("skills", [(f"/skills/{s['id']}", s) for s in skills])


@bp.get("/me/settings/agent-states")
def my_agent_states() -> Response:
    w = ctx().world
    if "no-me-agent-states" in w.variants:  # only the documented /api/v2/settings/agent-states is served (E100)
        abort(404)
    with w.lock:
        return respond(**settings.read(w, me(), "agent-states"))


# ---- settings ----------------------------------------------------------------------------------------------
@bp.get("/settings")
def list_settings_groups() -> Response:
    w = ctx().world
    with w.lock:
        return respond(settings=settings.list_groups(w))


@bp.post("/settings")
def create_settings_group() -> Response:
    return applied(lambda w, u, d: settings.create_group(w, u, d))


@bp.get("/settings/<group>")
def read_settings(group: str) -> Response:
    w = ctx().world
    with w.lock:
        return respond(**settings.read(w, me(), group))


@bp.post("/settings/<group>")
def create_setting(group: str) -> Response:
    return applied(lambda w, u, d: settings.create(w, u, group, d))


@bp.put("/settings/<group>")
def update_setting(group: str) -> Response:
    return applied(lambda w, u, d: settings.update(w, u, group, d))


@bp.delete("/settings/<group>")
def delete_setting(group: str) -> Response:
    c = ctx()
    data = body(required=False)
    with c.world.lock:
        if data is None:
            settings.delete_group(c.world, me(), group)
        else:
            settings.delete(c.world, me(), group, data)
    return envelope.ok()


# ---- users -------------------------------------------------------------------------------------------------
@dataclass
class UserRow:
    """A user as answered (``shown``) and as filtered and sorted (``full``: subresources included, since
    filtering and sorting may reach into them even when they are not returned, 003 l.4041-4044)."""

    path: str
    shown: dict[str, Any]
    full: dict[str, Any]


def _user_rows(w: World, users: list[User]) -> list[UserRow]:
    wanted = params.csv(request.args.get("subresources")) or []
    rows = []
    for user in users:
        resource = provisioning.user_resource(w, user)
        extra = provisioning.user_subresources(w, user)
        names = list(extra) if wanted == ["*"] else wanted
        unknown = [n for n in names if n not in extra]
        if unknown:
            raise ValidationFailed(f"Unknown subresource: {', '.join(unknown)}")
        rows.append(UserRow(f"/users/{user.id}", {**resource, **{n: extra[n] for n in names}}, {**resource, **extra}))
    return rows


@bp.get("/users")
def list_users() -> Response:
    w = ctx().world
    with w.lock:
        rows = _user_rows(w, provisioning.visible_users(w, me()))
    args = request.args
    query = {k: v for k, v in args.items() if k not in params.RESERVED}
    rows = params.filter_items(rows, query, USER_FILTER_FIELDS, view=lambda r: r.full)
    rows = params.sort_items(rows, args.get("sortBy"), args.get("order"), USER_SORT_FIELDS, view=lambda r: r.full)
    rows, total = params.paginate(rows, args.get("offset"), args.get("limit"))
    fields = params.csv(args.get("fields"))
    members: dict[str, Any]
    if fields is None and not args.get("subresources"):
        members = {"uris": [f"{base_url()}{API}{r.path}" for r in rows], "paths": [r.path for r in rows]}
    else:
        subs = params.csv(args.get("subresources")) or []
        keep = [k for k in ("skills", "devices", "settings", "statistics") if subs == ["*"] or k in subs]
        members = {"users": [params.project(r.shown, fields, keep) for r in rows]}
    if total is not None:
        members["totalCount"] = total
    return respond(**members)


@bp.post("/users")
def create_users() -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        if isinstance(data, dict) and "users" in data:
            created, failed = provisioning.bulk_create_users(c.world, me(), data["users"])
            if not created:
                first = failed[0]
                return envelope.error(first["statusCode"], first["statusMessage"])
            succeeded = [{"id": u.id, "uri": f"{API}/users/{u.id}", "path": f"/users/{u.id}"} for u in created]
            return _seven(succeeded, failed) if failed else respond(succeeded=succeeded)
        user = provisioning.create_user(c.world, me(), data)
    return respond(id=user.id, uri=f"{API}/users/{user.id}", path=f"/users/{user.id}")


def _seven(succeeded: list[dict[str, Any]], failed: list[dict[str, Any]]) -> Response:
    """Partial success of a bulk operation: statusCode 7 with HTTP 200 (003 l.3729-3909, E001).
    Failed descriptors echo the identifying attributes exactly as they were sent (E115)."""
    return jsonify({"statusCode": 7, "succeeded": absolutize(succeeded, base_url()), "failed": failed})


def _refs(data: dict[str, Any], kind: str) -> list[tuple[str, str, str]]:
    """(as sent, member name, id) for each entry of a {uris, paths} body."""
    out = []
    for member in ("uris", "paths"):
        for ref in data.get(member) or []:
            tail = str(ref).rstrip("/").split("/")
            if len(tail) < 2 or tail[-2] != kind:
                out.append((str(ref), member[:-1], ""))
            else:
                out.append((str(ref), member[:-1], tail[-1]))
    return out


def _bulk(data: dict[str, Any], kind: str, action: Callable[[str], None]) -> Response:
    succeeded, failed = [], []
    for ref, member, ident in _refs(data, kind):
        try:
            if not ident:
                raise NotFound(f"{ref} is not a {kind} reference")
            action(ident)
            succeeded.append({"id": ident, "uri": f"{API}/{kind}/{ident}", "path": f"/{kind}/{ident}"})
        except GwsError as exc:
            failed.append({"statusCode": exc.status_code, "statusMessage": exc.message, member: ref})
    if not succeeded:
        first = failed[0] if failed else {"statusCode": 1, "statusMessage": "A required parameter is missing: uris"}
        return envelope.error(first["statusCode"], first["statusMessage"])
    return envelope.ok() if not failed else _seven(succeeded, failed)


@bp.delete("/users")
def delete_users() -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        return _bulk(data, "users", lambda ident: provisioning.delete_user(c.world, me(), ident))


@bp.get("/users/<user_id>")
def get_user(user_id: str) -> Response:
    w = ctx().world
    with w.lock:
        user = provisioning.get_user(w, me(), user_id)
        [row] = _user_rows(w, [user])
    return single("user", row.shown)


@bp.get("/users/<user_id>/devices")
def list_user_devices(user_id: str) -> Response:
    w = ctx().world
    with w.lock:
        user = provisioning.get_user(w, me(), user_id)
        views = [provisioning.device_resource(w, w.devices[d]) for d in user.device_ids if d in w.devices]
    return collection("devices", [(f"/devices/{v['id']}", v) for v in views])


@bp.post("/users/<user_id>/devices")
def create_user_device(user_id: str) -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        device = provisioning.create_user_device(c.world, me(), user_id, data)
    return respond(id=device.id, uri=f"{API}/devices/{device.id}", path=f"/devices/{device.id}")


@bp.post("/users/<user_id>/skills")
def assign_skills(user_id: str) -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        provisioning.get_user(c.world, me(), user_id)
        return _bulk(data, "skills", lambda ident: provisioning.assign_skill(c.world, me(), user_id, ident))


# ---- devices, skills, queues, routing templates ------------------------------------------------------------
@bp.get("/devices")
def list_devices() -> Response:
    w = ctx().world
    with w.lock:
        provisioning.require_supervisor(me())
        views = [provisioning.device_resource(w, d) for d in w.devices.values()]
    return collection("devices", [(f"/devices/{v['id']}", v) for v in views], filterable=_fields_of(views))


@bp.get("/devices/<device_id>")
def get_device(device_id: str) -> Response:
    w = ctx().world
    with w.lock:
        if device_id not in me().device_ids:
            provisioning.require_supervisor(me())
        view = provisioning.device_resource(w, w.device(device_id))
        return single("device", view, lambda uri: provisioning.resolve_uri(w, uri))


def _fields_of(items: list[dict[str, Any]]) -> set[str]:
    return {k for item in items for k in item}


@bp.get("/skills")
def list_skills() -> Response:
    w = ctx().world
    with w.lock:
        skills = [dict(s) for s in w.skills.values()]
    return collection("skills", [(f"/skills/{s['id']}", s) for s in skills], filterable={"id", "name"})


@bp.get("/queues")
def list_queues() -> Response:
    w = ctx().world
    with w.lock:
        queues = [provisioning.queue_resource(w, q) for q in w.queues.values()]
        return collection(
            "queues",
            [(f"/queues/{q['id']}", q) for q in queues],
            filterable=_fields_of(queues) | {"channel"},
            resolver=lambda uri: provisioning.resolve_uri(w, uri),
        )


@bp.get("/queues/<queue_id>")
def get_queue(queue_id: str) -> Response:
    w = ctx().world
    with w.lock:
        if queue_id not in w.queues:
            raise NotFound(f"Queue {queue_id} not found")
        return single(
            "queue", provisioning.queue_resource(w, w.queues[queue_id]), lambda uri: provisioning.resolve_uri(w, uri)
        )


@bp.get("/system/routing-templates")
def list_routing_templates() -> Response:
    w = ctx().world
    with w.lock:
        templates = [dict(t) for t in w.routing_templates]
    return collection(
        "routingTemplates",
        [(f"/system/routing-templates/{t['id']}", t) for t in templates],
        filterable=_fields_of(templates) | {"channel", "version"},
    )


@bp.get("/groups/<group_id>/users")
def list_group_users(group_id: str) -> Response:
    raise NotFound(f"Group {group_id} has no users: agent groups are not provisioned in this mock")


@bp.get("/contacts")
def list_contacts() -> Response:
    page, total = params.paginate([], request.args.get("offset"), request.args.get("limit"))
    members: dict[str, Any] = {"uris": [], "paths": []} if not request.args.get("fields") else {"contacts": page}
    if total is not None:
        members["totalCount"] = total
    return respond(**members)


# ---- features and services ---------------------------------------------------------------------------------
@bp.get("/features")
def list_features() -> Response:
    w = ctx().world
    with w.lock:
        items = [provisioning.feature_resource(w, f.id) for f in w.features.values() if f.assigned]
    return collection("features", [(f"/features/{f['id']}", f) for f in items])


@bp.get("/system/features")
def list_system_features() -> Response:
    w = ctx().world
    with w.lock:
        provisioning.require_admin(me())
        items = [provisioning.feature_resource(w, f) for f in w.features]
    return collection("features", [(f"/system/features/{f['id']}", f) for f in items])


@bp.get("/features/<feature_id>")
def get_feature(feature_id: str) -> Response:
    w = ctx().world
    with w.lock:
        if not w.feature_enabled(feature_id):
            raise NotFound(f"Feature {feature_id} not found")
        return single("feature", provisioning.feature_resource(w, feature_id))


@bp.delete("/features/<feature_id>")
def delete_feature(feature_id: str) -> Response:
    c = ctx()
    with c.world.lock:
        provisioning.delete_feature(c.world, me(), feature_id)
    return envelope.ok()


@bp.get("/services")
def list_services() -> Response:
    w = ctx().world
    with w.lock:
        items = [
            {"id": s.id, "name": s.name, "type": s.type, "state": s.state}
            for s in w.services.values()
            if s.type != "Voice" or w.feature_enabled("api-voice")
        ]
    return collection("services", [(f"/services/{s['id']}", s) for s in items])


@bp.get("/services/<service_id>")
def get_service(service_id: str) -> Response:
    w = ctx().world
    with w.lock:
        service = w.services.get(service_id)
        if service is None:
            raise NotFound(f"Service {service_id} not found")
        return single("service", {"id": service.id, "name": service.name, "type": service.type, "state": service.state})


# ---- hierarchical dispositions -----------------------------------------------------------------------------
@bp.post("/groups")
def create_top_group() -> Response:
    """E323: a top-level disposition group is created on the groups collection."""
    c = ctx()
    data = body()
    with c.world.lock:
        group = provisioning.create_subgroup(c.world, me(), None, data)
    return respond(id=group.id, uri=f"{API}/groups/{group.id}", path=f"/groups/{group.id}")


@bp.get("/groups/<group_id>")
def get_group(group_id: str) -> Response:
    w = ctx().world
    depth = {None: 0, "*": 1, "**": -1}.get(request.args.get("subresources"))
    if depth is None:
        wanted = params.csv(request.args.get("subresources")) or []
        if any(n not in ("groups", "dispositions") for n in wanted):
            raise ValidationFailed("subresources is *, ** or a list of groups, dispositions")
        depth = 1
    with w.lock:
        resource = provisioning.group_resource(w, provisioning.disposition_group(w, group_id), depth)
    return respond(group=resource)


@bp.delete("/groups/<group_id>")
def delete_group(group_id: str) -> Response:
    c = ctx()
    with c.world.lock:
        provisioning.delete_group(c.world, me(), group_id)
    return envelope.ok()


@bp.post("/groups/<group_id>/groups")
def create_subgroup(group_id: str) -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        group = provisioning.create_subgroup(c.world, me(), group_id, data)
    return respond(id=group.id, uri=f"{API}/groups/{group.id}", path=f"/groups/{group.id}")


@bp.get("/groups/<group_id>/dispositions")
def list_group_dispositions(group_id: str) -> Response:
    w = ctx().world
    with w.lock:
        found = provisioning.disposition_group(w, group_id)
        return respond(dispositions=[dict(d) for d in found.dispositions])


@bp.post("/groups/<group_id>/dispositions")
def create_group_disposition(group_id: str) -> Response:
    c = ctx()
    data = body()
    with c.world.lock:
        disposition = provisioning.create_disposition(c.world, me(), group_id, data)
    path = f"/groups/{group_id}/dispositions/{disposition['id']}"
    return respond(id=disposition["id"], uri=f"{API}{path}", path=path)


@bp.delete("/groups/<group_id>/dispositions/<disposition_id>")
def delete_group_disposition(group_id: str, disposition_id: str) -> Response:
    c = ctx()
    with c.world.lock:
        provisioning.delete_disposition(c.world, me(), group_id, disposition_id)
    return envelope.ok()


# ---- errors and wiring -------------------------------------------------------------------------------------
@bp.errorhandler(GwsError)
def handle_gws_error(exc: GwsError) -> Response:
    if isinstance(exc, bodies.UnsupportedMediaType):
        return envelope.error(10, exc.message, 415)
    if isinstance(exc, bodies.TooLarge):
        return envelope.error(10, exc.message, 413)
    return envelope.from_exception(exc)


def init_app(app: Flask, context: GwsContext) -> None:
    app.extensions["voicekit.gws"] = context
    app.register_blueprint(bp)
