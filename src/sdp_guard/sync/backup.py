"""The sync lock and the backup store under the state directory.

- ``<state_dir>/sync.lock``: ``fcntl.flock`` (one sync or rollback at a time; busy → LockedError,
  exit EX_TEMPFAIL).
- ``<state_dir>/backups/`` (mode 0700): one ``<id>.json`` journal per run (mode 0600) holding the
  full prior state of every provider about to change (minus the SIP secret, which sync never
  writes), the plan, and the state of each step; ``--offline-db`` runs also keep ``<id>.db``, an
  SQLite online-backup copy of the whole DB (0600: it holds SIP secrets).

Every write is a new file written with mode 0600, fsynced and renamed into place, then the
directory is fsynced, so a crash leaves either the old or the new journal, never half of one.
Per-provider step states (writing → written → verified …) are appended, fsynced, to
``<id>.states`` (one JSON line each) instead of rewriting the whole journal, which would make a
sync quadratic in the number of providers; ``load()`` replays them (a torn last line from a crash
is ignored: its step had not been recorded), and the next full save folds them in.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sdp_guard.errors import Error, InputError, LockedError, NoPermissionError

SCHEMA_VERSION = 1
SECRET_KEYS = ("secret",)


def ensure_private_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


@contextlib.contextmanager
def sync_lock(state_dir: str) -> Iterator[None]:
    """Hold ``<state_dir>/sync.lock`` for the duration (non-blocking)."""
    try:
        ensure_private_dir(state_dir)
        fd = os.open(os.path.join(state_dir, "sync.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise Error(
            f"cannot use state directory {state_dir}: {e.strerror}",
            "run as root, or set state_dir in the configuration to a directory you own",
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"another sdp-guard sync or rollback is running (lock {state_dir}/sync.lock)",
                "wait for it to finish, then try again",
            ) from None
        yield
    finally:
        os.close(fd)


def redact(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in SECRET_KEYS}


def write_private(path: str, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``; the file is 0600 from its first byte."""
    from sdp_guard.adapters.atomic import write_atomic

    write_atomic(path, data, 0o600)


@dataclass
class Backup:
    """One run's journal. ``doc`` is the JSON document; ``save()`` persists it."""

    store: BackupStore
    id: str
    doc: dict[str, Any]

    @property
    def path(self) -> str:
        return os.path.join(self.store.dir, f"{self.id}.json")

    @property
    def db_copy(self) -> str:
        return os.path.join(self.store.dir, f"{self.id}.db")

    @property
    def status(self) -> str:
        return str(self.doc.get("status", "?"))

    def set_status(self, status: str) -> None:
        self.doc["status"] = status
        self.doc.setdefault("history", []).append([status, _now()])
        self.save()

    @property
    def states_path(self) -> str:
        return os.path.join(self.store.dir, f"{self.id}.states")

    def set_provider(self, pid: str, state: str) -> None:
        self.doc["providers"][pid]["state"] = state
        line = json.dumps({"provider": pid, "state": state}, ensure_ascii=False) + "\n"
        fd = os.open(self.states_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def save(self) -> None:
        # Compact JSON keeps json's C encoder (`jq .` pretty-prints it). The journal now holds
        # every step state, so the appended states are folded in and dropped.
        text = json.dumps(self.doc, ensure_ascii=False, sort_keys=True)
        write_private(self.path, text.encode("utf-8") + b"\n")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.states_path)

    def replay_states(self) -> None:
        from sdp_guard.adapters.bounded import read_file

        try:
            lines = read_file(self.states_path).split(b"\n")
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            raise InputError(f"step states {self.states_path} are unreadable: {e}") from e
        for line in lines:
            try:
                rec = json.loads(line)
                entry = self.doc["providers"][rec["provider"]]
                if isinstance(entry, dict) and isinstance(rec["state"], str):
                    entry["state"] = rec["state"]
            except (ValueError, KeyError, TypeError, RecursionError):
                continue  # a torn last line (even mid-character), or an empty one


class BackupStore:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.dir = os.path.join(state_dir, "backups")
        self.damaged: list[tuple[str, str]] = []  # (file, why) found by the last list()

    def create(self, mode: str, target: str, plan: dict[str, Any]) -> Backup:
        ensure_private_dir(self.state_dir)
        ensure_private_dir(self.dir)
        base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        bid = base
        n = 1
        while os.path.exists(os.path.join(self.dir, f"{bid}.json")):
            n += 1
            bid = f"{base}-{n}"
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "id": bid,
            "created": _now(),
            "mode": mode,
            "target": target,
            "status": "planned",
            "history": [["planned", _now()]],
            "plan": plan,
            "providers": {},
            "local_net": None,
        }
        return Backup(self, bid, doc)

    def _names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        except PermissionError as e:
            raise NoPermissionError(
                f"cannot read the backups in {self.dir}: {e.strerror}",
                "run as root (sudo), or set state_dir to a directory you can read",
            ) from e
        except OSError as e:
            raise InputError(f"cannot read the backups in {self.dir}: {e.strerror or e}") from e

    def list(self) -> list[Backup]:
        """Every readable journal; damaged ones are left out (``damaged`` names them)."""
        out = []
        self.damaged = []
        for name in self._names():
            if name.endswith(".json"):
                try:
                    out.append(self.load(name[: -len(".json")]))
                except NoPermissionError:
                    raise
                except InputError as e:
                    self.damaged.append((name, e.message))
        return out

    def load(self, bid: str) -> Backup:
        from sdp_guard.adapters.bounded import TooLarge, loads_json, read_file

        path = os.path.join(self.dir, f"{bid}.json")
        if "/" in bid or bid.startswith("."):
            raise InputError(
                f"no backup {bid!r} in {self.dir}", "list them with `sdp-guard backups`"
            )
        try:
            doc = loads_json(read_file(path), f"backup {path}")
        except FileNotFoundError:
            self._names()  # says so when the directory is not ours to read
            raise InputError(
                f"no backup {bid!r} in {self.dir}", "list them with `sdp-guard backups`"
            ) from None
        except PermissionError as e:
            raise NoPermissionError(
                f"cannot read backup {path}: {e.strerror}",
                "run as root (sudo), or set state_dir to a directory you can read",
            ) from e
        except (OSError, TooLarge) as e:
            raise InputError(f"backup {path} is unreadable: {e}") from e
        except ValueError as e:
            raise InputError(f"backup {path} is damaged: {e}") from e
        problem = journal_problem(doc)
        if problem:
            raise InputError(f"{path} is not a usable sdp-guard backup: {problem}")
        backup = Backup(self, bid, doc)
        backup.replay_states()
        return backup


def journal_problem(doc: Any) -> str:
    """Pure: what makes ``doc`` unusable as a journal ("" when nothing does)."""
    if not isinstance(doc, dict) or doc.get("schema_version") != SCHEMA_VERSION:
        return f"not a journal of schema_version {SCHEMA_VERSION}"
    for key, kind in (("id", str), ("status", str), ("mode", str), ("providers", dict)):
        if not isinstance(doc.get(key), kind):
            return f"'{key}' is missing or not a {kind.__name__}"
    for pid, entry in doc["providers"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("state", ""), str):
            return f"providers[{pid!r}] is not an object with a state"
        written = entry.get("state") in ("writing", "written", "verified")
        for key in ("before", "after", "read_back"):
            # An --offline-db journal restores from its DB copy: no "before" per provider.
            need = written and (key == "after" or (key == "before" and doc["mode"] != "offline-db"))
            if (need or key in entry) and not isinstance(entry.get(key), dict | None):
                return f"providers[{pid!r}].{key} is not an object"
            if need and not isinstance(entry.get(key), dict):
                return f"providers[{pid!r}] has no '{key}'"
        fields = entry.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            return f"providers[{pid!r}].fields is not a list of names"
    if not isinstance(doc.get("local_net"), dict | None):
        return "'local_net' is not an object"
    if not isinstance(doc.get("history", []), list):
        return "'history' is not a list"
    return ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
