"""A Python CometD client (aiocometd-ng, long-polling) against the live blueprint.

aiocometd-ng posts every message to the bare URL and its aiohttp cookie jar ignores cookies for IP-address
hosts, so the tests use the host name ``localhost`` and send HTTP Basic on every request via an extension.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

aiocometd_ng = pytest.importorskip("aiocometd_ng", reason="aiocometd-ng (dev extra) is not installed")

from aiocometd_ng import ConnectionType  # noqa: E402
from aiocometd_ng.extensions import Extension  # noqa: E402


class BasicAuth(Extension):
    """Adds the Authorization header to every outgoing request, as GWS expects."""

    def __init__(self, authorization: str) -> None:
        self.authorization = authorization
        self.requests = 0

    async def outgoing(self, payload: Any, headers: Any) -> None:
        headers["Authorization"] = self.authorization
        self.requests += 1

    async def incoming(self, payload: Any, headers: Any = None) -> None:
        return None


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # aiocometd-ng's connect-task done-callback calls result() on the long-poll it cancels while closing;
    # that CancelledError is its own noise, not a failure.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def run(coro: Any) -> Any:
    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(_quiet_cancellations)
        return await asyncio.wait_for(coro, timeout=30)

    return asyncio.run(main())


def test_aiocometd_handshakes_subscribes_and_receives(
    live: Any, basic_auth: Callable[..., str], wait_until: Callable[..., None]
) -> None:
    url = f"http://localhost:{live.port}{live.prefix}"
    auth = BasicAuth(basic_auth("alice"))
    expected = [
        ("/v2/me/calls", {"notificationType": "StatusChange", "n": 1}),
        ("/v2/me/devices", {"messageType": "DeviceStateChangeMessage", "n": 2}),
        ("/notifications/services", {"messageType": "ServiceStateChangeMessage", "n": 3}),
        ("/v2/me/calls", {"notificationType": "StatusChange", "n": 4}),
    ]

    async def scenario() -> list[dict[str, Any]]:
        # connection_timeout=0: its reconnection watchdog uses an asyncio API removed in Python 3.10.
        async with aiocometd_ng.Client(
            url, connection_types=[ConnectionType.LONG_POLLING], extensions=[auth], connection_timeout=0
        ) as client:
            await client.subscribe("/v2/me/*")
            await client.subscribe("/notifications/services")
            await asyncio.to_thread(wait_until, lambda: any(s.held for s in live.bayeux.sessions_of("alice")))
            bayeux = live.bayeux
            bayeux.publish("/v2/me/calls", {"for": "bob"}, audience="bob")
            for channel, data in expected:
                bayeux.publish(channel, data, audience=None if channel.startswith("/notifications/") else "alice")
            return [await client.receive() for _ in expected]

    received = run(scenario())
    assert [(m["channel"], m["data"]) for m in received] == expected
    assert auth.requests >= 5  # handshake, connects, two subscribes, disconnect: each one authenticated
    assert live.bayeux.sessions_of("alice") == []  # closing the client disconnected it


def test_aiocometd_without_credentials_is_refused(live: Any) -> None:
    url = f"http://localhost:{live.port}{live.prefix}"

    async def scenario() -> None:
        client = aiocometd_ng.Client(url, connection_types=[ConnectionType.LONG_POLLING], connection_timeout=0)
        await client.open()

    # The host's 401 envelope is not a Bayeux array; aiocometd-ng fails on it (a TypeError in 0.5.6).
    with pytest.raises(Exception) as failure:
        run(scenario())
    assert not isinstance(failure.value, asyncio.TimeoutError)
    assert live.bayeux.sessions_of("alice") == []
