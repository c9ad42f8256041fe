"""HTTP-level mock fixes found by the documented-sample replay."""

from __future__ import annotations

import base64

from mockserver.app import create_app
from mockserver.domain.clock import ManualScheduler

ADMIN = {"Authorization": "Basic " + base64.b64encode(b"mikeb@redwings.com:password").decode()}


def test_version_with_credentials_issues_the_session_and_csrf_token() -> None:
    """gws.samples.csrf.python reads JSESSIONID and X-CSRF-* from GET diagnostics/version (003 l.943-948)."""
    client = create_app({"csrf": True}, scheduler=ManualScheduler()).test_client()
    anonymous = client.get("/api/v2/diagnostics/version")
    assert anonymous.status_code == 200 and "X-CSRF-TOKEN" not in anonymous.headers
    signed = client.get("/api/v2/diagnostics/version", headers=ADMIN)
    assert signed.status_code == 200 and signed.get_json()["statusCode"] == 0
    assert signed.headers["X-CSRF-HEADER"] == "X-CSRF-TOKEN" and signed.headers["X-CSRF-TOKEN"]
    assert "JSESSIONID" in signed.headers.get("Set-Cookie", "")
    token = {signed.headers["X-CSRF-HEADER"]: signed.headers["X-CSRF-TOKEN"]}
    body = {
        "userName": "bobp@redwings.com",
        "password": "password",
        "firstName": "Bob",
        "lastName": "Probert",
        "roles": ["ROLE_AGENT"],
    }
    assert client.post("/api/v2/users", json=body, headers={**ADMIN, **token}).get_json()["statusCode"] == 0
    wrong = client.get("/api/v2/diagnostics/version", headers={"Authorization": "Basic bm9ib2R5Om5vcGU="})
    assert wrong.status_code == 200 and "X-CSRF-TOKEN" not in wrong.headers
