"""Conventions shared by the commands that write (sync, rollback, renumber).

- ``--dry-run``: show what would be written, write nothing, exit as if done.
- ``--yes``/``-y``: write without asking; never prompts.
- ``--json``: one JSON document on stdout; progress, warnings and prompts go to stderr.
- Without ``--yes``: on a terminal the command asks first; without a terminal it does not wait
  for an answer that cannot come: it writes nothing, says so on stderr (\"add --yes\") and exits
  0, as a dry run would (the JSON document says ``"applied": false``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any, Literal

from sdp_guard import config as config_mod
from sdp_guard.commands._inputs import load_config

WRITE_OPTIONS_HELP = {
    "--dry-run": "show what would be written, and write nothing",
    "--yes": "write without asking (never prompts; scripts need it)",
    "--json": "one JSON document on stdout (messages stay on stderr)",
}

Decision = Literal["yes", "no_terminal", "declined"]


def add_write_options(g: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    g.add_argument("--dry-run", action="store_true", help=WRITE_OPTIONS_HELP["--dry-run"])
    g.add_argument("--yes", "-y", action="store_true", help=WRITE_OPTIONS_HELP["--yes"])
    g.add_argument("--json", action="store_true", help=WRITE_OPTIONS_HELP["--json"])


def write_config(args: argparse.Namespace) -> config_mod.Config:
    """The configuration with --api-url and --state-dir applied (sync, rollback, backups)."""
    cfg = load_config(args)
    return cfg.with_overrides(
        {
            "mikopbx.api_url": getattr(args, "api_url", None),
            "state_dir": getattr(args, "state_dir", None),
        }
    )


def write_target(cfg: config_mod.Config) -> Any:
    from sdp_guard.sync.service import Target

    return Target(
        api_url=cfg.settings.mikopbx_api_url,
        token_file=cfg.settings.mikopbx_api_token_file,
        state_dir=cfg.settings.state_dir,
    )


def confirm(prompt: str) -> bool:
    # The prompt goes to stderr, so stdout stays one clean document (--json, or a pipe).
    try:
        with contextlib.redirect_stdout(sys.stderr):
            answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes", "はい")


def decide(args: argparse.Namespace, prompt: str, no_terminal: str, declined: str) -> Decision:
    """Whether to write now: ``--yes``, else ask on a terminal, else refuse (never blocks)."""
    if args.yes:
        return "yes"
    if not sys.stdin.isatty():
        print(no_terminal, file=sys.stderr)
        return "no_terminal"
    if not confirm(prompt):
        print(declined, file=sys.stderr)
        return "declined"
    return "yes"


def emit_json(doc: dict[str, Any]) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False))


def stderr_line(msg: str) -> None:
    from sdp_guard.core.text import sanitize_text

    # Provider ids and journal fields come from outside: one printable line each.
    print(f"sdp-guard: {sanitize_text(msg)}", file=sys.stderr)


def stderr_warning(msg: str) -> None:
    stderr_line(f"warning: {msg}")
