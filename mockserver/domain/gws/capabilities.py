"""Capabilities per call and device state, as the samples of 003 show them (errata decide the gaps).

Operations not governed by capabilities: agent-state operations (003 l.1165-1169), and the
supervisor's MuteMonitoredUser/UnmuteMonitoredUser, MergeWithOtherCall and SetCallDisposition, which
no sample lists (see ERRATA); their own preconditions apply instead.
"""

from __future__ import annotations

from mockserver.domain.gws.model import Call, Device, Party, User

USER_DATA = ["AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair"]
ESTABLISHED = [
    "Hangup",
    "Hold",
    "SendDtmf",
    "InitiateConference",
    "InitiateTransfer",
    "SingleStepConference",
    "SingleStepTransfer",
]
HELD = ["Retrieve", "Hangup", "InitiateConference", "InitiateTransfer", "SingleStepConference", "SingleStepTransfer"]
SECOND_CALL = {
    "Dialing": ["SwapCalls", "CompleteTransfer"],
    "Established": ["SwapCalls", "CompleteTransfer", "CompleteConference"],
    "Held": ["SwapCalls", "CompleteTransfer", "CompleteConference"],
}
NOT_CAPABILITY_GOVERNED = {"MuteMonitoredUser", "UnmuteMonitoredUser", "MergeWithOtherCall", "SetCallDisposition"}


def call_capabilities(
    call: Call, party: Party, device: Device | None, other_calls: list[Party], *, mute_two_party: bool = False
) -> list[str]:
    """``other_calls``: the device's other active parties (for swap/complete on two calls); ``mute_two_party``:
    the ``mute-on-two-party`` variant (MuteCall on every established call, not only conferences)."""
    state = party.state
    if state == "Released":
        return []
    if state == "Ringing":
        caps = list(USER_DATA)
        if device is None or device.telephony_network != "Public":
            caps.append("Answer")
        if party.via_queue:
            caps.append("Reject")
        return caps
    if party.supervisor_mode:
        switch = "SwitchToListenIn" if party.supervisor_mode == "BargeIn" else "SwitchToBargeIn"
        return [*USER_DATA, *ESTABLISHED, switch, "RemoveParticipantFromConference"]
    caps = list(USER_DATA)
    if state == "Dialing":
        caps += ["Hangup", "SendDtmf"]
    elif state == "Established":
        caps += ESTABLISHED
        if call.is_conference:
            caps += ["RemoveParticipantFromConference", "UnmuteCall" if party.mute else "MuteCall"]
        elif mute_two_party:
            caps.append("UnmuteCall" if party.mute else "MuteCall")
    elif state == "Held":
        caps += HELD
    if _has_second_call(party, other_calls):
        caps += SECOND_CALL.get(state, [])
        if state == "Dialing" and party.consult == "conference":
            caps.append("CompleteConference")  # E207: a conference consult can be completed while dialing
    return caps


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
