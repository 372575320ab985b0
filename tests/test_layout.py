"""The code's shape: small modules, no import circles, each package in its lane."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path, known: dict) -> set[str]:
    """Modules of ours that `path` imports when it is loaded (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in known}


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text().splitlines())) > 400}
    assert not long


def test_no_import_circle():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    circles = []

    def visit(name: str, trail: list[str]) -> None:
        for other in graph[name]:
            if other in trail:
                circles.append(trail[trail.index(other):] + [other])
            elif other not in done:
                visit(other, trail + [other])
        done.add(name)

    done: set[str] = set()
    for name in graph:
        if name not in done:
            visit(name, [name])
    assert not circles


def test_ingest_and_simulate_do_not_import_each_other_and_stream_holds_no_detector():
    known = modules()
    for name, path in known.items():
        mine = imports(path, known)
        if name.startswith("suptech.ingest"):
            assert not any(m.startswith("suptech.simulate") for m in mine), name
        if name.startswith("suptech.simulate"):
            assert not any(m.startswith("suptech.ingest") for m in mine), name
    # The stream is transport: the typologies' rules live in suptech.detect alone.
    for name, path in known.items():
        if name.startswith("suptech.stream"):
            code = path.read_text()
            assert "def episodes" not in code and "def hits" not in code, name
