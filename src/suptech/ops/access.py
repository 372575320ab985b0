"""Who may do what: roles, jurisdictions, and identities behind API tokens.

Roles:
- submitter: an institution's reporting system; sends reports for its own LEI and
  reads its own submissions and feedback, nothing else;
- analyst: reads the reports, alerts and cases of its jurisdiction, triages alerts,
  opens and investigates cases;
- supervisor: what an analyst may, and closes cases (never one it investigated);
- admin: manages users and verifies the audit log; reads no reports or alerts.

A jurisdiction is one of the four regions; an alert, a report or a case belongs to
the regions of the accounts it involves (party.region of their owners).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suptech.ops import audit
from suptech.ops.db import tokens, users

ROLES = ("submitter", "analyst", "supervisor", "admin")
JURISDICTIONS = ("CN-SH", "CN-JS", "CN-ZJ", "CN-AH")


class Said(Exception):
    """An error whose message is an English template and its values, so that the
    dashboard can say it in the user's language (`said`); `str()` is the English."""

    def __init__(self, template: str, **values):
        super().__init__(template.format(**values) if values else template)
        self.template, self.values = template, values

    def said(self, words) -> str:
        """The message in `words`' language (`suptech.i18n.Words`), with the codes among
        its values (a state, a role) in words too."""
        return words(self.template, **{k: words.code(v) if isinstance(v, str) else v
                                       for k, v in self.values.items()})


class Refused(Said):
    """The caller may not do this; the message says why (an HTTP 403)."""


class NotFound(Said):
    """No such object, or none the caller may see (an HTTP 404)."""


class Conflict(Said):
    """The request contradicts the object's state (an HTTP 409)."""


@dataclass(frozen=True)
class User:
    user_id: str
    role: str
    jurisdiction: str
    lei: str | None = None
    language: str | None = None  # the dashboard's; None: the browser's

    def refused(self, *roles: str) -> Refused | None:
        """Why this user may not do what needs one of `roles`, or None where it may."""
        if self.role in roles:
            return None
        return Refused("role {role} may not do this (needs {roles})", role=self.role,
                       roles=" or ".join(roles))

    def require(self, *roles: str) -> None:
        if (refused := self.refused(*roles)) is not None:
            raise refused


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(con: Connection, actor: str, user_id: str, role: str, jurisdiction: str,
             lei: str | None = None, language: str | None = None) -> str:
    """Create a user and its first token; returns the token (shown once, stored hashed)."""
    from stdnum import lei as lei_check

    _check_language(language)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if "@" in user_id:
        raise ValueError(f"user {user_id!r}: '@' is kept for another region's users on "
                         "joint cases (user@region)")
    if jurisdiction not in JURISDICTIONS:
        raise ValueError(f"unknown jurisdiction {jurisdiction!r} "
                         f"(jurisdictions: {', '.join(JURISDICTIONS)})")
    if role == "submitter" and not (lei and lei_check.is_valid(lei)):
        raise ValueError("a submitter needs the valid LEI of its institution (--lei)")
    if _exists(con, user_id):
        raise ValueError(f"user {user_id!r} exists")
    con.execute(users.insert().values(user_id=user_id, role=role, jurisdiction=jurisdiction,
                                      lei=lei if role == "submitter" else None,
                                      created_at=audit.now(), language=language))
    audit.record(con, actor, "user.add", "user", user_id, role=role,
                 jurisdiction=jurisdiction, lei=lei, language=language)
    return issue_token(con, actor, user_id)


def _check_language(language: str | None) -> None:
    from suptech.i18n import LANGUAGES

    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (languages: {', '.join(LANGUAGES)})")


def set_language(con: Connection, user: User, language: str | None) -> None:
    """The user's own choice of the dashboard's language (None: the browser's)."""
    _check_language(language)
    con.execute(users.update().where(users.c.user_id == user.user_id)
                .values(language=language))


def _exists(con: Connection, user_id: str) -> bool:
    return con.execute(sa.select(users.c.user_id).where(users.c.user_id == user_id)).first() \
        is not None


def issue_token(con: Connection, actor: str, user_id: str) -> str:
    if not _exists(con, user_id):
        raise ValueError(f"no user {user_id!r}")
    token = "st_" + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(4)
    con.execute(tokens.insert().values(token_id=token_id, user_id=user_id,
                                       token_hash=token_hash(token), created_at=audit.now()))
    audit.record(con, actor, "token.issue", "user", user_id, token_id=token_id)
    return token


#: Revocations made by this process: a server's tokens authenticated before one are
#: asked about again (`suptech.server.guard.KnownTokens`).
revocations = 0


def revoke(con: Connection, actor: str, user_id: str) -> int:
    """Revoke every live token of a user; returns how many."""
    global revocations
    revocations += 1
    if not _exists(con, user_id):
        raise ValueError(f"no user {user_id!r}")
    done = con.execute(tokens.update().where(tokens.c.user_id == user_id,
                                             tokens.c.revoked_at.is_(None))
                       .values(revoked_at=audit.now())).rowcount
    audit.record(con, actor, "token.revoke", "user", user_id, tokens=done)
    return done


def authenticate(con: Connection, token: str) -> User | None:
    row = con.execute(
        sa.select(users).join(tokens, tokens.c.user_id == users.c.user_id)
        .where(tokens.c.token_hash == token_hash(token), tokens.c.revoked_at.is_(None))
    ).mappings().first()
    if row is None:
        return None
    return User(row["user_id"], row["role"], row["jurisdiction"], row["lei"], row["language"])


def list_users(con: Connection) -> list[dict]:
    live = sa.func.count(tokens.c.token_id).filter(tokens.c.revoked_at.is_(None))
    q = (sa.select(users, live.label("live_tokens"))
         .join(tokens, tokens.c.user_id == users.c.user_id, isouter=True)
         .group_by(*users.c).order_by(users.c.user_id))
    return [dict(r) for r in con.execute(q).mappings()]
