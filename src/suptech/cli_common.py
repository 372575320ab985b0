"""What every command of the CLI shares: the data directory, the engine, one-line errors."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions

DataDir = Annotated[Path, typer.Option(
    "--data-dir", envvar="SUPTECH_DATA_DIR", help="Report database directory.",
    show_default=True)]


class _Console(Console):
    """rich's console, as wide as the screen of whoever runs the command: a client's,
    for a command the server runs for it (`suptech.cli_remote`, through `CLIENT`)."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        columns = getattr(CLIENT, "columns", None)
        return size if columns is None else ConsoleDimensions(columns, size.height)

    @size.setter
    def size(self, new: tuple[int, int]) -> None:
        Console.size.fset(self, new)


#: What the thread running a client's command knows of the client (`columns`).
CLIENT = threading.local()


def console(stderr: bool = False) -> Console:
    """The console of the CLI's output (stderr: of its errors and progress)."""
    return _Console(stderr=stderr)


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


def refuse_if_held(data_dir: Path) -> None:
    """Exit 2, saying by whom, where another process holds `data_dir` for good (a server
    or a stream consumer: one writer per directory, `suptech.store.writer`)."""
    from suptech.store.writer import find

    other = find(data_dir)
    if other is not None:
        error(f"{data_dir} is held already, by {other.name} (PID {other.pid})"
              + (f" at {other.url}" if other.url else ""))
        raise typer.Exit(2)


def open_or_exit(data_dir: Path, engine):
    """The report database of `data_dir`. Where a server serves it, the command runs in
    the server instead (`suptech.cli_remote`) and this process exits with its code; where
    another command has it open, this waits for it (`suptech.store.writer.acquire`)."""
    from suptech.store import writer

    try:
        store = writer.served(data_dir)  # a command the server runs for a client
        if store is None:
            store = writer.acquire(data_dir, engine)
        if isinstance(store, writer.Writer) and store.url is None:
            error(f"{store.name} (PID {store.pid}) holds the report database in {data_dir}; "
                  f"to use the CLI beside it, run the consumer inside the server "
                  f"(suptech serve --stream)")
            raise typer.Exit(2)
        if isinstance(store, writer.Writer):
            from suptech.cli_remote import forward

            code = forward(store)
            if code is not None:
                raise typer.Exit(code)
            store = writer.acquire(data_dir, engine, delegate=False)  # the server is gone
        return store
    except typer.Exit:
        raise
    except Exception as e:  # a locked or unreadable database is the user's to fix
        error(f"cannot open the report database in {data_dir}: {str(e).splitlines()[0]}")
        raise typer.Exit(2) from None
