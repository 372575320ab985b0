from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from suptech.ingest.pipeline import ingest_files  # noqa: E402
from suptech.store.database import open_store  # noqa: E402


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "db")
    yield s
    s.close()


@pytest.fixture
def ingest(store):
    """Ingest files into the test store and return their results."""
    def run(*paths: Path, type_name: str | None = None):
        return ingest_files(store, list(paths), type_name)
    return run


@pytest.fixture
def cli(tmp_path):
    """The real `suptech` command on a data directory of the test's own: never a
    traceback, whatever it is given."""
    from typer.testing import CliRunner

    from suptech.cli import app

    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "db")])
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.exception
        assert "Traceback" not in result.output
        return result
    return run
