"""Benchmark: what `voicekit proxy` adds, on REST and on held long-polls (not a test; prints figures only).

    .venv/bin/python benchmarks/proxy_overhead.py [--requests 500] [--seconds 10] [--clients 16] [--events 100]

Starts the mock and `voicekit proxy --quiet` in front of it (two processes), then for both paths — direct and
through the proxy —
* latency: sequential `GET /api/v2/me` and `POST /api/v2/me/channels/voice` (Ready/NotReady), p50/p99;
* throughput: `--clients` threads sending `GET /api/v2/me` for `--seconds`, requests per second;
* held long-polls: a Bayeux session of the agent holds `/meta/connect`; for each of `--events` agent-state changes,
  the time from sending the REST request to the DeviceStateChangeMessage arriving on the held connect, p50/p99.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
AUTH = ("paveld@redwings.com", "password")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def start(argv: list[str], ready: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{argv[2:4]} did not start")
        time.sleep(0.05)
    return process


def latency(base: str, count: int) -> dict[str, float]:
    gets: list[float] = []
    posts: list[float] = []
    with httpx.Client(base_url=base, auth=AUTH, timeout=30) as client:
        for i in range(count):
            t = time.perf_counter()
            client.get("/api/v2/me")
            gets.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            client.post("/api/v2/me/channels/voice", json={"operationName": "Ready" if i % 2 else "NotReady"})
            posts.append((time.perf_counter() - t) * 1000)
    return {
        "get_p50": pct(gets, 0.5),
        "get_p99": pct(gets, 0.99),
        "post_p50": pct(posts, 0.5),
        "post_p99": pct(posts, 0.99),
    }


def throughput(base: str, clients: int, seconds: float) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=base, auth=AUTH, timeout=30) as client:
            while time.monotonic() < stop:
                client.get("/api/v2/me")
                done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def events(base: str, count: int) -> dict[str, float]:
    """REST operation → its notification on a held /meta/connect."""
    url = f"{base}/api/v2/notifications"
    delays: list[float] = []
    with httpx.Client(auth=AUTH, timeout=40) as bayeux, httpx.Client(base_url=base, auth=AUTH, timeout=30) as rest:
        rest.post("/api/v2/me/channels/voice", json={"operationName": "NotReady"})  # each event below changes state
        hello = bayeux.post(
            url, json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]
        ).json()[0]
        client_id = hello["clientId"]
        bayeux.post(url, json=[{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/devices"}])
        bayeux.post(
            url,
            json=[
                {
                    "channel": "/meta/connect",
                    "clientId": client_id,
                    "connectionType": "long-polling",
                    "advice": {"timeout": 0},
                }
            ],
        )
        for i in range(count):
            box: dict[str, Any] = {}

            def hold(box: dict[str, Any] = box) -> None:
                box["reply"] = bayeux.post(
                    url, json=[{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}]
                ).json()
                box["at"] = time.perf_counter()

            holder = threading.Thread(target=hold)
            holder.start()
            time.sleep(0.02)  # let the connect be held
            sent = time.perf_counter()
            rest.post("/api/v2/me/channels/voice", json={"operationName": "Ready" if i % 2 == 0 else "NotReady"})
            holder.join(30)
            if any(m.get("channel") == "/v2/me/devices" for m in box.get("reply", [])):
                delays.append((box["at"] - sent) * 1000)
    return {"event_p50": pct(delays, 0.5), "event_p99": pct(delays, 0.99), "events": len(delays)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mock_ready, proxy_ready = Path(tmp) / "mock", Path(tmp) / "proxy"
        mock = start(
            [
                sys.executable,
                "-m",
                "mockserver.serve",
                "--port",
                "0",
                "--ready-file",
                str(mock_ready),
                "--journal-size",
                "0",
            ],
            mock_ready,
        )
        base = mock_ready.read_text().strip()
        proxy = start(
            [
                sys.executable,
                "-m",
                "voicekit",
                "proxy",
                "--upstream",
                base,
                "--listen",
                "127.0.0.1:0",
                "--quiet",
                "--report-dir",
                str(Path(tmp) / "report"),
                "--ready-file",
                str(proxy_ready),
            ],
            proxy_ready,
        )
        via = proxy_ready.read_text().strip()
        try:
            rows = {}
            for name, url in (("direct", base), ("proxy", via)):
                figures = latency(url, args.requests)
                figures["rps"] = throughput(url, args.clients, args.seconds)
                figures.update(events(url, args.events))
                rows[name] = figures
        finally:
            for process in (proxy, mock):
                process.terminate()
                process.wait(timeout=30)
    print(
        f"{'path':8s} {'GET p50':>9s} {'GET p99':>9s} {'POST p50':>9s} {'POST p99':>9s} {'req/s':>8s} "
        f"{'event p50':>10s} {'event p99':>10s}"
    )
    for name, f in rows.items():
        print(
            f"{name:8s} {f['get_p50']:8.2f}ms {f['get_p99']:8.2f}ms {f['post_p50']:8.2f}ms {f['post_p99']:8.2f}ms "
            f"{f['rps']:8.0f} {f['event_p50']:9.2f}ms {f['event_p99']:9.2f}ms"
        )
    d, p = rows["direct"], rows["proxy"]
    print(
        f"added by the proxy: GET p50 +{p['get_p50'] - d['get_p50']:.2f} ms, "
        f"p99 +{p['get_p99'] - d['get_p99']:.2f} ms; POST p50 +{p['post_p50'] - d['post_p50']:.2f} ms; "
        f"event p50 +{p['event_p50'] - d['event_p50']:.2f} ms; "
        f"throughput {100 * p['rps'] / d['rps']:.0f}% of direct"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
