"""The `mirror-kit` command: a thin layer over the Python API (every command mirrors a Journal method)."""

from __future__ import annotations

import sqlite3
import sys

import click

from ..errors import MirrorKitError, one_line
from .common import main as group

# Each module adds its commands to `group` when imported.
from . import store as _store  # noqa: E402,F401  isort: skip
from . import migrate as _migrate  # noqa: E402,F401  isort: skip
from . import imports as _imports  # noqa: E402,F401  isort: skip
from . import embed as _embed  # noqa: E402,F401  isort: skip
from . import export as _export  # noqa: E402,F401  isort: skip
from . import mirrorback as _mirrorback  # noqa: E402,F401  isort: skip
from . import analyze as _analyze  # noqa: E402,F401  isort: skip
from . import patterns as _patterns  # noqa: E402,F401  isort: skip
from . import tensions as _tensions  # noqa: E402,F401  isort: skip
from . import report as _report  # noqa: E402,F401  isort: skip
from . import serve as _serve  # noqa: E402,F401  isort: skip
from . import search as _search  # noqa: E402,F401  isort: skip
from . import commons as _commons  # noqa: E402,F401  isort: skip
from . import cohort as _cohort  # noqa: E402,F401  isort: skip
from . import compact as _compact  # noqa: E402,F401  isort: skip


def _hoist_db(argv: list[str]) -> list[str]:
    """Accept `--db PATH` anywhere (`mirror-kit stats --db x.db`), not only before the command."""
    out, front, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            out += argv[i:]
            break
        if a == "--db" and i + 1 < len(argv):
            front += [a, argv[i + 1]]
            i += 2
            continue
        if a.startswith("--db="):
            front.append(a)
        else:
            out.append(a)
        i += 1
    return front + out


def _one_line_warnings() -> None:
    """A warning is one `warning: ...` line, each said once; the numeric libraries' own warnings (a
    KMeans run not converging, a mean of an empty slice) describe internals, not the user's input."""
    import warnings

    for module in ("sklearn", "numpy", "scipy", "threadpoolctl", "joblib"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")
    said: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message).splitlines()[0] if str(message) else category.__name__
        if text not in said:
            said.add(text)
            click.echo(f"warning: {text}", err=True)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors are one line on stderr and a non-zero exit, never a traceback."""
    argv = _hoist_db(list(sys.argv[1:] if argv is None else argv))
    try:
        rv = group.main(args=argv, prog_name="mirror-kit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "mirror-kit"
        click.echo(f"error: {exc.format_message()} (see `{where} --help`)", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except MirrorKitError as exc:
        click.echo(f"error: {one_line(str(exc))}", err=True)  # a name holding a newline stays on the line
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except sqlite3.Error as exc:  # a SQLite failure no layer below explained: still one line
        from ..db import translate

        click.echo(f"error: {translate(exc)}", err=True)
        return 1
    return rv if isinstance(rv, int) else 0


def run() -> None:
    _one_line_warnings()
    sys.exit(main())


__all__ = ["main", "group", "run"]
