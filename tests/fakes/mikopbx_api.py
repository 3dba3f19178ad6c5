"""A MikoPBX REST API v3 test server: the SIP-provider and firewall (network filter) endpoints
on top of the real SQLite schema, with MikoPBX's envelope, field names and traps.

Behaviour read from github.com/mikopbx/Core @ e26e6b973bbef6a0d4d1064fe495e62c70f475df:

- ``src/PBXCoreREST/Controllers/SipProviders/RestController.php``: resource
  ``/pbxcore/api/v3/sip-providers``, GET list and ``/{id}``, PUT, PATCH, DELETE; ``{id}`` is the
  uniqid; security LOCALHOST or BEARER_TOKEN; the controller forces ``type=SIP`` into every payload.
- ``src/PBXCoreREST/Lib/PBXApiResult.php``: envelope ``result, data, messages, function, processor,
  pid`` (+ ``httpCode`` when set, ``reload`` when set).
- ``src/PBXCoreREST/Http/Response.php``: ``meta: {timestamp, hash}`` and an ``E-Tag`` header on
  every response; error payloads have ``messages: {"error": [...]}``.
- ``src/PBXCoreREST/Controllers/BaseController.php``: ``result: false`` without ``httpCode`` is
  sent as HTTP 422.
- ``src/PBXCoreREST/Lib/Providers/DataStructure.php``: the detail and list fields;
  ``manualattributes`` decoded; ``secret`` masked as ``XXXXXXXX`` only for outbound registration;
  ``additionalHosts: [{"id": "1", "address": ...}]``.
- ``src/PBXCoreREST/Lib/Providers/SaveRecordAction.php``: PATCH/PUT assign only fields that are
  set (PHP ``isset``: JSON null counts as absent) **except ``note``, which is assigned from the
  payload with an empty default (trap 1: a PATCH without ``note`` erases it)**; ``additionalHosts``
  **deletes every m_SipHosts row and inserts the given ones (trap 2)**; a masked secret is kept
  only when the same payload says ``registration_type=outbound``; ``networkfilterid``
  ``none``/``''`` becomes null and is then not assigned; every save forces ``type='friend'``,
  ``nat='auto_force'``, ``noregister='0'``, ``extension=''``; one DB transaction per save.
- ``src/PBXCoreREST/Lib/Common/TextFieldProcessor.php``: ``note``, ``description`` and
  ``manualattributes`` are trimmed and stripped of "dangerous" patterns (an ``on…=`` match deletes
  up to the next ``>``, i.e. usually to the end of the text) before saving; remaining dangerous
  content is refused (``Dangerous content detected in fields: ...``).
- ``src/Common/Models/Sip.php``: ``manualattributes`` is stored base64-encoded.
- ``src/PBXCoreREST/Controllers/Firewall/RestController.php`` and
  ``src/PBXCoreREST/Lib/Firewall/SaveRecordAction.php``: network filters are written through
  ``/pbxcore/api/v3/firewall`` (``/network-filters`` is read-only); POST takes ``network`` +
  ``subnet``; PATCH may send just ``local_network``.

Simplifications (not MikoPBX behaviour): no pjsip.conf/reload, no firewall rule rows, string
sanitisation is trim only, the list includes disabled providers only with ``includeDisabled=true``
as in ``GetListAction``; an unknown id on GET answers 422 like the real controller path.

Use::

    from fake_mikopbx_api import start_server      # or load this file by path
    url, stop = start_server("/tmp/mikopbx.db")    # 127.0.0.1, a free port, daemon threads
    ...
    stop()

    with running_server(db) as srv:                # srv.url, srv.faults, srv.requests
        srv.faults.status = 500

or as a process: ``python -m tests.fakes.mikopbx_api --db F --port P [--token T]`` (from the
repository root); it prints
``listening on http://127.0.0.1:P`` and serves until SIGTERM. Faults can then be set with
``POST /__fake__/faults`` and a JSON body such as ``{"status": 503}`` or ``{"delay": 0.2}``.

``make_db(path)`` builds a DB from the fixtures (schema.sql + sample-stations.sql).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fixtures import fixture

PROVIDERS = "/pbxcore/api/v3/sip-providers"
FIREWALL = "/pbxcore/api/v3/firewall"
PROC = "MikoPBX\\PBXCoreREST\\Lib\\"


def make_db(path: str | os.PathLike[str], *, sample: bool = True, extra_sql: str = "") -> str:
    """A MikoPBX DB with the fixture schema (and the three sample trunks)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(fixture("mikopbx", "schema.sql").read_text())
        if sample:
            conn.executescript(fixture("mikopbx", "sample-stations.sql").read_text())
        if extra_sql:
            conn.executescript(extra_sql)
        conn.commit()
    finally:
        conn.close()
    return str(path)


@dataclass
class Faults:
    """Injectable faults. ``down``: close the connection without an answer; ``status``: answer
    every request with that HTTP status and an error envelope; ``delay``: seconds before each
    answer; ``fail_writes``: the numbers (1-based) of the writes that get a 500 without touching
    the DB, e.g. ``[2]`` fails the second PATCH/PUT/POST/DELETE."""

    down: bool = False
    status: int | None = None
    delay: float = 0.0
    fail_writes: list[int] = field(default_factory=list)
    writes: int = 0

    def update(self, doc: dict[str, Any]) -> None:
        for k in ("down", "status", "delay", "fail_writes"):
            if k in doc:
                setattr(self, k, doc[k])


@dataclass
class FakeMikoPBX:
    db_path: str
    token: str | None = None
    trust_localhost: bool = True
    faults: Faults = field(default_factory=Faults)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn


# ---------------------------------------------------------------- envelope and data structures


def envelope(
    processor: str,
    function: str,
    *,
    ok: bool,
    data: Any = None,
    errors: list[str] | None = None,
    http_code: int | None = None,
    reload: str = "",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "result": ok,
        "data": data if data is not None else [],
        "messages": {"error": errors} if errors else [],
        "function": function,
        "processor": processor,
        "pid": os.getpid(),
    }
    if http_code is not None:
        out["httpCode"] = http_code
    if reload:
        out["reload"] = reload
    return out


def _decode_ma(raw: str | None) -> str:
    # Sip::getManualAttributes is a plain (lenient) base64_decode.
    if not raw:
        return ""
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8", errors="replace")
    except ValueError:
        return ""


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _sip_row(conn: sqlite3.Connection, uniqid: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM m_Sip WHERE uniqid = ? ORDER BY id LIMIT 1", (uniqid,)
    ).fetchone()
    return row


def _filter_represent(conn: sqlite3.Connection, fid: Any) -> str:
    if fid in (None, "", "none"):
        return "No network filter"
    r = conn.execute(
        "SELECT permit, description FROM m_NetworkFilters WHERE id = ?", (fid,)
    ).fetchone()
    return f"{r['permit']} - {r['description']}" if r else ""


def provider_detail(conn: sqlite3.Connection, prov: sqlite3.Row) -> dict[str, Any]:
    """DataStructure::createFromModel for a SIP provider."""
    data: dict[str, Any] = {"id": prov["uniqid"], "type": prov["type"], "note": _s(prov["note"])}
    sip = _sip_row(conn, _s(prov["sipuid"]) or _s(prov["uniqid"]))
    if sip is not None:
        keys = sip.keys()

        def col(name: str, default: str = "") -> str:
            return _s(sip[name]) if name in keys and sip[name] is not None else default

        secret = col("secret")
        if secret and col("registration_type") == "outbound":
            secret = "XXXXXXXX"
        fid = sip["networkfilterid"] if "networkfilterid" in keys else None
        data.update(
            {
                "disabled": col("disabled") == "1",
                "username": col("username"),
                "secret": secret,
                "host": col("host"),
                "port": int(col("port", "5060") or 5060),
                "transport": col("transport", "udp,tcp"),
                "qualify": col("qualify") == "1",
                "qualifyfreq": int(col("qualifyfreq", "60") or 60),
                "registration_type": col("registration_type", "none"),
                "description": col("description"),
                "networkfilterid": _s(fid) if fid not in (None, "") else "none",
                "networkfilter_represent": _filter_represent(conn, fid),
                "manualattributes": _decode_ma(col("manualattributes")),
                "dtmfmode": col("dtmfmode", "auto"),
                "fromuser": col("fromuser"),
                "fromdomain": col("fromdomain"),
                "outbound_proxy": col("outbound_proxy"),
                "disablefromuser": col("disablefromuser") == "1",
            }
        )
        for k in (
            "cid_source",
            "cid_custom_header",
            "cid_parser_start",
            "cid_parser_end",
            "cid_parser_regex",
            "did_source",
            "did_custom_header",
            "did_parser_start",
            "did_parser_end",
            "did_parser_regex",
        ):
            data[k] = col(k, "default" if k.endswith("_source") else "")
        data["cid_did_debug"] = col("cid_did_debug") == "1"
        data["additionalHosts"] = [
            {"id": str(r["id"]), "address": _s(r["address"])}
            for r in conn.execute(
                "SELECT id, address FROM m_SipHosts WHERE provider_id = ? ORDER BY id ASC",
                (sip["uniqid"],),
            )
        ]
    return data


def provider_list_item(conn: sqlite3.Connection, prov: sqlite3.Row) -> dict[str, Any]:
    """DataStructure::createForList."""
    d = provider_detail(conn, prov)
    item = {k: d.get(k) for k in ("id", "type", "note", "disabled", "username", "host")}
    item["registration_type"] = d.get("registration_type", "none")
    item["transport"] = d.get("transport", "udp,tcp")
    item["port"] = d.get("port", 5060)
    item["represent"] = d.get("description", "")
    item["statusClass"] = "grey" if d.get("disabled") else ""
    return item


def filter_item(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "permit": _s(r["permit"]),
        "deny": _s(r["deny"]),
        "description": _s(r["description"]),
        "newer_block_ip": _s(r["newer_block_ip"]) == "1",
        "local_network": _s(r["local_network"]) == "1",
    }


# ---------------------------------------------------------------- SaveRecordAction


class SaveError(Exception):
    def __init__(self, errors: list[str], code: int | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.code = code


TEXT_FIELDS = ("note", "description", "manualattributes")
REQUEST_FIELDS = frozenset(
    [
        "type",
        "note",
        "description",
        "disabled",
        "username",
        "secret",
        "host",
        "port",
        "registration_type",
        "manualattributes",
        "networkfilterid",
        "transport",
        "qualify",
        "qualifyfreq",
        "dtmfmode",
        "fromuser",
        "fromdomain",
        "outbound_proxy",
        "disablefromuser",
        "cid_source",
        "cid_custom_header",
        "cid_parser_start",
        "cid_parser_end",
        "cid_parser_regex",
        "did_source",
        "did_custom_header",
        "did_parser_start",
        "did_parser_end",
        "did_parser_regex",
        "cid_did_debug",
        "additionalHosts",
    ]
)
_DANGEROUS_TAGS = ("script", "iframe", "object", "embed", "applet", "meta", "link", "style")


def sanitize_for_storage(text: str) -> str:
    """TextFieldProcessor::sanitizeForStorage."""
    text = text.strip().replace("\0", "")
    for tag in _DANGEROUS_TAGS:
        text = re.sub(rf"<{tag}\b[^<]*(?:(?!</{tag}>)<[^<]*)*</{tag}>", "", text, flags=re.I | re.M)
        text = re.sub(rf"<{tag}\b[^>]*/>", "", text, flags=re.I | re.M)
    text = re.sub(r"javascript:[^\"']*[\"']?", "", text, flags=re.I)
    text = re.sub(r"vbscript:[^\"']*[\"']?", "", text, flags=re.I)
    text = re.sub(r"data:text/html[^\"']*[\"']?", "", text, flags=re.I)
    text = re.sub(r"\s*on\w+\s*=\s*[^>]*", "", text, flags=re.I)
    text = re.sub(r"</?form[^>]*>", "", text, flags=re.I)
    return text


def dangerous(text: str) -> bool:
    """TextFieldProcessor::containsDangerousContent (the checks that survive sanitising)."""
    pats = (
        r"<\?php|<\?=",
        r"<!--#\w+",
        r"(\bunion\b.*\bselect\b|\bdelete\b.*\bfrom\b|\binsert\b.*\binto\b|\bupdate\b.*\bset\b)",
    )
    return any(re.search(p, text, flags=re.I) for p in pats)


def _bool01(v: Any) -> str:
    return "1" if v and v not in ("0", "false") else "0"


def save_provider(
    conn: sqlite3.Connection, uniqid: str, payload: dict[str, Any], method: str
) -> None:
    data = {k: v for k, v in payload.items() if k in REQUEST_FIELDS}
    data["type"] = "SIP"  # RestController::sendRequestToBackendWorker
    bad = []
    for k in TEXT_FIELDS:
        if isinstance(data.get(k), str):
            data[k] = sanitize_for_storage(data[k])
            if dangerous(data[k]):
                bad.append(k)
    if bad:
        raise SaveError([f"Dangerous content detected in fields: {', '.join(bad)}"])
    for k, v in list(data.items()):
        if isinstance(v, str) and k not in TEXT_FIELDS:
            data[k] = v.strip()
    if data.get("networkfilterid") in ("none", ""):
        data["networkfilterid"] = None
    prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
    if prov is None:
        raise SaveError(["Provider not found"], 404)
    if method == "PUT":
        errs = []
        if not data.get("description"):
            errs.append("Provider description is required")
        if not data.get("registration_type"):
            errs.append("Registration type is required")
        if errs:
            raise SaveError(errs)
    schema = []
    if data.get("registration_type") not in (None, "none", "outbound", "inbound"):
        schema.append("registration_type: must be one of none, outbound, inbound")
    if data.get("transport") not in (None, "udp,tcp", "udp", "tcp", "tls"):
        schema.append("transport: must be one of udp,tcp, udp, tcp, tls")
    if data.get("port") is not None and not 1 <= int(data["port"]) <= 65535:
        schema.append("port: must be between 1 and 65535")
    if isinstance(data.get("host"), str) and len(data["host"]) > 255:
        schema.append("host: too long")
    if "additionalHosts" in data and not isinstance(data["additionalHosts"], list):
        schema.append("additionalHosts: must be an array")
    if schema:
        raise SaveError(schema, 422)
    reg = data.get("registration_type", "")
    if reg in ("outbound", "none") and not _s(data.get("host")).strip():
        raise SaveError(["Host is not specified"], 422)

    sip = _sip_row(conn, _s(prov["sipuid"]) or uniqid)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "UPDATE m_Providers SET note = ? WHERE id = ?", (data.get("note") or "", prov["id"])
        )
        sets: dict[str, Any] = {}
        for b in ("disabled", "qualify", "disablefromuser", "cid_did_debug"):
            if data.get(b) is not None:
                data[b] = _bool01(data[b])
        for k in [
            "disabled",
            "username",
            "host",
            "registration_type",
            "description",
            "networkfilterid",
            "dtmfmode",
            "fromuser",
            "fromdomain",
            "outbound_proxy",
            "disablefromuser",
            "qualify",
            "cid_source",
            "cid_custom_header",
            "cid_parser_start",
            "cid_parser_end",
            "cid_parser_regex",
            "did_source",
            "did_custom_header",
            "did_parser_start",
            "did_parser_end",
            "did_parser_regex",
            "cid_did_debug",
        ]:
            if data.get(k) is not None:
                sets[k] = data[k]
        if data.get("secret") is not None and not (
            data.get("registration_type") == "outbound" and data["secret"] == "XXXXXXXX"
        ):
            sets["secret"] = data["secret"]
        if data.get("port") is not None:
            sets["port"] = str(data["port"])
        if data.get("qualifyfreq") is not None:
            sets["qualifyfreq"] = str(data["qualifyfreq"])
        if data.get("transport") is not None:
            sets["transport"] = str(data["transport"]).lower()
        if data.get("manualattributes") is not None:
            sets["manualattributes"] = base64.b64encode(
                str(data["manualattributes"]).encode("utf-8")
            ).decode("ascii")
        sets.update(type="friend", nat="auto_force", noregister="0", extension="")
        have = {str(r[1]) for r in conn.execute('PRAGMA table_info("m_Sip")')}
        sets = {k: v for k, v in sets.items() if k in have}
        if sip is not None:
            assign = ", ".join(f"`{k}` = ?" for k in sets)
            conn.execute(f"UPDATE m_Sip SET {assign} WHERE id = ?", (*sets.values(), sip["id"]))
        conn.execute("UPDATE m_Providers SET sipuid = ? WHERE id = ?", (uniqid, prov["id"]))
        if data.get("additionalHosts") is not None:
            conn.execute("DELETE FROM m_SipHosts WHERE provider_id = ?", (uniqid,))
            for h in data["additionalHosts"]:
                addr = h.get("address") if isinstance(h, dict) else None
                if addr and addr != "0":
                    conn.execute(
                        "INSERT INTO m_SipHosts (provider_id, address) VALUES (?, ?)",
                        (uniqid, addr),
                    )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, doc: dict[str, Any]) -> None:
        ts = datetime.now(UTC).isoformat()
        content = json.dumps(doc, ensure_ascii=False)
        doc = {
            **doc,
            "meta": {"timestamp": ts, "hash": hashlib.sha1((ts + content).encode()).hexdigest()},
        }
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("E-Tag", hashlib.sha1(content.encode()).hexdigest())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        self._send(code, envelope("", "", ok=False, errors=[message]))

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path == "/__fake__/faults" and method == "POST":
            fake.faults.update(json.loads(raw or b"{}"))
            self._send(200, envelope("fake", "faults", ok=True, data={}))
            return
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            self._error(400, "Invalid JSON in request body")
            return
        fake.requests.append((method, parts.path, body))
        f = fake.faults
        if f.delay:
            time.sleep(f.delay)
        if f.down:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if f.status is not None:
            self._error(int(f.status), f"fault injected: HTTP {f.status}")
            return
        if not self._authorized():
            self._error(401, "Unauthorized: a valid Bearer token is required")
            return
        if method in ("PUT", "PATCH", "POST", "DELETE"):
            f.writes += 1
            if f.writes in f.fail_writes:
                self._error(500, "Internal Server Error (fault injected)")
                return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with fake.lock:
            conn = fake.connect()
            try:
                code, doc = route(conn, method, parts.path, body, query)
            finally:
                conn.close()
        self._send(code, doc)

    def _authorized(self) -> bool:
        fake = self.server.fake
        host = self.client_address[0]
        if fake.trust_localhost and host in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return True
        auth = self.headers.get("Authorization", "")
        return bool(fake.token) and auth == f"Bearer {fake.token}"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def route(
    conn: sqlite3.Connection, method: str, path: str, body: Any, query: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict):
        body = {}
    if path == PROVIDERS and method == "GET":
        include_disabled = query.get("includeDisabled") == "true"
        items = []
        for prov in conn.execute("SELECT * FROM m_Providers ORDER BY type ASC, note ASC"):
            item = provider_list_item(conn, prov)
            if item.get("disabled") and not include_disabled:
                continue
            items.append(item)
        return 200, envelope(
            PROC + "Providers\\GetListAction::main", "getList", ok=True, data=items
        )
    if path.startswith(PROVIDERS + "/"):
        uniqid = path[len(PROVIDERS) + 1 :]
        prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
        if method == "GET":
            p = PROC + "Providers\\GetRecordAction::main"
            if prov is None:
                return 422, envelope(p, "getRecord", ok=False, errors=["Provider not found"])
            return 200, envelope(p, "getRecord", ok=True, data=provider_detail(conn, prov))
        if method in ("PUT", "PATCH"):
            p = PROC + "Providers\\SaveRecordAction::main"
            fn = "update" if method == "PUT" else "patch"
            try:
                save_provider(conn, uniqid, body, method)
            except SaveError as e:
                return e.code or 422, envelope(p, fn, ok=False, errors=e.errors, http_code=e.code)
            prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
            return 200, envelope(p, fn, ok=True, data=provider_detail(conn, prov), http_code=200)
        if method == "DELETE":
            p = PROC + "Providers\\DeleteRecordAction::main"
            if prov is None:
                return 404, envelope(
                    p, "delete", ok=False, errors=["Provider not found"], http_code=404
                )
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM m_SipHosts WHERE provider_id = ?", (uniqid,))
            conn.execute("DELETE FROM m_Sip WHERE uniqid = ?", (uniqid,))
            conn.execute("DELETE FROM m_Providers WHERE uniqid = ?", (uniqid,))
            conn.execute("COMMIT")
            return 200, envelope(p, "delete", ok=True, data={"id": uniqid}, http_code=200)
    if path == FIREWALL and method == "GET":
        items = [filter_item(r) for r in conn.execute("SELECT * FROM m_NetworkFilters ORDER BY id")]
        return 200, envelope(PROC + "Firewall\\GetListAction::main", "getList", ok=True, data=items)
    if path == FIREWALL and method == "POST":
        return _firewall_save(conn, None, body)
    if path.startswith(FIREWALL + "/"):
        fid = path[len(FIREWALL) + 1 :]
        if method in ("PATCH", "PUT"):
            return _firewall_save(conn, fid, body)
        if method == "DELETE":
            conn.execute("DELETE FROM m_NetworkFilters WHERE id = ?", (fid,))
            return 200, envelope(
                PROC + "Firewall\\DeleteRecordAction::main",
                "delete",
                ok=True,
                data={"id": fid},
                http_code=200,
            )
        if method == "GET":
            r = conn.execute("SELECT * FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone()
            if r is None:
                return 422, envelope("", "getRecord", ok=False, errors=["Firewall rule not found"])
            return 200, envelope("", "getRecord", ok=True, data=filter_item(r))
    return 404, envelope("", "", ok=False, errors=[f"Not found: {method} {path}"])


def _firewall_save(
    conn: sqlite3.Connection, fid: str | None, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    p = PROC + "Firewall\\SaveRecordAction::main"
    row = (
        conn.execute("SELECT * FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone()
        if fid
        else None
    )
    if fid and row is None:
        return 404, envelope(
            p, "patch", ok=False, errors=["Firewall rule not found"], http_code=404
        )
    sets: dict[str, Any] = {}
    if "network" in body and "subnet" in body:
        sets["permit"] = f"{body['network']}/{body['subnet']}"
    elif row is None:
        return 422, envelope(
            p, "create", ok=False, errors=["Network and subnet fields are required"]
        )
    for k in ("deny", "description"):
        if body.get(k) is not None:
            sets[k] = str(body[k]).strip()
    for k in ("newer_block_ip", "local_network"):
        if body.get(k) is not None:
            sets[k] = _bool01(body[k])
    conn.execute("BEGIN IMMEDIATE")
    if row is None:
        cols = ", ".join(sets)
        cur = conn.execute(
            f"INSERT INTO m_NetworkFilters ({cols}) VALUES ({', '.join('?' for _ in sets)})",
            tuple(sets.values()),
        )
        fid = str(cur.lastrowid)
    elif sets:
        conn.execute(
            f"UPDATE m_NetworkFilters SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
            (*sets.values(), fid),
        )
    conn.execute("COMMIT")
    r = conn.execute("SELECT * FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone()
    return (201 if row is None else 200), envelope(
        p,
        "create" if row is None else "patch",
        ok=True,
        data=filter_item(r),
        http_code=201 if row is None else 200,
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeMikoPBX


def serve(fake: FakeMikoPBX, host: str = "127.0.0.1", port: int = 0) -> _Server:
    srv = _Server((host, port), _Handler)
    srv.fake = fake
    h, p = srv.server_address[:2]
    fake.url = f"http://{h}:{p}"
    return srv


def _start(fake: FakeMikoPBX) -> Callable[[], None]:
    srv = serve(fake)
    t = threading.Thread(target=srv.serve_forever, name="fake-mikopbx", daemon=True)
    t.start()

    def stop() -> None:
        srv.shutdown()
        srv.server_close()

    return stop


def start_server(
    db_path: str | os.PathLike[str], *, token: str | None = None, trust_localhost: bool = True
) -> tuple[str, Callable[[], None]]:
    """Serve in a background thread on 127.0.0.1 and a free port. Returns (url, stop)."""
    fake = FakeMikoPBX(str(db_path), token=token, trust_localhost=trust_localhost)
    stop = _start(fake)
    return fake.url, stop


@contextlib.contextmanager
def running_server(
    db_path: str | os.PathLike[str], *, token: str | None = None, trust_localhost: bool = True
) -> Iterator[FakeMikoPBX]:
    """Like start_server, as a context manager yielding the FakeMikoPBX (url, faults, requests)."""
    fake = FakeMikoPBX(str(db_path), token=token, trust_localhost=trust_localhost)
    stop = _start(fake)
    try:
        yield fake
    finally:
        stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="MikoPBX REST API v3 test server (sip-providers, firewall)"
    )
    ap.add_argument("--db", required=True, help="MikoPBX SQLite DB (see make_db)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--token", help="accept this Bearer token")
    ap.add_argument(
        "--no-trust-localhost", action="store_true", help="require the token from 127.0.0.1 too"
    )
    ap.add_argument("--make-db", action="store_true", help="create --db from the fixtures first")
    a = ap.parse_args(argv)
    if a.make_db:
        make_db(a.db)
    fake = FakeMikoPBX(a.db, token=a.token, trust_localhost=not a.no_trust_localhost)
    srv = serve(fake, a.host, a.port)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print(f"listening on {fake.url}", flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
