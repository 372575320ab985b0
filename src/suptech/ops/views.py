"""Saved views: a user's named filters of the alert queue ("new spoofing, by score"),
kept with the user and offered as links above the queue. A view holds the queue's own
parameters only (`QUEUE`), so a saved link can only ever filter the queue."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops import audit
from suptech.ops.access import Conflict, User
from suptech.ops.db import saved_views

#: The alert queue's parameters, the only ones a view keeps.
QUEUE = ("typology", "status", "sort")
MAX_NAME = 80


def queue_query(query: str, keep: tuple[str, ...] = QUEUE) -> str:
    """`query` with only the queue's own parameters (`keep`), in their order, none empty."""
    given = dict(parse_qsl(query))
    return urlencode({k: given[k] for k in keep if given.get(k)})


def save(con: Connection, user: User, name: str, query: str) -> str:
    """Save (or replace) the view `name`; returns the query it keeps."""
    name = name.strip()
    if not name:
        raise Conflict("a view needs a name")
    if len(name) > MAX_NAME:
        raise Conflict("a view's name is at most {n} characters", n=MAX_NAME)
    kept = queue_query(query)
    con.execute(saved_views.delete().where(saved_views.c.user_id == user.user_id,
                                           saved_views.c.name == name))
    con.execute(saved_views.insert().values(user_id=user.user_id, name=name, query=kept,
                                            created_at=audit.now()))
    return kept


def mine(con: Connection, user: User) -> list[dict]:
    """The user's views, by name."""
    rows = con.execute(sa.select(saved_views.c.name, saved_views.c.query)
                       .where(saved_views.c.user_id == user.user_id)
                       .order_by(saved_views.c.name)).mappings()
    return [dict(r) for r in rows]


def forget(con: Connection, user: User, name: str) -> None:
    con.execute(saved_views.delete().where(saved_views.c.user_id == user.user_id,
                                           saved_views.c.name == name))
