"""What stands between the network and the handlers: headers that protect the dashboard,
changes only from the server's own origin, body limits before parsing, wrong tokens
limited and audited, server-side sessions ended on logout, and docs served locally."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from builders import BANK
from fastapi.testclient import TestClient

from suptech.ops import access
from suptech.ops.db import connect
from suptech.server import guard
from suptech.server.app import create_app


@pytest.fixture
def server(tmp_path):
    ops = connect(tmp_path)
    with ops.begin() as con:
        tokens = {"ana": access.add_user(con, "test", "ana", "analyst", "CN-SH"),
                  "bank": access.add_user(con, "test", "bank", "submitter", "CN-SH", BANK)}
    ops.dispose()
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8000") as client:
        yield client, tokens


def login(client, token: str):
    return client.post("/ui/login", data={"token": token}, follow_redirects=False)


def test_every_page_carries_the_headers_that_stop_framing_sniffing_and_foreign_scripts(server):
    client, _ = server
    page = client.get("/ui/login")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script(?![^>]*(?:src=|application/json))([^>]*)>", page.text)
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)
    assert client.get("/ui/login").headers["content-security-policy"] != csp  # per response


def test_a_change_from_another_origin_is_refused_even_on_the_same_host(server):
    client, tokens = server
    login(client, tokens["ana"])
    forged = client.post("/ui/logout", headers={"Origin": "http://127.0.0.1:9999"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/ui", follow_redirects=False).status_code == 200  # still logged in
    own = client.post("/ui/logout", headers={"Origin": "http://127.0.0.1:8000"},
                      follow_redirects=False)
    assert own.status_code == 303


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    client, tokens = server
    r = client.post("/v1/submissions/payment", content=b"{}",
                    headers={"Authorization": f"Bearer {tokens['bank']}",
                             "Content-Type": "application/json",
                             "Content-Length": str(guard.MAX_JSON + 1)})
    assert r.status_code == 413 and "over the limit" in r.json()["detail"]


def test_a_body_without_a_valid_token_is_refused_before_it_is_parsed(server):
    client, _ = server
    body = b'{"records": [' + b'{"a": 1},' * 50_000 + b'{"a": 1}]}'
    for headers in ({}, {"Authorization": "Bearer st_wrong"}):
        r = client.post("/v1/submissions/payment", content=body,
                        headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked token"


def test_wrong_tokens_are_limited_per_address_and_audited(server):
    client, tokens = server
    for _ in range(guard.FailedAuth.LIMIT):
        assert client.get("/v1/me", headers={"Authorization": "Bearer st_guess"}).status_code == 401
    locked = client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['ana']}"})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "60"
    assert login(client, tokens["ana"]).status_code == 429
    with client.app.state.services.ops.connect() as con:
        actions = [a for (a,) in con.execute(sa.text(
            "SELECT action FROM audit_log WHERE actor = 'anonymous' ORDER BY seq"))]
    assert actions == ["auth.failed"] * (guard.FailedAuth.LIMIT - 1) + ["auth.locked"]


def test_the_session_cookie_is_no_token_and_logout_ends_the_session(server):
    client, tokens = server
    r = login(client, tokens["ana"])
    cookie = r.cookies["suptech_session"]
    assert cookie != tokens["ana"] and tokens["ana"] not in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    assert client.get("/ui", follow_redirects=False).status_code == 200
    client.post("/ui/logout", follow_redirects=False)
    client.cookies.set("suptech_session", cookie)  # the old cookie, kept by an attacker
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/login"


def test_the_api_docs_load_nothing_from_another_host(server):
    client, _ = server
    page = client.get("/docs")
    assert page.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in page.text
    assert not re.search(r"(src|href)=['\"]https?://", page.text)
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404
