from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """The real-schema fixture DB with the three sample trunks (WAL mode, like a live PBX)."""
    from sdp_guard.demo import pbxdb

    db = tmp_path / "mikopbx.db"
    pbxdb.create(db, sql=fixture("mikopbx", "sample-stations.sql").read_text(), wal=True)
    return db


@pytest.fixture
def demo_files(tmp_path: Path):  # type: ignore[no-untyped-def]
    from sdp_guard import demo

    return demo.build(str(tmp_path))
