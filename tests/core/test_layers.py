"""The layering contract: cli > commands > daemon > adapters > core; core does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sdp_guard"
IO_MODULES = {
    "sqlite3",
    "socket",
    "http",
    "urllib",
    "pyroute2",
    "prometheus_client",
    "subprocess",
    "requests",
}
ORDER = ["core", "adapters", "sync", "daemon", "commands"]  # lower may not import higher


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize("path", sorted((SRC / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_does_no_io(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.split(".")[0] in IO_MODULES}
    assert not bad, f"core/{path.name} imports I/O modules {bad}"


@pytest.mark.parametrize(
    "path",
    sorted(p for layer in ORDER for p in (SRC / layer).rglob("*.py") if (SRC / layer).exists()),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_lower_layers_do_not_import_higher_ones(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    higher = [*ORDER[ORDER.index(layer) + 1 :], "cli"]
    bad = {m for m in imports_of(path) if any(m.startswith(f"sdp_guard.{h}") for h in higher)}
    assert not bad, f"{path.relative_to(SRC)} ({layer}) imports higher layers {bad}"
