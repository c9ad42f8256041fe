"""Benchmark: N concurrent CometD long-polls held by the blueprint on gevent (not a test).

    .venv/bin/python benchmarks/cometd_longpoll.py [--clients 1000] [--probes 300]

The script starts itself in ``--serve`` mode in a subprocess (gevent-monkey-patched, ``gevent.pywsgi``,
the real blueprint, HTTP Basic for users ``u0..uN``) and then, with ``aiohttp`` (installed with the dev
extra; httpx's async pool degrades badly at this concurrency):

1. handshakes N Bayeux clients, subscribes each to ``/notifications/services`` and ``/v2/me/*`` and sends
   the immediate first connect;
2. sends N connects, which the server holds, and checks that all N are held;
3. meanwhile measures ordinary requests one at a time (a plain Flask route standing in for the REST API,
   and a Bayeux handshake) and prints p50/p99;
4. publishes one message to ``/notifications/services`` (every client) and measures the time until all N
   held connects have answered with it.

It prints figures; it asserts nothing about timing.  The open-files limit is raised as far as allowed.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--serve" in sys.argv:
    from gevent import monkey

    monkey.patch_all()

import argparse
import asyncio
import base64
import os
import resource
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PREFIX = "/api/v2/notifications"
PASSWORD = "bench"


def raise_nofile(wanted: int) -> tuple[int, int]:
    """Raise the soft open-files limit towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()


# ---------------------------------------------------------------------- server side (--serve)


@dataclass(frozen=True)
class BenchUser:
    user_id: str


def serve(port: int, clients: int) -> None:
    from flask import Flask, Request, Response, jsonify, request
    from gevent.pywsgi import WSGIHandler, WSGIServer

    from mockserver.cometd import BayeuxServer, make_blueprint

    raise_nofile(clients * 2 + 1024)
    bayeux = BayeuxServer(max_interval_ms=60000)

    def authenticate(req: Request) -> BenchUser | None:
        auth = req.authorization
        if auth is None or auth.password != PASSWORD or not (auth.username or "").startswith("u"):
            return None
        return BenchUser(auth.username)

    def unauthorized() -> Response:
        return Response('{"statusCode": 2}', 401, mimetype="application/json")

    app = Flask(__name__)
    app.register_blueprint(make_blueprint(bayeux, authenticate, on_unauthenticated=unauthorized))

    @app.get("/ping")
    def ping() -> Response:
        return jsonify({"statusCode": 0})

    @app.get("/_bench/stats")
    def stats() -> Response:
        return jsonify(bayeux.stats())

    @app.post("/_bench/publish")
    def publish() -> Response:
        body = request.get_json()
        started = time.perf_counter()
        count = bayeux.publish(body["channel"], body["data"], audience=body.get("audience"))
        return jsonify({"delivered": count, "publish_ms": (time.perf_counter() - started) * 1000})

    class Handler(WSGIHandler):
        def handle(self) -> None:
            # pywsgi sends headers and body separately; without this, keep-alive clients wait ~40 ms.
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle()

        def get_environ(self) -> dict[str, Any]:
            environ = super().get_environ()
            environ["mockserver.cometd.socket"] = self.socket
            return environ

    server = WSGIServer(
        ("127.0.0.1", port),
        app,
        handler_class=Handler,
        log=None,
        backlog=4096,
        environ={"SERVER_NAME": "127.0.0.1"},
    )
    server.start()
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------- client side


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    """The load generator: aiohttp, because httpx's async pool degrades badly with hundreds of requests."""

    def __init__(self, base: str, clients: int, probes: int) -> None:
        self.base = base
        self.url = base + PREFIX
        self.clients = clients
        self.probes = probes
        self.client_ids: list[str] = []
        self.http: Any = None

    async def post(self, user: str, messages: list[dict[str, Any]], path: str = "/") -> list[dict[str, Any]]:
        headers = {"Authorization": basic(user)}
        async with self.http.post(self.url + path, json=messages, headers=headers) as response:
            response.raise_for_status()
            return await response.json()

    async def setup_client(self, index: int) -> str:
        user = f"u{index}"
        [hs] = await self.post(user, [{"channel": "/meta/handshake", "version": "1.0"}], "/handshake")
        cid = hs["clientId"]
        subscriptions = ["/notifications/services", "/v2/me/*"]
        await self.post(user, [{"channel": "/meta/subscribe", "clientId": cid, "subscription": subscriptions}])
        await self.post(user, [{"channel": "/meta/connect", "clientId": cid, "connectionType": "long-polling"}])
        return cid

    async def held_connect(self, index: int) -> tuple[float, list[dict[str, Any]]]:
        message = {
            "channel": "/meta/connect",
            "clientId": self.client_ids[index],
            "connectionType": "long-polling",
        }
        messages = await self.post(f"u{index}", [message], "/connect")
        return time.perf_counter(), messages

    async def stats(self) -> dict[str, int]:
        async with self.http.get(self.base + "/_bench/stats") as response:
            return await response.json()

    async def probe(self) -> tuple[list[float], list[float]]:
        ping_ms: list[float] = []
        handshake_ms: list[float] = []
        for n in range(self.probes):
            started = time.perf_counter()
            async with self.http.get(self.base + "/ping") as response:
                response.raise_for_status()
                await response.read()
            ping_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await self.post(f"u{n % self.clients}", [{"channel": "/meta/handshake", "version": "1.0"}], "/handshake")
            handshake_ms.append((time.perf_counter() - started) * 1000)
        return ping_ms, handshake_ms

    async def run(self) -> dict[str, Any]:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.clients + 64)
        self.http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))
        try:
            return await self._run()
        finally:
            await self.http.close()

    async def _run(self) -> dict[str, Any]:
        gate = asyncio.Semaphore(100)

        async def gated(index: int) -> str:
            async with gate:
                return await self.setup_client(index)

        started = time.perf_counter()
        self.client_ids = list(await asyncio.gather(*(gated(i) for i in range(self.clients))))
        setup_s = time.perf_counter() - started

        held = [asyncio.create_task(self.held_connect(i)) for i in range(self.clients)]
        deadline = time.monotonic() + 60
        while (await self.stats())["held"] < self.clients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {(await self.stats())['held']} of {self.clients} connects held")
            await asyncio.sleep(0.05)
        held_before = (await self.stats())["held"]

        ping_ms, handshake_ms = await self.probe()
        held_after = (await self.stats())["held"]

        started = time.perf_counter()
        async with self.http.post(
            self.base + "/_bench/publish",
            json={"channel": "/notifications/services", "data": {"serviceState": "Up"}, "audience": None},
        ) as response:
            publish = await response.json()
        results = await asyncio.gather(*held)
        arrivals = [(at - started) * 1000 for at, messages in results if messages[0]["channel"].startswith("/not")]
        return {
            "clients": self.clients,
            "setup_s": setup_s,
            "held_before": held_before,
            "held_after": held_after,
            "ping_ms": ping_ms,
            "handshake_ms": handshake_ms,
            "publish": publish,
            "arrivals_ms": arrivals,
        }


def report(figures: dict[str, Any], limit: tuple[int, int]) -> None:
    ping, handshake, arrivals = figures["ping_ms"], figures["handshake_ms"], figures["arrivals_ms"]
    print(f"open-files limit (soft, hard):      {limit}")
    print(f"clients set up (handshake, subscribe, first connect): {figures['clients']} in {figures['setup_s']:.2f} s")
    print(f"connections held:                   {figures['held_before']} before probes, {figures['held_after']} after")
    print(
        f"ordinary requests while held:       {len(ping)} x GET /ping, {len(handshake)} x Bayeux handshake, "
        "one at a time"
    )
    print(
        f"  GET /ping        p50 {statistics.median(ping):7.2f} ms   p99 {percentile(ping, 99):7.2f} ms   "
        f"max {max(ping):7.2f} ms"
    )
    print(
        f"  POST /handshake  p50 {statistics.median(handshake):7.2f} ms   "
        f"p99 {percentile(handshake, 99):7.2f} ms   "
        f"max {max(handshake):7.2f} ms"
    )
    print(
        f"fan-out of one message:             queued for {figures['publish']['delivered']} clients in "
        f"{figures['publish']['publish_ms']:.2f} ms (server side)"
    )
    print(
        f"  delivered to {len(arrivals)} clients: first after {min(arrivals):.1f} ms, "
        f"p50 {statistics.median(arrivals):.1f} ms, last after {max(arrivals):.1f} ms (client side)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000, help="concurrent long-polls to hold")
    parser.add_argument("--probes", type=int, default=300, help="ordinary requests of each kind while held")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.clients)
        return

    limit = raise_nofile(args.clients * 2 + 1024)  # inherited by the server subprocess too
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", "--clients", str(args.clients)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"server did not start: {line!r}")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        figures = asyncio.run(Bench(base, args.clients, args.probes).run())
        report(figures, limit)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
