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
