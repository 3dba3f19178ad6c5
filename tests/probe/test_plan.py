"""What the probe puts into SDP, how it reads TARGET, what it prints, and its usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.adapters.probe_ua import Secret
from sdp_guard.core import manualattrs, probe
from sdp_guard.core.model import LocalNet, Provider

OWN = "100.101.1.1"
NATTED_LAN = LocalNet(("192.168.1.0/24",), "private", "203.0.113.7", True)


def test_sdp_address_follows_mikopbx() -> None:
    p = Provider("SIP-TRUNK-1", host="100.102.2.2")
    assert probe.sdp_address_for(p, LocalNet(known=True), OWN) == (OWN, "own")
    # behind NAT with the tailnet outside local_net: Asterisk rewrites to the external address
    assert probe.sdp_address_for(p, NATTED_LAN, OWN) == ("203.0.113.7", "external")
    covered = NATTED_LAN._replace(local_networks=("192.168.1.0/24", "100.64.0.0/10"))
    assert probe.sdp_address_for(p, covered, OWN) == (OWN, "own")
    # sdp-guard's managed block wins (media_address is per endpoint)
    block = manualattrs.set_media_address("[endpoint]\ncallerid = A <1>\n", "100.102.9.9")
    assert probe.sdp_address_for(p._replace(manualattributes=block), NATTED_LAN, OWN) == (
        "100.102.9.9",
        "media_address",
    )
    assert probe.sdp_address_for(None, LocalNet(), OWN) == (OWN, "own")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100.102.2.2", ("100.102.2.2", None)),
        ("100.102.2.2:5070", ("100.102.2.2", 5070)),
        ("kanda", ("kanda", None)),
        ("SIP-TRUNK-4F2A9C1E", ("SIP-TRUNK-4F2A9C1E", None)),
        ("[fd7a::1]:5060", ("fd7a::1", 5060)),
    ],
)
def test_split_hostport(text: str, expected: tuple[str, int | None]) -> None:
    assert probe.split_hostport(text) == expected


@pytest.mark.parametrize("text", ["1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:x", ":5060", "[::1]x"])
def test_split_hostport_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        probe.split_hostport(text)


def _doc(verdict: str, **kw: object) -> dict[str, object]:
    plan = probe.Plan(
        "kanda", "100.102.2.2", 5060, "186", OWN, OWN, "own", 5.0, "SIP-TRUNK-1", "kanda"
    )
    stats = {
        "sent": 250,
        "received": 0,
        "loss": 1.0,
        "jitter_ms": None,
        "rtt_ms": None,
        "echoed": 0,
    }
    args: dict[str, Any] = dict(
        answered=True, sip_status=200, sip_reason="OK", stats=stats, verdict=verdict,
        media="100.102.2.2:17000", authenticated=False, notes=(), probed_at="t", lang="en",
    )  # fmt: skip
    args.update(kw)
    return probe.document(plan, **args)


def test_one_way_text_names_the_next_step_in_both_languages() -> None:
    doc = _doc("one-way")
    en = probe.to_text(doc, "en")
    assert en.startswith("sdp-guard probe: one-way\n")
    assert "sent 250, received 0" in en and "loss 100.0 %" in en
    assert "provider SIP-TRUNK-1, station kanda" in en
    assert "sdp-guard probe kanda --sdp-address ADDR" in en
    assert "sdp-guard sync --fallback media-address" in en
    ja = probe.to_text(doc, "ja")
    assert "片方向通話" in ja and "送信 250、受信 0" in ja
    assert doc["exit_code"] == 2


def test_no_answer_after_refused_credentials() -> None:
    doc = _doc("no-answer", answered=False, sip_status=401, sip_reason="Unauthorized")
    assert "asks for authentication" in probe.to_text(doc, "en")
    doc = _doc("no-answer", answered=False, sip_status=0, sip_reason="no SIP response")
    assert "no SIP response from 100.102.2.2:5060" in probe.to_text(doc, "en")


def test_secret_never_shows() -> None:
    s = Secret("hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    assert s.reveal() == "hunter2"


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sdp_guard", "probe", *argv],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["127.0.0.1:9", "--bind", "127.0.0.1", "--sdp-address", "nope"], "not an IPv4"),
        (["127.0.0.1:9", "--bind", "127.0.0.1", "--seconds", "0"], "--seconds"),
        (["127.0.0.1:9", "--bind", "127.0.0.1", "--number", "1 86"], "--number"),
        (["kanda:5060", "--bind", "127.0.0.1"], "a port goes with an IPv4 address"),
        (["127.0.0.1:9", "--bind", "192.0.2.1"], "cannot open UDP sockets on 192.0.2.1"),
        (["127.0.0.1:9", "--frobnicate"], "unrecognized"),
    ],
)
def test_usage_errors_exit_3(argv: list[str], says: str) -> None:
    cp = _cli(*argv)
    assert cp.returncode == 3, cp.stderr
    assert says in cp.stderr


def test_unknown_target_names_the_providers(tmp_path: Path) -> None:
    from tests.e2e import pbxdb

    db = pbxdb.create(tmp_path / "m.db", [pbxdb.Trunk("SIP-TRUNK-AAAA", "x", "100.102.2.2")])
    reg = tmp_path / "stations.yaml"
    reg.write_text("stations: []\n", encoding="utf-8")
    cp = _cli("kanda", "--db", str(db), "--registry", str(reg), "--bind", "127.0.0.1")
    assert cp.returncode == 3
    assert "no provider id, registry station or address" in cp.stderr
    assert "SIP-TRUNK-AAAA" in cp.stderr


def test_json_no_answer_on_loopback(tmp_path: Path) -> None:
    """A closed port on loopback: bounded give-up, one JSON document, exit 2."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))  # holds a port nobody answers on
    port = s.getsockname()[1]
    try:
        cp = _cli(f"127.0.0.1:{port}", "--bind", "127.0.0.1", "--seconds", "1", "--json")
    finally:
        s.close()
    doc = json.loads(cp.stdout)
    assert cp.returncode == 2
    assert doc["verdict"] == "no-answer" and doc["answered"] is False and doc["sip_status"] == 0
    assert set(doc["rtp"]) >= {"sent", "received", "loss", "jitter_ms", "rtt_ms"}
    assert doc["schema_version"] == 1 and doc["number"] == "186" and doc["bind"] == "127.0.0.1"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_masquerade_remedy_suggests_the_confirming_probes(lang: str) -> None:
    from sdp_guard.core.findings import Code, Finding, Severity
    from sdp_guard.core.messages import render

    f = Finding(
        Code.MASQUERADED, Severity.CRITICAL, provider="SIP-TRUNK-B", station="b",
        observed=OWN, masquerade="100.102.9.9", node="b-pbx",
    )  # fmt: skip
    _, remedy = render(f, lang)
    assert "`sdp-guard probe SIP-TRUNK-B`" in remedy
    assert "`sdp-guard probe SIP-TRUNK-B --sdp-address 100.102.9.9`" in remedy
