"""A MikoPBX REST API v3 test server: the SIP-provider and firewall endpoints on top of the real
SQLite schema, doing to what it is sent what MikoPBX does.

MikoPBX's REST API cannot run here (PHP workers, Redis, beanstalk, Phalcon), so this server
re-implements the parts sdp-guard talks to. **Every rule below cites the real source**, as
``path:line`` in github.com/mikopbx/Core at commit **e26e6b973bbef6a0d4d1064fe495e62c70f475df**
(2026-04-13); every cited file is identical in release tag **2026.1.223** (f7aaf2c99d33b466).
Paths are relative to ``src/``. Nothing here is copied from MikoPBX; it is written from reading it.

Rules (``R<n>`` tags mark where each one is implemented):

R1  Envelope ``result, data, messages, function, processor, pid`` (+ ``httpCode``, ``reload`` when
    set): PBXCoreREST/Lib/PBXApiResult.php:107-134. ``meta {timestamp, hash}`` and an ``E-Tag``
    header on every answer: PBXCoreREST/Http/Response.php:93-114.
R2  ``result: false`` without an ``httpCode`` is sent as HTTP 422; with one, as that code:
    PBXCoreREST/Controllers/BaseController.php:270-277.
R3  Requests from 127.0.0.1 / ::1 need no token (LOCALHOST), others a Bearer token:
    PBXCoreREST/Middleware/UnifiedSecurityMiddleware.php:135-143;
    PBXCoreREST/Controllers/SipProviders/RestController.php:54.
R4  The sip-providers controller forces ``type = SIP`` into every payload:
    PBXCoreREST/Controllers/SipProviders/RestController.php:435.
R5  Only fields with a sanitization rule are kept; ``string`` trims (PHP trim), ``max:N`` cuts to
    N characters (mb_substr): PBXCoreREST/Lib/Common/AbstractSaveRecordAction.php:84-93,
    PBXCoreREST/Lib/Common/BaseActionHelper.php:133-231 (166-170, 197-203),
    PBXCoreREST/Lib/Common/AbstractDataStructure.php:793-869. Lengths: ``note`` 500,
    ``description`` 255, ``host`` 255: PBXCoreREST/Lib/Providers/DataStructure.php:448-493. A
    ``username``/``networkfilterid`` not matching its pattern is cut to its digits:
    BaseActionHelper.php:204-220, Providers/DataStructure.php:475, 521.
R6  ``note``, ``description`` and ``manualattributes`` go through
    ``TextFieldProcessor::sanitizeForStorage`` (trim, NUL removal, dangerous tags, javascript:/
    vbscript:/data:text/html, **``/\\s*on\\w+\\s*=\\s*[^>]*/i`` which eats e.g. ``connected_line_method
    = …``, ``rewrite_contact = yes``, ``context=…``, ``max_contacts=…``, ``tone_zone=…`` and
    everything after them up to the next ``>``** (mikopbx/Core#1029), ``<form>`` tags):
    PBXCoreREST/Lib/Providers/SaveRecordAction.php:84, 94;
    PBXCoreREST/Lib/Common/TextFieldProcessor.php:51-87.
R7  After sanitizing, remaining dangerous content (e.g. ``update … set`` on one line) refuses the
    whole save with ``Dangerous content detected in fields: …`` (HTTP 422 via R2):
    PBXCoreREST/Lib/Common/AbstractSaveRecordAction.php:99-105,
    PBXCoreREST/Lib/Common/TextFieldProcessor.php:164-218, Providers/SaveRecordAction.php:112-115.
R8  ``networkfilterid`` ``none``/``''`` becomes null (not assigned):
    PBXCoreREST/Lib/Providers/SaveRecordAction.php:106-110.
R9  PATCH/PUT of an unknown id: 404 ``Provider not found``:
    PBXCoreREST/Lib/Providers/SaveRecordAction.php:127-145,
    PBXCoreREST/Lib/Common/AbstractSaveRecordAction.php:423-436.
R10 PUT needs ``description`` and ``registration_type``; PATCH does not:
    PBXCoreREST/Lib/Providers/SaveRecordAction.php:154-179. Enum/range checks → 422:
    :225-230. Business rules by ``registration_type`` *of the payload* → 422: :232-238, :309-376.
R11 **``note`` is assigned from the payload with an empty default: a PATCH without ``note``
    erases it**: PBXCoreREST/Lib/Providers/SaveRecordAction.php:250.
R12 Other SIP fields are assigned only when set (PHP ``isset``: JSON null = absent); a masked
    secret ``XXXXXXXX`` is kept only when the payload says ``registration_type=outbound``;
    booleans become '1'/'0': PBXCoreREST/Lib/Providers/SaveRecordAction.php:386-510.
R13 Every save forces ``type='friend'``, ``nat='auto_force'``, ``noregister='0'``,
    ``extension=''``: PBXCoreREST/Lib/Providers/SaveRecordAction.php:511-515.
R14 **``additionalHosts`` deletes every m_SipHosts row of the provider and inserts the given
    ones** (new ids; empty addresses skipped): PBXCoreREST/Lib/Providers/SaveRecordAction.php:
    526-528, 618-639.
R15 One DB transaction per save: PBXCoreREST/Lib/Providers/SaveRecordAction.php:246-264.
R16 ``manualattributes`` is stored base64 and read back with ``base64_decode``:
    Common/Models/Sip.php:388-401.
R17 Detail and list structures (secret masked only for outbound, ``additionalHosts`` ordered by
    id with string ids, ``networkfilterid`` ``none`` when empty): PBXCoreREST/Lib/Providers/
    DataStructure.php:55-90, 101-140, 181-224, 263-280. The list hides disabled providers unless
    ``includeDisabled``: PBXCoreREST/Lib/Providers/GetListAction.php:44-54. GET of an unknown id:
    ``result: false`` (422 via R2): PBXCoreREST/Lib/Providers/GetRecordAction.php:81-88.
R18 **GET /firewall answers ``data = {items, total, firewallEnabled, fail2banEnabled, isDocker,
    dockerSupportedServices}``**; saved filters (sorted by priority) have string ids, boolean
    ``local_network``/``newer_block_ip``, ``network``/``subnet``, ``priority`` and ``rules``; then
    one **unsaved default per local address (``0.0.0.0/0`` and each enabled non-internet LAN
    subnet) with ``id: ''``, ``local_network`` '0'/'1' and ``newer_block_ip`` '0' as strings**,
    unless a saved filter has that network: PBXCoreREST/Lib/Firewall/GetListAction.php:45-227.
R19 POST /firewall: ``description`` sanitized (R6); ``network`` + ``subnet`` required (else
    ``result: false``); defaults ``deny 0.0.0.0/0``, booleans false; permit normalized to the
    network address; priority after the last regular filter, catch-alls bumped behind it; one
    transaction that also **creates m_FirewallRules rows, one per port rule of every category of
    the default template, action from ``currentRules`` or the template**; answers 201 with
    ``reload``: PBXCoreREST/Lib/Firewall/SaveRecordAction.php:68-335, 345-374, 383-416;
    PBXCoreREST/Lib/Firewall/DataStructure.php:276-305; the template and its ports from
    m_PbxSettings (defaults when unset): Common/Models/FirewallRules.php:110-236, 258-279,
    Common/Models/PBXSettings/PbxSettingsDefaultValuesTrait.php:39-72.
R20 PATCH /firewall/{id}: unknown id → 404; only given fields change; ``currentRules`` updates
    the existing rows of the given categories: PBXCoreREST/Lib/Firewall/SaveRecordAction.php:
    119-134, 255-272, 426-461.
R21 DELETE /firewall/{id} removes the filter and (cascade) its rules; unknown id → ``result:
    false``: PBXCoreREST/Lib/Firewall/DeleteRecordAction.php:41-90,
    Common/Models/NetworkFilters.php:141-150.

Not modelled: pjsip.conf generation and reloads, IAX providers, POST/copy of providers, IPv6
default filters (``::/0`` appears only when IPv6 is enabled), module firewall categories.

Use::

    with running_server(db) as srv:                # srv.url, srv.faults, srv.requests
        srv.faults.status = 500

or as a process: ``python -m tests.fakes.mikopbx_api --db F --port P [--token T]`` (from the
repository root); it prints ``listening on http://127.0.0.1:P`` and serves until SIGTERM. Faults
can then be set with ``POST /__fake__/faults`` and a JSON body such as ``{"status": 503}``.

``make_db(path)`` builds a DB with sdp_guard.demo.pbxdb (the shipped schema) and the fixture
sample-stations.sql.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import ipaddress
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
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from sdp_guard.demo import pbxdb
from tests.fixtures import fixture

PROVIDERS = "/pbxcore/api/v3/sip-providers"
FIREWALL = "/pbxcore/api/v3/firewall"
PROC = "MikoPBX\\PBXCoreREST\\Lib\\"


def make_db(path: str | os.PathLike[str], *, sample: bool = True, extra_sql: str = "") -> str:
    """A MikoPBX DB with the real schema but no m_LanInterfaces (and the three sample trunks)."""
    sample_sql = fixture("mikopbx", "sample-stations.sql").read_text() if sample else ""
    return pbxdb.create(path, sql=sample_sql + "\n" + extra_sql, without=["m_LanInterfaces"])


@dataclass
class Faults:
    """Injectable faults (not MikoPBX behaviour). ``down``: close the connection without an answer;
    ``status``: answer every request with that HTTP status; ``delay``: seconds before each
    answer; ``fail_writes``: the numbers (1-based) of the writes that get a 500 without touching
    the DB; ``late_writes``: the numbers of the writes that are carried out only ``late_seconds``
    after they arrived (a client with a shorter timeout gives up, then the write lands);
    ``legacy_firewall_list``: answer GET /firewall with a bare list, as builds before the
    ``items`` envelope did."""

    down: bool = False
    status: int | None = None
    delay: float = 0.0
    fail_writes: list[int] = field(default_factory=list)
    late_writes: list[int] = field(default_factory=list)
    late_seconds: float = 0.0
    legacy_firewall_list: bool = False
    writes: int = 0

    def update(self, doc: dict[str, Any]) -> None:
        for k in (
            "down",
            "status",
            "delay",
            "fail_writes",
            "late_writes",
            "late_seconds",
            "legacy_firewall_list",
        ):
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


# ---------------------------------------------------------------- R1: envelope


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


def http_status(doc: dict[str, Any]) -> int:
    """R2: BaseController.php:270-277."""
    if doc.get("result") is False:
        return int(doc.get("httpCode") or 422)
    return int(doc.get("httpCode") or 200)


# ---------------------------------------------------------------- R5-R7: sanitizing

PHP_TRIM = " \t\n\r\0\x0b"  # PHP trim()'s default set
_DANGEROUS_TAGS = ("script", "iframe", "object", "embed", "applet", "meta", "link", "style")
# PCRE without /u: \w and \s are ASCII-only, like Python's re.ASCII.
_A = re.ASCII


def sanitize_for_storage(text: str) -> str:
    """TextFieldProcessor::sanitizeForStorage (TextFieldProcessor.php:51-87)."""
    if text == "":
        return ""
    text = text.strip(PHP_TRIM)  # :58
    text = text.replace("\0", "")  # :61
    for tag in _DANGEROUS_TAGS:  # :64-69
        text = re.sub(rf"<{tag}\b[^<]*(?:(?!</{tag}>)<[^<]*)*</{tag}>", "", text, flags=re.I | _A)
        text = re.sub(rf"<{tag}\b[^>]*/>", "", text, flags=re.I | _A)
    text = re.sub(r"javascript:[^\"']*[\"']?", "", text, flags=re.I)  # :72
    text = re.sub(r"vbscript:[^\"']*[\"']?", "", text, flags=re.I)  # :75
    text = re.sub(r"data:text/html[^\"']*[\"']?", "", text, flags=re.I)  # :78
    text = re.sub(r"\s*on\w+\s*=\s*[^>]*", "", text, flags=re.I | _A)  # :81
    text = re.sub(r"</?form[^>]*>", "", text, flags=re.I)  # :84
    return text


def dangerous(text: str) -> list[str]:
    """TextFieldProcessor::containsDangerousContent (TextFieldProcessor.php:164-218)."""
    checks = (
        (r"<script\b[^<]*(?:(?!</script>)<[^<]*)*</script>", "Script tags detected"),
        (r"<iframe\b[^<]*(?:(?!</iframe>)<[^<]*)*</iframe>", "Iframe tags detected"),
        (r"javascript:[^\"']*[\"']?", "JavaScript URLs detected"),
        (r"vbscript:[^\"']*[\"']?", "VBScript URLs detected"),
        (r"data:text/(html|javascript)[^\"']*[\"']?", "Data URLs with script content detected"),
        (r"\s*on\w+\s*=\s*[^>]*", "Event handlers detected"),
        (r"<\?php|<\?=", "PHP tags detected"),
        (r"<!--#\w+", "Server Side Includes detected"),
        (
            r"(\bunion\b.*\bselect\b|\bdelete\b.*\bfrom\b|\binsert\b.*\binto\b|\bupdate\b.*\bset\b)",
            "Potential SQL injection patterns detected",
        ),
    )
    return [msg for pat, msg in checks if re.search(pat, text, flags=re.I | _A)]


# Providers/DataStructure.php:440-700 request fields: (kind, maxLength). kind "text" = trim +
# sanitizeForStorage (R6); "string" = trim; "int"/"bool" = casts; "array" = kept as is.
PROVIDER_FIELDS: dict[str, tuple[str, int | None]] = {
    "type": ("string", None),
    "note": ("text", 500),
    "description": ("text", 255),
    "disabled": ("bool", None),
    "username": ("string", 100),
    "secret": ("string", 100),
    "host": ("string", 255),
    "port": ("int", None),
    "registration_type": ("string", None),
    "manualattributes": ("text", None),
    "networkfilterid": ("string", None),
    "transport": ("string", None),
    "qualify": ("bool", None),
    "qualifyfreq": ("int", None),
    "dtmfmode": ("string", None),
    "fromuser": ("string", 100),
    "fromdomain": ("string", 255),
    "outbound_proxy": ("string", 255),
    "disablefromuser": ("bool", None),
    "cid_source": ("string", None),
    "cid_custom_header": ("string", 100),
    "cid_parser_start": ("string", 50),
    "cid_parser_end": ("string", 50),
    "cid_parser_regex": ("string", 255),
    "did_source": ("string", None),
    "did_custom_header": ("string", 100),
    "did_parser_start": ("string", 50),
    "did_parser_end": ("string", 50),
    "did_parser_regex": ("string", 255),
    "cid_did_debug": ("bool", None),
    "additionalHosts": ("array", None),
}
# Patterns of Providers/DataStructure.php:475 (username) and :521 (networkfilterid).
PATTERNS = {"username": r"^[a-zA-Z0-9_.+\-]+$", "networkfilterid": r"^([0-9]+|none)$"}
FIREWALL_FIELDS: dict[str, tuple[str, int | None]] = {
    "network": ("string", None),
    "subnet": ("int", None),
    "deny": ("string", 100),
    "description": ("text", 255),
    "newer_block_ip": ("bool", None),
    "local_network": ("bool", None),
}


class SaveError(Exception):
    def __init__(self, errors: list[str], code: int | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.code = code


def _php_bool(v: Any) -> bool:
    """filter_var(FILTER_VALIDATE_BOOLEAN) (BaseActionHelper.php:174-177)."""
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true", "on", "yes")


def sanitize_input(
    data: dict[str, Any], rules: dict[str, tuple[str, int | None]]
) -> dict[str, Any]:
    """R5-R7: AbstractSaveRecordAction::sanitizeInputData (AbstractSaveRecordAction.php:84-109)."""
    out: dict[str, Any] = {}
    for k, (kind, maxlen) in rules.items():
        v = data.get(k)
        if v is None:  # isset(): JSON null counts as absent (BaseActionHelper.php:142)
            continue
        if kind in ("string", "text") and not isinstance(v, (dict, list)):
            v = str(v).strip(PHP_TRIM) if not isinstance(v, bool) else ("1" if v else "")
            if maxlen is not None:
                v = v[:maxlen]
        elif kind == "int":
            try:
                v = int(v)
            except (TypeError, ValueError):
                v = 0
        elif kind == "bool":
            v = _php_bool(v)
        out[k] = v
    for k, pattern in PATTERNS.items():  # BaseActionHelper.php:204-220: no match → digits only
        if k in rules and isinstance(out.get(k), str) and not re.search(pattern, out[k]):
            out[k] = re.sub(r"[^0-9]", "", out[k])
    texts = [k for k, (kind, _) in rules.items() if kind == "text" and isinstance(out.get(k), str)]
    for k in texts:
        out[k] = sanitize_for_storage(out[k])
    bad = [k for k in texts if dangerous(out[k])]
    if bad:
        raise SaveError([f"Dangerous content detected in fields: {', '.join(bad)}"])
    return out


# ---------------------------------------------------------------- R16-R17: read structures


def _decode_ma(raw: str | None) -> str:
    # Sip::getManualAttributes is a plain (lenient) base64_decode (Sip.php:388-391).
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
    """DataStructure::createFromModel for a SIP provider (Providers/DataStructure.php:55-90)."""
    data: dict[str, Any] = {"id": prov["uniqid"], "type": prov["type"], "note": _s(prov["note"])}
    sip = _sip_row(conn, _s(prov["sipuid"]) or _s(prov["uniqid"]))
    if sip is not None:
        keys = sip.keys()

        def col(name: str, default: str = "") -> str:
            return _s(sip[name]) if name in keys and sip[name] is not None else default

        secret = col("secret")
        if secret and col("registration_type") == "outbound":  # :183-187
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
        data["additionalHosts"] = [  # :263-280
            {"id": str(r["id"]), "address": _s(r["address"])}
            for r in conn.execute(
                "SELECT id, address FROM m_SipHosts WHERE provider_id = ? ORDER BY id ASC",
                (sip["uniqid"],),
            )
        ]
    return data


def provider_list_item(conn: sqlite3.Connection, prov: sqlite3.Row) -> dict[str, Any]:
    """DataStructure::createForList (Providers/DataStructure.php:101-140)."""
    d = provider_detail(conn, prov)
    item = {k: d.get(k) for k in ("id", "type", "note", "disabled", "username", "host")}
    item["registration_type"] = d.get("registration_type", "none")
    item["transport"] = d.get("transport", "udp,tcp")
    item["port"] = d.get("port", 5060)
    item["represent"] = d.get("description", "")
    item["statusClass"] = "grey" if d.get("disabled") else ""
    return item


# ---------------------------------------------------------------- R8-R15: SaveRecordAction


def _bool01(v: Any) -> str:
    return "1" if v else "0"  # convertBooleanFields (AbstractSaveRecordAction.php:357-368)


def save_provider(
    conn: sqlite3.Connection, uniqid: str, payload: dict[str, Any], method: str
) -> None:
    payload = {**payload, "type": "SIP"}  # R4
    data = sanitize_input(payload, PROVIDER_FIELDS)  # R5-R7
    if data.get("networkfilterid") in ("none", ""):  # R8
        data.pop("networkfilterid")
    prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
    if prov is None:  # R9
        raise SaveError(["Provider not found"], 404)
    if method == "PUT":  # R10 required fields (no httpCode: 422 via R2)
        errs = []
        if not data.get("description"):
            errs.append("Provider description is required")
        if not data.get("registration_type"):
            errs.append("Registration type is required")
        if errs:
            raise SaveError(errs)
    schema = []  # R10 schema (DataStructure::validateInputData)
    if data.get("registration_type") not in (None, "none", "outbound", "inbound"):
        schema.append("registration_type: must be one of none, outbound, inbound")
    if data.get("transport") not in (None, "udp,tcp", "udp", "tcp", "tls"):
        schema.append("transport: must be one of udp,tcp, udp, tcp, tls")
    if data.get("port") is not None and not 1 <= int(data["port"]) <= 65535:
        schema.append("port: must be between 1 and 65535")
    if "additionalHosts" in data and not isinstance(data["additionalHosts"], list):
        schema.append("additionalHosts: must be an array")
    if schema:
        raise SaveError(schema, 422)
    reg = data.get("registration_type", "")  # R10 business rules (SaveRecordAction.php:309-376)
    business = []
    if reg in ("outbound", "none") and not _s(data.get("host")).strip():
        business.append("Host is not specified")
    if reg in ("outbound", "inbound") and not _s(data.get("username")).strip():
        business.append("Login is not specified")
    if reg in ("outbound", "inbound") and not _s(data.get("secret")).strip():
        business.append("Password is not specified")  # a masked XXXXXXXX counts as given
    if business:
        raise SaveError(business, 422)

    sip = _sip_row(conn, _s(prov["sipuid"]) or uniqid)
    conn.execute("BEGIN IMMEDIATE")  # R15
    try:
        # R11: $provider->note = $sanitizedData['note'] ?? '';
        conn.execute(
            "UPDATE m_Providers SET note = ? WHERE id = ?", (data.get("note", ""), prov["id"])
        )
        sets: dict[str, Any] = {}
        for b in ("disabled", "qualify", "disablefromuser", "cid_did_debug"):  # R12
            if b in data:
                sets[b] = _bool01(data[b])
        for k in (
            "username",
            "host",
            "registration_type",
            "description",
            "networkfilterid",
            "dtmfmode",
            "fromuser",
            "fromdomain",
            "outbound_proxy",
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
            if k in data:
                sets[k] = data[k]
        if "secret" in data and not (
            data.get("registration_type") == "outbound" and data["secret"] == "XXXXXXXX"
        ):
            sets["secret"] = data["secret"]
        if "port" in data:
            sets["port"] = str(data["port"])
        if "qualifyfreq" in data:
            sets["qualifyfreq"] = str(data["qualifyfreq"])
        if "transport" in data:
            sets["transport"] = str(data["transport"]).lower()
        if "manualattributes" in data:  # R16
            sets["manualattributes"] = base64.b64encode(
                str(data["manualattributes"]).encode("utf-8")
            ).decode("ascii")
        sets.update(type="friend", nat="auto_force", noregister="0", extension="")  # R13
        have = {str(r[1]) for r in conn.execute('PRAGMA table_info("m_Sip")')}
        sets = {k: v for k, v in sets.items() if k in have}
        if sip is not None:
            assign = ", ".join(f"`{k}` = ?" for k in sets)
            conn.execute(f"UPDATE m_Sip SET {assign} WHERE id = ?", (*sets.values(), sip["id"]))
        conn.execute("UPDATE m_Providers SET sipuid = ? WHERE id = ?", (uniqid, prov["id"]))
        if "additionalHosts" in data:  # R14
            conn.execute("DELETE FROM m_SipHosts WHERE provider_id = ?", (uniqid,))
            for h in data["additionalHosts"]:
                addr = h.get("address") if isinstance(h, dict) else None
                if addr and addr != "0":  # PHP empty()
                    conn.execute(
                        "INSERT INTO m_SipHosts (provider_id, address) VALUES (?, ?)",
                        (uniqid, addr),
                    )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------- R18-R21: firewall

# Common/Models/PBXSettings/PbxSettingsDefaultValuesTrait.php:39-72
PORT_DEFAULTS = {
    "SIPPort": "5060",
    "TLS_PORT": "5061",
    "RTPPortFrom": "10000",
    "RTPPortTo": "10200",
    "IAXPort": "4569",
    "AMIPort": "5038",
    "AJAMPort": "8088",
    "AJAMPortTLS": "8089",
    "SSHPort": "22",
    "WEBPort": "80",
    "WEBHTTPSPort": "443",
}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _ports(conn: sqlite3.Connection) -> dict[str, str]:
    """FirewallRules::getProtectedPortSet (FirewallRules.php:258-279)."""
    ports = dict(PORT_DEFAULTS)
    if "m_PbxSettings" in _tables(conn):
        for r in conn.execute("SELECT key, value FROM m_PbxSettings"):
            if r[0] in ports and r[1]:
                ports[r[0]] = str(r[1])
    return ports


def default_rules(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """FirewallRules::getDefaultRules (FirewallRules.php:110-236): category → rules, action."""
    p = _ports(conn)

    def r(proto: str, a: str, b: str) -> dict[str, Any]:
        return {
            "protocol": proto,
            "portfrom": p[a],
            "portto": p[b],
            "portFromKey": a,
            "portToKey": b,
        }

    return {
        "SIP": {
            "rules": [
                r("udp", "SIPPort", "SIPPort"),
                r("tcp", "SIPPort", "SIPPort"),
                r("tcp", "TLS_PORT", "TLS_PORT"),
                r("udp", "RTPPortFrom", "RTPPortTo"),
            ],
            "action": "allow",
            "shortName": "SIP & RTP",
        },
        "IAX": {"rules": [r("udp", "IAXPort", "IAXPort")], "action": "allow", "shortName": "IAX"},
        "WEB": {
            "rules": [r("tcp", "WEBPort", "WEBPort"), r("tcp", "WEBHTTPSPort", "WEBHTTPSPort")],
            "action": "allow",
            "shortName": "WEB",
        },
        "SSH": {"rules": [r("tcp", "SSHPort", "SSHPort")], "action": "allow", "shortName": "SSH"},
        "AMI": {"rules": [r("tcp", "AMIPort", "AMIPort")], "action": "allow", "shortName": "AMI"},
        "AJAM": {
            "rules": [r("tcp", "AJAMPort", "AJAMPort"), r("tcp", "AJAMPortTLS", "AJAMPortTLS")],
            "action": "allow",
            "shortName": "AJAM,WebRTC,ARI",
        },
        "ICMP": {
            "rules": [{"portfrom": 0, "portto": 0, "protocol": "icmp"}],
            "action": "allow",
            "shortName": "ICMP",
        },
    }


def _net(permit: str) -> tuple[str, str]:
    network, _, subnet = permit.partition("/")
    try:
        n = ipaddress.ip_network(f"{network}/{subnet or '32'}", strict=False)
        if n.version == 4:
            return str(n.network_address), str(n.prefixlen)
    except ValueError:
        pass
    return network, subnet


def firewall_list(conn: sqlite3.Connection) -> dict[str, Any]:
    """Firewall/GetListAction::main (GetListAction.php:45-227)."""
    tables = _tables(conn)
    local = ["0.0.0.0/0"]  # :53 (::/0 only with IPv6 enabled: not modelled)
    if "m_LanInterfaces" in tables:  # :61-77
        for i in conn.execute(
            "SELECT ipaddr, subnet FROM m_LanInterfaces WHERE disabled = '0' AND internet = '0'"
        ):
            if i["ipaddr"]:
                n = ipaddress.ip_network(f"{i['ipaddr']}/{i['subnet'] or 32}", strict=False)
                local.append(str(n))
    defaults = default_rules(conn)
    cols = {str(r[1]) for r in conn.execute('PRAGMA table_info("m_NetworkFilters")')}
    order = "CAST(priority AS INTEGER) ASC, id ASC" if "priority" in cols else "id ASC"
    items: list[dict[str, Any]] = []
    for f in conn.execute(f"SELECT * FROM m_NetworkFilters ORDER BY {order}"):  # :83-145
        network, subnet = _net(_s(f["permit"]))
        item: dict[str, Any] = {
            "id": str(f["id"]),
            "description": f["description"],
            "permit": f["permit"],
            "deny": f["deny"],
            "newer_block_ip": f["newer_block_ip"] == "1",
            "local_network": f["local_network"] == "1",
            "permanent": False,
            "priority": int(_s(f["priority"]) or 0) if "priority" in cols else 0,
            "rules": {
                k: {"name": v["shortName"], "action": v["action"] == "allow"}
                for k, v in defaults.items()
            },
            "network": network,
            "subnet": subnet,
        }
        if "m_FirewallRules" in tables:
            for rule in conn.execute(
                "SELECT category, action FROM m_FirewallRules WHERE networkfilterid = ?", (f["id"],)
            ):
                item["rules"].setdefault(rule["category"], {"name": rule["category"]})
                item["rules"][rule["category"]]["action"] = rule["action"] == "allow"
        items.append(item)
    stored = bool(items)
    for addr in local:  # :148-203
        hit = next((i for i in items if f"{i['network']}/{i['subnet']}" == addr), None)
        if hit is not None:
            hit["permanent"] = True
            continue
        network, _, subnet = addr.partition("/")
        items.append(
            {
                "id": "",
                "permanent": True,
                "network": network,
                "subnet": subnet,
                "permit": addr,
                "deny": "0.0.0.0/0",
                "newer_block_ip": "0",
                "local_network": "0" if addr == "0.0.0.0/0" else "1",
                "description": "All IPv4 networks" if addr == "0.0.0.0/0" else "Local network",
                "rules": {
                    k: {"name": v["shortName"], "action": "block" if stored else v["action"]}
                    for k, v in defaults.items()
                },
            }
        )
    saved = [i for i in items if i["id"]]  # :207, 248-271: unsaved defaults last
    return {
        "items": saved + [i for i in items if not i["id"]],
        "total": len(items),
        "firewallEnabled": "1",
        "fail2banEnabled": "1",
        "isDocker": False,
        "dockerSupportedServices": ["WEB", "AMI", "SIP & RTP", "IAX"],
    }


def filter_detail(conn: sqlite3.Connection, fid: Any) -> dict[str, Any]:
    """Firewall/DataStructure::createFromModel (DataStructure.php:48-81)."""
    r = conn.execute("SELECT * FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone()
    rules: dict[str, str] = {}
    if "m_FirewallRules" in _tables(conn):
        for rule in conn.execute(
            "SELECT category, action FROM m_FirewallRules WHERE networkfilterid = ? ORDER BY id",
            (fid,),
        ):
            rules.setdefault(rule["category"], rule["action"])
    return {
        "id": str(r["id"]),
        "permit": _s(r["permit"]),
        "deny": _s(r["deny"]),
        "description": _s(r["description"]),
        "newer_block_ip": r["newer_block_ip"] == "1",
        "local_network": r["local_network"] == "1",
        "rules": rules,
        "represent": _s(r["description"]) or _s(r["permit"]),
    }


def _current_rules(raw: Any, valid: set[str]) -> dict[str, bool]:
    """sanitizeCurrentRules (Firewall/SaveRecordAction.php:523-550)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {}
    out: dict[str, bool] = {}
    for k, v in (raw if isinstance(raw, dict) else {}).items():
        if k not in valid:
            continue
        if isinstance(v, bool):
            out[k] = v
        elif isinstance(v, str):
            out[k] = v in ("allow", "true", "1")
        elif isinstance(v, (int, float)):
            out[k] = bool(v)
    return out


def firewall_save(
    conn: sqlite3.Connection, fid: str | None, body: dict[str, Any], method: str
) -> dict[str, Any]:
    """Firewall/SaveRecordAction::main (SaveRecordAction.php:68-335)."""
    p = PROC + "Firewall\\SaveRecordAction::main"
    fn = {"POST": "create", "PUT": "update", "PATCH": "patch"}[method]
    try:
        data = sanitize_input(body, FIREWALL_FIELDS)  # :77-95
    except SaveError as e:
        return envelope(p, fn, ok=False, errors=e.errors)
    defaults = default_rules(conn)
    if "currentRules" in body:  # :98-104
        data["currentRules"] = _current_rules(body["currentRules"], set(defaults))
    row = None
    if fid:  # :119-134
        row = conn.execute("SELECT * FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone()
        if row is None and method in ("PUT", "PATCH"):
            return envelope(p, fn, ok=False, errors=["Firewall rule not found"], http_code=404)
    new = row is None
    if new and ("network" not in data or "subnet" not in data):  # :138-143
        return envelope(p, fn, ok=False, errors=["Network and subnet fields are required"])
    if new:  # :186-188 and DataStructure.php:276-329 defaults
        data.setdefault("deny", "0.0.0.0/0")
        data.setdefault("description", "")
        data.setdefault("newer_block_ip", False)
        data.setdefault("local_network", False)
        data.setdefault(
            "currentRules",
            {"SIP": True, "WEB": True, "SSH": False, "AMI": False, "CTI": False, "ICMP": True},
        )
    sets: dict[str, Any] = {}
    if "network" in data and "subnet" in data:  # :205-218, 237-253
        try:
            n = ipaddress.ip_network(f"{data['network']}/{data['subnet']}", strict=False)
        except ValueError:
            return envelope(
                p,
                fn,
                ok=False,
                errors=[f"Invalid IP address format: {data['network']}"],
                http_code=422,
            )
        sets["permit"] = f"{n.network_address}/{data['subnet']}"
    for k in ("deny", "description"):  # :261-266
        if k in data:
            sets[k] = data[k]
    for k in ("newer_block_ip", "local_network"):  # :256, 267-272
        if k in data:
            sets[k] = _bool01(data[k])
    cols = {str(r[1]) for r in conn.execute('PRAGMA table_info("m_NetworkFilters")')}
    conn.execute("BEGIN IMMEDIATE")  # :234
    try:
        if new:
            if "priority" in cols:  # :177, 345-374
                top = 0
                catch_all = []
                for f in conn.execute(
                    "SELECT id, permit, priority FROM m_NetworkFilters "
                    "ORDER BY CAST(priority AS INTEGER) ASC"
                ):
                    if _s(f["permit"]).strip() in ("0.0.0.0/0", "::/0"):
                        catch_all.append(f["id"])
                    else:
                        top = max(top, int(_s(f["priority"]) or 0))
                for i, cid in enumerate(catch_all):
                    conn.execute(
                        "UPDATE m_NetworkFilters SET priority = ? WHERE id = ?",
                        (str(top + 2 + i), cid),
                    )
                sets["priority"] = str(top + 1)
            cur = conn.execute(
                f"INSERT INTO m_NetworkFilters ({', '.join(sets)}) "
                f"VALUES ({', '.join('?' for _ in sets)})",
                tuple(sets.values()),
            )
            fid = str(cur.lastrowid)
        elif sets:
            conn.execute(
                f"UPDATE m_NetworkFilters SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                (*sets.values(), fid),
            )
        rules = data.get("currentRules")
        if "m_FirewallRules" in _tables(conn) and isinstance(rules, dict):
            if new:  # createFirewallRules :383-416
                for cat, spec in defaults.items():
                    for rule in spec["rules"]:
                        action = (
                            ("allow" if rules[cat] else "block") if cat in rules else spec["action"]
                        )
                        conn.execute(
                            "INSERT INTO m_FirewallRules (networkfilterid, protocol, portfrom, "
                            "portto, category, portFromKey, portToKey, action, description) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (
                                fid,
                                rule["protocol"],
                                str(rule["portfrom"]),
                                str(rule["portto"]),
                                cat,
                                rule.get("portFromKey", ""),
                                rule.get("portToKey", ""),
                                action,
                                f"{action} connection for {cat}",
                            ),
                        )
            else:  # updateFirewallRules, PATCH: existing categories only (:426-461)
                for cat, allow in rules.items():
                    action = "allow" if allow else "block"
                    conn.execute(
                        "UPDATE m_FirewallRules SET action = ?, description = ? "
                        "WHERE networkfilterid = ? AND category = ?",
                        (action, f"{action} connection for {cat}", fid, cat),
                    )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    code = 201 if new else 200  # :325-328
    return envelope(
        p,
        fn,
        ok=True,
        data=filter_detail(conn, fid),
        http_code=code,
        reload=f"firewall/modify/{fid}",
    )


def firewall_delete(conn: sqlite3.Connection, fid: str) -> dict[str, Any]:
    """Firewall/DeleteRecordAction::main (DeleteRecordAction.php:41-90)."""
    p = PROC + "Firewall\\DeleteRecordAction::main"
    if conn.execute("SELECT id FROM m_NetworkFilters WHERE id = ?", (fid,)).fetchone() is None:
        return envelope(p, "delete", ok=False, errors=[f"Firewall rule with ID '{fid}' not found"])
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM m_NetworkFilters WHERE id = ?", (fid,))
    if "m_FirewallRules" in _tables(conn):  # cascade: NetworkFilters.php:141-150
        conn.execute("DELETE FROM m_FirewallRules WHERE networkfilterid = ?", (fid,))
    conn.execute("COMMIT")
    return envelope(p, "delete", ok=True, data={"id": fid})


# ---------------------------------------------------------------- routing


def route(
    conn: sqlite3.Connection,
    method: str,
    path: str,
    body: Any,
    query: dict[str, str],
    faults: Faults | None = None,
) -> tuple[int, dict[str, Any]]:
    doc = _route(conn, method, path, body if isinstance(body, dict) else {}, query, faults)
    return http_status(doc), doc


def _route(
    conn: sqlite3.Connection,
    method: str,
    path: str,
    body: dict[str, Any],
    query: dict[str, str],
    faults: Faults | None,
) -> dict[str, Any]:
    if path == PROVIDERS and method == "GET":  # R17
        include_disabled = query.get("includeDisabled") == "true"
        items = []
        for prov in conn.execute("SELECT * FROM m_Providers ORDER BY type ASC, note ASC"):
            item = provider_list_item(conn, prov)
            if item.get("disabled") and not include_disabled:
                continue
            items.append(item)
        return envelope(PROC + "Providers\\GetListAction::main", "getList", ok=True, data=items)
    if path.startswith(PROVIDERS + "/"):
        uniqid = path[len(PROVIDERS) + 1 :]
        prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
        if method == "GET":
            p = PROC + "Providers\\GetRecordAction::main"
            if prov is None:
                return envelope(p, "getRecord", ok=False, errors=["Provider not found"])
            return envelope(p, "getRecord", ok=True, data=provider_detail(conn, prov))
        if method in ("PUT", "PATCH"):
            p = PROC + "Providers\\SaveRecordAction::main"
            fn = "update" if method == "PUT" else "patch"
            try:
                save_provider(conn, uniqid, body, method)
            except SaveError as e:
                return envelope(p, fn, ok=False, errors=e.errors, http_code=e.code)
            prov = conn.execute("SELECT * FROM m_Providers WHERE uniqid = ?", (uniqid,)).fetchone()
            return envelope(p, fn, ok=True, data=provider_detail(conn, prov), http_code=200)
    if path == FIREWALL and method == "GET":  # R18
        data = firewall_list(conn)
        if faults is not None and faults.legacy_firewall_list:
            return envelope(
                PROC + "Firewall\\GetListAction::main",
                "getList",
                ok=True,
                data=[i for i in data["items"] if i["id"]],
            )
        return envelope(PROC + "Firewall\\GetListAction::main", "getList", ok=True, data=data)
    if path == FIREWALL and method == "POST":  # R19
        return firewall_save(conn, body.get("id") and str(body["id"]), body, "POST")
    if path.startswith(FIREWALL + "/"):
        fid = path[len(FIREWALL) + 1 :]
        if method in ("PATCH", "PUT"):  # R20
            return firewall_save(conn, fid, body, method)
        if method == "DELETE":  # R21
            return firewall_delete(conn, fid)
    return envelope("", "", ok=False, errors=[f"Not found: {method} {path}"], http_code=404)


# ---------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, doc: dict[str, Any]) -> None:
        # R1: Response.php:93-114
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
        with contextlib.suppress(OSError):  # the client gave up (late_writes)
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
        if not self._authorized():  # R3
            self._error(401, "Unauthorized: a valid Bearer token is required")
            return
        late = False
        if method in ("PUT", "PATCH", "POST", "DELETE"):
            f.writes += 1
            if f.writes in f.fail_writes:
                self._error(500, "Internal Server Error (fault injected)")
                return
            late = f.writes in f.late_writes
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if late:  # received, but carried out only after the client has given up
            time.sleep(f.late_seconds)
        with fake.lock:
            conn = fake.connect()
            try:
                code, doc = route(conn, method, parts.path, body, query, f)
            finally:
                conn.close()
        self._send(code, doc)

    def _authorized(self) -> bool:
        fake = self.server.fake
        host = self.client_address[0]
        if fake.trust_localhost and host in ("127.0.0.1", "::1"):  # R3
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeMikoPBX


def serve(fake: FakeMikoPBX, host: str = "127.0.0.1", port: int = 0) -> _Server:
    srv = _Server((host, port), _Handler)
    srv.fake = fake
    h, p = cast(tuple[str, int], srv.server_address[:2])
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
