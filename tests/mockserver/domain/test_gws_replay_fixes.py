"""Mock fixes found by the documented-sample replay (conformance/replay): the mock contradicted a fixture or an
erratum until these changed."""

from __future__ import annotations

import re

from gws_seed import AGENT_B, SUPERVISOR, Recorder

from mockserver.control import gws as control
from mockserver.domain.gws import calls, operations, provisioning
from mockserver.domain.gws.views import call_view
from mockserver.domain.gws.world import World

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _view(world: World, user, call_id: str) -> dict:
    with world.lock:
        call, party = world.find_view(user, call_id)
        return call_view(world, call, party)


def test_queue_delivered_call_from_an_internal_dn_stays_internal(world, users, rec: Recorder) -> None:
    """E213 (gws.calls.reject.sample): a call from 5005 delivered to 5001 through queue 9000 is Internal."""
    result = control.inbound_call(world, {"from": "5005", "queue": "9000", "to": users["b"].device_ids[0]})
    ringing = _view(world, users["b"], result["callId"])
    assert ringing["callType"] == "Internal" and ringing["dnis"] == "9000" and "ani" not in ringing
    assert ringing["participants"] == ["5005"] and "Reject" in ringing["capabilities"]
    # The calling DN is a party of its own call: it sees it dialing, and can hang it up.
    dialing = [n.data["call"] for n in rec.seen if n.audience == SUPERVISOR]
    assert dialing and dialing[0]["state"] == "Dialing" and "Hangup" in dialing[0]["capabilities"]
    with world.lock:
        operations.call_operation(world, users["b"], result["callId"], {"operationName": "Reject"})
    released = [n.data["call"] for n in rec.seen if n.audience == AGENT_B][-1]
    assert released["state"] == "Released" and released["callType"] == "Internal"


def test_external_callers_still_come_in_as_inbound(world, users) -> None:
    with world.lock:
        call = calls.deliver_inbound(world, world.devices[users["b"].device_ids[0]], ani="+14155552671")
    ringing = _view(world, users["b"], call.id)
    assert ringing["callType"] == "Inbound" and ringing["ani"] == "+14155552671"


def test_every_call_resource_says_whether_it_is_monitoring(world, users) -> None:
    """The toast/case samples show "monitoring": false on an agent's call (003 l.2660, l.2773)."""
    with world.lock:
        call = calls.deliver_inbound(world, world.devices[users["b"].device_ids[0]], ani="+14155552671")
    assert _view(world, users["b"], call.id)["monitoring"] is False


def test_user_settings_carry_a_provisioning_version(world, users) -> None:
    """E130: settings.provisioning_flags.modified_At is a UUID that changes when the user is provisioned."""
    with world.lock:
        before = provisioning.user_subresources(world, users["b"])["settings"]
        provisioning.create_user_device(world, users["admin"], users["b"].id, {"phoneNumber": "5099"})
        after = provisioning.user_subresources(world, users["b"])["settings"]
    assert before["htcc"] == {"roles": "Agent"}
    assert UUID.match(before["provisioning_flags"]["modified_At"])
    assert after["provisioning_flags"]["modified_At"] != before["provisioning_flags"]["modified_At"]


def test_seed_matches_the_documented_samples(world, users) -> None:
    """jsmith has no skills (003 l.2050); the Sales users have levels 2 and 4 (l.4041-4119); the routing
    template names survive YAML (l.3103-3141); devices have a vendor (l.3660-3668)."""
    assert users["b"].skills == {}
    sales = sorted(
        level
        for user in world.users.values()
        for skill, level in user.skills.items()
        if world.skills[skill]["name"] == "Sales"
    )
    assert sales == [2, 4]
    names = [t["name"] for t in world.routing_templates]
    assert "Play Greeting, Segment Caller, and Route To Specified Destination" in names
    assert all(isinstance(t["description"], str) and t["description"] for t in world.routing_templates)
    with world.lock:
        device = provisioning.device_resource(world, world.devices[users["b"].device_ids[0]])
    assert device["vendor"]


def test_swap_announces_the_held_call_with_the_pair_capabilities(world, users, rec: Recorder) -> None:
    """E310 + E311 (gws.conferences.swap-calls.sample): the held notification comes first and already lists
    SwapCalls, CompleteTransfer and CompleteConference, as the sample's held call does."""
    with world.lock:
        operations.dial(
            world,
            users["b"],
            users["b"].device_ids[0],
            {"operationName": "Dial", "destination": {"phoneNumber": "5000"}},
        )
    first = next(iter(world.calls))
    for user, name in ((users["a"], "Answer"), (users["a"], "Hold")):
        with world.lock:
            operations.call_operation(world, user, first, {"operationName": name})
    with world.lock:
        operations.dial(
            world,
            users["a"],
            users["a"].device_ids[0],
            {"operationName": "Dial", "destination": {"phoneNumber": "5002"}},
        )
    second = next(c for c in world.calls if c != first)
    with world.lock:
        operations.call_operation(world, users["c"], second, {"operationName": "Answer"})
    rec.take()
    with world.lock:
        operations.call_operation(
            world, users["a"], second, {"operationName": "SwapCalls", "otherCallUri": f"/api/v2/me/calls/{first}"}
        )
    held, retrieved = [n.data["call"] for n in rec.take()]
    assert (held["id"], held["state"], retrieved["id"], retrieved["state"]) == (second, "Held", first, "Established")
    pair = {"SwapCalls", "CompleteTransfer", "CompleteConference"}
    assert pair <= set(held["capabilities"]) and pair <= set(retrieved["capabilities"])
