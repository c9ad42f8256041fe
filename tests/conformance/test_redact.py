"""Redaction: no secret reaches an attachment, an evidence line or a certificate."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from conformance.evidence import Exchange
from conformance.redact import (
    MASK,
    redact_body,
    redact_form,
    redact_header,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)

SECRET = "s3cr3t-V4lue"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Basic amFuZTpwYXNzd29yZA==", "Basic ***"),
        ("authorization", "Bearer eyJhbGciOi.x.y", "Bearer ***"),
        ("Proxy-Authorization", "Digest username=x, response=abc", "Digest ***"),
        ("Authorization", "token-without-scheme", MASK),
        ("X-CSRF-TOKEN", "2f4c1d0e-1111-2222-3333-444455556666", MASK),
        ("Cookie", "JSESSIONID=abc123; theme=dark", "JSESSIONID=***; theme=***"),
        ("Set-Cookie", "JSESSIONID=abc123; HttpOnly; Path=/", "JSESSIONID=***; HttpOnly; Path=/"),
        ("Content-Type", "application/json", "application/json"),
        ("X-CSRF-HEADER", "X-CSRF-TOKEN", "X-CSRF-TOKEN"),
    ],
)
def test_headers_keep_the_scheme_and_the_names(name: str, value: str, expected: str) -> None:
    assert redact_header(name, value) == expected


def test_redact_headers_joins_repeated_set_cookie_and_keeps_others() -> None:
    out = redact_headers([("Set-Cookie", "A=1; Path=/"), ("Set-Cookie", "B=2"), ("Accept", "json")])
    assert out == {"Set-Cookie": "A=***; Path=/\nB=***", "Accept": "json"}
    assert redact_headers(None) == {}


def test_location_header_query_is_redacted() -> None:
    value = redact_header("Location", "https://app.example/cb?code=AUTHCODE123&state=xyz")
    assert "AUTHCODE123" not in value and "state=xyz" in value


@pytest.mark.parametrize(
    "key",
    ["access_token", "refresh_token", "id_token", "code", "code_verifier", "client_secret", "password", "assertion"],
)
def test_url_query_and_fragment(key: str) -> None:
    url = f"https://login.example.com/oauth/authorize?client_id=abc&{key}={SECRET}&x=1#{key}={SECRET}&t=bearer"
    out = redact_url(url)
    assert SECRET not in out
    assert f"{key}={MASK}" in out and "client_id=abc" in out and "x=1" in out and "t=bearer" in out


def test_url_user_info_and_encoded_keys() -> None:
    assert redact_url(f"http://agent:{SECRET}@gws.example/api/v2/me") == "http://agent:***@gws.example/api/v2/me"
    assert redact_url("http://gws.example/api/v2/me") == "http://gws.example/api/v2/me"
    assert SECRET not in redact_url(f"http://x/?pass%77ord={SECRET}")  # %77 = w


def test_nested_json_at_any_depth() -> None:
    body = {
        "operationName": "CreateUser",
        "user": {"userName": "x", "password": SECRET, "tokens": [{"access_token": SECRET, "kind": "a"}]},
        "list": [[{"client_secret": SECRET}]],
        "note": f"Bearer {SECRET}",
    }
    out = redact_json(body)
    text = json.dumps(out)
    assert SECRET not in text
    assert out["user"]["password"] == MASK and out["user"]["userName"] == "x"
    assert out["user"]["tokens"][0] == {"access_token": MASK, "kind": "a"}
    assert out["note"] == "Bearer ***"
    assert body["user"]["password"] == SECRET, "the input is not modified"


def test_json_code_is_an_error_code_unless_in_an_oauth_object() -> None:
    error = {"message": "denied", "code": "not.authorized", "status": 403}
    assert redact_json(error) == error
    grant = {"grant_type": "authorization_code", "code": SECRET, "redirect_uri": "http://cb"}
    assert redact_json(grant)["code"] == MASK


def test_null_secret_stays_null_and_keys_are_case_insensitive() -> None:
    assert redact_json({"password": None}) == {"password": None}
    assert redact_json({"Password": SECRET, "ACCESS_TOKEN": SECRET}) == {"Password": MASK, "ACCESS_TOKEN": MASK}


def test_form_bodies() -> None:
    form = (
        f"grant_type=authorization_code&code={SECRET}&code_verifier={SECRET}&client_id=app&redirect_uri="
        "http%3A%2F%2Flocalhost%2Fcb"
    )
    out = redact_form(form)
    assert SECRET not in out
    assert "grant_type=authorization_code" in out and "client_id=app" in out and "code=***" in out
    assert redact_body(form, "application/x-www-form-urlencoded; charset=utf-8") == out


def test_body_dispatch_by_content_type_and_shape() -> None:
    assert SECRET not in redact_body(json.dumps({"password": SECRET}), "application/json")
    assert SECRET not in redact_body(json.dumps({"password": SECRET}).encode(), None)  # bytes, sniffed as JSON
    assert SECRET not in redact_body({"refresh_token": SECRET})  # already parsed
    broken = '{"password": "' + SECRET + '", "user": '  # not valid JSON: text rules still apply
    assert SECRET not in redact_body(broken, "application/json")
    assert redact_body(b"\xff\xfe\x00", None).startswith("<3 bytes")
    assert redact_body(None) == ""


def test_free_text() -> None:
    text = (
        f"login with Authorization: Basic {SECRET} then token access_token={SECRET}; "
        f'and {{"client_secret": "{SECRET}", "id_token": 42}} at https://u:{SECRET}@host/x'
    )
    out = redact_text(text)
    assert SECRET not in out and "42" not in out
    assert "Basic ***" in out and "access_token=***" in out and "https://u:***@host/x" in out
    assert (
        redact_text("nothing secret here: code review, passwordless") == "nothing secret here: code review, "
        "passwordless"
    )


def test_exchange_redacted_and_summary() -> None:
    exchange = Exchange(
        "POST",
        f"http://gws/platform/oauth/token?code={SECRET}",
        {"Authorization": f"Basic {SECRET}", "Content-Type": "application/x-www-form-urlencoded"},
        f"grant_type=client_credentials&client_secret={SECRET}",
        200,
        {"Content-Type": "application/json", "Set-Cookie": f"JSESSIONID={SECRET}; Path=/"},
        json.dumps({"access_token": SECRET, "token_type": "bearer"}),
        0.012,
    )
    data = exchange.redacted()
    assert SECRET not in json.dumps(data)
    assert data["request"]["headers"]["Authorization"] == "Basic ***"
    assert json.loads(data["response"]["body"]) == {"access_token": MASK, "token_type": "bearer"}
    assert SECRET not in exchange.summary() and exchange.summary().startswith("POST /platform/oauth/token?code=***")


def _literal_not_run_reasons() -> list[tuple[str, str]]:
    """Every ``not_run("...")`` reason written as literal text in conformance/ (f-strings keep their literal
    parts), with where it is."""
    root = Path(__file__).resolve().parents[2] / "conformance"
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "not_run" and node.args:
                arg = node.args[0]
                parts = [arg] if isinstance(arg, ast.Constant) else getattr(arg, "values", [])
                text = "".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
                if text:
                    found.append((f"{path.name}:{node.lineno}", text))
    return found


def test_the_kits_own_not_run_reasons_survive_redaction() -> None:
    """A reason such as "no X-CSRF-TOKEN: …" reads as a header line to the redactor and reached the certificate
    as "***"; the kit's own texts must not look like secrets."""
    reasons = _literal_not_run_reasons()
    assert len(reasons) > 20
    mangled = [(where, text) for where, text in reasons if redact_text(text) != text]
    assert not mangled, mangled
