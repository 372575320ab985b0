"""`suptech federation init|node|coordinator|adopt|demo`."""

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


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--out", help="Where the federation is made "
                                                    "(a new folder).")] = Path("./suptech-federation"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Keep serving the nodes' "
                                        "dashboards (Ctrl-C stops), or stop every process and exit.")] = True,
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    accounts: Annotated[int, typer.Option("--accounts", min=500,
                                          help="Accounts in the simulated network.")] = 10_000,
    entities: Annotated[int, typer.Option("--entities", min=100,
                                          help="Identifiers in each region's register.")] = 10_000,
) -> None:
    """Start four regional nodes and the coordinator on this machine, fill them from one
    simulated payment network, run every joint job and show what each released."""
    import signal
    import threading

    from rich.table import Table

    from suptech.federation import demo as fed_demo

    if (folder / "federation.json").exists():
        error(f"{folder} already holds a federation: give --out a new folder")
        raise typer.Exit(2)
    table = Table("asked by", "job", "released", "s", title="Joint jobs")

    def say(entry: dict) -> None:
        table.add_row(entry["asked by"], entry["job"], fed_demo.released(entry),
                      f"{entry['seconds']:.1f}")

    with out.status("starting") as status:
        home, processes, tokens, done = fed_demo.demo(
            folder, seed, accounts, entities, lambda m: status.update(m), say)
    try:
        out.print(table)
        refused = [d for d in done if d["status"] != 200]
        out.print(f"{len(done) - len(refused)} jobs ran, {len(refused)} refused; the "
                        f"audit logs of both sides hold every request (suptech audit verify "
                        f"--data-dir {home.path}/<member>/data)")
        # Every job runs but the one the agreements forbid, which must be refused.
        wrong = [d for d in done if (d["status"] == 200) == d["job"].endswith("(refused)")]
        if wrong:
            error("unexpected answers: " + "; ".join(
                f"{d['job']}: {d['status']} {fed_demo.released(d)}" for d in wrong))
            raise typer.Exit(1)
        if not serve:
            return
        for region in home.regions:
            out.print(f"{region}: {home.member(region).dashboard}/ui  token "
                            f"{tokens[region]}")
        out.print("Serving; Ctrl-C stops every process.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    finally:
        processes.stop()


@app.command()
def adopt(home: Home, region: Annotated[str, typer.Argument(help="e.g. CN-SH")]) -> None:
    """Adopt the agreements the coordinator publishes (HOME/agreements.json) as the
    region's node's own: they rule its next job. Audited in the node's log."""
    import shutil

    from suptech.federation.agreements import Agreements
    from suptech.federation.home import COORDINATOR
    from suptech.federation.home import Home as FederationHome
    from suptech.ops import audit
    from suptech.ops.db import connect

    try:
        fed = FederationHome.load(home)
        if region == COORDINATOR:
            raise ValueError("the coordinator publishes the agreements; a region adopts them")
        published = Agreements.load(fed.agreements_of(COORDINATOR))
        before = Agreements.load(fed.agreements_of(region))
    except ValueError as e:
        error(str(e))
        raise typer.Exit(2) from None
    versions = {a.id: a.version for a in published.in_force}
    was = {a.id: a.version for a in before.in_force}
    shutil.copy(fed.agreements_of(COORDINATOR), fed.agreements_of(region))
    ops = connect(fed.member(region).data)
    with ops.begin() as con:
        audit.record(con, "cli", "federation.adopted", "member", region, before=was,
                     after=versions)
    ops.dispose()
    changed = {k: v for k, v in versions.items() if was.get(k) != v}
    out.print(f"{region} adopted {', '.join(f'{k} v{v}' for k, v in sorted(versions.items()))}"
              + (f" (new: {', '.join(sorted(changed))})" if changed else " (no change)"))
