"""Capabilities per call and device state, as the samples of 003 show them (errata decide the gaps).

Operations not governed by capabilities: agent-state operations (003 l.1165-1169), and the
supervisor's MuteMonitoredUser/UnmuteMonitoredUser, MergeWithOtherCall and SetCallDisposition, which
no sample lists (see ERRATA); their own preconditions apply instead.
"""

from __future__ import annotations

from mockserver.domain.gws.model import Call, Device, Party, User
from voicekit.tables import gws_call_capabilities


def call_capabilities(
    call: Call, party: Party, device: Device | None, other_calls: list[Party], *, mute_two_party: bool = False
) -> list[str]:
    """``other_calls``: the device's other active parties (for swap/complete on two calls); ``mute_two_party``:
    the ``mute-on-two-party`` variant (MuteCall on every established call, not only conferences). The sets are
    the shared table's (``specs/tables/gws-capabilities.yaml``); this function only reads the call."""
    return gws_call_capabilities(
        party.state,
        public=device is not None and device.telephony_network == "Public",
        via_queue=bool(party.via_queue),
        conference=call.is_conference,
        muted=party.mute,
        mute_two_party=mute_two_party,
        second_call=_has_second_call(party, other_calls),
        consult=party.consult,
        supervisor_mode=party.supervisor_mode,
    )


def _has_second_call(party: Party, others: list[Party]) -> bool:
    """Two calls on one device, one of them held: swap and two-step completion become possible."""
    if party.state == "Held":
        return any(o.state in ("Established", "Dialing") for o in others)
    return any(o.state == "Held" for o in others)


def device_capabilities(
    device: Device, user: User | None, supervision_enabled: bool, *, as_printed: bool = False
) -> list[str]:
    """``as_printed``: the ``device-capabilities-as-printed`` variant — a device with do-not-disturb Off lists no
    DoNotDisturbOn while Ready, NotReady or AuxWork, as those samples print it (003 l.9218-9221, 9290-9293,
    9363-9366); only the listing changes, the operation stays valid."""
    caps = [
        "ForwardCallsOff" if device.forward_to else "ForwardCallsOn",
        "DoNotDisturbOff" if device.dnd else "DoNotDisturbOn",
    ]
    state = device.user_state
    if (
        as_printed
        and not device.dnd
        and (state.state == "Ready" or (state.state == "NotReady" and state.work_mode != "AfterCallWork"))
    ):
        caps.remove("DoNotDisturbOn")
    if user is not None and user.is_supervisor and supervision_enabled:
        caps += ["ListenIn", "Coach", "BargeIn"]
        if device.monitoring is not None:
            caps.append("CancelSupervisorMonitoring")
    return caps
