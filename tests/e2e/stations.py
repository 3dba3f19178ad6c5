"""The stations of one scenario: a lab, each side's MikoPBX DB, LocalAPI view and sdp-guard.

A call is placed the way the exchanges' configuration says (see pbxdb): the caller dials the
host of its provider toward the callee; the callee identifies the call by its source address
(the identify ``match`` of host + m_SipHosts); each side's SDP carries that provider's
``media_address`` or its own address.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import netlab, pbxdb, sipua, tailnet_docs

# Provider ids on every station: toward which peer.
TRUNK_TO = {"a": "SIP-TRUNK-A1A1A1A1", "b": "SIP-TRUNK-B2B2B2B2", "c": "SIP-TRUNK-C3C3C3C3"}
# What the operator wrote in A's trunk toward B; sdp-guard must keep it byte for byte.
A_TO_B_MANUAL = "[endpoint]\ncallerid = Station A <0311>\n[aor]\nqualify_timeout = 2.0\n"
SDP_GUARD_TIMEOUT = 30.0
MEASURED: list[str] = []  # "scenario: call description", shown in the terminal summary


@dataclasses.dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(self.stdout)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}); stderr: {self.stderr}\n{self.stdout}") from e
        return doc

    def codes(self, provider: str | None = None) -> set[str]:
        return {
            f["code"]
            for f in self.doc["findings"]
            if provider is None or f.get("provider") == provider
        }

    def finding(self, code: str) -> dict[str, Any]:
        found = [f for f in self.doc["findings"] if f["code"] == code]
        assert found, f"no {code} finding in {self.stdout}"
        return dict(found[0])


@dataclasses.dataclass
class Station:
    role: str
    dir: Path
    db: Path
    registry: Path
    config: Path
    socket: Path  # this station's tailscaled LocalAPI (the test server)
    api_url: str | None = None

    def tailnet_args(self) -> list[str]:
        return ["--tailscale-socket", str(self.socket)]

    def sdp_guard(self, *argv: str) -> Result:
        """Run the installed sdp-guard (a real process, as an operator would)."""
        env = {**os.environ, "NO_COLOR": "1", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        env.pop("LANGUAGE", None)
        cp = subprocess.run(
            [sys.executable, "-m", "sdp_guard", *argv],
            capture_output=True,
            text=True,
            timeout=SDP_GUARD_TIMEOUT,
            check=False,
            env=env,
            cwd=self.dir,
        )
        return Result(cp.returncode, cp.stdout, cp.stderr)

    def check(self) -> Result:
        return self.sdp_guard(
            "check",
            "--config", str(self.config),
            "--db", str(self.db),
            "--registry", str(self.registry),
            *self.tailnet_args(),
            "--lang", "en",
            "--json",
        )  # fmt: skip

    def sync(self, *extra: str) -> Result:
        assert self.api_url, "this station has no MikoPBX API server"
        return self.sdp_guard(
            "sync",
            "--config", str(self.config),
            "--db", str(self.db),
            "--registry", str(self.registry),
            *self.tailnet_args(),
            "--api-url", self.api_url,
            "--yes",
            *extra,
        )  # fmt: skip

    def rollback(self, *extra: str) -> Result:
        assert self.api_url, "this station has no MikoPBX API server"
        return self.sdp_guard(
            "rollback",
            "--config", str(self.config),
            "--api-url", self.api_url,
            "--state-dir", str(self.dir / "state"),
            *extra,
        )  # fmt: skip

    def provider(self, toward: str) -> pbxdb.ProviderView:
        return pbxdb.read(self.db, TRUNK_TO[toward])


def trunks(role: str, net: netlab.Tailnet, *, b_to_a_host: str | None = None) -> list[pbxdb.Trunk]:
    """Each station's providers, as its operator set them up while things worked."""
    if role == "a":
        return [
            pbxdb.Trunk(TRUNK_TO["b"], "station-b", netlab.B_SELF, manual=A_TO_B_MANUAL),
            pbxdb.Trunk(TRUNK_TO["c"], "station-c", netlab.C_SELF),
        ]
    if role == "b":
        host = b_to_a_host or net.a_seen_by_b
        return [
            pbxdb.Trunk(
                TRUNK_TO["a"],
                "station-a",
                host,
                extra_hosts=(host,),
                note="Trunk to station A over the tailnet",
            ),
            pbxdb.Trunk(TRUNK_TO["c"], "station-c", netlab.C_SELF),
        ]
    return [
        pbxdb.Trunk(TRUNK_TO["a"], "station-a", netlab.A_SELF),
        pbxdb.Trunk(TRUNK_TO["b"], "station-b", netlab.B_SELF),
    ]


@dataclasses.dataclass
class World:
    lab: netlab.Lab
    sipp: sipua.Sipp
    st: dict[str, Station]
    name: str = ""

    def seen_by(self, observer: str, role: str) -> str:
        """The address `observer`'s tailnet knows `role` by (what arrives as the source)."""
        if observer == "b" and role == "a":
            return self.lab.net.a_seen_by_b
        return self.lab.self_ip[role]

    def identify(self, callee: str, caller: str) -> pbxdb.ProviderView:
        """The callee's provider whose identify match holds the caller's source address."""
        src = self.seen_by(callee, caller)
        for toward in TRUNK_TO:
            if toward == callee:
                continue
            p = self.st[callee].provider(toward)
            if src in (p.host, *p.extra_hosts):
                return p
        raise AssertionError(f"station {callee.upper()} has no provider matching source {src}")

    def call(self, caller: str, callee: str, *, expect_setup: bool = True) -> sipua.CallResult:
        out = self.st[caller].provider(callee)
        caller_leg = sipua.Leg(caller, out.sdp_address(self.lab.self_ip[caller]))
        if expect_setup:
            inc = self.identify(callee, caller)
            callee_leg = sipua.Leg(callee, inc.sdp_address(self.lab.self_ip[callee]))
        else:
            callee_leg = sipua.Leg(callee, self.lab.self_ip[callee])
        r = self.sipp.call(
            self.lab,
            caller_leg,
            callee_leg,
            out.host,
            out.port,
            timeout=sipua.CALL_TIMEOUT if expect_setup else sipua.FAILED_CALL_TIMEOUT,
        )
        MEASURED.append(f"{self.name}: {r.describe()}")
        return r


@contextlib.contextmanager
def world(
    tmp: Path,
    net: netlab.Tailnet,
    *,
    name: str,
    b_to_a_host: str | None = None,
    api_roles: Sequence[str] = (),
) -> Iterator[World]:
    """Build the namespaces, DBs, LocalAPI servers and (optionally) MikoPBX API servers."""
    from tests.fakes.localapi import LocalAPIServer
    from tests.fakes.mikopbx_api import running_server

    registry = tmp / "stations.yaml"
    registry.write_text(tailnet_docs.REGISTRY_YAML, encoding="utf-8")
    st: dict[str, Station] = {}
    with contextlib.ExitStack() as stack:
        for role in ("a", "b", "c"):
            d = tmp / f"station-{role}"
            d.mkdir()
            db = pbxdb.create(d / "mikopbx.db", trunks(role, net, b_to_a_host=b_to_a_host))
            sock = d / "tailscaled.sock"
            stack.enter_context(
                LocalAPIServer(
                    str(sock), tailnet_docs.status(role, net), tailnet_docs.whois(role, net)
                )
            )
            st[role] = Station(role, d, db, registry, d / "config.yaml", sock)
            if role in api_roles:
                st[role].api_url = stack.enter_context(running_server(db)).url
            st[role].config.write_text(_config_yaml(st[role]), encoding="utf-8")
        lab = stack.enter_context(netlab.build(net))
        yield World(lab, sipua.Sipp(tmp), st, name)


def _config_yaml(s: Station) -> str:
    lines = [
        "# sdp-guard configuration of one emulated station (state stays in the test's tmp dir)",
        f'state_dir: "{s.dir / "state"}"',
        "mikopbx:",
        f'  db: "{s.db}"',
    ]
    if s.api_url:
        lines.append(f'  api_url: "{s.api_url}"')
    lines += [
        "tailscale:",
        f'  socket: "{s.socket}"',
        "registry:",
        f'  file: "{s.registry}"',
        "lang: en",
        "",
    ]
    return "\n".join(lines)
