"""The MikoPBX module zip built by scripts/build-module-zip."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build-module-zip"
MODULE = ROOT / "module"

REQUIRED = {
    "module.json",
    "Setup/PbxExtensionSetup.php",
    "Lib/SdpGuardConf.php",
    "Messages/en.php",
    "Messages/ja.php",
    "Messages/ru.php",
    "App/Module.php",
    "App/Controllers/ModuleSdpGuardController.php",
    "App/Views/ModuleSdpGuard/index.volt",
    "Models/ModuleSdpGuard.php",
}


def build(out: Path, source: Path = MODULE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "ModuleSdpGuard.zip"
    r = build(out)
    assert r.returncode == 0, r.stderr
    return out


def files_in(zf: zipfile.ZipFile) -> set[str]:
    return {n for n in zf.namelist() if not n.endswith("/")}


def test_module_json_is_at_the_root_with_the_fields_mikopbx_reads(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        meta = json.loads(zf.read("module.json"))
    # GetMetadataFromModulePackageAction reads module.json at the zip root and needs
    # moduleUniqueID; PbxExtensionSetupBase reads the other four without defaults.
    assert meta["moduleUniqueID"] == "ModuleSdpGuard"
    for key in ("developer", "support_email", "version", "min_pbx_version"):
        assert isinstance(meta[key], str) and meta[key], key
    assert meta["version"] != "%ModuleVersion%"
    assert all(int(p) >= 0 for p in meta["min_pbx_version"].split("."))


def test_required_files_are_packed_unchanged(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        names = files_in(zf)
        assert names >= REQUIRED
        for name in names:
            assert zf.read(name) == (MODULE / name).read_bytes(), name
    shipped = {p.relative_to(MODULE).as_posix() for p in MODULE.rglob("*") if p.is_file()}
    assert names == shipped


def test_no_tests_or_stubs_are_packed(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        for name in zf.namelist():
            lowered = name.lower()
            assert "test" not in lowered, name
            assert "stub" not in lowered, name
            assert "phpunit" not in lowered, name
            assert not name.startswith("/") and ".." not in name.split("/"), name
        for name in files_in(zf):
            assert b"namespace MikoPBX\\" not in zf.read(name), f"{name} defines a MikoPBX class"


def test_litter_in_the_source_tree_is_left_out(tmp_path: Path) -> None:
    src = tmp_path / "module"
    shutil.copytree(MODULE, src)
    (src / "Lib" / "SdpGuardConf.php~").write_text("backup")
    (src / ".DS_Store").write_text("x")
    (src / "tests").mkdir()
    (src / "tests" / "ConfTest.php").write_text("<?php")
    (src / "Lib" / "ConfTest.php").write_text("<?php")
    out = tmp_path / "m.zip"
    assert build(out, src).returncode == 0
    with zipfile.ZipFile(out) as zf:
        packed = files_in(zf)
    assert "Lib/SdpGuardConf.php" in packed
    assert (
        not {"Lib/SdpGuardConf.php~", ".DS_Store", "tests/ConfTest.php", "Lib/ConfTest.php"}
        & packed
    )


def test_two_builds_give_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    assert build(again).returncode == 0
    assert (
        hashlib.sha256(again.read_bytes()).hexdigest()
        == hashlib.sha256(built.read_bytes()).hexdigest()
    )
    with zipfile.ZipFile(built) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(2026, 1, 1, 0, 0, 0)}
    # Directories 755, files 644: the web server must read them, nothing is executable.
    for i in infos:
        assert (i.external_attr >> 16) & 0o777 == (0o755 if i.is_dir() else 0o644), i.filename


def test_every_packed_directory_has_its_own_entry(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        names = set(zf.namelist())
    for name in names:
        parts = name.rstrip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            assert "/".join(parts[:i]) + "/" in names, name


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip not installed")
def test_unzip_accepts_it(built: Path, tmp_path: Path) -> None:
    r = subprocess.run(["unzip", "-t", str(built)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    subprocess.run(["unzip", "-q", str(built), "-d", str(tmp_path / "x")], check=True)
    assert (tmp_path / "x" / "module.json").is_file()


def test_a_broken_module_json_stops_the_build(tmp_path: Path) -> None:
    src = tmp_path / "module"
    shutil.copytree(MODULE, src)
    meta = json.loads((src / "module.json").read_text())
    meta["moduleUniqueID"] = "ModuleOther"
    (src / "module.json").write_text(json.dumps(meta))
    r = build(tmp_path / "m.zip", src)
    assert r.returncode != 0
    assert "moduleUniqueID must be ModuleSdpGuard" in r.stderr
    assert not (tmp_path / "m.zip").exists()


def test_a_missing_required_file_stops_the_build(tmp_path: Path) -> None:
    src = tmp_path / "module"
    shutil.copytree(MODULE, src)
    (src / "Messages" / "ru.php").unlink()
    r = build(tmp_path / "m.zip", src)
    assert r.returncode != 0
    assert "Messages/ru.php" in r.stderr
