"""Replay of the documented GWS samples (``fixtures/gws/``, seeds 003 and 002), profile ``gws-samples``: one test
per fixture. Each documented request is sent over the wire (ids, numbers and URIs bound to the target's own),
its response checked, and the documented CometD notifications awaited in order and compared, under the rules
of ``conformance/replay/README.md`` and the errata's ``replay`` decisions.

Preconditions are built through the documented API by the configured users (agent B dials agent A, the
supervisor monitors…); what no client can cause comes from the event source. A fixture that cannot be replayed
on this target (a fragment, no event source, no CSRF protection for the CSRF samples…) is reported *not run*
with the reason, never passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.failures import ConformanceFailure, Evidence
from conformance.loading import default_corpus
from conformance.outcomes import not_run
from conformance.plugin import get_state
from conformance.replay.driver import GwsDriver
from conformance.replay.gws import FAILED, NOT_RUN, GwsReplayer
from conformance.replay.plan import build_plan
from conformance.target import RunningTarget
from voicekit.corpus import Fixture

PROFILE = "gws-samples"


def gws_fixtures() -> list[Fixture]:
    return [f for f in default_corpus().fixtures if f.system == "gws"]


def _params() -> list[Any]:
    corpus = default_corpus()
    params = []
    for fixture in gws_fixtures():
        plan = build_plan(fixture, corpus.errata)
        marks = [
            pytest.mark.vk_profile(PROFILE),
            pytest.mark.vk_fixture_id(fixture.id),
            pytest.mark.vk_operations(*fixture.operations),
            pytest.mark.vk_rule(
                f"SAMPLE-{fixture.id}",
                document=fixture.document,
                lines=fixture.lines,
                title=str(fixture.data.get("title")),
            ),
        ]
        if plan.destructive:
            marks.append(pytest.mark.vk_destructive)
        params.append(pytest.param(fixture, id=fixture.id, marks=marks))
    return params


@pytest.fixture(scope="module")
def gws_replayer(vk_target: RunningTarget) -> Iterator[GwsReplayer]:
    """One driver for the module: every configured user's session is reused from fixture to fixture."""
    driver = GwsDriver(vk_target.config)
    try:
        yield GwsReplayer(driver, default_corpus())
    finally:
        driver.close()


@pytest.mark.parametrize("fixture", _params())
def test_documented_sample(fixture: Fixture, gws_replayer: GwsReplayer, request: pytest.FixtureRequest) -> None:
    if get_state(request.config).options.reset == "test":
        gws_replayer.driver.reopen_notifications()  # the plugin reset the mock before this test
    result = gws_replayer.replay(fixture)
    if result.status == NOT_RUN:
        not_run(result.reason)
    if result.status == FAILED:
        details = [str(m) for m in result.mismatches] + [f"note: {n}" for n in result.notes]
        errata = f" (errata applied: {', '.join(result.errata)})" if result.errata else ""
        raise ConformanceFailure(
            result.describe() + errata,
            title="Documented sample not reproduced",
            evidence=Evidence(fixture=fixture.id, document=fixture.document, lines=fixture.lines, details=details),
        )
