"""Conformance profiles: named groups of tests, each for one system, required or optional.

A certificate passes only when every *required* profile that can run passes; optional profiles add to the
overall score but never fail a certificate by themselves (they can through ``--fail-under``).

Why these are required — they are the behaviour a client of the API depends on, documented as normative:

* ``gws-voice-core`` (dial, answer, hold, retrieve, hang up… 003 Voice API > Calls), ``gws-call-data``
  (attached user data), ``gws-agent-state`` (Ready/NotReady/ACW/DND), ``gws-conference-transfer``
  (the conference and transfer operations every agent desktop uses), ``gws-notifications`` (CometD: all
  Voice API results arrive there, 003 l.1494-1500 — without it no request can be seen to complete) and
  ``gws-security`` (authentication, sessions, CSRF, CORS — a client that relies on them must not be
  exposed);
* ``platform-calls``, ``platform-auth-rules``, ``platform-notifications``: the Platform call-control
  subset, the OAuth grants and their rules, and the notification channel;
* ``connect-bus``: the CTI bus requests and events.

``gws-supervisor`` (monitoring: listen, coach, barge-in, NextCall) is required too, but needs a configured supervisor:
a deployment that does not license supervisor monitoring (``api-supervisor-monitoring``) configures none, and the
profile is reported not run with that reason instead of failing the certificate.

Why these are optional:

* ``gws-settings-provisioning``: administration (settings, users, devices) is destructive — it changes the
  target's configuration — and is often forbidden on shared systems; it only runs with
  ``--allow-destructive``;
* ``*-samples``: the replay of the documents' own samples uses their verbatim ids (devices, calls) and
  only makes sense on a system seeded like the documents (the mock); the behaviour they show is certified by
  the behaviour profiles on any system;
* ``*-fuzz``: property-based robustness (malformed input must give a documented error, never a 5xx) finds
  real defects but is non-exhaustive by nature, so its result informs rather than gates.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "Profile", "get", "names", "parse_selection"]


@dataclass(frozen=True)
class Profile:
    """One profile.

    Args:
        name: ``gws-voice-core``.
        system: ``gws``, ``platform`` or ``connect``; a target without that system's URL cannot run it.
        required: Whether a failure fails the certificate.
        description: One line for the certificate.
        needs: Configuration it cannot run without (see ``TargetConfig.missing``); when missing, its tests
            are reported not run with the reason.
        destructive: Every test of it changes the target's configuration (needs ``--allow-destructive``).
    """

    name: str
    system: str
    required: bool
    description: str
    needs: tuple[str, ...] = ()
    destructive: bool = False

    @property
    def default_severity(self) -> str:
        return "critical" if self.required else "normal"


_ALL = (
    Profile(
        "gws-voice-core",
        "gws",
        True,
        "Call control: dial, answer, reject, hold, retrieve, hang up, DTMF, mute, forwarding, dispositions",
        ("gws.agent", "gws.agent_b"),
    ),
    Profile(
        "gws-conference-transfer",
        "gws",
        True,
        "Conferences and transfers: single-step and two-step, swap, remove participant",
        ("gws.agent", "gws.agent_b"),
    ),
    Profile(
        "gws-call-data",
        "gws",
        True,
        "Attached user data: attach, update, delete pairs and all",
        ("gws.agent", "gws.agent_b"),
    ),
    Profile(
        "gws-agent-state",
        "gws",
        True,
        "Agent states and work modes, do-not-disturb, contact-center sessions",
        ("gws.agent",),
    ),
    Profile(
        "gws-supervisor",
        "gws",
        True,
        "Supervisor monitoring: listen, whisper, barge-in, cancel, NextCall",
        ("gws.agent", "gws.agent_b", "gws.supervisor"),
    ),
    Profile(
        "gws-settings-provisioning",
        "gws",
        False,
        "Settings groups, users, devices, skills, queues, dispositions administration (destructive)",
        ("gws.admin",),
        destructive=True,
    ),
    Profile(
        "gws-notifications",
        "gws",
        True,
        "CometD (Bayeux) notifications: handshake, subscribe, connect, the /v2/me/* and service messages",
        ("gws.agent",),
    ),
    Profile("gws-security", "gws", True, "Authentication, sessions, CSRF and CORS", ("gws.agent",)),
    Profile(
        "gws-samples",
        "gws",
        False,
        "Replay of the documented GWS samples (needs a target seeded like the documents)",
        ("gws.agent",),
    ),
    Profile("gws-fuzz", "gws", False, "Property-based robustness of the GWS REST API", ("gws.agent",)),
    Profile(
        "platform-calls",
        "platform",
        True,
        "Platform conversations/calls: make, answer, hold, transfer, disconnect",
        ("platform.user",),
    ),
    Profile(
        "platform-auth-rules",
        "platform",
        True,
        "OAuth grants (client credentials, authorization code, PKCE) and their rules",
        ("platform.client_credentials",),
    ),
    Profile(
        "platform-notifications",
        "platform",
        True,
        "Notification channels, subscriptions and the WebSocket",
        ("platform.user",),
    ),
    Profile("platform-samples", "platform", False, "Replay of the documented Platform samples", ("platform.user",)),
    Profile("platform-fuzz", "platform", False, "Property-based robustness of the Platform API", ("platform.user",)),
    Profile(
        "connect-bus",
        "connect",
        True,
        "Amazon Connect CTI bus: call requests and events, agent state",
        ("connect.agent",),
    ),
    Profile("connect-samples", "connect", False, "Replay of the documented bus samples", ("connect.agent",)),
)

PROFILES: dict[str, Profile] = {p.name: p for p in _ALL}


def get(name: str) -> Profile:
    """The profile called ``name``.

    Raises:
        KeyError: no such profile (the message lists the known ones).
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None


def names() -> list[str]:
    return list(PROFILES)


def parse_selection(text: str | None) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]`` (validated); empty → None (all profiles). ``gws-*`` patterns select by
    prefix.

    Raises:
        ValueError: an unknown profile name.
    """
    if not text or not text.strip():
        return None
    out: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.endswith("*"):
            matched = [n for n in PROFILES if n.startswith(item[:-1])]
            if not matched:
                raise ValueError(f"no profile matches {item!r} (known: {', '.join(PROFILES)})")
            out += [m for m in matched if m not in out]
        elif item in PROFILES:
            if item not in out:
                out.append(item)
        else:
            raise ValueError(f"unknown profile {item!r} (known: {', '.join(PROFILES)})")
    return out or None
