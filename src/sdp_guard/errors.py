"""One error root. Every error carries a message an operator can act on (and, where known, how to fix it).

    Error
    ├── ConfigError            the configuration file is unreadable or invalid         EX_CONFIG
    ├── InputError             an input cannot be used (exit 3 for check)              EX_DATAERR
    │   ├── RegistryError      stations.yaml: syntax, schema, duplicates
    │   ├── DatabaseError      the MikoPBX DB is missing, locked or foreign
    │   ├── TailnetError       LocalAPI unreachable, not running, or an unexpected answer
    │   └── SnapshotError      a snapshot file that is not one
    ├── ApiError               MikoPBX REST API said no or did not answer               EX_UNAVAILABLE
    ├── ConflictError          someone changed what we planned on (compare-and-swap)   EX_TEMPFAIL
    ├── LockedError            another sync holds the lock                              EX_TEMPFAIL
    ├── OutputError            a file we write cannot be (not a regular file, I/O)      EX_CANTCREAT
    ├── NoPermissionError      the state directory cannot be read by this user         EX_NOPERM
    └── UsageError             options that do not go together                          EX_USAGE

Exit codes are chosen in ``cli.py`` only.
"""

from __future__ import annotations

import os


class Error(Exception):
    """Base of every sdp-guard error."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(Error):
    """The configuration file is unreadable or invalid."""

    exit_code = os.EX_CONFIG


class InputError(Error):
    """An input (registry, DB, tailnet, snapshot) cannot be used."""

    exit_code = os.EX_DATAERR


class RegistryError(InputError):
    """The registry of advertised addresses is malformed."""


class DatabaseError(InputError):
    """The MikoPBX database cannot be read."""

    exit_code = os.EX_UNAVAILABLE


class TailnetError(InputError):
    """tailscaled's LocalAPI cannot be used."""

    exit_code = os.EX_UNAVAILABLE


class SnapshotError(InputError):
    """A snapshot file is not a valid sdp-guard snapshot."""


class ApiError(Error):
    """The MikoPBX REST API refused a request or did not answer."""

    exit_code = os.EX_UNAVAILABLE


class ConflictError(Error):
    """A provider changed between planning and writing."""

    exit_code = os.EX_TEMPFAIL


class LockedError(Error):
    """Another sdp-guard sync is running."""

    exit_code = os.EX_TEMPFAIL


class OutputError(Error):
    """A file sdp-guard writes cannot be written (or is not a regular file)."""

    exit_code = os.EX_CANTCREAT


class NoPermissionError(Error):
    """This user may not read what the command needs (the state directory)."""

    exit_code = os.EX_NOPERM


class UsageError(Error):
    """Options that do not go together."""

    exit_code = os.EX_USAGE
