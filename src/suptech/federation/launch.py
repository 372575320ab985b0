"""A federation on one machine: the coordinator and every region's node, each a process
of its own with its own data directory and ports (`suptech federation node|coordinator`),
started, waited for until each answers over mutual TLS, and stopped."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from suptech.federation.home import COORDINATOR, Home
from suptech.ops import access
from suptech.ops.db import connect

SUPERVISOR = "supervisor-{region}"


def users(home: Home) -> dict[str, str]:
    """A supervisor for each region's node, its token written to <region>/supervisor.token
    (0600) for the demo's and tests' requests; the tokens by region."""
    tokens = {}
    for region in home.regions:
        folder = home.member(region).folder
        path = folder / "supervisor.token"
        if path.exists():
            tokens[region] = path.read_text().strip()
            continue
        ops = connect(folder / "data")
        with ops.begin() as con:
            user = SUPERVISOR.format(region=region.lower())
            tokens[region] = access.add_user(con, "federation", user, "supervisor", region)
        ops.dispose()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(tokens[region])
    return tokens


class Processes:
    """The federation's processes; a context manager that stops them all on leaving."""

    def __init__(self, home: Home, log_dir: Path | None = None):
        self.home = home
        self.log_dir = log_dir or home.path / "logs"
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, timeout: float = 120) -> Processes:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.home.members:
            argv = [sys.executable, "-m", "suptech.cli", "federation"]
            argv += ["coordinator", str(self.home.path)] if name == COORDINATOR else \
                ["node", str(self.home.path), name]
            log = open(self.log_dir / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
            log.close()
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        context = ssl.create_default_context(cafile=self.home.ca)
        context.load_cert_chain(*self.home.member(COORDINATOR).cert)
        deadline = time.monotonic() + timeout
        waiting = set(self.home.members)
        with httpx.Client(verify=context, timeout=2) as client:
            while waiting:
                for name in sorted(waiting):
                    if self.procs[name].poll() is not None:
                        self.stop()
                        tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-800:]
                        raise RuntimeError(f"{name} stopped while starting:\n{tail}")
                    try:  # any answer over TLS will do: the listener is up
                        client.get(self.home.member(name).url + "/status")
                        waiting.discard(name)
                    except httpx.HTTPError:
                        pass
                if waiting and time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{', '.join(sorted(waiting))} did not start in {timeout:.0f} s"
                                       f" (logs in {self.log_dir})")
                if waiting:
                    time.sleep(0.2)

    def stop(self) -> None:
        """The nodes first, then the coordinator: a server waits for the connections
        open to it, and the nodes' links hold the coordinator's."""
        nodes = [p for name, p in self.procs.items() if name != COORDINATOR]
        coordinator = [p for name, p in self.procs.items() if name == COORDINATOR]
        for group in (nodes, coordinator):
            for p in group:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in group:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *_) -> None:
        self.stop()
