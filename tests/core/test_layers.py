"""The import contract between the top-level units of ``sdp_guard``, from the source's AST.

Every module under ``src/sdp_guard`` belongs to one unit (its first path part: a package such as
``core`` or a module such as ``config``). The units have one declared order, lowest first; a unit
imports only units below it, so there are no cycles. ``core`` is pure and imports nothing of ours
but ``errors``. README.md ("Layout") and ``sdp_guard/__init__.py`` state the same order.

``python tests/core/test_layers.py`` prints the unit graph.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "sdp_guard"
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
# Lowest first: a unit may import only units before it.
ORDER = [
    "__init__",  # the version
    "errors",
    "core",  # pure: inputs -> findings -> plan
    "schemas",  # generated validators
    "files",  # capped file reads, safe YAML
    "config",
    "adapters",  # I/O
    "sync",
    "daemon",
    "demo",
    "commands",
    "cli",
    "__main__",
]
CORE_MAY_IMPORT = {"errors"}


def unit_of_module(name: str) -> str | None:
    """``sdp_guard.core.text`` -> ``core``; ``sdp_guard`` -> ``__init__``; others -> None."""
    parts = name.split(".")
    if parts[0] != "sdp_guard":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def unit_of_path(path: Path) -> str:
    first = path.relative_to(SRC).parts[0]
    return first.removesuffix(".py")


def imports_of(path: Path) -> set[str]:
    """Absolute module names a file imports (``from sdp_guard import config`` names the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (write sdp_guard.… in full)"
            assert node.module
            if node.module != "sdp_guard":
                out.add(node.module)
                continue
            for a in node.names:
                sub = SRC / a.name
                is_module = sub.is_dir() or sub.with_suffix(".py").exists()
                out.add(f"sdp_guard.{a.name}" if is_module else "sdp_guard")
    return out


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def unit_edges() -> dict[str, set[str]]:
    """unit -> the other units its modules import."""
    edges: dict[str, set[str]] = {}
    for path in sources():
        unit = unit_of_path(path)
        deps = edges.setdefault(unit, set())
        for m in imports_of(path):
            target = unit_of_module(m)
            if target is not None and target != unit:
                deps.add(target)
    return edges


def test_every_unit_is_declared() -> None:
    units = {unit_of_path(p) for p in sources()}
    assert units <= set(ORDER), f"undeclared units {sorted(units - set(ORDER))}"
    assert set(ORDER) <= units, f"declared units that do not exist {sorted(set(ORDER) - units)}"


def test_lower_units_never_import_higher_ones() -> None:
    bad = [
        f"{u} -> {d}"
        for u, deps in unit_edges().items()
        for d in sorted(deps)
        if ORDER.index(d) >= ORDER.index(u)
    ]
    assert not bad, f"imports against the order {' < '.join(ORDER)}: {bad}"


def test_core_imports_nothing_of_ours_but_errors() -> None:
    assert unit_edges()["core"] <= CORE_MAY_IMPORT


@pytest.mark.parametrize(
    "path", sources(), ids=lambda p: str(p.relative_to(SRC)) if isinstance(p, Path) else str(p)
)
def test_module_imports_follow_the_order(path: Path) -> None:
    """The same rule per file, so a failure names the module."""
    unit = unit_of_path(path)
    allowed = CORE_MAY_IMPORT if unit == "core" else set(ORDER[: ORDER.index(unit)])
    named = {unit_of_module(m) for m in imports_of(path)} - {None, unit}
    bad = named - allowed
    assert not bad, f"{path.relative_to(SRC)} ({unit}) imports units {sorted(b or '' for b in bad)}"


@pytest.mark.parametrize("path", sorted((SRC / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_does_no_io(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.split(".")[0] in IO_MODULES}
    assert not bad, f"core/{path.name} imports I/O modules {bad}"


def _stated_order(text: str) -> list[str]:
    """The ``a > b > c`` line (highest first, as the docs read) as a list, lowest first."""
    for line in text.splitlines():
        if "``__main__`` > ``cli``" in line or "`__main__` > `cli`" in line:
            names = [p.strip().strip("`").strip() for p in line.split(">")]
            return [n.split()[-1].strip("`.:") for n in names][::-1]
    return []


def test_package_docstring_and_readme_state_the_same_order() -> None:
    init = (SRC / "__init__.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    assert _stated_order(init) == ORDER, _stated_order(init)
    assert _stated_order(layout) == ORDER, _stated_order(layout)


def test_check_start_up_imports_no_dataclasses_logging_or_inspect(tmp_path: Path) -> None:
    """Bench figure 2: each of these costs a good part of the start-up budget of `check`."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(SRC.parent)}
    demo = subprocess.run(
        [sys.executable, "-m", "sdp_guard", "demo", "--keep", str(tmp_path)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert demo.returncode in (0, 1, 2), demo.stderr
    probe = (
        "import sys\n"
        "from sdp_guard.cli import main\n"
        "try:\n"
        f"    code = main(['check', '--db', {str(tmp_path / 'mikopbx.db')!r},"
        f" '--registry', {str(tmp_path / 'stations.yaml')!r},"
        f" '--snapshot', {str(tmp_path / 'tailnet-snapshot.json')!r}])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "import json\n"
        "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    code, modules = json.loads(r.stderr.strip().splitlines()[-1])
    assert code == 2, r.stdout  # the demo has critical findings: the check really ran
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & {"dataclasses", "logging", "inspect"}


if __name__ == "__main__":
    graph = unit_edges()
    print("units, lowest first:", " < ".join(ORDER))
    for u in ORDER:
        print(f"  {u} -> {', '.join(sorted(graph.get(u, set()), key=ORDER.index)) or '-'}")
