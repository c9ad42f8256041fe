"""Every erratum says what the conformance suite accepts (its `suite` field), consistently.

"The mock chooses; the suite judges": an erratum either accepts every reading the documents support,
exactly one of them being the mock's default, or is strict with a reason. A reading the mock does not
implement by default names the mock variant that does; a mock-only reading must say what is advisory.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from voicekit.corpus import Corpus
from voicekit.errata import render, variants
from voicekit.paths import seeds_dir, specs_dir

CORPUS = Corpus()
SCHEMA = json.loads((specs_dir() / "schemas" / "meta" / "erratum.schema.json").read_text(encoding="utf-8"))

# Variant names other engineers build on (the mock implements them under exactly these names).
AGREED_VARIANTS = {
    "device-capabilities-as-printed": {"E105", "E303"},
    "mute-silent": {"E210"},
    "merge-as-printed": {"E314"},
    "swap-retrieved-first": {"E310"},
    "notready-display-name": {"E102", "E302"},
    "mute-on-two-party": {"E211"},
    "offline-logout": {"E101", "E301"},
    "no-me-agent-states": {"E100"},
    "platform-error-texts": {"E408"},
}


def _ids(errata: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in errata]


def _seed_length(document: str) -> int:
    path = seeds_dir() / document if not document.startswith("reference/") else seeds_dir().parent / document
    return len(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("erratum", CORPUS.errata, ids=_ids(CORPUS.errata))
def test_every_erratum_says_what_the_suite_accepts(erratum: dict[str, Any]) -> None:
    validator = Draft202012Validator(SCHEMA)
    assert [e.message for e in validator.iter_errors([erratum])] == []
    suite = erratum["suite"]
    if suite.get("strict"):
        assert suite["reason"].strip()
        return
    readings = suite["accepts"]
    assert sum(1 for r in readings if r.get("default")) == 1, "exactly one reading is the mock's default"
    assert all("variant" in r for r in readings if not r.get("default")), "every other reading names its variant"
    assert not any("variant" in r for r in readings if r.get("default")), "the default needs no variant"
    if len(readings) == 1:
        assert suite.get("advisory", "").strip(), "a mock-only reading must say what the suite reports as advisory"
    for reading in readings:
        if "lines" in reading:
            first, last = reading["lines"]["lines"]
            assert 1 <= first <= last <= _seed_length(reading["lines"]["document"])


def test_the_schema_requires_the_suite_field_and_one_of_its_forms() -> None:
    """The meta-schema refuses an erratum without `suite`, a mixed form, and a strict form without a reason."""
    validator = Draft202012Validator(SCHEMA)
    base = copy.deepcopy(CORPUS.errata_by_id["E107"])
    broken = [copy.deepcopy(base) for _ in range(4)]
    del broken[0]["suite"]
    broken[1]["suite"] = {"strict": True}
    broken[2]["suite"] = {"strict": True, "reason": "x", "accepts": [{"reading": "x", "default": True}]}
    broken[3]["suite"] = {"accepts": [{"reading": "x", "variant": "Not Kebab"}]}
    for erratum in broken:
        assert list(validator.iter_errors([erratum])), erratum.get("suite", "no suite")
    assert not list(validator.iter_errors([base]))


def test_agreed_variant_names_are_on_their_errata() -> None:
    named = variants(CORPUS.errata)
    for name, ids in AGREED_VARIANTS.items():
        assert ids <= set(named.get(name, [])), name


def test_errata_markdown_shows_mock_and_suite_for_every_erratum() -> None:
    text = render(CORPUS)
    assert (specs_dir() / "ERRATA.md").read_text(encoding="utf-8") == text
    for section in text.split("\n## ")[1:]:
        assert "- **Mock:** " in section, section[:40]
        assert "- **Suite accepts:**" in section or "- **Suite:** strict — " in section, section[:40]
