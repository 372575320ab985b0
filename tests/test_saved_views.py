"""Saved views: an analyst names the queue's filter and finds it again as a link above
the queue; the view is the analyst's own, keeps only the queue's parameters, and goes
when removed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from suptech.ops import access
from suptech.ops.db import connect
from suptech.server.app import create_app


@pytest.fixture
def client(tmp_path):
    ops = connect(tmp_path)
    with ops.begin() as con:
        tokens = {u: access.add_user(con, "test", u, "analyst", "CN-SH") for u in ("ana", "bo")}
    ops.dispose()
    with TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8000") as c:
        yield c, tokens


def views(page: str) -> list[str]:
    section = page[page.index('id="views"'):page.index("Save this filter as")]
    return [part.split('"')[0] for part in section.split('<a href="')[1:]]


def test_a_saved_view_is_a_link_to_the_queue_as_it_was_filtered(client):
    c, tokens = client
    c.post("/ui/login", data={"token": tokens["ana"]})
    saved = c.post("/ui/alerts/views", data={
        "name": "new spoofing", "query": "typology=SPOOFING&status=new&sort=time&evil=1"})
    assert "view new spoofing saved" in saved.text
    # Back on the queue as filtered; the view keeps the queue's parameters only.
    assert saved.url.query.decode().startswith("typology=SPOOFING&status=new&sort=time")
    assert views(saved.text) == ["/ui/alerts?typology=SPOOFING&amp;status=new&amp;sort=time"]
    # Saved again under the same name: replaced, not doubled.
    again = c.post("/ui/alerts/views", data={"name": "new spoofing", "query": "status=new"})
    assert views(again.text) == ["/ui/alerts?status=new"]
    refused = c.post("/ui/alerts/views", data={"name": "  ", "query": "status=new"})
    assert "a view needs a name" in refused.text


def test_a_view_is_its_users_own_and_goes_when_removed(client):
    c, tokens = client
    c.post("/ui/login", data={"token": tokens["ana"]})
    c.post("/ui/alerts/views", data={"name": "mine", "query": "status=assigned"})
    c.post("/ui/logout")
    c.post("/ui/login", data={"token": tokens["bo"]})
    assert views(c.get("/ui/alerts").text) == []
    c.post("/ui/logout")
    c.post("/ui/login", data={"token": tokens["ana"]})
    gone = c.post("/ui/alerts/views", data={"forget": "mine", "query": ""})
    assert "view mine removed" in gone.text and views(gone.text) == []
