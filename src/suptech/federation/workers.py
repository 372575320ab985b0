"""The worker environments: privacy libraries whose pins conflict with the main
environment's run in environments of their own, made by scripts/setup.sh beside this
installation's (`.venv-linkage`, `.venv-tno`), as workers behind a narrow interface
(Parquet in, Parquet out)."""

from __future__ import annotations

import os
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
