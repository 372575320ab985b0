"""A CLI command run inside the writer of its data directory (`suptech.store.writer`).

The client sends the command as the command line it was parsed from, every path made
absolute (both processes are on one machine, not always in one directory); the writer
runs it through the same Typer app on a thread of its own, its output captured, and
answers with that output and the exit code. So a command prints, writes and exits the
same whether a server runs or not.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator

from suptech.store.writer import Writer, alive

#: The header that carries the writer's secret (read from writer.json, 0600).
SECRET_HEADER = "X-Suptech-Writer"
ENDPOINT = "/internal/cli"
#: How long a client waits for a server that holds the store but does not answer yet
#: (it opens the store before it listens).
STARTING_S = 30.0


def _context():
    try:  # Typer from 0.2x carries its own copy of Click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover (older Typer: Click itself)
        from click import get_current_context
    return get_current_context(silent=True)


def _text(value) -> str:
    if isinstance(value, Path):
        return str(value.absolute())
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, type):  # `--engine`, resolved into its class
        return value.name
    return str(value)


def command_line(ctx) -> list[str]:
    """The arguments that parse into `ctx`'s command and values, paths absolute."""
    path, c = [], ctx
    while c.parent is not None:
        path.insert(0, c.info_name)
        c = c.parent
    options, arguments = [], []
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        many = value if isinstance(value, (list, tuple)) else [value]
        if value is None:
            continue
        if p.param_type_name == "argument":
            arguments += [_text(v) for v in many]
        elif getattr(p, "is_flag", False):
            flag = p.opts[0] if value else (p.secondary_opts or [None])[0]
            options += [flag] if flag else []
        else:
            for v in many:
                options += [p.opts[0], _text(v)]
    return path + options + ["--"] + arguments


def forward(writer: Writer) -> int | None:
    """Run the current command in `writer`, print what it printed, return its exit code;
    None where there is no current command or the writer does not answer (gone)."""
    ctx = _context()
    if ctx is None:
        return None
    from suptech.cli_common import console

    body = json.dumps({"argv": command_line(ctx), "columns": console().width}).encode()
    request = urllib.request.Request(writer.url + ENDPOINT, data=body, headers={
        "Content-Type": "application/json", SECRET_HEADER: writer.secret})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback
    print(f"{writer.name} (PID {writer.pid}) holds the report database: the command "
          f"runs there", file=sys.stderr, flush=True)
    deadline = time.monotonic() + STARTING_S
    while True:
        try:
            with opener.open(request) as response:
                answer = json.load(response)
            break
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            print(f"error: the server at {writer.url} refused the command: {detail}",
                  file=sys.stderr, flush=True)
            return 2
        except (urllib.error.URLError, ConnectionError):
            # Not listening yet (it opens the store first), or killed: a killed server's
            # command is run here, as if it had never been sent (ingest is idempotent).
            if not alive(writer.pid) or time.monotonic() > deadline:
                print("note: the server did not answer; the command runs here",
                      file=sys.stderr, flush=True)
                return None
            time.sleep(0.2)
    sys.stdout.write(answer["stdout"])
    sys.stdout.flush()
    sys.stderr.write(answer["stderr"])
    sys.stderr.flush()
    return int(answer["code"])


class _PerThread(io.TextIOBase):
    """sys.stdout or sys.stderr, written to a buffer of its own by a thread that runs a
    command for a client, and to the real stream by every other thread."""

    def __init__(self, real):
        self.real = real
        self.local = threading.local()

    def _to(self):
        return getattr(self.local, "buffer", None) or self.real

    def write(self, text: str) -> int:
        return self._to().write(text)

    def flush(self) -> None:
        self._to().flush()

    def isatty(self) -> bool:
        return self._to() is self.real and self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:
        return "utf-8" if self._to() is not self.real else self.real.encoding

    @property
    def errors(self):
        return "strict" if self._to() is not self.real else self.real.errors


_INSTALL = threading.Lock()


@contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    with _INSTALL:
        for name in ("stdout", "stderr"):
            if not isinstance(getattr(sys, name), _PerThread):
                setattr(sys, name, _PerThread(getattr(sys, name)))
    out, err = io.StringIO(), io.StringIO()
    sys.stdout.local.buffer, sys.stderr.local.buffer = out, err
    try:
        yield out, err
    finally:
        sys.stdout.local.buffer = sys.stderr.local.buffer = None


def execute(argv: list[str], columns: int | None = None) -> dict:
    """Run `suptech ARGV` here, as the writer, for a client whose lines are `columns`
    wide: its output and exit code."""
    import typer

    from suptech.cli import app
    from suptech.cli_common import CLIENT

    CLIENT.columns = columns
    with _captured() as (out, err):
        try:
            result = app(args=argv, prog_name="suptech", standalone_mode=False)
            code = result if isinstance(result, int) else 0
        except typer.Exit as e:
            code = e.exit_code
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # noqa: BLE001 (a usage error is shown as Click shows it)
            show = getattr(e, "show", None)
            if show is not None:
                show()
                code = getattr(e, "exit_code", 2)
            else:
                traceback.print_exc()
                code = 1
        finally:
            CLIENT.columns = None
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "code": code}


def allowed(argv: list[str], served: Path) -> str | None:
    """Why the writer of `served` refuses to run `argv`; None if it may. It runs the
    commands that read or write the report database, on its own directory."""
    words = [a for a in argv[:2] if not a.startswith("-")]
    if not words or not {words[0], " ".join(words)} & STORE_COMMANDS:
        return f"{' '.join(words) or '(nothing)'} is not a command on the report database"
    options = argv[:argv.index("--")] if "--" in argv else argv
    if "--data-dir" in options[:-1]:
        given = Path(options[options.index("--data-dir") + 1]).resolve()
        if given != served.resolve():
            return f"this server serves {served}, not {given}"
    return None


#: The commands that open the report database (through `cli_common.open_or_exit`).
STORE_COMMANDS = frozenset({"ingest", "query", "scan", "evaluate", "alerts list",
                            "alerts export", "alerts show", "model train"})
