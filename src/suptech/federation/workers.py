"""The worker environments: privacy libraries whose pins conflict with the main
environment's run in environments of their own, made by scripts/setup.sh beside this
installation's (`.venv-linkage`, `.venv-tno`), as workers behind a narrow interface
(Parquet in, Parquet out)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def worker_python(env: str, variable: str) -> Path:
    """The Python of the worker environment `env`: the environment variable `variable`
    if set, else `env` beside this installation's environment."""
    found = Path(os.environ.get(variable) or Path(sys.prefix).parent / env / "bin" / "python")
    if not found.exists():
        raise RuntimeError(f"no worker environment at {found}: run bash scripts/setup.sh "
                           f"(or set {variable})")
    return found


#: A party's process says why it failed on a line of its own that starts so (its last
#: line may be the interpreter's noise as it exits: asyncio's tasks left pending).
FAILED = "party failed: "


class PartyFailed(RuntimeError):
    """A region's party in a joint computation did not finish: why, in a line another
    member may read."""


def run_party(argv: list[str], what: str, cwd: Path, timeout: float = 3600,
              started=None) -> str:
    """Run one party's process (`what` names it in errors); its standard output.
    `started(process)` is told the process, so that it can be stopped if another party
    fails (the others would wait for it)."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd)
    if started is not None:
        started(process)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise PartyFailed(f"{what} did not finish in {timeout:.0f} s (a party gone, or a "
                          "message lost): stopped") from None
    if process.returncode != 0:
        # Said to the other members: the error's last line, not the process's whole log.
        lines = err.strip().splitlines()
        said = [line[len(FAILED):] for line in lines if line.startswith(FAILED)]
        last = (said or lines or out.strip().splitlines() or ["no message"])[-1]
        raise PartyFailed(f"{what} was stopped" if process.returncode < 0
                          else f"{what} failed: {last[:300]}")
    return out
