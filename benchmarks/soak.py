"""Soak: mixed traffic against the full mock for a bounded time, printing the mock's memory at intervals (figures
only; a flat RSS after warm-up is what to look for).

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--interval 30] [--workers 6]

Workers loop until the time is up, each doing one kind of traffic:
* calls: agent B dials agent A, A answers, holds, retrieves, attaches data, hangs up (GWS REST);
* cometd: a Bayeux session handshakes, subscribes, holds connects and disconnects (new session every few loops);
* basic: cookie-less Basic requests (each would open an HTTP session);
* platform: a client-credentials token per loop and a read with it;
* bus: a bus socket opens, changes the agent state, and a control-API call is offered and hung up;
* hostile: refused requests (malformed JSON, deep nesting, NaN, huge bodies).
Every ``--interval`` seconds it prints the mock's RSS (VmRSS from /proc) and the request count.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
A = ("jsmith@uppercape.ca", "password")  # 5001
B = ("paveld@redwings.com", "password")  # 5000
B_DEVICE = "74152ed8-858f-4a33-9e96-36213a678d30"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.errors = 0

    def add(self, n: int = 1, *, error: bool = False) -> None:
        with self.lock:
            self.requests += n
            self.errors += int(error)


def calls(base: str, stop: float, count: Counter) -> None:
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < stop:
            c.post(
                f"/api/v2/me/devices/{B_DEVICE}/calls",
                auth=B,
                json={"operationName": "Dial", "destination": {"phoneNumber": "5001"}},
            )
            listed = c.get("/api/v2/me/calls", params={"fields": "*"}, auth=A).json().get("calls") or []
            count.add(2)
            if not listed:
                continue
            call = listed[0]["id"]
            for user, body in (
                (A, {"operationName": "Answer"}),
                (A, {"operationName": "Hold"}),
                (A, {"operationName": "Retrieve"}),
                (A, {"operationName": "AttachUserData", "userData": {"k": random.random()}}),
                (A, {"operationName": "Hangup"}),
            ):
                c.post(f"/api/v2/me/calls/{call}", auth=user, json=body)
                count.add()


def cometd(base: str, stop: float, count: Counter) -> None:
    url = f"{base}/api/v2/notifications"
    with httpx.Client(timeout=40, auth=A) as c:
        while time.monotonic() < stop:
            hello = c.post(
                url,
                json=[{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}],
            ).json()[0]
            client = hello.get("clientId")
            c.post(url, json=[{"channel": "/meta/subscribe", "clientId": client, "subscription": "/v2/me/calls"}])
            for _ in range(5):
                c.post(
                    url,
                    json=[
                        {
                            "channel": "/meta/connect",
                            "clientId": client,
                            "connectionType": "long-polling",
                            "advice": {"timeout": 1000},
                        }
                    ],
                )
            if random.random() < 0.5:  # half the sessions just vanish, as closed browser tabs do
                c.post(url, json=[{"channel": "/meta/disconnect", "clientId": client}])
            count.add(8)


def basic(base: str, stop: float, count: Counter) -> None:
    while time.monotonic() < stop:
        httpx.get(f"{base}/api/v2/me", auth=B, timeout=30)  # a new connection, no cookie: a new session each
        count.add()


def platform(base: str, stop: float, count: Counter) -> None:
    secret = base64.b64encode(b"3b2f8a1c-5d6e-4f70-8a9b-0c1d2e3f4a01:data-action-secret").decode()
    with httpx.Client(base_url=f"{base}/platform", timeout=30) as c:
        while time.monotonic() < stop:
            token = (
                c.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {secret}"},
                )
                .json()
                .get("access_token")
            )
            c.get("/api/v2/presencedefinitions", headers={"Authorization": f"Bearer {token}"})
            count.add(2)


def bus(base: str, stop: float, count: Counter) -> None:
    from websockets.sync.client import connect

    ws = base.replace("http", "ws")
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < stop:
            try:
                with connect(
                    f"{ws}/connect/agents/pdatsyuk/bus?access_token=pdatsyuk-bus-token", open_timeout=10
                ) as socket:
                    socket.send(
                        json.dumps(
                            {
                                "channel": "Amazon",
                                "topic": "Agent",
                                "subtopic": "Update",
                                "source": "soak",
                                "data": {"label": "Available", "code": "Available", "type": "Routable"},
                            }
                        )
                    )
                    socket.recv(timeout=10)
                    c.post("/control/connect/agents/pdatsyuk/calls", json={"from": "+14155550100"})
                    c.post("/control/connect/agents/pdatsyuk/calls/current/hangup")
                    count.add(4)
            except Exception:
                count.add(error=True)


def hostile(base: str, stop: float, count: Counter) -> None:
    bodies = [
        b'{"operationName": ',
        b"NaN",
        ('{"a":' * 300 + "1" + "}" * 300).encode(),
        b"[" * 5000,
        b'{"operationName": "Dial", "userData": {"x": NaN}}',
        b"x" * 200_000,
    ]
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < stop:
            c.post(
                f"/api/v2/me/devices/{B_DEVICE}/calls",
                auth=B,
                content=random.choice(bodies),
                headers={"Content-Type": "application/json"},
            )
            count.add()


WORKERS = [calls, cometd, basic, platform, bus, hostile]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=len(WORKERS), help="how many of the traffic kinds to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        mock = subprocess.Popen(
            [sys.executable, "-m", "mockserver.serve", "--port", "0", "--ready-file", str(ready)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.read_text().strip()):
            if mock.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the mock did not start")
            time.sleep(0.05)
        base = ready.read_text().strip()
        count = Counter()
        started = time.monotonic()
        stop = started + args.minutes * 60
        threads = [threading.Thread(target=w, args=(base, stop, count), daemon=True) for w in WORKERS[: args.workers]]
        print(f"soak: {len(threads)} workers for {args.minutes:g} min against {base} (pid {mock.pid})")
        print(f"{'elapsed':>8s} {'RSS MB':>8s} {'requests':>9s} {'errors':>7s}")
        print(f"{0:7.0f}s {rss_mb(mock.pid):8.1f} {0:9d} {0:7d}", flush=True)
        for thread in threads:
            thread.start()
        try:
            while time.monotonic() < stop:
                time.sleep(min(args.interval, max(0.0, stop - time.monotonic())))
                print(
                    f"{time.monotonic() - started:7.0f}s {rss_mb(mock.pid):8.1f} {count.requests:9d} {count.errors:7d}",
                    flush=True,
                )
            for thread in threads:
                thread.join(60)
        finally:
            mock.terminate()
            mock.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
