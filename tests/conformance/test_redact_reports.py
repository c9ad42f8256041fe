"""The last redaction pass over written reports (conformance/reporting/scrub.py)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.reporting.scrub import scrub_reports

SECRET_BASIC = "cGF2ZWxkQHJlZHdpbmdzLmNvbTpwYXNzd29yZA=="


def test_parameters_attachments_and_junit_are_scrubbed(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "x-result.json").write_text(
        json.dumps(
            {
                "name": "t",
                "parameters": [
                    {
                        "name": "fixture",
                        "value": "{'headers': {'Authorization': 'Basic " + SECRET_BASIC + "', "
                        "'Cookie': 'JSESSIONID=hac082exio454jcqk6ieqm4j', "
                        "'X-CSRF-TOKEN': 'e2fcfafd-c600-4156-88ae-ca56babd24e1'}}",
                    }
                ],
            }
        )
    )
    (results / "a-attachment.txt").write_text("POST /oauth/token grant_type=authorization_code&code=abc123xyz")
    (tmp_path / "junit.xml").write_text("<failure message='Authorization: Bearer tok_0123456789abcdef'/>")
    assert scrub_reports(tmp_path) == 3
    everything = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (
        SECRET_BASIC,
        "hac082exio454jcqk6ieqm4j",
        "e2fcfafd-c600-4156-88ae-ca56babd24e1",
        "abc123xyz",
        "tok_0123456789abcdef",
    ):
        assert secret not in everything
    assert "Basic ***" in everything and "Bearer ***" in everything
    assert scrub_reports(tmp_path) == 0  # idempotent
