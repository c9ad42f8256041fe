"""The rule tables in ``specs/tables/`` that the mock and the suite both read: they name real errata, cite lines of
the documents that show what they list, and the capability rules give the sets the errata describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicekit.contracts import load_document
from voicekit.corpus import Corpus
from voicekit.paths import specs_dir
from voicekit.tables import connect_buttons, gws_call_capabilities, gws_capability_table

DOC = "003_ca6f4272dc604134.txt"


def test_tables_name_existing_errata(corpus: Corpus) -> None:
    known = {erratum["id"] for erratum in corpus.errata}
    for name in ("gws-http-status.yaml", "gws-capabilities.yaml", "connect-buttons.yaml"):
        table = load_document(specs_dir() / "tables" / name)
        assert set(table["errata"]) <= known, f"{name} names errata that do not exist"


def test_every_capability_set_is_printed_at_its_cited_lines(seeds: Path) -> None:
    """Each state's operations appear in the sample the table cites (the samples of 003, not the mock's taste)."""
    lines = (seeds / DOC).read_text(encoding="utf-8").splitlines()
    table = gws_capability_table()
    for state, entry in table["states"].items():
        for first, last in entry["lines"]:
            text = "\n".join(lines[first - 1 : last])
            listed = [*table["userData"], *entry["operations"]]
            if state == "Ringing":
                listed.append(table["ringing"]["answer"])
            missing = [op for op in listed if f'"{op}"' not in text]
            assert not missing, f"{state}: {missing} not printed at {DOC} l.{first}-{last}"


def test_capability_names_are_operation_names() -> None:
    """Every capability the table can give is named in the GWS contract (its operationName values)."""
    spec_text = (specs_dir() / "gws.openapi.yaml").read_text(encoding="utf-8")
    table = gws_capability_table()
    names = set(table["userData"]) | set(table["notGoverned"]) | set(table["ringing"].values())
    names |= {op for entry in table["states"].values() for op in entry["operations"]}
    names |= {op for ops in table["secondCall"].values() for op in ops}
    names |= {table["conference"]["mute"], table["conference"]["unmute"], *table["conference"]["operations"]}
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", spec_text))
    assert not missing, f"capabilities the GWS contract does not know: {missing}"


@pytest.mark.parametrize(
    ("state", "flags", "expected"),
    [
        ("Released", {}, set()),
        ("Ringing", {"public": True}, {"AttachUserData", "UpdateUserData", "DeleteUserData", "DeleteUserDataPair"}),
        ("Ringing", {"via_queue": True}, {"Answer", "Reject"}),
        ("Established", {"conference": True}, {"RemoveParticipantFromConference", "MuteCall", "Hold"}),
        ("Established", {"conference": True, "muted": True}, {"UnmuteCall"}),
        ("Established", {"mute_two_party": True}, {"MuteCall"}),
        ("Dialing", {"second_call": True, "consult": "conference"}, {"SwapCalls", "CompleteConference"}),
        ("Held", {"second_call": True}, {"Retrieve", "CompleteTransfer"}),
        ("Established", {"supervisor_mode": "BargeIn"}, {"SwitchToListenIn", "RemoveParticipantFromConference"}),
        ("Established", {"supervisor_mode": "ListenIn"}, {"SwitchToBargeIn"}),
    ],
)
def test_call_capability_rules(state: str, flags: dict[str, object], expected: set[str]) -> None:
    caps = gws_call_capabilities(state, **flags)  # type: ignore[arg-type]
    assert expected <= set(caps) if expected else caps == []
    assert len(caps) == len(set(caps)), "a capability listed twice"


def test_two_party_calls_have_no_mute_toggle_by_default_and_unknown_states_are_refused() -> None:
    assert not {"MuteCall", "UnmuteCall", "RemoveParticipantFromConference"} & set(gws_call_capabilities("Established"))
    assert "Answer" not in gws_call_capabilities("Ringing", public=True)
    with pytest.raises(ValueError, match="no capability set"):
        gws_call_capabilities("Alerting")


def test_connect_buttons_are_printed_in_that_order(seeds: Path) -> None:
    """The bus call view's buttons, as 004 prints them (l.131-141), in that order."""
    lines = next(seeds.glob("004_*.txt")).read_text(encoding="utf-8").splitlines()[130:141]
    printed = [line.strip().split('"')[1] for line in lines]
    assert tuple(printed) == connect_buttons()
