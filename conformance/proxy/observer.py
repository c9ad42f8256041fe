"""What the proxy learns from the traffic it relays: each exchange judged against the contracts (the same engine as
the mock's journal, ``voicekit.exchanges``), the Bayeux protocol rules, and the stateful rules that need no control
of the target — a call's states follow the documented machine, its capabilities fit its state, an accepted call
operation is followed by its notification, and a refused operation was not among the capabilities.

Tolerance is the suite's: a rule fails only on what no reading of the documents allows; the rest (SHOULDs of
Bayeux, orders and texts the documents leave open) is advisory. Findings are bounded, and evidence is redacted.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from conformance.redact import redact_text
from voicekit.contracts import Contracts
from voicekit.exchanges import NO_BODY, ExchangeJudge, Verdict

__all__ = ["RULES", "Exchange", "Finding", "Observer"]

GWS_DOC = "003_ca6f4272dc604134.txt"
BAYEUX = "Bayeux 1.0 (CometD) — field notes"

#: rule id → (title, document, lines). Contract rules come from voicekit.exchanges (their lines are per operation).
RULES: dict[str, tuple[str, str, tuple[int, int] | None]] = {
    "contract": ("Exchanges checked against the contracts (every rule below named contract.*)", "specs/", None),
    "contract.operation": ("A documented operation", "specs/*.openapi.yaml", None),
    "contract.query": ("Query parameters as documented", "specs/*.openapi.yaml", None),
    "contract.request-body": ("Request body as documented", "specs/*.openapi.yaml", None),
    "contract.response-status": ("A declared status", "specs/*.openapi.yaml", None),
    "contract.response-body": ("Response body as documented", "specs/*.openapi.yaml", None),
    "contract.message": ("Notification or frame as documented", "specs/*.asyncapi.yaml", None),
    "BAYEUX-ID": ("Replies to /meta/* echo the request id", BAYEUX, None),
    "BAYEUX-HANDSHAKE": (
        "A successful handshake reply carries clientId, version and supportedConnectionTypes",
        BAYEUX,
        None,
    ),
    "BAYEUX-SUBSCRIPTION": ("A subscribe reply names its subscription", BAYEUX, None),
    "BAYEUX-UNKNOWN-CLIENT": (
        "A message from an unknown clientId is refused (402) with reconnect advice",
        BAYEUX,
        None,
    ),
    "GWS-CALL-STATES": ("A call's states follow the documented machine", GWS_DOC, (4876, 5499)),
    "GWS-CALL-CAPABILITIES": ("A call's capabilities fit its state", GWS_DOC, (5253, 5420)),
    "GWS-CALL-NOTIFIED": ("An accepted call operation is followed by its notification", GWS_DOC, (1494, 1500)),
    "GWS-CALL-REFUSED": (
        "An operation refused as invalid in the state was not among the call's capabilities",
        GWS_DOC,
        (1109, 1115),
    ),
}

# Documented states and the moves between them (003 Dial/Answer/Hold/Retrieve/Hangup samples): any active state may
# end Released; a released call never comes back.
TRANSITIONS = {
    "Dialing": {"Dialing", "Established", "Released", "Held"},
    "Ringing": {"Ringing", "Established", "Released"},
    "Established": {"Established", "Held", "Released"},
    "Held": {"Held", "Established", "Released"},
    "Released": {"Released"},
}
# Members a state's capabilities must have / must not have (003 l.5253-5420 held and retrieved calls, l.5076-5150
# the answered call); everything else about the set is left to the readings the errata accept.
MUST = {"Established": {"Hangup"}, "Held": {"Retrieve"}}
MUST_NOT = {
    "Ringing": {"Hold", "Retrieve"},
    "Established": {"Answer", "Retrieve"},
    "Held": {"Answer", "Hold"},
    "Dialing": {"Answer", "Retrieve"},
}
#: The state each call operation's notification shows (003 Answer l.5076-5150, Hold l.5253-5326, Retrieve
#: l.5345-5420, Hangup l.5439-5499).
NOTIFIED_OPERATIONS = {"Answer": "Established", "Hold": "Held", "Retrieve": "Established", "Hangup": "Released"}
MAX_FINDINGS = 500
MAX_EXCHANGES = 2000


@dataclass
class Exchange:
    """One relayed exchange, as the reports show it (bodies redacted and cut)."""

    id: int
    time: float
    system: str
    kind: str  # http | bayeux | ws
    method: str
    path: str
    status: int | None
    duration_ms: float | None
    operation: str | None
    verdict: str  # ok | violation | advisory

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Finding:
    rule: str
    level: str  # violation | advisory
    message: str
    exchange: int | None
    lines: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        title, document, lines = RULES.get(self.rule, (self.rule, "", None))
        return {
            "rule": self.rule,
            "title": title,
            "level": self.level,
            "message": redact_text(self.message),
            "exchange": self.exchange,
            "document": document,
            "lines": list(lines) if lines else None,
            "sources": self.lines,
        }


@dataclass
class _Call:
    state: str
    capabilities: list[str]
    seen: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, state), the last few


class Observer:
    """Thread-safe: the proxy's connection threads report to one observer."""

    def __init__(
        self, contracts: Contracts, *, notification_timeout: float = 5.0, on_line: Callable[[str], None] | None = None
    ) -> None:
        self.judge = ExchangeJudge(contracts)
        self.recorder: Any = None  # a conformance.proxy.recorder.Recorder with --record
        self.notification_timeout = notification_timeout
        self.on_line = on_line
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.exchanges: deque[Exchange] = deque(maxlen=MAX_EXCHANGES)
        self.findings: deque[Finding] = deque(maxlen=MAX_FINDINGS)
        self.operations: Counter[str] = Counter()
        self.exercised: Counter[str] = Counter()
        self.broken: Counter[str] = Counter()
        self._calls: dict[str, _Call] = {}
        self._clients: set[str] = set()
        self._streamed = False  # a CometD session was seen: notifications are observable
        self._ended_clients: deque[str] = deque(maxlen=1000)
        # (deadline, call id, operation, exchange id, the state its notification must show)
        self._expected: list[tuple[float, str, str, int, str]] = []
        self.started = time.time()
        self._busy = 0
        self._idle = threading.Condition()

    def judging(self) -> Any:
        """Context manager around one exchange's judgement, so :meth:`finish` can wait for those in flight."""
        observer = self

        class _Busy:
            def __enter__(self) -> None:
                with observer._idle:
                    observer._busy += 1

            def __exit__(self, *exc: object) -> None:
                with observer._idle:
                    observer._busy -= 1
                    observer._idle.notify_all()

        return _Busy()

    # ---- recording ---------------------------------------------------------------------------------------------
    def _exchange(
        self,
        system: str,
        kind: str,
        method: str,
        path: str,
        status: int | None,
        duration_ms: float | None,
        operation: str | None,
    ) -> Exchange:
        exchange = Exchange(
            next(self._ids),
            time.time(),
            system,
            kind,
            method,
            path,
            status,
            round(duration_ms, 2) if duration_ms is not None else None,
            operation,
            "ok",
        )
        self.exchanges.append(exchange)
        if operation:
            self.operations[f"{system}.{operation}"] += 1
        return exchange

    def _find(
        self,
        exchange: Exchange | None,
        rule: str,
        message: str,
        *,
        advisory: bool = False,
        sources: Iterable[dict[str, Any]] = (),
    ) -> None:
        level = "advisory" if advisory else "violation"
        self.findings.append(Finding(rule, level, message, exchange.id if exchange else None, list(sources)))
        if not advisory:
            self.broken[rule] += 1
            if exchange is not None:
                exchange.verdict = "violation"
        elif exchange is not None and exchange.verdict == "ok":
            exchange.verdict = "advisory"

    def _apply(self, exchange: Exchange, verdict: Verdict) -> None:
        for rule in {v.rule for v in verdict.violations} | {"contract"}:
            self.exercised[rule] += 1
        for violation in verdict.violations:
            self._find(
                exchange,
                violation.rule,
                f"{violation.side} {violation.where}: {violation.message}",
                sources=violation.sources,
            )

    def _print(self, exchange: Exchange) -> None:
        """One console line per exchange (called under the lock, so lines keep the exchanges' order)."""
        if self.on_line is not None:
            mark = {"ok": "✓", "violation": "✗", "advisory": "~"}[exchange.verdict]
            self.on_line(
                f"{exchange.id:5d} {exchange.system:8s} {exchange.method:6s} {exchange.path[:70]:70s} "
                f"{exchange.status if exchange.status is not None else '':>3} {exchange.operation or '':28s} "
                f"{mark}"
            )

    def http(
        self,
        *,
        system: str,
        method: str,
        path: str,
        query: dict[str, str],
        request_body: Any,
        request_is_json: bool,
        request_type: str,
        status: int,
        response_body: Any,
        response_is_json: bool,
        duration_ms: float,
        started: float | None = None,
    ) -> None:
        """One REST exchange (``path`` as the contracts know it); ``started``: when the request arrived
        (``time.monotonic()``), so a notification relayed before this judgement still counts."""
        verdict = self.judge.http(
            system,
            method,
            path,
            query=query,
            request_body=request_body,
            request_is_json=request_is_json,
            request_type=request_type,
            status=status,
            response_body=response_body,
            response_is_json=response_is_json,
        )
        with self._lock:
            operation = verdict.operation_name or verdict.operation
            exchange = self._exchange(system, "http", method, path, status, duration_ms, operation)
            self._apply(exchange, verdict)
            if system == "gws":
                self._gws_operation(
                    exchange,
                    path,
                    request_body,
                    status,
                    response_body,
                    time.monotonic() if started is None else started,
                )
            if self.recorder is not None:
                self.recorder.http(
                    exchange=exchange.id,
                    system=system,
                    method=method,
                    path=path,
                    query=urlencode(query),
                    status=status,
                    operation_id=verdict.operation,
                    operation_name=verdict.operation_name,
                    request_body=None if request_body is NO_BODY else request_body,
                    response_body=None if response_body is NO_BODY else response_body,
                )
            self._expire()
            self._print(exchange)

    def bayeux(self, *, path: str, request: Any, status: int, reply: Any, duration_ms: float) -> None:
        """One Bayeux POST: the messages sent and the messages answered."""
        verdict = self.judge.http(
            "gws",
            "POST",
            path,
            request_body=request,
            status=status,
            response_body=reply if reply is not None else NO_BODY,
        )
        sent = [m for m in (request if isinstance(request, list) else [request]) if isinstance(m, dict)]
        got = [m for m in (reply if isinstance(reply, list) else [reply]) if isinstance(m, dict)]
        channels = ",".join(str(m.get("channel")) for m in sent[:5])
        with self._lock:
            exchange = self._exchange("gws", "bayeux", "POST", path, status, duration_ms, channels or "bayeux")
            self._apply(exchange, verdict)
            self._bayeux_rules(exchange, sent, got)
            for message in got:
                channel = str(message.get("channel") or "")
                if not channel.startswith("/meta/") and isinstance(message.get("data"), dict):
                    self._notification(exchange, channel, message)
                    if self.recorder is not None:
                        self.recorder.notification(exchange=exchange.id, system="gws", channel=channel, message=message)
            self._expire()
            self._print(exchange)

    def frame(self, *, system: str, path: str, direction: str, message: Any) -> None:
        """One WebSocket frame (Platform notifications, the Connect bus) in ``direction`` ``in``/``out``."""
        channel = None
        if isinstance(message, dict):
            channel = message.get("topicName") if system == "platform" else None
        verdict = self.judge.message(system, channel, message, side="request" if direction == "in" else "response")
        operation = message.get("subtopic") or message.get("topicName") if isinstance(message, dict) else None
        with self._lock:
            exchange = self._exchange(
                system,
                "ws",
                "FRAME" if direction == "in" else "EVENT",
                path,
                None,
                None,
                str(operation) if operation else None,
            )
            self._apply(exchange, verdict)
            self._print(exchange)

    # ---- Bayeux ------------------------------------------------------------------------------------------------
    def _bayeux_rules(self, exchange: Exchange, sent: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
        replies = [m for m in got if str(m.get("channel", "")).startswith("/meta/")]
        for request in sent:
            channel = str(request.get("channel") or "")
            if not channel.startswith("/meta/"):
                continue
            reply = next(
                (
                    r
                    for r in replies
                    if r.get("channel") == channel and ("id" not in request or r.get("id") == request.get("id"))
                ),
                None,
            )
            if reply is None:
                if channel != "/meta/connect":  # a held connect may be answered by a later POST
                    same = [r for r in replies if r.get("channel") == channel]
                    self.exercised["BAYEUX-ID"] += 1
                    if same and "id" in request:
                        self._find(exchange, "BAYEUX-ID", f"{channel} reply does not echo id {request['id']!r}")
                continue
            self.exercised["BAYEUX-ID"] += 1
            successful = reply.get("successful") is True
            if channel == "/meta/handshake" and successful:
                self.exercised["BAYEUX-HANDSHAKE"] += 1
                missing = [k for k in ("clientId", "version", "supportedConnectionTypes") if k not in reply]
                if missing:
                    self._find(exchange, "BAYEUX-HANDSHAKE", f"handshake reply lacks {', '.join(missing)}")
                else:
                    self._clients.add(str(reply["clientId"]))
                    self._streamed = True
            elif channel == "/meta/subscribe":
                self.exercised["BAYEUX-SUBSCRIPTION"] += 1
                if "subscription" not in reply:
                    self._find(exchange, "BAYEUX-SUBSCRIPTION", "subscribe reply without its subscription")
            elif channel == "/meta/disconnect" and successful:
                self._forget(str(request.get("clientId")))
            client = str(request.get("clientId") or "")
            if channel in ("/meta/connect", "/meta/subscribe") and client in self._ended_clients:
                self.exercised["BAYEUX-UNKNOWN-CLIENT"] += 1
                if successful:
                    self._find(
                        exchange,
                        "BAYEUX-UNKNOWN-CLIENT",
                        f"{channel} from the disconnected client {client[:8]}… succeeded",
                    )
                elif (
                    "402" not in str(reply.get("error", ""))
                    or (reply.get("advice") or {}).get("reconnect") != "handshake"
                ):
                    self._find(
                        exchange,
                        "BAYEUX-UNKNOWN-CLIENT",
                        f"{channel} from an unknown client refused "
                        f"with {reply.get('error')!r} and advice {reply.get('advice')!r} (CometD: 402 "
                        "with reconnect handshake)",
                        advisory=True,
                    )

    def _forget(self, client: str) -> None:
        self._clients.discard(client)
        self._ended_clients.append(client)

    # ---- GWS calls -----------------------------------------------------------------------------------------------
    def _notification(self, exchange: Exchange, channel: str, message: dict[str, Any]) -> None:
        """One delivered message (``{channel, data, …}``, as the AsyncAPI describes it)."""
        verdict = self.judge.message("gws", channel, message)
        self._apply(exchange, verdict)
        data = message["data"]
        call = data.get("call") if data.get("messageType") == "CallStateChangeMessage" else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            return
        call_id, state = call["id"], str(call.get("state"))
        capabilities = [str(c) for c in call.get("capabilities") or []]
        known = self._calls.get(call_id)
        self.exercised["GWS-CALL-STATES"] += 1
        if known is not None and state not in TRANSITIONS.get(known.state, {state}):
            self._find(exchange, "GWS-CALL-STATES", f"call {call_id} went from {known.state} to {state}")
        if state in TRANSITIONS:
            self._check_capabilities(exchange, call_id, state, capabilities)
        seen = [*(known.seen[-7:] if known else []), (time.monotonic(), state)]
        self._calls[call_id] = _Call(state, capabilities, seen)
        satisfied = [e for e in self._expected if e[1] == call_id and e[4] == state]
        if satisfied:
            self.exercised["GWS-CALL-NOTIFIED"] += len(satisfied)
            self._expected = [e for e in self._expected if e not in satisfied]
        if len(self._calls) > 5000:  # bounded: forget the oldest calls
            for key in list(self._calls)[:1000]:
                del self._calls[key]

    def _check_capabilities(self, exchange: Exchange, call_id: str, state: str, capabilities: list[str]) -> None:
        self.exercised["GWS-CALL-CAPABILITIES"] += 1
        missing = sorted(MUST.get(state, set()) - set(capabilities))
        extra = sorted(MUST_NOT.get(state, set()) & set(capabilities))
        if missing or extra:
            self._find(
                exchange,
                "GWS-CALL-CAPABILITIES",
                f"call {call_id} {state}: capabilities "
                + (f"lack {missing} " if missing else "")
                + (f"offer {extra}" if extra else ""),
            )

    def _gws_operation(
        self, exchange: Exchange, path: str, body: Any, status: int, response: Any, started: float
    ) -> None:
        parts = path.rstrip("/").split("/")
        if len(parts) != 6 or parts[3:5] != ["me", "calls"] or not isinstance(body, dict):  # /api/v2/me/calls/{id}
            return
        call_id, operation = parts[5], str(body.get("operationName"))
        code = response.get("statusCode") if isinstance(response, dict) else None
        known = self._calls.get(call_id)
        if status == 200 and code == 0 and operation in NOTIFIED_OPERATIONS:
            wanted = NOTIFIED_OPERATIONS[operation]
            if known is not None and any(t >= started and s == wanted for t, s in known.seen):
                self.exercised["GWS-CALL-NOTIFIED"] += 1  # its notification was relayed before this judgement
                return
            self._expected.append(
                (
                    time.monotonic() + self.notification_timeout,
                    call_id,
                    operation,
                    exchange.id,
                    NOTIFIED_OPERATIONS[operation],
                )
            )
        elif code == 2 and known is not None:
            self.exercised["GWS-CALL-REFUSED"] += 1
            if operation in known.capabilities:
                self._find(
                    exchange,
                    "GWS-CALL-REFUSED",
                    f"{operation} on call {call_id} was refused as invalid "
                    f"in state {known.state}, whose capabilities offered it",
                )

    def _expire(self) -> None:
        now = time.monotonic()
        due = [e for e in self._expected if e[0] <= now]
        self._expected = [e for e in self._expected if e[0] > now]
        for entry in due:
            self._missed(entry, f"within {self.notification_timeout:g} s")

    def _missed(self, entry: tuple[float, str, str, int, str], when: str) -> None:
        _, call_id, operation, exchange_id, state = entry
        self.exercised["GWS-CALL-NOTIFIED"] += 1
        if not self._streamed:  # only when a notification stream was observed
            return
        exchange = next((x for x in self.exchanges if x.id == exchange_id), None)
        seen = self._calls.get(call_id)
        self._find(
            exchange,
            "GWS-CALL-NOTIFIED",
            f"{operation} on call {call_id} was accepted but no "
            f"CallStateChangeMessage showed it {state} {when}"
            + (f" (last notified state: {seen.state})" if seen else ""),
        )

    def finish(self, wait: float = 0.0) -> None:
        """Settle what is still pending (expected notifications) at the end of a session."""
        deadline = time.monotonic() + wait
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=max(wait, 5.0))
        while self._expected and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            self._expire()
            pending, self._expected = self._expected, []
            for entry in pending:
                self._missed(entry, "before the end")

    def summary(self) -> dict[str, Any]:
        with self._lock:
            violations = [f for f in self.findings if f.level == "violation"]
            return {
                "started": self.started,
                "exchanges": len(self.exchanges),
                "operations": dict(self.operations),
                "rules": {
                    rule: {
                        "exercised": self.exercised.get(rule, 0),
                        "broken": self.broken.get(rule, 0),
                        "title": RULES.get(rule, (rule,))[0],
                    }
                    for rule in sorted(set(self.exercised) | set(self.broken))
                },
                "violations": len(violations),
                "advisories": len(self.findings) - len(violations),
                "findings": [f.as_dict() for f in self.findings],
                "evidence": [x.as_dict() for x in self.exchanges if x.verdict != "ok"][:500],
            }
