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


def test_a_token_over_its_rate_is_told_when_to_come_back(tmp_path, monkeypatch):
    """One institution's sender cannot take the server from the others: a token's
    requests beyond its rate (bursts of twice it) are answered 429 with Retry-After;
    another token goes on."""
    monkeypatch.setenv("SUPTECH_RATE_LIMIT", "2")
    ops = connect(tmp_path)
    with ops.begin() as con:
        ana, bob = (access.add_user(con, "test", u, "analyst", "CN-SH") for u in ("ana", "bob"))
    ops.dispose()
    with TestClient(create_app(tmp_path)) as client:
        codes = [client.get("/v1/me", headers={"Authorization": f"Bearer {ana}"})
                 for _ in range(5)]
        assert [c.status_code for c in codes] == [200] * 4 + [429]
        assert codes[-1].headers["retry-after"] == "1"
        other = client.get("/v1/me", headers={"Authorization": f"Bearer {bob}"})
        assert other.status_code == 200


def test_a_submission_beyond_the_queue_is_refused_at_once_not_queued(server, monkeypatch):
    """While the store is taken (a long commit), submissions wait up to MAX_QUEUED_ROWS
    reports; the next is refused at once with 503 and Retry-After, and the waiting one is
    stored."""
    import threading

    from builders import record

    from suptech.server import services as services_module

    client, tokens = server
    monkeypatch.setattr(services_module, "MAX_QUEUED_ROWS", 1)
    s = client.app.state.services
    headers = {"Authorization": f"Bearer {tokens['bank']}"}

    def send(n: int) -> dict:
        return {"records": [record("payment", n, submitter=BANK, report_id=f"q-{n}",
                                   payment_id=f"7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a{n:02d}")]}

    first: dict = {}
    with s.lock:  # as a long commit holds it
        waiting = threading.Thread(target=lambda: first.update(
            r=client.post("/v1/submissions/payment", json=send(1), headers=headers)))
        waiting.start()
        while s._queued < 1 and waiting.is_alive():  # until it waits for the store
            threading.Event().wait(0.01)
        refused = client.post("/v1/submissions/payment", json=send(2), headers=headers)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "waiting to be stored" in refused.json()["detail"]
    waiting.join(timeout=60)
    assert first["r"].status_code == 200 and first["r"].json()["accepted"] == 1
