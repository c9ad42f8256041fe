"""Benchmark the mock against Stoplight Prism 5 mocking the same contract, side by side in one run (figures only).

    make bench            # installs Prism (npm, into .bench/), wrk and h2load (Debian) on first use, then runs this
    .venv/bin/python benchmarks/bench.py [--seconds 10] [--connections 64] [--rate 1000] [--agents 100] [--events 1000]

1. Throughput: ``wrk -t2 -c64 -d10s`` with HTTP Basic on ``GET /api/v2/me``, ``POST /api/v2/me/channels/voice``
   ``{"operationName":"Ready"}`` and, for the mock, Hold/Retrieve alternating on one established call — against
   the voicekit mock and against Prism (``prism mock specs/gws.openapi.yaml``); requests/s, p99, ratio.
2. Latency at a fixed offered load (open loop): ``h2load --h1 --rps`` at ``--rate`` requests/s, clients connected
   one by one so that arrivals are even, p50/p99 measured by h2load per request.
3. Events: with ``--agents`` Bayeux sessions holding ``/meta/connect``, the time from a REST operation (agent
   state changes, round robin) to its DeviceStateChangeMessage on the agent's held connect, p50/p99 over
   ``--events`` operations.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
AUTH = "Basic " + base64.b64encode(b"paveld@redwings.com:password").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def start_mock() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockserver.serve",
            "--port",
            str(port),
            "--journal-size",
            os.environ.get("BENCH_JOURNAL", "1000"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, process)
    return process, f"http://127.0.0.1:{port}"


def start_prism() -> tuple[subprocess.Popen[bytes], str] | None:
    prism = BENCH / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        return None
    port = free_port()
    process = subprocess.Popen(
        [
            str(prism),
            "mock",
            str(ROOT / "specs" / "gws.openapi.yaml"),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--errors",
            "false",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, process, 120)
    return process, f"http://127.0.0.1:{port}"


LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "{auth}"
wrk.headers["Content-Type"] = "application/json"
{body}
{calls}
"""
# Hold and Retrieve alternating, on calls of their own: thread t of wrk's threads takes calls[t*per+1 .. t*per+per],
# the n-th request of a thread goes to call n mod per, and a call's operations alternate. With CALLS_PER_CONNECTION
# calls per connection, a call's next request is made only after several rounds of every connection, so operations
# on one call do not overlap in flight (one call shared by every connection refused ~40% as already held or not held,
# which measured the refusal path instead).
CALLS = """
calls = {{{calls}}}
per = {per}
counter = 0
thread_index = 0
local next_thread = 0
setup = function(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end
request = function()
  local slot = counter % per
  local op = (math.floor(counter / per) % 2 == 0) and "Hold" or "Retrieve"
  counter = counter + 1
  local call = calls[thread_index * per + slot + 1]
  return wrk.format("POST", "/api/v2/me/calls/" .. call[2], {{["Authorization"] = call[1],
    ["Content-Type"] = "application/json"}}, '{{"operationName":"' .. op .. '"}}')
end
"""
THREADS = 2
CALLS_PER_CONNECTION = 4


def wrk(
    url: str,
    path: str,
    *,
    method: str = "GET",
    body: str | None = None,
    auth: str = AUTH,
    calls: list[tuple[str, str]] | None = None,
    seconds: int,
    connections: int,
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            LUA.format(
                method=method,
                auth=auth,
                body=f"wrk.body = '{body}'" if body else "",
                calls=CALLS.format(calls=", ".join(f'{{"{a}", "{c}"}}' for a, c in calls), per=len(calls) // THREADS)
                if calls
                else "",
            )
        )
    try:
        done = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                f"{url}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        os.unlink(script.name)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p99": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def fixed_rate(
    url: str, path: str, *, rate: int, seconds: int, method: str = "GET", body: str | None = None
) -> dict[str, float]:
    """p50/p99 at ``rate`` requests/s, open loop, from h2load's per-request log (``--log-file``).

    The clients connect one every 1/``rate`` s (``-r 1 --rate-period``), so their request timers are staggered and
    arrivals are even; with ``-D`` they all start together and send in bursts of ``clients`` requests (a burst
    every 1/(rate/clients) s), which measures the queue behind a burst, not latency at that rate."""
    clients = max(1, min(50, rate // 20))
    period_ms = max(1, round(1000 / rate))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log"
        args = [
            "h2load",
            "--h1",
            "-c",
            str(clients),
            f"--rps={rate / clients:g}",
            "-n",
            str(rate * seconds),
            "-r",
            "1",
            f"--rate-period={period_ms}ms",
            "--log-file",
            str(log),
            "-H",
            f"Authorization: {AUTH}",
            "-H",
            "Content-Type: application/json",
        ]
        if body is not None:
            (Path(tmp) / "body").write_text(body)
            args += ["-d", str(Path(tmp) / "body")]
        subprocess.run([*args, f"{url}{path}"], capture_output=True, text=True, timeout=seconds + 60, check=False)
        times = sorted(int(line.split("\t")[2]) / 1000.0 for line in log.read_text().splitlines() if line.strip())
    if not times:
        return {"p50": float("nan"), "p99": float("nan"), "n": 0}
    return {"p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(0.99 * len(times)))], "n": len(times)}


async def events(url: str, agents: int, count: int) -> dict[str, float]:
    """REST → notification on a held connect, with ``agents`` sessions holding connects."""
    import aiohttp

    users = [("paveld@redwings.com", "password")]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for i in range(max(0, agents - 1)):  # extra agents, created through the control API
            name = f"bench{i}@voicekit.example"
            async with http.post(
                f"{url}/control/gws/agents",
                json={"userName": name, "password": "password", "phoneNumber": str(6000 + i)},
            ) as answer:
                if answer.status // 100 == 2:
                    users.append((name, "password"))
        sessions = []
        for name, password in users:
            auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}
            hello = [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]
            async with http.post(f"{url}/api/v2/notifications", headers=auth, json=hello) as r:
                client_id = (await r.json())[0]["clientId"]
            async with http.post(
                f"{url}/api/v2/notifications",
                headers=auth,
                json=[{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/devices"}],
            ):
                pass
            sessions.append((auth, client_id))
        delays: list[float] = []
        arrived: dict[int, asyncio.Future[float]] = {}

        async def hold(index: int) -> None:
            auth, client_id = sessions[index]
            while True:
                async with http.post(
                    f"{url}/api/v2/notifications",
                    headers=auth,
                    json=[{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}],
                ) as r:
                    replies = await r.json()
                now = time.perf_counter()
                if any(m.get("channel") == "/v2/me/devices" for m in replies):
                    future = arrived.get(index)
                    if future is not None and not future.done():
                        future.set_result(now)

        # Every agent NotReady first (not measured), so each measured operation changes the state and is notified
        # (a seeded agent may start Ready: its first "Ready" would change nothing and wait out the deadline).
        for headers, _ in sessions:
            async with http.post(
                f"{url}/api/v2/me/channels/voice", headers=headers, json={"operationName": "NotReady"}
            ):
                pass
        holders = [asyncio.create_task(hold(i)) for i in range(len(sessions))]
        await asyncio.sleep(1.0)
        states = {index: "NotReady" for index in range(len(sessions))}
        for n in range(count):
            index = n % len(sessions)
            operation = "NotReady" if states.get(index) == "Ready" else "Ready"
            states[index] = operation
            arrived[index] = asyncio.get_running_loop().create_future()
            sent = time.perf_counter()
            async with http.post(
                f"{url}/api/v2/me/channels/voice", headers=sessions[index][0], json={"operationName": operation}
            ):
                pass
            with contextlib.suppress(TimeoutError):  # a lost event shows as a lower count
                delays.append((await asyncio.wait_for(arrived[index], 10) - sent) * 1000.0)
        for task in holders:
            task.cancel()
    delays.sort()
    return {
        "p50": delays[len(delays) // 2] if delays else float("nan"),
        "p99": delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else float("nan"),
        "n": len(delays),
        "agents": len(sessions),
    }


def established_calls(url: str, count: int) -> list[tuple[str, str]]:
    """``count`` established calls, each between two agents of its own (created through the control API):
    (the answering agent's Authorization, the call's id)."""
    import httpx

    calls: list[tuple[str, str]] = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(count):
            pair = []
            for side in ("a", "b"):
                name = f"hold{i}{side}@voicekit.example"
                number = str(7000 + 2 * i + (side == "b"))
                created = client.post(
                    "/control/gws/agents",
                    json={"userName": name, "password": "password", "phoneNumber": number, "userState": "Ready"},
                )
                created.raise_for_status()
                auth = "Basic " + base64.b64encode(f"{name}:password".encode()).decode()
                pair.append((auth, created.json()["deviceId"], number))
            (caller, device, _), (callee, _, callee_number) = pair
            client.post(
                f"/api/v2/me/devices/{device}/calls",
                headers={"Authorization": caller},
                json={"operationName": "Dial", "destination": {"phoneNumber": callee_number}},
            ).raise_for_status()
            call = client.get("/api/v2/me/calls?fields=*", headers={"Authorization": callee}).json()["calls"][0]
            client.post(
                f"/api/v2/me/calls/{call['id']}", headers={"Authorization": callee}, json={"operationName": "Answer"}
            ).raise_for_status()
            calls.append((callee, str(call["id"])))
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    for tool in ("wrk", "h2load"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: run `make bench` (it installs wrk and nghttp2-client)")
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {"voicekit": start_mock()}
    prism = start_prism()
    if prism is not None:
        servers["prism"] = prism
    rows: dict[str, dict[str, Any]] = {}
    try:
        ready = json.dumps({"operationName": "Ready"})
        for name, (_, url) in servers.items():
            rows[name] = {
                "GET /api/v2/me": wrk(url, "/api/v2/me", seconds=args.seconds, connections=args.connections),
                "POST Ready": wrk(
                    url,
                    "/api/v2/me/channels/voice",
                    method="POST",
                    body=ready,
                    seconds=args.seconds,
                    connections=args.connections,
                ),
            }
        mock_url = servers["voicekit"][1]
        calls = established_calls(mock_url, CALLS_PER_CONNECTION * args.connections)
        rows["voicekit"]["Hold/Retrieve"] = wrk(
            mock_url, "/", method="POST", calls=calls, seconds=args.seconds, connections=args.connections
        )
        if "prism" in servers:  # Prism answers any id with its example: the same requests, ids of its own
            rows["prism"]["Hold/Retrieve"] = wrk(
                servers["prism"][1],
                "/",
                method="POST",
                calls=[(AUTH, f"call{i}") for i in range(CALLS_PER_CONNECTION * args.connections)],
                seconds=args.seconds,
                connections=args.connections,
            )
        latency = {
            name: {
                "GET /api/v2/me": fixed_rate(url, "/api/v2/me", rate=args.rate, seconds=args.seconds),
                "POST Ready": fixed_rate(
                    url, "/api/v2/me/channels/voice", rate=args.rate, seconds=args.seconds, body=ready
                ),
            }
            for name, (_, url) in servers.items()
        }
        event = asyncio.run(events(mock_url, args.agents, args.events))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    print(f"Throughput: wrk -t2 -c{args.connections} -d{args.seconds}s, HTTP Basic")
    print(
        f"{'request':18s} {'voicekit req/s':>15s} {'p99':>9s} {'non-2xx':>8s} {'prism req/s':>12s} {'p99':>9s} "
        f"{'non-2xx':>8s} {'ratio':>6s}"
    )
    for request, figures in rows["voicekit"].items():
        other = rows.get("prism", {}).get(request) or {}
        ratio = f"{figures['rps'] / other['rps']:.1f}x" if other.get("rps") else "—"
        print(
            f"{request:18s} {figures['rps']:15.0f} {figures['p99']:7.1f}ms {figures['non2xx']:8.0f} "
            f"{other.get('rps', float('nan')):12.0f} {other.get('p99', float('nan')):7.1f}ms "
            f"{other.get('non2xx', float('nan')):8.0f} {ratio:>6s}"
        )
    print(f"\nLatency at {args.rate} req/s offered (open loop, h2load --rps), {args.seconds} s")
    for name, figures in latency.items():
        for request, f in figures.items():
            print(f"{name:9s} {request:18s} p50 {f['p50']:7.2f} ms  p99 {f['p99']:7.2f} ms  ({f['n']} requests)")
    print(
        f"\nEvents: REST operation → DeviceStateChangeMessage on a held /meta/connect, {event['agents']} agents "
        f"connected: p50 {event['p50']:.2f} ms, p99 {event['p99']:.2f} ms over {event['n']} operations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
