"""Fuzz targets: IPN bus lines (the daemon's watcher over a real unix socket), MikoPBX DB rows
(the real schema, rows of any type and size) and Mantela documents (decoded into stations)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import Budget, fuzz_settings
from tests.fuzz.rawserver import RawServer
from tests.fuzz.strategies import as_json, damaged, deep_json, json_document, json_values

NOTIFY = {"Version": "1.100.0", "State": 6, "PeersChanged": [{"ID": 3, "Online": True}]}
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def bus_lines() -> st.SearchStrategy[bytes]:
    line = st.one_of(
        json_document(NOTIFY),
        deep_json(),
        json_values().map(as_json),
        st.binary(max_size=64),
        st.integers(100_000, 1_500_000).map(lambda n: b'{"NetMap": "' + b"x" * n + b'"}'),
    ).map(lambda b: b.replace(b"\n", b" "))
    return st.lists(line, max_size=6).map(lambda ls: b"\n".join(ls))


def test_bus_lines_never_stop_the_watcher(tmp_path: Path) -> None:
    from sdp_guard.daemon.bus import BusWatcher

    sock = str(tmp_path / "ts.sock")
    with RawServer.unix(sock) as srv, Budget("IPN bus lines (watcher)", seconds=5.0) as b:

        @fuzz_settings()
        @given(hostile=bus_lines(), chunked=st.booleans())
        def case(hostile: bytes, chunked: bool) -> None:
            # Whatever came before, a Notify line after it must still be seen as a cue.
            body = hostile + b'\n{"Version": "1"}\n{"State": 6}\n'
            if chunked:
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
                srv.reply = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body
            else:
                srv.reply = HEAD + b"\r\n" + body
            events: list[str] = []
            closed = threading.Event()

            def on_event(kind: str) -> None:
                events.append(kind)
                if kind == "closed":
                    closed.set()

            watcher = BusWatcher(sock, on_event, connect_timeout=2.0)
            with b.case():
                watcher.start()
                assert closed.wait(4.0), events
                watcher.stop()
            assert events[-2:] == ["cue", "closed"], events
            b.outcome("cue seen after hostile lines")

        case()
        b.done()


def _row_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(),
        st.text(max_size=30),
        st.sampled_from(["100.88.7.19", "100.64.0.1", "\x1b[2J", "a\nb", "x" * 100_000, "0", "1"]),
        st.binary(max_size=20),
    )


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sdp_guard import demo

    return demo.build(str(tmp_path_factory.mktemp("fuzz-db")))


def test_db_rows_through_check(station: Any) -> None:
    from tests.fuzz.clirun import CHECK_CODES, assert_clean, run_cli

    pbx_db = str(station.db)
    argv = ["check", "--config", "/dev/null", "--db", pbx_db, "--registry", station.registry]
    argv += ["--snapshot", station.snapshot]
    conn = sqlite3.connect(pbx_db)
    conn.execute("PRAGMA synchronous=OFF")  # a scratch copy: no fsync per generated case
    tables = ["m_Providers", "m_Sip", "m_SipHosts", "m_LanInterfaces", "m_NetworkFilters"]
    columns = {
        t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')]
        for t in tables
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (t,)).fetchone()
    }
    originals = {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in columns}
    row_edit = st.tuples(st.sampled_from(sorted(columns)), st.integers(0, 5), st.data())

    with Budget("MikoPBX DB rows (check)") as b:

        @fuzz_settings()
        @given(edits=st.lists(row_edit, min_size=1, max_size=4))
        def case(edits: list[Any]) -> None:
            with contextlib.suppress(sqlite3.Error):  # an id of 2**63-1 used up AUTOINCREMENT
                conn.execute("DELETE FROM sqlite_sequence")
            for t, rows in originals.items():  # back to the real rows, then damage some
                conn.execute(f'DELETE FROM "{t}"')
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    conn.executemany(f'INSERT INTO "{t}" VALUES ({marks})', rows)
            for table, idx, data in edits:
                cols = columns[table]
                col = data.draw(st.sampled_from(cols))
                value = data.draw(_row_values())
                rowids = [r[0] for r in conn.execute(f'SELECT rowid FROM "{table}"')]
                try:  # what the schema itself refuses cannot be in a real DB either
                    if rowids and idx < len(rowids):
                        sql = f'UPDATE "{table}" SET "{col}" = ? WHERE rowid = ?'
                        conn.execute(sql, (value, rowids[idx]))
                    else:
                        conn.execute(f'INSERT INTO "{table}" ("{col}") VALUES (?)', (value,))
                except (sqlite3.IntegrityError, sqlite3.OperationalError):
                    continue
            conn.commit()
            with b.case():
                rc, out, err = run_cli([*argv, *(["--json"] if len(edits) % 2 else [])])
            assert_clean(rc, out, err, CHECK_CODES, json_out=len(edits) % 2 == 1)
            b.outcome(f"exit {rc}")

        case()
        b.done()
    conn.close()


def test_mantela_documents_into_stations() -> None:
    from sdp_guard.adapters.mantela_http import Fetched, HttpAnswer, load_mantela
    from tests.mantela.docs import station as mantela_station

    own = mantela_station(
        "Ochanomizu",
        "own-1",
        providers=[
            {"name": "Shibuya", "prefix": "01", "identifier": "peer-1", "mantela": "/p.json"}
        ],
    )
    peer = mantela_station("Shibuya", "peer-1", tailnet={"ipv4": "100.88.201.5", "node": "s"})
    docs = st.one_of(json_document(peer), damaged(st.just(as_json(peer))))

    with Budget("Mantela documents (stations)") as b:

        @fuzz_settings()
        @given(own_doc=json_document(own) | st.just(as_json(own)), peer_doc=docs)
        def case(own_doc: bytes, peer_doc: bytes) -> None:
            def getter(url: str, headers: Any) -> HttpAnswer:
                return HttpAnswer(
                    200, peer_doc if url.endswith("/p.json") else own_doc, final_url=url
                )

            from sdp_guard.errors import RegistryError

            with b.case():
                try:
                    res = load_mantela("https://own.example/mantela.json", getter=getter)
                    b.outcome(f"{len(res.stations)} stations")
                except RegistryError:
                    b.outcome("RegistryError (own file unusable)")
            assert Fetched is not None  # the seam used is the real fetch_document path

        case()
        b.done()
