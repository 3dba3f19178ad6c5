"""The LocalAPI stand-in (tests/fakes/localapi.py) and the documents the other tests feed it
(sdp_guard.demo.wire, tests/fixtures/tailscale/) against what real tailscaled v1.82.5 and
v1.102.5 answered (tests/fixtures/tailscale-real/, recorded by tests/tailnet/record.py; the last
test re-records and compares, so the fixtures cannot drift from the real thing).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sdp_guard.demo import wire
from tests.fakes import localapi as fake_localapi
from tests.fakes.localapi import LocalAPIServer
from tests.fixtures import fixture

from . import lab as labmod
from . import record

# Maps keyed by ids (node keys, user ids): their values are compared, not their keys.
MAPS = {"Peer", "User", "UserProfiles"}
# Set only when a node is shared across tailnets (ipnstate.PeerStatus, tailcfg.Hostinfo; omitted
# when empty, design/tailscale.md §3): testcontrol has no node sharing, so no real answer has them.
SHARING_ONLY = {"ShareeNode", "AltSharerUserID"}
# tailcfg.Node fields the lab's control server leaves zero, so tailscaled omits them (omitzero):
# testcontrol creates nodes without them (tstest/integration/testcontrol/testcontrol.go:1066-1081
# at v1.102.5); real control sets both.
LAB_ZERO = {"KeyExpiry", "Created"}
# The stand-in speaks the newest generation (wire.VERSION 1.100): checked strictly against
# v1.102.5; against v1.82.5 only fields that version does not have yet may be missing.
NEWEST = labmod.VERSIONS[-1]


def real(version: str, name: str) -> Any:
    text = fixture("tailscale-real", f"v{version}", name).read_text(encoding="utf-8")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines()]
    return json.loads(text)


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def mismatches(fake: Any, real_doc: Any, path: str = "$") -> list[str]:
    """Every value the fake sets must exist in the real document at the same place with the
    same JSON type (a null or empty fake value claims nothing)."""
    if fake is None or fake == [] or fake == {} or fake is False:
        return []
    if real_doc is None:
        return [f"{path}: the stand-in has a {_kind(fake)}, real tailscaled null or nothing"]
    if _kind(fake) != _kind(real_doc):
        return [f"{path}: stand-in {_kind(fake)}, real {_kind(real_doc)}"]
    out: list[str] = []
    if isinstance(fake, dict):
        if path.rsplit(".", 1)[-1] in MAPS:
            if not real_doc:
                return [f"{path}: real map is empty"]
            sample = next(iter(real_doc.values()))
            for v in fake.values():
                out += mismatches(v, sample, f"{path}[*]")
            return out
        for k, v in fake.items():
            if k in SHARING_ONLY or k in LAB_ZERO:
                continue
            if k not in real_doc:
                if v not in (None, [], {}):
                    out.append(f"{path}.{k}: real tailscaled has no such field")
                continue
            out += mismatches(v, real_doc[k], f"{path}.{k}")
    elif isinstance(fake, list) and real_doc:
        for v in fake:
            out += mismatches(v, real_doc[0], f"{path}[]")
    return out


def _root_or_skip() -> None:
    if os.geteuid() != 0:
        msg = "needs root (requests as uid 65534 through setpriv)"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix=f"sdpg-fake-{os.getpid()}-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("version", labmod.VERSIONS)
def test_stand_in_answers_every_recorded_case_like_real_tailscaled(
    version: str, public_dir: Path
) -> None:
    """Same status and error text for the same request from the same uid, including the 403 of
    v1.82 to a non-writer watching the bus without NotifyNoPrivateKeys."""
    _root_or_skip()
    answers = real(version, "answers.json")
    sock = str(public_dir / "tailscaled.sock")
    with LocalAPIServer(sock, real(version, "status-a.json"), version=version) as srv:
        srv.initial = real(version, "bus-4122.jsonl")[:1]
        for a in answers:
            got = record.request_as(a["uid"], sock, a["url"], a["headers"])
            assert got["status"] == a["status"], (a, got)
            if a["status"] != 200:
                assert got["body"] == a["body"], (a, got)
        srv.close_streams()
    by_case = {a["case"]: a["status"] for a in answers}
    assert by_case["bus-4106-nobody"] == (403 if version == "1.82.5" else 200)
    assert by_case["bus-4122-nobody"] == 200


def shape_problems(fake: Any, version: str, pick: Callable[[str], Any]) -> list[str]:
    """Mismatches of FAKE against real tailscaled VERSION's answer (pick(version)); for an
    older version, a field that only the newest has is not a problem."""
    found = mismatches(fake, pick(version))
    if version == NEWEST:
        return found
    newest = set(mismatches(fake, pick(NEWEST)))
    return [m for m in found if not m.endswith("no such field") or m in newest]


A_NODE = wire.Node("station-a", "100.101.1.1", "fd7a:115c:a1e0::1", node_id=1)
B_NODE = wire.Node("station-b", "100.102.2.2", "fd7a:115c:a1e0::2", node_id=2)


@pytest.mark.parametrize("version", labmod.VERSIONS)
def test_stand_in_documents_have_the_real_shape(version: str) -> None:
    a, b = A_NODE, B_NODE
    assert shape_problems(wire.status(a, [b]), version, lambda v: real(v, "status-a.json")) == []
    assert (
        shape_problems(
            wire.whois(b, "100.102.9.9"), version, lambda v: real(v, "whois-masqueraded.json")
        )
        == []
    )
    assert shape_problems(wire.whois(a), version, lambda v: real(v, "whois-plain.json")) == []
    # Recorded before the masquerade was set: the first line, then the change.
    first = fake_localapi.notify_netmap(a, [(b, None)])
    assert shape_problems(first, version, lambda v: real(v, "bus-4122.jsonl")[0]) == []

    def last_change(v: str) -> Any:
        return [n for n in real(v, "bus-4122.jsonl") if n.get("PeersChanged") or n.get("NetMap")][
            -1
        ]

    if version == "1.82.5":
        # Up to v1.98 a change arrives as a whole NetMap (design/tailscale.md §5).
        assert last_change(version).get("NetMap") and not last_change(version).get("PeersChanged")
        change = {**fake_localapi.notify_netmap(a, [(b, "100.102.9.9")]), "State": None}
        assert shape_problems(change, version, lambda v: real(v, "bus-4122.jsonl")[-1]) == []
    else:
        assert last_change(version).get("PeersChanged") and not last_change(version).get("NetMap")
        change = fake_localapi.notify_peers_changed([(b, "100.102.9.9")])
        assert shape_problems(change, version, last_change) == []


def test_real_answers_carry_every_field_sdp_guard_reads() -> None:
    """adapters/localapi.py reads these; both versions must serve them."""
    for v in labmod.VERSIONS:
        st = real(v, "status-a.json")
        assert st["BackendState"] == "Running" and st["TailscaleIPs"] and st["Self"]["HostName"]
        for p in st["Peer"].values():
            for k in ("HostName", "DNSName", "TailscaleIPs", "Online", "ID"):
                assert k in p, (v, k)
        w = real(v, "whois-masqueraded.json")["Node"]
        for k in ("Addresses", "StableID", "Name", "Hostinfo", "SelfNodeV4MasqAddrForThisPeer"):
            assert k in w, (v, k)
        assert "SelfNodeV4MasqAddrForThisPeer" not in real(v, "whois-plain.json")["Node"]


@pytest.mark.parametrize("version", labmod.VERSIONS)
@pytest.mark.parametrize(
    ("name", "real_name"),
    [
        ("status-sharee.json", "status-b.json"),
        ("status-sharer.json", "status-a.json"),
        ("whois-masqueraded.json", "whois-masqueraded.json"),
        ("whois-plain.json", "whois-plain.json"),
    ],
)
def test_vendored_fixtures_have_the_real_shape(version: str, name: str, real_name: str) -> None:
    doc = json.loads(fixture("tailscale", name).read_text(encoding="utf-8"))
    assert shape_problems(doc, version, lambda v: real(v, real_name)) == []


@pytest.mark.root
@pytest.mark.netns
@pytest.mark.slow
def test_recorded_fixtures_are_what_real_tailscaled_answers_now(
    tailnet_prerequisites: None, version: str, world_dir: Path
) -> None:
    out = world_dir / "recorded"
    record.record_version(version, world_dir, out)
    assert json.loads((out / "answers.json").read_text()) == real(version, "answers.json")
    for name in ("status-a.json", "status-b.json", "whois-masqueraded.json", "whois-plain.json"):
        now = json.loads((out / name).read_text())
        assert mismatches(now, real(version, name)) == [], name
        assert mismatches(real(version, name), now) == [], name
