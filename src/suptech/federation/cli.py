"""`suptech federation init|node|coordinator|demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from suptech.cli_common import console, error

out = console()
app = typer.Typer(help="Regions' nodes supervising together (coordinated supervision).",
                  no_args_is_help=True)
Home = Annotated[Path, typer.Argument(help="The federation's home folder.")]


@app.command()
def init(home: Home,
         agreements: Annotated[Optional[Path], typer.Option(
             "--agreements", help="The data-sharing agreements (JSON); default: the "
                                  "Yangtze River Delta's example agreements.")] = None) -> None:
    """Make a federation: its authority, each member's key and certificate, ports, the
    agreements and the rulebook published, a supervisor for each node."""
    from suptech.federation import home as fed
    from suptech.federation.launch import users

    try:
        made = fed.init(home, agreements)
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
    users(made)
    for name, m in made.members.items():
        out.print(f"{name:12} {m.url}" + (f"  dashboard {m.dashboard}" if m.dashboard else ""))


@app.command()
def node(home: Home, region: Annotated[str, typer.Argument(help="e.g. CN-SH")]) -> None:
    """Serve a region's node: its API and dashboard, and its federation listener."""
    from suptech.federation.serve import serve_node

    try:
        serve_node(home, region)
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None


@app.command()
def coordinator(home: Home) -> None:
    """Serve the coordinator's federation listener."""
    from suptech.federation.serve import serve_coordinator

    try:
        serve_coordinator(home)
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
