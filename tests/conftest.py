from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixtures import fixture

if TYPE_CHECKING:
    from sdp_guard.demo import DemoFiles

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_db(tmp_path: Path) -> Path:
    """The real-schema fixture DB with the three sample trunks (WAL mode, like a live PBX).

    It has no m_LanInterfaces table, so its local_net is undecidable.
    """
    from sdp_guard.demo import pbxdb

    db = tmp_path / "mikopbx.db"
    sample = fixture("mikopbx", "sample-stations.sql").read_text()
    pbxdb.create(db, sql=sample, wal=True, without=["m_LanInterfaces"])
    return db


@pytest.fixture
def demo_files(tmp_path: Path) -> DemoFiles:
    from sdp_guard import demo

    return demo.build(str(tmp_path))
