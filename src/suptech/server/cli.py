"""`suptech serve`, `suptech users add|revoke|list` and `suptech audit verify`."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from suptech.cli_common import (
    DataDir, Engine, console, error, needs_concurrent, refuse_if_held)

out = console()
users_app = typer.Typer(help="Users of the server and their API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
DatabaseUrl = Annotated[Optional[str], typer.Option(
    "--database-url", envvar="SUPTECH_DATABASE_URL",
    help="Operational database, e.g. postgresql://user@host/db (default: SQLite in the "
         "data directory).")]
#: Who the audit log names for what is done from the command line on the server.
CLI_ACTOR = "cli"


def _ops(data_dir: Path, url: str | None):
    from suptech.ops.db import connect

    try:
        return connect(data_dir, url)
    except Exception as e:  # noqa: BLE001 (a server that is down or a bad URL: say which)
        error(f"cannot open the operational database: {str(e).splitlines()[0]}")
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    data_dir: DataDir = Path("./suptech-data"),
    engine: Engine = "duckdb",
    database_url: DatabaseUrl = None,
    nats_url: Annotated[Optional[str], typer.Option(
        "--nats", envvar="SUPTECH_NATS_URL",
        help="NATS server the streaming alerts come from: the dashboard shows them live.")] = None,
    stream: Annotated[bool, typer.Option(
        "--stream", help="Also consume the report stream (what `suptech stream` does), "
                         "from --nats or nats://127.0.0.1:4222.")] = False,
    prefix: Annotated[str, typer.Option("--prefix", help="Stream subject prefix.")] = "suptech",
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the dashboard over the report database."""
    import uvicorn

    from suptech.server.app import create_app

    refuse_if_held(data_dir)
    _ops(data_dir, database_url).dispose()  # fail here, in one line, not in the server
    if stream:
        needs_concurrent(engine, "--stream")
        nats_url = nats_url or "nats://127.0.0.1:4222"
    out.print(f"suptech serving http://{host}:{port} (API docs at /docs), data in {data_dir}"
              + (f"; consuming {prefix}.reports.> from {nats_url}" if stream else "")
              + (f"; live alerts from {nats_url}" if nats_url and not stream else ""))
    # The CLI's commands on this directory reach the server here (any address: loopback).
    reach = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://[{reach}]:{port}" if ":" in reach else f"http://{reach}:{port}"
    uvicorn.run(create_app(data_dir, engine, database_url, nats_url, prefix, stream, url),
                host=host, port=port, log_level="warning",
                # SIGTERM: stop taking requests, let those under way end, then stop.
                timeout_graceful_shutdown=10)


@contextmanager
def _transaction(data_dir: Path, url: str | None):
    """One transaction on the operational database; a ValueError is the user's: one line."""
    ops = _ops(data_dir, url)
    try:
        with ops.begin() as con:
            yield con
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
    finally:
        ops.dispose()


@users_app.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="A name for the user, e.g. li.wei")],
    role: Annotated[str, typer.Option("--role", help="submitter, analyst, supervisor or admin")],
    jurisdiction: Annotated[str, typer.Option(
        "--jurisdiction", help="CN-SH, CN-JS, CN-ZJ or CN-AH")],
    lei: Annotated[Optional[str], typer.Option(
        "--lei", help="The institution a submitter reports for.")] = None,
    language: Annotated[Optional[str], typer.Option(
        "--language", help="The dashboard's language for this user: zh or en (default: "
                           "the browser's; the user can change it on any page).")] = None,
    data_dir: DataDir = Path("./suptech-data"),
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user and print its API token (shown once: only its hash is kept)."""
    from suptech.ops import access

    with _transaction(data_dir, database_url) as con:
        token = access.add_user(con, CLI_ACTOR, user_id, role, jurisdiction, lei, language)
    out.print(f"user {user_id} ({role}, {jurisdiction}) added; token:")
    print(token)


@users_app.command("token")
def token(user_id: Annotated[str, typer.Argument()], data_dir: DataDir = Path("./suptech-data"),
          database_url: DatabaseUrl = None) -> None:
    """Issue another token for a user (e.g. after a revocation)."""
    from suptech.ops import access

    with _transaction(data_dir, database_url) as con:
        print(access.issue_token(con, CLI_ACTOR, user_id))


@users_app.command("revoke")
def revoke(user_id: Annotated[str, typer.Argument()], data_dir: DataDir = Path("./suptech-data"),
           database_url: DatabaseUrl = None) -> None:
    """Revoke every token of a user at once."""
    from suptech.ops import access

    with _transaction(data_dir, database_url) as con:
        n = access.revoke(con, CLI_ACTOR, user_id)
    out.print(f"{n} token(s) of {user_id} revoked")


@users_app.command("list")
def list_users(data_dir: DataDir = Path("./suptech-data"), database_url: DatabaseUrl = None) -> None:
    from suptech.ops import access

    with _transaction(data_dir, database_url) as con:
        rows = access.list_users(con)
    table = Table("user", "role", "jurisdiction", "lei", "live tokens", "created")
    for r in rows:
        table.add_row(r["user_id"], r["role"], r["jurisdiction"], r["lei"] or "",
                      str(r["live_tokens"]), r["created_at"])
    out.print(table)


@audit_app.command("verify")
def verify(data_dir: DataDir = Path("./suptech-data"), database_url: DatabaseUrl = None) -> None:
    """Check the audit log's hash chain; exit 1 and name the entry where it breaks."""
    from suptech.ops import audit

    with _transaction(data_dir, database_url) as con:
        v = audit.verify(con)
    if not v.ok:
        error(f"audit log broken at entry {v.broken_at}: {v.reason} "
              f"({v.entries} entries read)")
        raise typer.Exit(1)
    out.print(f"audit log intact: {v.entries} entries, head {v.head}")
