"""Bayeux faults of the GWS mutating proxy (``faulty_proxy.py``): each breaks one rule of
``conformance/families/test_rules_gws_bayeux.py`` the way a wrong CometD server would.

They use the proxy's ``bayeux`` hook (the whole reply array, ``/meta/*`` replies included) and, where the
server must be made to behave differently, the ``request`` hook. Importing this module registers them.
"""

from __future__ import annotations

import copy
from typing import Any

from faulty_proxy import DEVICES, ProxyContext, ProxyRequest, fault

__all__: list[str] = []

Message = dict[str, Any]


def _meta(messages: list[Any], channel: str) -> list[Message]:
    return [m for m in messages if isinstance(m, dict) and m.get("channel") == channel]


def _is_data(message: Any) -> bool:
    return isinstance(message, dict) and not str(message.get("channel", "")).startswith("/meta/") and "data" in message


def _sent(req: ProxyRequest) -> list[Message]:
    body = req.json()
    body = body if isinstance(body, list) else [body]
    return [m for m in body if isinstance(m, dict)]


def _state(ctx: ProxyContext, key: str, factory: Any) -> Any:
    with ctx.lock:
        return ctx.memory.setdefault(key, factory())


def _connected(messages: list[Any]) -> bool:
    return any(m.get("successful") is True for m in _meta(messages, "/meta/connect"))


@fault("bayeux-no-id-echo", "replies to /meta/* messages do not carry the request id", "bayeux")
def _no_id_echo(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for message in messages:
        if isinstance(message, dict) and str(message.get("channel", "")).startswith("/meta/"):
            message.pop("id", None)
    return messages


@fault("bayeux-handshake-no-types", "handshake replies lack supportedConnectionTypes", "bayeux")
def _handshake_no_types(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for reply in _meta(messages, "/meta/handshake"):
        reply.pop("supportedConnectionTypes", None)
    return messages


@fault("bayeux-connect-no-client-id", "connect replies lack clientId", "bayeux")
def _connect_no_client_id(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for reply in _meta(messages, "/meta/connect"):
        reply.pop("clientId", None)
    return messages


@fault("bayeux-bad-advice", "connect replies advise reconnect 'later' and a negative interval", "bayeux")
def _bad_advice(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for reply in _meta(messages, "/meta/connect"):
        reply["advice"] = {"reconnect": "later", "interval": -1}
    return messages


@fault("bayeux-no-subscription", "subscribe replies lack subscription", "bayeux")
def _no_subscription(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for reply in _meta(messages, "/meta/subscribe"):
        reply.pop("subscription", None)
    return messages


# -- unsubscribe acknowledged but ignored: the proxy turns it into a (no-op) subscribe and relabels the reply
@fault("bayeux-unsubscribe-ignored", "unsubscribe is acknowledged but the channel's messages keep coming", "request")
def _unsubscribe_as_subscribe(ctx: ProxyContext, req: ProxyRequest) -> None:
    body = req.json()
    if not isinstance(body, list):
        return
    ids = _state(ctx, "unsubscribe-ids", set)
    for message in body:
        if isinstance(message, dict) and message.get("channel") == "/meta/unsubscribe":
            message["channel"] = "/meta/subscribe"
            with ctx.lock:
                ids.add(str(message.get("id")))
    req.set_json(body)


@fault("bayeux-unsubscribe-ignored", "", "bayeux")
def _relabel_unsubscribe(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    ids = _state(ctx, "unsubscribe-ids", set)
    for reply in _meta(messages, "/meta/subscribe"):
        if str(reply.get("id")) in ids:
            reply["channel"] = "/meta/unsubscribe"
    return messages


@fault("bayeux-no-402", "connects and subscribes of unknown or ended clientIds are answered successfully", "bayeux")
def _no_402(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    sent = {str(m.get("id")): m for m in _sent(req)}
    for reply in messages:
        if (
            isinstance(reply, dict)
            and reply.get("successful") is False
            and str(reply.get("error", "")).startswith("402")
        ):
            reply.update(successful=True, advice={"reconnect": "retry", "interval": 0})
            reply.pop("error", None)
            request = sent.get(str(reply.get("id"))) or {}
            if request.get("clientId"):
                reply["clientId"] = request["clientId"]
    return messages


# -- recovery broken: notifications go only to the first session a user ever handshook
@fault(
    "bayeux-deaf-after-rehandshake", "after a re-handshake the user's new sessions receive no notifications", "bayeux"
)
def _deaf_after_rehandshake(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    first: dict[str, str] = _state(ctx, "first-client", dict)
    user = req.user or ""
    for reply in _meta(messages, "/meta/handshake"):
        if reply.get("clientId"):
            with ctx.lock:
                first.setdefault(user, str(reply["clientId"]))
    sent_ids = {str(m.get("clientId")) for m in _sent(req) if m.get("clientId")}
    if user in first and sent_ids and first[user] not in sent_ids:
        return [m for m in messages if not _is_data(m)]
    return messages


# -- duplicates across a reconnect: a new session of a user first gets what the user's earlier sessions got
@fault(
    "bayeux-replay-on-reconnect", "a user's new session is sent again the notifications of its earlier ones", "bayeux"
)
def _replay_on_reconnect(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    history: dict[str, list[Message]] = _state(ctx, "history", dict)
    pending: dict[str, list[Message]] = _state(ctx, "pending", dict)
    user = req.user or ""
    with ctx.lock:
        delivered = history.setdefault(user, [])
        for reply in _meta(messages, "/meta/handshake"):
            if reply.get("clientId") and delivered:
                pending[str(reply["clientId"])] = copy.deepcopy(delivered)
        delivered += [copy.deepcopy(m) for m in messages if _is_data(m)]
        replay: list[Message] = []
        if _connected(messages):
            for message in _sent(req):
                replay += pending.pop(str(message.get("clientId")), [])
    return replay + messages


@fault("bayeux-deny-services", "subscriptions to /notifications/services are refused", "bayeux")
def _deny_services(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    for reply in _meta(messages, "/meta/subscribe"):
        if reply.get("subscription") == "/notifications/services":
            reply.update(successful=False, error="403::Subscription denied")
    return messages


# -- cross-user leak: what one user is delivered is also delivered to every other user (once)
@fault("bayeux-leak-other-user", "a user also receives the /v2/me/* notifications of the other users", "bayeux")
def _leak_other_user(ctx: ProxyContext, req: ProxyRequest, messages: list[Any]) -> list[Any]:
    seen: list[tuple[str, Message]] = _state(ctx, "seen", list)
    given: dict[str, int] = _state(ctx, "given", dict)
    user = req.user or ""
    with ctx.lock:
        seen += [
            (user, copy.deepcopy(m))
            for m in messages
            if _is_data(m) and str(m.get("channel", "")).startswith("/v2/me/")
        ]
        if not _connected(messages):
            return messages
        start, given[user] = given.get(user, 0), len(seen)
        foreign = [copy.deepcopy(m) for owner, m in seen[start:] if owner != user]
    return messages + foreign


@fault("bayeux-reverse-devices", "the device notifications of one reply are delivered in reverse order", "batch")
def _reverse_devices(ctx: ProxyContext, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    devices = iter(reversed([m for m in messages if m.get("channel") == DEVICES]))
    return [next(devices) if m.get("channel") == DEVICES else m for m in messages]
