"""`python -m clawbus.cli`: the same as the `clawbus` command."""

from __future__ import annotations

from clawbus.cli.main import main

main()
