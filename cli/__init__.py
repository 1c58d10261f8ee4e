"""The `clawbus` command line: the only package that prints."""

from __future__ import annotations

import time

# When this command began, before its imports: `up` says how long it took from here ("every stage ready
# in 4.1 s"). Not the process's start, which is earlier when a shell ran other commands in it first and
# then exec'd this one (`bash -c '… && clawbus up'`).
STARTED_AT = time.monotonic()

from clawbus.cli.main import main  # noqa: E402  # after the clock is read

__all__ = ["STARTED_AT", "main"]
