"""Reports for people (text with monitoring perfdata) and machines (the findings document)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sdp_guard.core.catalogue import view
from sdp_guard.core.diagnose import Report
from sdp_guard.core.findings import Severity
from sdp_guard.core.messages import LANGS, UI, render
from sdp_guard.core.text import sanitize_text

SCHEMA_VERSION = 1
STATUS_BY_EXIT = {0: "ok", 1: "warning", 2: "critical", 3: "unknown"}


def exit_code(report: Report) -> int:
    """Monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL (3 UNKNOWN is for input errors)."""
    worst = report.worst
    if worst is Severity.CRITICAL:
        return 2
    if worst is Severity.WARNING:
        return 1
    return 0


def to_document(
    report: Report | None,
    *,
    lang: str,
    checked_at: str,
    sources: Mapping[str, Mapping[str, Any]],
    version: str,
    error: str = "",
) -> dict[str, Any]:
    """The findings document (docs/findings-json.md); every one is built here.

    ``report=None`` gives the "unknown" document (an input failed, or the daemon has no good view
    of every source yet): status ``unknown``, exit code 3, ``error`` saying why, and otherwise
    the same keys as any other, which the MikoPBX module requires (module/Lib/FindingsDocument.php).
    """
    if report is None:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "sdp-guard", "version": version},
            "checked_at": checked_at,
            "status": STATUS_BY_EXIT[3],
            "exit_code": 3,
            "lang": lang,
            "error": error or "unknown",
            "summary": dict.fromkeys(
                ("critical", "warning", "info", "providers", "peers", "stations"), 0
            ),
            "sources": {k: dict(v) for k, v in sources.items()},
            "findings": [],
            "providers": [],
            "tailnet": {
                "backend_state": None,
                "self": {"hostname": None, "dns_name": None, "ipv4": None, "ipv6": None},
                "peers": [],
            },
        }
    code = exit_code(report)
    view = report.tailnet
    findings = []
    for f in report.findings:
        text = {lg: dict(zip(("message", "remedy"), render(f, lg), strict=True)) for lg in LANGS}
        findings.append(
            {
                "code": f.code.value,
                "severity": f.severity.label,
                "provider": f.provider,
                "station": f.station,
                "configured": f.configured,
                "advertised": f.advertised,
                "observed": f.observed,
                "masquerade": f.masquerade,
                "node": f.node,
                "message": text[lang]["message"],
                "remedy": text[lang]["remedy"],
                "text": text,
            }
        )
    providers = [
        {
            "id": m.provider.id,
            "description": m.provider.description,
            "host": m.provider.host,
            "port": m.provider.port,
            "transport": m.provider.transport,
            "registration_type": m.provider.registration_type,
            "disabled": m.provider.disabled,
            "extra_hosts": list(m.provider.extra_hosts),
            "station": m.station.name if m.station else None,
            "matched_by": m.matched_by,
        }
        for m in report.matches
    ]
    peers = [
        {
            "hostname": p.hostname,
            "dns_name": p.dns_name,
            "ipv4": p.ipv4 or None,
            "ipv6": p.ipv6 or None,
            "online": p.online,
            "sharee_node": p.sharee_node,
            "masquerade": p.masquerade_v4,
        }
        for p in view.peers
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "sdp-guard", "version": version},
        "checked_at": checked_at,
        "status": STATUS_BY_EXIT[code],
        "exit_code": code,
        "lang": lang,
        "summary": _summary(report),
        "sources": {k: dict(v) for k, v in sources.items()},
        "findings": findings,
        "providers": providers,
        "tailnet": {
            "backend_state": view.backend_state,
            "self": {
                "hostname": view.self_hostname,
                "dns_name": view.self_dns_name,
                "ipv4": view.self_ipv4 or None,
                "ipv6": view.self_ipv6 or None,
            },
            "peers": peers,
        },
    }


def _summary(report: Report) -> dict[str, int]:
    return {
        "critical": report.count_of(Severity.CRITICAL),
        "warning": report.count_of(Severity.WARNING),
        "info": report.count_of(Severity.INFO),
        "providers": len(report.matches),
        "peers": len(report.tailnet.peers),
        "stations": len(report.stations),
    }


_COLORS = {"critical": "\033[1;31m", "warning": "\033[33m", "info": "\033[36m", "ok": "\033[32m"}
_RESET = "\033[0m"


def to_text(doc: Mapping[str, Any], *, color: bool = False) -> str:
    """One line per finding plus its remedy, a summary, and perfdata after ``|``."""
    lang = doc.get("lang", "en")
    ui = view(UI, lang)
    clean = sanitize_text  # names, hosts and messages carry text from outside (DB, registry)

    def paint(sev: str, s: str) -> str:
        return f"{_COLORS.get(sev, '')}{s}{_RESET}" if color else s

    s = doc["summary"]
    perf = (
        f"critical={s['critical']};;1 warning={s['warning']};1 info={s['info']} "
        f"providers={s['providers']} peers={s['peers']} stations={s['stations']}"
    )
    # Monitoring plugins read the first line: status, summary, then perfdata after "|".
    lines = [f"{paint(doc['status'], doc['status'].upper())}: {ui['summary'].format(**s)} | {perf}"]
    for f in doc["findings"]:
        sev = f["severity"]
        tag = paint(sev, f"{sev.upper():8}")
        where = " ".join(x for x in (f["provider"], f["station"] and f"[{f['station']}]") if x)
        lines.append(f"{tag} {f['code']}{' ' + clean(where) if where else ''}")
        lines.append(f"         {clean(f['message'])}")
        lines.append(f"         {ui['remedy']}: {clean(f['remedy'])}")
    if not doc["findings"]:
        lines.append(paint("ok", ui["ok"]))
    lines.append("")
    lines.append(ui["providers"] + ":")
    for p in doc["providers"]:
        st = p["station"] or ui["unmatched"]
        how = f" ({p['matched_by']})" if p["matched_by"] else ""
        off = " [disabled]" if p["disabled"] else ""
        pid, host = clean(p["id"]), clean(p["host"] or "-")
        lines.append(f"  {pid:22} {host:16} → {clean(st)}{how}{off}")
    return "\n".join(lines) + "\n"
