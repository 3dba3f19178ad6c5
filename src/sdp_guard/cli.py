"""Command line entry point. Only this module maps errors to exit codes and sets up logging.

Command modules are imported lazily (only the one that runs), so ``check --snapshot`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from sdp_guard import __version__

# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int,
# and may set EXIT_ON_INPUT_ERROR (check uses 3, the monitoring-plugin "unknown").
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "sdp_guard.commands.check",
        "find every cause of one-way audio (monitoring exit codes)",
    ),
    "demo": ("sdp_guard.commands.demo", "run check (and the sync plan) on a built-in demo station"),
    "snapshot": (
        "sdp_guard.commands.snapshot",
        "save the tailnet view to a file for offline check",
    ),
    "config": ("sdp_guard.commands.config", "show the effective configuration"),
    "daemon": ("sdp_guard.commands.daemon", "watch continuously; log changes; serve metrics"),
    "advertise": ("sdp_guard.commands.advertise", "publish our tailnet address (Mantela/YAML)"),
    "renumber": ("sdp_guard.commands.renumber", "guide or perform a peer's IPv4 edit (TC25)"),
    "sync": ("sdp_guard.commands.sync", "rewrite stale MikoPBX providers (plan, backup, undo)"),
    "backups": ("sdp_guard.commands.backups", "list the backups sync made"),
    "rollback": ("sdp_guard.commands.rollback", "restore providers from a sync backup"),
    "probe": ("sdp_guard.commands.probe", "call the peer's echo test; count RTP both ways"),
}

DESCRIPTION = """\
sdp-guard keeps calls between MikoPBX exchanges two-way when they are linked over Tailscale.

A shared Tailscale node can have another IPv4 in a peer's tailnet than in its owner's; its
tailscaled then NATs the packets but not the SIP/SDP inside them, so audio goes one way.
sdp-guard compares the MikoPBX providers, the registry of advertised addresses and the local
tailnet view, says what is wrong and what to do, and can fix the MikoPBX side.

start here:  sdp-guard demo          (no tailscaled, MikoPBX or root needed)
then:        sdp-guard check         (on your station; see `sdp-guard check --help`)

TC25 workflow / 手順:  check -> renumber -> sync (or sync --fallback media-address)
  prove it with a call / 通話で確認:  sdp-guard probe PROVIDER [--sdp-address ADDR]
  (one-way before the fix, two-way after / 修正前は片方向、修正後は双方向)
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """The terminal width as ``shutil.get_terminal_size`` finds it, without importing shutil.

    argparse builds a formatter on every ``add_argument``, and its default width imports shutil
    (with bz2, lzma, zlib: ~3 ms of every run, bench/check_startup.py).
    """

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    try:
        cols = int(os.environ["COLUMNS"])
        if cols > 0:
            return cols
    except (KeyError, ValueError):
        pass
    stdout = sys.__stdout__
    try:
        return os.get_terminal_size(stdout.fileno()).columns or 80 if stdout else 80
    except (AttributeError, ValueError, OSError):
        return 80


def _parser(selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdp-guard",
        description=DESCRIPTION,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"sdp-guard {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log detail on stderr (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (modname, helptext) in COMMANDS.items():
        if name == selected:
            mod = importlib.import_module(modname)
            p = sub.add_parser(
                name,
                help=helptext,
                description=mod.__doc__,
                formatter_class=_Formatter,
            )
            mod.add_arguments(p)
        else:
            sub.add_parser(name, help=helptext, add_help=False)
    return parser


def _selected(argv: Sequence[str]) -> str | None:
    for a in argv:
        if a in COMMANDS:
            return a
        if not a.startswith("-"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    selected = _selected(args_list)
    parser = _parser(selected)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        if e.code in (0, None):
            return 0
        if selected:
            mod = importlib.import_module(COMMANDS[selected][0])
            return int(getattr(mod, "EXIT_ON_USAGE", os.EX_USAGE))
        return os.EX_USAGE
    if not args.command:
        parser.print_help()
        return os.EX_USAGE
    mod = importlib.import_module(COMMANDS[args.command][0])
    # Configure logging only where it is used (or asked for): importing it costs `check`
    # start-up time; a stray warning still reaches stderr through logging's last-resort handler.
    if args.verbose or "logging" in sys.modules:
        import logging

        level = logging.WARNING - 10 * min(args.verbose, 2)
        logging.basicConfig(
            level=level, format="sdp-guard: %(levelname)s: %(message)s", stream=sys.stderr
        )
        for handler in logging.getLogger().handlers:
            handler.addFilter(_one_line)
    from sdp_guard.errors import Error, InputError

    # The one error boundary: an operator error is one clear message; anything else is a bug or
    # an input we did not foresee, still one line (the traceback only with -vv), never a crash.
    try:
        rc: int = mod.run(args)
        return rc
    except InputError as e:
        _print_error(e, args.verbose)
        return int(getattr(mod, "EXIT_ON_INPUT_ERROR", e.exit_code))
    except Error as e:
        _print_error(e, args.verbose)
        return int(getattr(mod, "EXIT_ON_ERROR", e.exit_code))
    except KeyboardInterrupt:
        print("sdp-guard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        _print_unexpected(args.command, e, args.verbose)
        return int(getattr(mod, "EXIT_ON_ERROR", EX_SOFTWARE))


EX_SOFTWARE = 70  # sysexits: internal software error


def _one_line(record: object) -> bool:
    """A logging filter: a message (with its arguments from outside) is one printable line."""
    from sdp_guard.core.text import sanitize_text

    getmessage = getattr(record, "getMessage", None)
    if getmessage is not None:
        record.msg = sanitize_text(getmessage())  # type: ignore[attr-defined]
        record.args = None  # type: ignore[attr-defined]
    return True


def _print_error(e: Exception, verbose: int = 0) -> None:
    from sdp_guard.core.text import sanitize_text

    if verbose >= 2:
        _traceback(e)
    msg = getattr(e, "message", str(e))
    hint = getattr(e, "hint", "")
    print(f"sdp-guard: error: {sanitize_text(msg)}", file=sys.stderr)
    if hint:
        print(f"  hint: {sanitize_text(hint)}", file=sys.stderr)


def _print_unexpected(command: str, e: Exception, verbose: int) -> None:
    from sdp_guard.core.text import sanitize_text

    if verbose >= 2:
        _traceback(e)
    detail = sanitize_text(str(e), 300)
    what = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
    where = _culprit(e)
    tail = "" if verbose >= 2 else "; run with -vv for the traceback"
    print(
        f"sdp-guard: error: {command} stopped on an unexpected {what}{where}{tail}",
        file=sys.stderr,
    )


def _culprit(e: BaseException) -> str:
    """The input the failure came from, when the exception names one (a file, a URL)."""
    from sdp_guard.core.text import sanitize_text

    name = getattr(e, "filename", None) or getattr(e, "url", None)
    return f" (reading {sanitize_text(name, 200)})" if isinstance(name, str) and name else ""


def _traceback(e: BaseException) -> None:
    import traceback

    traceback.print_exception(e, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
