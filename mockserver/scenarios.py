"""Scenarios: a day of calls, scripted. A YAML (or JSON) document of timed and triggered events — offer a call
every 20 s from a random number to a queue, the customer hangs up 30 s after an agent answers, the voice service
goes down at 10:00 for 15 s — that the mock carries out by itself (``voicekit mock --scenario FILE``, or
``PUT /control/scenario``). Schema: ``specs/schemas/control/Scenario.json``.

Why on the domain's scheduler: the same runner works on the real clock in the server and on the manual clock of a
test, where a ten-minute scenario runs in milliseconds. Actions go through the same functions as the control API,
so a scenario can do nothing the control API cannot. Triggers ("after an agent answers") are checked on a short
tick while a call is being watched; nothing runs when no scenario is loaded.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.control import gws as gws_control
from mockserver.domain.clock import Handle, Scheduler
from mockserver.domain.errors import VoicekitError
from voicekit.contracts import shared_contracts

__all__ = ["SCHEMA", "ScenarioError", "ScenarioRunner", "validate"]

SCHEMA = "schemas/control/Scenario.json"
TICK = 0.25
MAX_WATCHED = 1000
LOG_SIZE = 200


class ScenarioError(ValueError):
    """The document is not a valid scenario (every problem listed)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate(doc: Any) -> dict[str, Any]:
    """The scenario, checked against its schema; raises :class:`ScenarioError` with every problem."""
    contracts = shared_contracts()
    problems = contracts.errors(contracts.uri_of(SCHEMA), doc)
    if problems:
        raise ScenarioError(problems[:20])
    return doc


@dataclass
class _Watch:
    """A call this scenario offered, waiting for its trigger."""

    system: str  # gws | connect
    key: str  # ConnID, or the bus agent id
    offered: float
    hangup_after_answered: float | None
    abandon_after: float | None


@dataclass
class _Run:
    doc: dict[str, Any]
    started: float
    handles: list[Handle] = field(default_factory=list)
    fired: dict[int, int] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    watches: list[_Watch] = field(default_factory=list)
    ticking: bool = False
    stopped: bool = False


class ScenarioRunner:
    """Runs at most one scenario at a time against the GWS world (and the bus, when given)."""

    def __init__(
        self,
        world: Any,
        scheduler: Scheduler,
        connect_center: Any = None,
        listeners: list[Callable[[dict[str, Any]], None]] | None = None,
    ) -> None:
        self.world = world
        self.scheduler = scheduler
        self.center = connect_center
        self.listeners = listeners if listeners is not None else []
        self._lock = threading.RLock()
        self._run: _Run | None = None
        self._rng = random.Random()

    # ---- lifecycle -----------------------------------------------------------------------------------------
    def start(self, doc: Any) -> dict[str, Any]:
        """Validate ``doc`` completely, then replace any running scenario by it."""
        scenario = validate(doc)
        with self._lock:
            self._stop_locked()
            self._rng = random.Random(scenario.get("seed"))
            run = _Run(scenario, self.scheduler.now())
            self._run = run
            for index, step in enumerate(scenario["steps"]):
                run.fired[index] = 0
                self._schedule(run, index, step, self._first_delay(step))
            self._log(run, f"scenario {scenario['name']!r} started ({len(scenario['steps'])} steps)")
        return self.status()

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def restart(self) -> None:
        """Start the loaded scenario again from its beginning (after a reset of the world)."""
        with self._lock:
            doc = self._run.doc if self._run is not None and not self._run.stopped else None
        if doc is not None:
            self.start(doc)

    def _stop_locked(self) -> None:
        run = self._run
        if run is None or run.stopped:
            return
        run.stopped = True
        for handle in run.handles:
            handle.cancel()
        run.handles.clear()
        run.watches.clear()
        self._log(run, "scenario stopped")

    def status(self) -> dict[str, Any]:
        with self._lock:
            run = self._run
            if run is None:
                return {"running": False}
            return {
                "running": not run.stopped,
                "name": run.doc["name"],
                "description": run.doc.get("description"),
                "elapsed": round(self.scheduler.now() - run.started, 3),
                "steps": [
                    {"action": s["action"], "fired": run.fired.get(i, 0)} for i, s in enumerate(run.doc["steps"])
                ],
                "watching": len(run.watches),
                "log": list(run.log),
            }

    # ---- timing --------------------------------------------------------------------------------------------
    def _first_delay(self, step: dict[str, Any]) -> float:
        at = step.get("at", 0)
        if isinstance(at, str):  # a time of day, HH:MM local
            hours, minutes = (int(x) for x in at.split(":"))
            local = time.localtime(self.scheduler.wall())
            now = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec
            return float((hours * 3600 + minutes * 60 - now) % 86400)
        return float(at)

    def _schedule(self, run: _Run, index: int, step: dict[str, Any], delay: float) -> None:
        run.handles.append(self.scheduler.call_later(delay, lambda: self._fire(run, index, step)))
        if len(run.handles) > 4 * len(run.doc["steps"]) + 64:  # forget handles that already ran
            run.handles = run.handles[-(2 * len(run.doc["steps"]) + 32) :]

    def _fire(self, run: _Run, index: int, step: dict[str, Any]) -> None:
        with self._lock:
            if run.stopped:
                return
            run.fired[index] += 1
            limit = step.get("count", None if "every" in step else 1)
            if "every" in step and (limit is None or run.fired[index] < limit):
                self._schedule(run, index, step, float(step["every"]))
        try:
            text = self._act(run, step)
        except VoicekitError as refused:
            text = f"{step['action']} refused: {refused.message}"
        except Exception as exc:  # a scenario must never take the server down
            text = f"{step['action']} failed: {type(exc).__name__}: {exc}"
        self._log(run, text)

    # ---- actions -------------------------------------------------------------------------------------------
    def _caller(self, step: dict[str, Any]) -> str:
        caller = step.get("from", "random")
        return f"+1415555{self._rng.randrange(10000):04d}" if caller == "random" else str(caller)

    def _act(self, run: _Run, step: dict[str, Any]) -> str:
        action = step["action"]
        if action == "offer-call":
            body = {
                "from": self._caller(step),
                "to": step.get("to"),
                "queue": step.get("queue"),
                "userData": step.get("userData") or {},
            }
            offered = gws_control.inbound_call(self.world, {k: v for k, v in body.items() if v not in (None, "")})
            self._watch(run, "gws", offered["callId"], step)
            target = step.get("to") or f"queue {step['queue']}"
            return f"call {offered['callId']} from {body['from']} offered to {target}"
        if action == "bus-call":
            if self.center is None:
                return "bus-call skipped: no Connect bus in this mock"
            caller = self._caller(step)
            self.center.offer_call(step["agent"], caller)
            self._watch(run, "connect", step["agent"], step)
            return f"bus call from {caller} offered to {step['agent']}"
        if action == "voice-service":
            gws_control.set_voice_service(self.world, step["state"])
            if "for" in step:
                back = "Active" if step["state"] == "Inactive" else "Inactive"
                run.handles.append(self.scheduler.call_later(float(step["for"]), lambda: self._service(run, back)))
            return f"voice service {step['state']}" + (f" for {step['for']} s" if "for" in step else "")
        if action == "fault":
            fault = {k: step[k] for k in ("kind", "operation", "user", "message", "delayMs") if k in step}
            gws_control.inject_fault(self.world, fault)
            return f"fault queued: {fault}"
        raise ScenarioError([f"unknown action {action!r}"])

    def _service(self, run: _Run, state: str) -> None:
        if run.stopped:
            return
        try:
            gws_control.set_voice_service(self.world, state)
            self._log(run, f"voice service {state} again")
        except VoicekitError as refused:
            self._log(run, f"voice service {state} refused: {refused.message}")

    # ---- triggers ------------------------------------------------------------------------------------------
    def _watch(self, run: _Run, system: str, key: str, step: dict[str, Any]) -> None:
        after, abandon = step.get("hangupAfterAnswered"), step.get("abandonAfter")
        if after is None and abandon is None:
            return
        with self._lock:
            if len(run.watches) >= MAX_WATCHED:
                self._log(run, f"not watching {key}: {MAX_WATCHED} calls are watched already")
                return
            run.watches.append(_Watch(system, key, self.scheduler.now(), after, abandon))
            if not run.ticking:
                run.ticking = True
                run.handles.append(self.scheduler.call_later(TICK, lambda: self._tick(run)))

    def _tick(self, run: _Run) -> None:
        with self._lock:
            if run.stopped:
                return
            now = self.scheduler.now()
            keep = []
            for watch in run.watches:
                answered, over = self._answered(watch)
                if over:
                    continue
                if answered and watch.hangup_after_answered is not None:
                    run.handles.append(
                        self.scheduler.call_later(
                            watch.hangup_after_answered, lambda w=watch: self._hang_up(run, w, "answered")
                        )
                    )
                elif not answered and watch.abandon_after is not None and now - watch.offered >= watch.abandon_after:
                    self._hang_up(run, watch, "abandoned")
                elif answered:
                    continue  # answered, and nothing to do after that
                else:
                    keep.append(watch)
            run.watches = keep
            run.ticking = bool(keep)
            if keep:
                run.handles.append(self.scheduler.call_later(TICK, lambda: self._tick(run)))

    def _answered(self, watch: _Watch) -> tuple[bool, bool]:
        """(an agent answered, the call is over)."""
        if watch.system == "gws":
            with self.world.lock:
                call = self.world.calls.get(watch.key)
                if call is None or not call.active_parties():
                    return False, True
                return any(p.device_id and p.state == "Established" for p in call.parties), False
        with self.center.lock:
            agent = self.center.agents.get(watch.key)
            contact = agent.contact if agent is not None else None
            if contact is None:
                return False, True
            return bool(contact.live), not (contact.ringing or contact.live)

    def _hang_up(self, run: _Run, watch: _Watch, why: str) -> None:
        if run.stopped:
            return
        try:
            if watch.system == "gws":
                gws_control.remote(self.world, watch.key, "hangup")
            else:
                self.center.remote_hangup(watch.key)
            self._log(run, f"customer hung up call {watch.key} ({why})")
        except VoicekitError as refused:
            self._log(run, f"hang-up of {watch.key} not possible: {refused.message}")

    def _log(self, run: _Run, text: str) -> None:
        line = {"t": round(self.scheduler.now() - run.started, 3), "text": text}
        run.log.append(line)
        for listener in list(self.listeners):
            listener(line)
