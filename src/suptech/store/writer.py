"""One writer per data directory, whatever starts first.

DuckDB lets one process at a time open a database file. So a data directory has one
writer: the process that serves it (`suptech serve`), which says so in
`<data dir>/writer.json` (its address, its process id and a secret, readable by the
directory's owner only). A command of the CLI on a served directory runs inside the
writer, with the same arguments, output and exit code (`suptech.cli_remote`); on a
directory nobody serves it opens the store itself, and a second command waits for the
first rather than fail on the lock (`acquire`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from suptech.store.database import Store, open_store

WRITER_FILE = "writer.json"
#: Seconds a command waits for another process to let go of the store
#: (SUPTECH_LOCK_WAIT overrides): a scan of a large store takes minutes.
LOCK_WAIT_S = 600.0
_POLL_S = 0.2

#: The stores this process serves, by resolved data directory (see `serving`).
_SERVED: dict[Path, Store] = {}


@dataclass(frozen=True)
class Writer:
    url: str | None  # None: a writer the CLI cannot reach (`suptech stream`)
    pid: int
    secret: str
    name: str = "suptech serve"


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / WRITER_FILE


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _published(data_dir: Path) -> Writer | None:
    try:
        return Writer(**json.loads(_path(data_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def find(data_dir: Path) -> Writer | None:
    """The live process, other than this one, that serves `data_dir`; None if none."""
    found = _published(data_dir)
    if found is None or found.pid == os.getpid() or not alive(found.pid):
        return None  # a killed server's file: its lock went with it
    return found


@contextmanager
def announced(data_dir: Path, me: Writer) -> Iterator[Writer]:
    """`me` is the writer of `data_dir` until the block ends, for other processes."""
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the secret
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(me), f)
    os.replace(tmp, path)
    try:
        yield me
    finally:
        if _published(data_dir) == me:
            path.unlink(missing_ok=True)


@contextmanager
def serving(data_dir: Path, store: Store, url: str | None) -> Iterator[Writer | None]:
    """This process is the writer of `data_dir`: commands it runs for others use `store`
    (`served`), and, where it has an address, other processes find it there."""
    key = Path(data_dir).resolve()
    _SERVED[key] = store
    try:
        if url is None:
            yield None
        else:
            with announced(data_dir, Writer(url, os.getpid(), secrets.token_urlsafe(32))) as me:
                yield me
    finally:
        _SERVED.pop(key, None)


def served(data_dir: Path) -> Store | None:
    """The store this process serves for `data_dir`, over a connection of its own where
    the engine has them (closing it leaves the server's open); None if not served here."""
    store = _SERVED.get(Path(data_dir).resolve())
    if store is None:
        return None
    return store.cursor() if store.engine.concurrent else store


def is_locked(error: BaseException) -> bool:
    """Whether opening failed because another process holds the database file."""
    return "lock" in str(error).lower() and "conflicting" in str(error).lower()


def _lock_wait() -> float:
    try:
        return float(os.environ.get("SUPTECH_LOCK_WAIT", LOCK_WAIT_S))
    except ValueError:
        return LOCK_WAIT_S


def acquire(data_dir: Path, engine, delegate: bool = True,
            say: Callable[[str], None] | None = None) -> Store | Writer:
    """The store of `data_dir`, opened here, or, with `delegate`, the writer that serves
    it. While another process holds the store (a command on a directory nobody serves,
    or a server starting) this waits, saying once what for, up to SUPTECH_LOCK_WAIT
    seconds; then the lock's error is raised."""
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    deadline = time.monotonic() + _lock_wait()
    told = False
    while True:
        if delegate and (writer := find(data_dir)) is not None:
            return writer
        try:
            return open_store(data_dir, engine)
        except Exception as e:  # noqa: BLE001 (DuckDB's IOException; anything else raised)
            if not is_locked(e) or time.monotonic() > deadline:
                raise
            if not told:
                pid = re.search(r"\(PID (\d+)\)", str(e))
                say(f"waiting for {'PID ' + pid.group(1) if pid else 'another process'} to "
                    f"let go of the report database in {data_dir} (at most "
                    f"SUPTECH_LOCK_WAIT={_lock_wait():g} s)")
                told = True
        time.sleep(_POLL_S)
