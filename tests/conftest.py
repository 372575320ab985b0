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


#: The longest modules by `pytest --durations`, longest first (the Spark one is the
#: longest of all). xdist hands modules out in the order collected when it is told not
#: to reorder them by their number of tests (`--no-loadscope-reorder`, scripts/test.sh):
#: started first, the long ones leave the short ones to even out the workers' ends,
#: where a long module handed out last would run on alone while the other worker idles.
LONGEST = ["test_stream_detect", "test_detect", "test_dashboard", "test_stream_dashboard",
           "test_server_crash", "test_window", "test_hostile_files", "test_one_writer",
           "test_marking_close", "test_validation_codes", "test_api_schema",
           "test_iso20022", "test_detect_payments"]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        if item.get_closest_marker("spark") is not None:
            return -1
        name = item.module.__name__.rsplit(".", 1)[-1]
        return LONGEST.index(name) if name in LONGEST else len(LONGEST)
    items.sort(key=rank)  # stable: each module's tests keep their order
