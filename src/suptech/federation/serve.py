"""The federation's processes: a region's node (its own suptech server, API and
dashboard, over its own data directory, plus its federation listener over mutual TLS)
and the coordinator (only its listener, and an operational database for its audit log
and the released outputs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import uvicorn

from suptech.federation.home import COORDINATOR, Home
from suptech.federation.wire import listener


async def _together(first: uvicorn.Server, then) -> None:
    """Serve `first`, and once it has started the server `then()` makes; when one stops
    (a signal, a failure), stop the other."""
    task = asyncio.create_task(first.serve())
    while not first.started:  # the second needs what the first's start-up made
        if task.done():
            return task.result()
        await asyncio.sleep(0.05)
    second = then()
    other = asyncio.create_task(second.serve())
    done, _ = await asyncio.wait({task, other}, return_when=asyncio.FIRST_COMPLETED)
    first.should_exit = second.should_exit = True
    await asyncio.gather(task, other)


def serve_node(home_path: Path, region: str, database_url: str | None = None) -> None:
    from suptech.federation import api
    from suptech.federation.node import Node, listener_app
    from suptech.server.app import create_app

    home = Home.load(home_path)
    member = home.member(region)
    if member.dashboard is None:
        raise ValueError(f"{region} is not a region's node")
    url = httpx.URL(member.dashboard)
    app = create_app(member.data, database_url=database_url, url=member.dashboard)
    api.install(app)
    dashboard = uvicorn.Server(uvicorn.Config(app, host=url.host, port=url.port,
                                              log_level="warning", timeout_graceful_shutdown=10))

    def federation() -> uvicorn.Server:
        node = app.state.federation = Node(
            home, region, app.state.services.ops, app.state.services.reader)
        return listener(listener_app(node), home, region, node.ops)

    asyncio.run(_together(dashboard, federation))


def serve_coordinator(home_path: Path, database_url: str | None = None) -> None:
    from suptech.federation.coordinator import Coordinator, coordinator_app
    from suptech.ops.db import connect

    home = Home.load(home_path)
    ops = connect(home.member(COORDINATOR).data, database_url)
    server = listener(coordinator_app(Coordinator(home, ops)), home, COORDINATOR, ops)
    server.run()
