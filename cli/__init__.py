"""The `clawbus` command line: the only package that prints."""

from __future__ import annotations

from clawbus.cli.main import main

__all__ = ["main"]
