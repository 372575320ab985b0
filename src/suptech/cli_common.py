"""What every command of the CLI shares: the data directory, the engine, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path, typer.Option(
    "--data-dir", envvar="SUPTECH_DATA_DIR", help="Report database directory.",
    show_default=True)]


def _engine(name):
    """`--engine` resolved once into what the engine can do (`suptech.store.engines`)."""
    from suptech.store.engines import Engine, kind

    if isinstance(name, type) and issubclass(name, Engine):
        return name
    try:
        return kind(name)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


Engine = Annotated[object, typer.Option("--engine", envvar="SUPTECH_ENGINE", parser=_engine,
                                        metavar="duckdb|spark",
                                        help="duckdb (embedded) or spark.")]


def needs_concurrent(engine, what: str) -> None:
    """Exit 2, saying so, where `what` needs a second connection the engine lacks."""
    if not engine.concurrent:
        error(f"{what} needs an engine with concurrent connections (duckdb); "
              f"{engine.name} has none")
        raise typer.Exit(2)


def error(message: str) -> None:
    """One unwrapped line on stderr, so that it can be read by people and by grep."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def open_or_exit(data_dir: Path, engine):
    from suptech.store.database import open_store

    try:
        return open_store(data_dir, engine)
    except Exception as e:  # a locked or unreadable database is the user's to fix
        error(f"cannot open the report database in {data_dir}: {str(e).splitlines()[0]}")
        raise typer.Exit(2) from None
