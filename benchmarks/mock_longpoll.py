"""Benchmark: N concurrent CometD long-polls held by the full mock process (not a test).

    .venv/bin/python benchmarks/mock_longpoll.py [--clients 1000] [--probes 200]

Starts `python -m mockserver.serve` (gevent), then with aiohttp: handshakes N Bayeux sessions of one
agent (a desktop may open many), subscribes each to /notifications/services, holds N /meta/connect
long-polls and checks through GET /control/stats that all are held; meanwhile times ordinary REST
requests (GET /api/v2/diagnostics/version and an authenticated GET /api/v2/me); finally takes the voice
service down through the control API and times the fan-out of the ServiceStateChangeMessage to all N
held connects. It prints figures and asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

AUTH = "Basic " + base64.b64encode(b"paveld@redwings.com:password").decode()


def raise_nofile(wanted: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def bayeux(session: aiohttp.ClientSession, base: str, path: str, messages: list[dict[str, Any]]) -> Any:
    async with session.post(
        f"{base}/api/v2/notifications{path}", json=messages, headers={"Authorization": AUTH}
    ) as response:
        return await response.json()


async def run(base: str, clients: int, probes: int) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        gate = asyncio.Semaphore(100)

        async def setup() -> str:
            async with gate:
                reply = await bayeux(
                    session,
                    base,
                    "/handshake",
                    [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
                )
                client_id = reply[0]["clientId"]
                await bayeux(
                    session,
                    base,
                    "/",
                    [{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/notifications/services"}],
                )
                await bayeux(
                    session,
                    base,
                    "/connect",
                    [
                        {
                            "channel": "/meta/connect",
                            "clientId": client_id,
                            "connectionType": "long-polling",
                            "advice": {"timeout": 0},
                        }
                    ],
                )
                return client_id

        started = time.perf_counter()
        ids = await asyncio.gather(*(setup() for _ in range(clients)))
        setup_seconds = time.perf_counter() - started

        async def held(client_id: str) -> float:
            reply = await bayeux(
                session,
                base,
                "/connect",
                [{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}],
            )
            assert any(m.get("channel") == "/notifications/services" for m in reply), reply
            return time.perf_counter()

        waiting = [asyncio.create_task(held(cid)) for cid in ids]
        for _ in range(200):
            async with session.get(f"{base}/control/stats") as response:
                stats = (await response.json())["cometd"]
            if stats["held"] >= clients:
                break
            await asyncio.sleep(0.05)

        version, me = [], []
        for _ in range(probes):
            t0 = time.perf_counter()
            async with session.get(f"{base}/api/v2/diagnostics/version") as response:
                await response.read()
            version.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            async with session.get(f"{base}/api/v2/me", headers={"Authorization": AUTH}) as response:
                await response.read()
            me.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        async with session.put(f"{base}/control/gws/services/voice", json={"state": "Inactive"}) as response:
            await response.read()
        done = await asyncio.gather(*waiting)
        arrivals = sorted(t - t0 for t in done)

        print(f"clients handshaken+subscribed: {clients} in {setup_seconds:.1f} s")
        print(f"long-polls held at once:       {stats['held']} (sessions {stats['clients']})")
        print(f"GET version while held:        p50 {pct(version, 0.5):.2f} ms  p99 {pct(version, 0.99):.2f} ms")
        print(f"GET /me (Basic) while held:    p50 {pct(me, 0.5):.2f} ms  p99 {pct(me, 0.99):.2f} ms")
        print(
            f"fan-out of one ServiceStateChangeMessage to {clients} held connects: first "
            f"{arrivals[0] * 1000:.0f} ms, median {statistics.median(arrivals) * 1000:.0f} ms, "
            f"last {arrivals[-1] * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    print(f"open files limit: {raise_nofile(args.clients * 3 + 256)}")
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        server = subprocess.Popen(
            [sys.executable, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if ready.exists() and ready.read_text():
                    break
                time.sleep(0.05)
            asyncio.run(run(ready.read_text().strip(), args.clients, args.probes))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
