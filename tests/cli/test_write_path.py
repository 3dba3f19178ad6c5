"""Structure that keeps one write path: commands do not import one another, and only the write
service (sync/service.py) takes the lock, runs the engine or restores a backup."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sdp_guard"
# What only sync/ may use: writing MikoPBX or holding the sync lock.
WRITE_NAMES = {
    "sdp_guard.sync.engine": {"ApiSync", "rollback", "signals_deferred", "signals_raise"},
    "sdp_guard.sync.offline": {"apply_offline", "rollback_offline"},
    "sdp_guard.sync.backup": {"sync_lock"},
}


def imported(path: Path) -> list[tuple[str, set[str]]]:
    """(module, names) for every absolute import in ``path``, at any depth."""
    out: list[tuple[str, set[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, set()) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, {a.name for a in node.names}))
    return out


@pytest.mark.parametrize("path", sorted((SRC / "commands").glob("*.py")), ids=lambda p: p.name)
def test_a_command_imports_no_other_command(path: Path) -> None:
    bad = set()
    for module, names in imported(path):
        if module == "sdp_guard.commands":
            bad |= {n for n in names if not n.startswith("_")}
        elif module.startswith("sdp_guard.commands."):
            leaf = module.split(".")[2]
            if not leaf.startswith("_") and leaf != path.stem:
                bad.add(leaf)
    assert not bad, f"commands/{path.name} imports the command module(s) {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SRC.rglob("*.py") if p.parent.name != "sync"),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_the_write_service_writes(path: Path) -> None:
    bad = set()
    for module, names in imported(path):
        forbidden = WRITE_NAMES.get(module)
        if forbidden is not None and (not names or names & forbidden):
            bad.add(f"{module}:{','.join(sorted(names & forbidden)) or '*'}")
    assert not bad, f"{path.relative_to(SRC)} writes around sync/service.py: {sorted(bad)}"
