"""The sample replay compares with the document, not only with the errata's reading of it (issue 10, point 3).

Where the documents print a device's capabilities without DoNotDisturbOn while doNotDisturb is Off (003 l.9218-9221,
9290-9293, 9363-9366, 1932-1935, 2043-2046) and the errata read DoNotDisturbOn in (E303, E105; the mock's choice),
a server that sends exactly the printed text passes the replay of those very samples, so does the mock, and a value
neither reading gives still fails — first at the level of the one comparison, then over the wire through the
mutating proxy in front of the mock.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.launcher import MockProcess
from conformance.replay.driver import GwsDriver
from conformance.replay.gws import FAILED, PASSED, GwsReplayer
from conformance.replay.plan import build_plan
from conformance.target import mock_config
from voicekit.checks import check_fixture
from voicekit.corpus import Corpus, Fixture
from voicekit.replay import PLATFORM, Bindings, compare_forms, connect, forms_of
from voicekit.replay.forms import apply_patch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "families"))
from faulty_proxy import FaultyProxy, ProxyContext, both, devices_in, fault

CORPUS = Corpus()
PRINTED = ["ForwardCallsOn"]
REPAIRED = ["ForwardCallsOn", "DoNotDisturbOn"]
WRONG = ["ForwardCallsOn", "DoNotDisturbOff"]  # neither reading: DoNotDisturbOff while doNotDisturb is Off
MISSING = ["DoNotDisturbOn"]  # neither reading: ForwardCallsOn gone
#: fixture id → where its device capabilities are in the compared document, and whether it is a response.
SAMPLES = {
    "gws.agentstate.ready.sample": ("data.devices[0].capabilities", False),
    "gws.agentstate.not-ready.sample": ("data.devices[0].capabilities", False),
    "gws.agentstate.aux-work.sample": ("data.devices[0].capabilities", False),
    "gws.general.recovering-state.devices": ("body.devices[0].capabilities", True),
    "gws.general.recovering-state.me-subresources": ("body.user.devices[0].capabilities", True),
}


def judge(fixture_id: str, capabilities: list[str]) -> list[Any]:
    """The documented message/body with ``capabilities`` at the sample's place, through the replay's comparison."""
    path, is_response = SAMPLES[fixture_id]
    step = build_plan(CORPUS.fixtures_by_id[fixture_id], CORPUS.errata).steps[0]
    entry = step.response if is_response else step.notifications[0]
    assert entry is not None
    member = "body" if is_response else "message"
    document = apply_patch(entry[member], [{"set": path, "value": capabilities}], root="body" if is_response else None)
    found, _form = compare_forms(
        forms_of(entry, member),
        document,
        match=str(entry.get("match") or "exact"),
        bindings=Bindings(),
        rules=step.rules,
        root="body" if is_response else None,
    )
    return found


@pytest.mark.parametrize("fixture_id", sorted(SAMPLES))
def test_the_printed_form_passes(fixture_id: str) -> None:
    assert judge(fixture_id, PRINTED) == []


@pytest.mark.parametrize("fixture_id", sorted(SAMPLES))
def test_the_errata_form_passes(fixture_id: str) -> None:
    assert judge(fixture_id, REPAIRED) == []


@pytest.mark.parametrize("fixture_id", sorted(SAMPLES))
def test_a_value_of_neither_reading_fails(fixture_id: str) -> None:
    found = judge(fixture_id, MISSING)
    assert found and "nor the other reading" in found[0].message


@pytest.mark.parametrize("fixture_id", [f for f, (_, response) in SAMPLES.items() if not response])
def test_an_undocumented_capability_fails_where_compared_exactly(fixture_id: str) -> None:
    assert judge(fixture_id, WRONG)


def test_the_printed_platform_response_matches_the_document() -> None:
    """001 l.181-183: 201 and {conversationId, participants} (off the contract, E402/E403 — the fixture says so)."""
    response = CORPUS.fixtures_by_id["platform.calls.make-call-response"].data["response"]
    forms = forms_of(response, "body")
    assert [f.status for f in forms] == [200, 201]
    for body in ({"conversationId": "c-1", "participants": [{"id": "p"}]}, {"id": "c-1", "selfUri": "/x/c-1"}):
        assert compare_forms(forms, body, match="shape", strategy=PLATFORM)[0] == []
    assert compare_forms(forms, {"conversation": "c-1"}, match="shape", strategy=PLATFORM)[0]


def test_every_alternative_differs_from_its_own_form() -> None:
    """An alternative that equals the fixture's own form is a no-op (a stale or mistaken entry)."""
    for fixture in CORPUS.fixtures:
        for label, step in fixture.exchanges():
            entries = [("body", step.get("response") or {})] + [("message", n) for n in step.get("notifications") or []]
            for member, entry in entries:
                forms = forms_of(entry, member)
                for form in forms[1:]:
                    assert (form.value, form.status) != (forms[0].value, forms[0].status), f"{fixture.id} {label}"


# ---- over the wire: a server that sends the printed capabilities ------------------------------------------------
def _set_dnd_off_capabilities(capabilities: list[str]) -> Any:
    def rewrite(ctx: ProxyContext, body: Any) -> None:
        for device in devices_in(body):
            if device.get("doNotDisturb") == "Off" and "ListenIn" not in device.get("capabilities", []):
                device["capabilities"] = list(capabilities)

    return rewrite


both(
    "printed-dnd-capabilities",
    "an agent's device with doNotDisturb Off offers ForwardCallsOn only, as 003 l.9218-9221 prints",
)(_set_dnd_off_capabilities(PRINTED))
both("dnd-off-offers-dnd-off", "an agent's device with doNotDisturb Off offers DoNotDisturbOff")(
    _set_dnd_off_capabilities(WRONG)
)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    with MockProcess() as process:
        yield process


def replay_through(mock: MockProcess, fault: str, fixture_ids: list[str]) -> list[Any]:
    assert mock.base_url
    with FaultyProxy(mock.base_url, fault) as proxy:
        config = mock_config(proxy.url)
        driver = GwsDriver(config)
        try:
            return [GwsReplayer(driver, CORPUS).replay(CORPUS.fixtures_by_id[f]) for f in fixture_ids]
        finally:
            driver.close()


def test_a_printed_form_server_passes_the_capabilities_samples(mock: MockProcess) -> None:
    results = replay_through(mock, "printed-dnd-capabilities", sorted(SAMPLES))
    assert [r.status for r in results] == [PASSED] * len(SAMPLES), "\n".join(r.describe() for r in results)


def test_a_server_of_neither_reading_fails_them(mock: MockProcess) -> None:
    ids = [f for f, (_, response) in sorted(SAMPLES.items()) if not response]
    results = replay_through(mock, "dnd-off-offers-dnd-off", ids)
    assert [r.status for r in results] == [FAILED] * len(ids), "\n".join(r.describe() for r in results)
    for result in results:
        assert any("capabilities" in m.path for m in result.mismatches), result.describe()


def test_tampering_the_alternative_away_makes_the_printed_form_fail() -> None:
    """The printed form passes because of the alternative, not by accident: without it, the errata form fails."""
    fixture = CORPUS.fixtures_by_id["gws.agentstate.ready.sample"]
    entry = copy.deepcopy(fixture.data["notifications"][0])
    entry.pop("alternatives")
    document = apply_patch(entry["message"], [{"set": "data.devices[0].capabilities", "value": REPAIRED}])
    assert compare_forms(forms_of(entry, "message"), document, match="exact")[0]


def test_the_printed_connect_failure_code_matches_the_document() -> None:
    """004 l.100-110: the Code column's text as the code (the mock follows E503: the error type)."""
    fixture = CORPUS.fixtures_by_id["connect.inboundcall.answer-call-failed"]
    note = fixture.data["notifications"][1]
    strategy = connect(fixture.errata)
    base = {"channel": "Amazon", "topic": "InboundCall", "subtopic": "AnswerFailed"}
    printed = {
        **base,
        "message": {
            "errorType": "ANSWER_CALL_FAILED",
            "code": "Amazon Connect Failure Error Message.",
            "message": "Answering call failed.",
        },
    }
    errata = {
        **base,
        "message": {
            **printed["message"],
            "code": "ANSWER_CALL_FAILED",
            "description": "Amazon Connect Failure Error Message.",
        },
    }
    wrong = {**base, "message": {**printed["message"], "code": "E42"}}
    for message in (printed, errata):
        assert compare_forms(forms_of(note, "message"), message, match="subset", strategy=strategy)[0] == []
    assert compare_forms(forms_of(note, "message"), wrong, match="subset", strategy=strategy)[0]


def test_validate_holds_alternatives_to_the_contract(contracts: Any) -> None:
    """An alternative validates like the fixture's own form, or says why not (``off_contract``), truthfully."""
    fixture = CORPUS.fixtures_by_id["gws.agentstate.ready.sample"]
    assert check_fixture(contracts, fixture).problems == []
    data = copy.deepcopy(fixture.data)
    alt = data["notifications"][0]["alternatives"][0]
    alt["patch"][0]["value"] = 7  # capabilities must be an array
    assert any("alternative 1" in p for p in check_fixture(contracts, Fixture(fixture.path, data)).problems)
    alt["off_contract"] = "a deliberately broken form"
    assert check_fixture(contracts, Fixture(fixture.path, data)).problems == []
    alt["patch"][0]["value"] = REPAIRED  # valid again: the explanation is stale
    assert any("off the contract" in p for p in check_fixture(contracts, Fixture(fixture.path, data)).problems)


@pytest.mark.parametrize(
    ("fixture_id", "step", "printed", "neither"),
    [
        ("platform.calls.make-call-listing-python", 0, {"conversationId": "c-1"}, {"conversation": "c-1"}),
        ("platform.calls.make-call-listing-node", 0, {"conversationId": "c-1"}, {"conversation": "c-1"}),
        (
            "platform.calls.monitor-call-listing",
            0,
            {"id": "c-1", "participants": [{"to": {"phoneNumber": "+1555"}, "state": "connected"}]},
            {"id": "c-1", "participants": [{"state": "connected"}]},
        ),
        (
            "platform.calls.complete-example",
            3,
            {
                "id": "c-1",
                "participants": [{"from": {"userId": "u"}, "to": {"phoneNumber": "+1"}, "state": "connected"}],
            },
            {"id": "c-1", "participants": [{"to": {"phoneNumber": "+1"}, "state": "connected"}]},
        ),
    ],
)
def test_what_the_platform_listings_read_matches_the_document(
    fixture_id: str, step: int, printed: Any, neither: Any
) -> None:
    """The listings read members the API does not have (E403, E405): a server sending them passes the replay's
    comparison (its response-schema check is another matter); one sending neither reading's members fails."""
    exchanges = [s for _, s in CORPUS.fixtures_by_id[fixture_id].exchanges()]
    response = exchanges[step]["response"]
    forms = forms_of(response, "body")
    assert compare_forms(forms, printed, match="shape", strategy=PLATFORM)[0] == []
    assert compare_forms(forms, neither, match="shape", strategy=PLATFORM)[0]


# ---- an order the documents do not fix (E310) -----------------------------------------------------------------------
def test_swap_notifications_replay_in_either_order(mock: MockProcess) -> None:
    """The SwapCalls sample prints Established then Held, the scenario Held then Established (E310): a server
    sending either order passes the sample's replay; a server that drops one of them does not."""
    swap = ["gws.conferences.swap-calls.sample"]
    for name in ("none", "reorder-notifications"):
        [result] = replay_through(mock, name, swap)
        assert result.status == PASSED, f"{name}: {result.describe()}"
    [dropped] = replay_through(mock, "drop-held-notification", swap)
    assert dropped.status == FAILED, dropped.describe()


@fault("drop-held-notification", "call notifications with state Held are dropped")
def _drop_held(ctx: ProxyContext, message: Any) -> Any:
    call = (message.get("data") or {}).get("call") if isinstance(message, dict) else None
    return None if isinstance(call, dict) and call.get("state") == "Held" else message
