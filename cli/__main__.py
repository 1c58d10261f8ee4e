"""`python -m clawbus.cli`: the same as the `clawbus` command."""

from __future__ import annotations

from .main import main

main()
