"""Record what real tailscaled answers on its LocalAPI, for the fixtures the LocalAPI stand-in
(tests/fakes/localapi.py) is tested against (tests/tailnet/test_fake_matches_real.py).

    python -m tests.tailnet.record            # as root: rewrites tests/fixtures/tailscale-real/

Two nodes, station-a masqueraded toward station-b. Per version it writes:
  status-a.json, status-b.json      GET /localapi/v0/status on each node
  whois-masqueraded.json            A's whois of B (carries SelfNodeV4MasqAddrForThisPeer)
  whois-plain.json                  B's whois of A
  bus-4122.jsonl                    A's watch-ipn-bus?mask=4122: the initial line, then the lines
                                    up to the first that reports a masquerade change
  answers.json                      status and body of the error and permission cases, including
                                    watch-ipn-bus as root and as uid 65534 with and without bit 16
Addresses are lab addresses (100.64.0.0/10 tailnet, 10.77.0.0/16 underlay).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from . import lab as labmod

OUT = labmod.REPO / "tests" / "fixtures" / "tailscale-real"
A, B = "station-a", "station-b"
NOBODY = 65534
BUS_LINES_MAX = 30
BUS_LINE_MAX_BYTES = 1 << 20

# A tiny client for one LocalAPI request, run as the requesting uid (setpriv for non-root):
# prints {"status", "body"}; for a 200 stream, the body is its first line only.
_CLIENT = r"""
import http.client, json, socket, sys
path, url, headers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
class C(http.client.HTTPConnection):
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10); s.connect(path)
        self.sock = s
c = C("localhost", timeout=10)
c.request("GET", url, headers=headers)
r = c.getresponse()
body = r.readline(1 << 20) if r.status == 200 else r.read(1 << 16)
print(json.dumps({"status": r.status, "body": body.decode("utf-8", "replace")}))
"""

# (name, url, headers, uid): the cases whose answers the stand-in must reproduce.
CASES: list[tuple[str, str, dict[str, str], int]] = [
    ("status", "/localapi/v0/status", {"Host": labmod.LOCALAPI_HOST}, NOBODY),
    (
        "whois-unknown",
        "/localapi/v0/whois?addr=100.100.100.100",
        {"Host": labmod.LOCALAPI_HOST},
        NOBODY,
    ),
    (
        "referer",
        "/localapi/v0/status",
        {"Host": labmod.LOCALAPI_HOST, "Referer": "http://x/"},
        NOBODY,
    ),
    ("origin", "/localapi/v0/status", {"Host": labmod.LOCALAPI_HOST, "Origin": "http://x"}, NOBODY),
    ("bad-host", "/localapi/v0/status", {"Host": "example.com"}, NOBODY),
    ("unknown-path", "/localapi/v0/no-such-endpoint", {"Host": labmod.LOCALAPI_HOST}, 0),
    (
        "bus-4106-nobody",
        "/localapi/v0/watch-ipn-bus?mask=4106",
        {"Host": labmod.LOCALAPI_HOST},
        NOBODY,
    ),
    (
        "bus-4122-nobody",
        "/localapi/v0/watch-ipn-bus?mask=4122",
        {"Host": labmod.LOCALAPI_HOST},
        NOBODY,
    ),
    ("bus-4106-root", "/localapi/v0/watch-ipn-bus?mask=4106", {"Host": labmod.LOCALAPI_HOST}, 0),
]


def request_as(uid: int, sock: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, "-c", _CLIENT, sock, url, json.dumps(headers)]
    if uid != 0:
        argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    if cp.returncode != 0:
        raise labmod.LabError(f"LocalAPI request {url} as uid {uid} failed: {cp.stderr[-1000:]}")
    doc: dict[str, Any] = json.loads(cp.stdout)
    return doc


def answers(sock: str) -> list[dict[str, Any]]:
    out = []
    for name, url, headers, uid in CASES:
        r = request_as(uid, sock, url, headers)
        # Keep a 200's body out: it is a document recorded on its own (or a stream line).
        out.append(
            {
                "case": name,
                "url": url,
                "headers": headers,
                "uid": uid,
                "status": r["status"],
                "body": r["body"] if r["status"] != 200 else None,
            }
        )
    return out


class BusReader:
    def __init__(self, sock: str, mask: int) -> None:
        self.conn = labmod._UnixHTTP(sock, 15.0)
        self.conn.request(
            "GET", f"/localapi/v0/watch-ipn-bus?mask={mask}", headers={"Host": labmod.LOCALAPI_HOST}
        )
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise labmod.LabError(f"watch-ipn-bus answered {self.resp.status}")

    def line(self) -> dict[str, Any]:
        raw = self.resp.readline(BUS_LINE_MAX_BYTES)
        if not raw:
            raise labmod.LabError("the bus stream ended")
        doc: dict[str, Any] = json.loads(raw)
        return doc

    def close(self) -> None:
        self.conn.close()


def record_version(version: str, work: Path, out: Path) -> None:
    d = work / f"lab-{version}"
    subprocess.run(
        [str(labmod.REPO / "scripts" / "tailnet-lab"), "up", str(d), A, B, "--version", version],
        check=True,
        capture_output=True,
        timeout=600,
    )
    try:
        lab = labmod.Lab.load(d)
        sa, sb = lab.node(A)["socket"], lab.node(B)["socket"]
        bus = BusReader(sa, 4122)
        lines = [bus.line()]
        masq = "100.102.9.9"
        labmod.masquerade(d, A, B, masq)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(lines) < BUS_LINES_MAX:
            n = bus.line()
            lines.append(n)
            blob = json.dumps(n)
            if masq in blob:
                break
        bus.close()
        b_addr = lab.peers_seen(A)[B]
        a_addr = lab.peers_seen(B)[A]
        docs = {
            "status-a.json": labmod.localapi(sa, "/localapi/v0/status"),
            "status-b.json": labmod.localapi(sb, "/localapi/v0/status"),
            "whois-masqueraded.json": labmod.localapi(
                sa, "/localapi/v0/whois?addr=" + urllib.parse.quote(b_addr)
            ),
            "whois-plain.json": labmod.localapi(
                sb, "/localapi/v0/whois?addr=" + urllib.parse.quote(a_addr)
            ),
        }
        ans = answers(sa)
    finally:
        labmod.down(d)
    out.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (out / name).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    (out / "bus-4122.jsonl").write_text(
        "".join(json.dumps(n, sort_keys=True) + "\n" for n in lines)
    )
    (out / "answers.json").write_text(json.dumps(ans, indent=1) + "\n")
    for f in out.iterdir():
        # NoPrivateKeys (16) redacts keys to zeros; anything else is a real key.
        if re.search(r"priv[a-z]*:(?!0+\b)[0-9a-f]", f.read_text()):
            raise labmod.LabError(f"{f} holds a private key: refusing to keep it")


def record_all(out: Path = OUT) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"sdpg-record-{os.getpid()}-", dir="/tmp"))
    work.chmod(0o755)
    try:
        for v in labmod.VERSIONS:
            record_version(v, work, out / f"v{v}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    record_all()
    print(f"recorded into {OUT}")
