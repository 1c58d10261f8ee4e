"""What the CLI prints: progress steps, a summary table, one-line errors. The only place that prints."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator

from rich.console import Console as RichConsole
from rich.table import Table


class Console:
    """Human output on stdout (progress, tables) and errors on stderr."""

    def __init__(self, quiet: bool = False, *, json_errors: bool = False) -> None:
        self._out = RichConsole(highlight=False, soft_wrap=True)
        self._err = RichConsole(stderr=True, highlight=False, soft_wrap=True)
        self._quiet = quiet
        self._json_errors = json_errors

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Print `what…`, run the block, then `ok` with its duration (or `failed`)."""
        started = time.monotonic()
        if not self._quiet:
            self._out.print(f"[bold]•[/] {what} … ", end="")
        try:
            yield
        except BaseException:
            if not self._quiet:
                self._out.print("[red]failed[/]")
            raise
        if not self._quiet:
            self._out.print(f"[green]ok[/] [dim]({time.monotonic() - started:.1f}s)[/]")

    def summary(self, rows: list[tuple[str, str]], hint: str) -> None:
        """A two-column table of what runs where, then a hint line."""
        self._out.print()
        if self._out.is_terminal:
            table = Table(show_header=False, box=None, padding=(0, 2))
            table.add_column(no_wrap=True)
            table.add_column(overflow="fold")
            for name, value in rows:
                table.add_row(f"[bold]{name}[/]", value)
            self._out.print(table)
        else:  # piped or logged: whole lines, never cut or folded, easy to grep
            width = max(len(name) for name, _ in rows)
            for name, value in rows:
                self._out.print(f"  {name:<{width}}  {value}", markup=False, emoji=False)
        self._out.print()
        self._out.print(hint)

    def print(self, text: str) -> None:
        """A plain line on stdout (no markup)."""
        self._out.print(text, markup=False, emoji=False)

    def note(self, text: str) -> None:
        """A progress line on stderr (stdout stays clean for `--json`); silent when quiet."""
        if not self._quiet:
            self._err.print(f"  … {text}", markup=False, emoji=False, style="dim")

    def error(self, text: str) -> None:
        """A one-line error on stderr; with `--json`, `{"error": text}` on stdout, where the caller's
        parser reads."""
        if self._json_errors:
            self._out.print(json.dumps({"error": text}), markup=False, emoji=False, soft_wrap=True)
            sys.stdout.flush()
            return
        self._err.print(f"error: {text}", markup=False, emoji=False, style="red")
        sys.stderr.flush()
