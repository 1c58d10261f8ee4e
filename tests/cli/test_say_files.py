"""`clawbus say --file`: a file that cannot be sent is refused before anything goes out, with one line
that says why (the file sent with a message, answered, is in tests/pipeline/test_media.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import free_port

CAPS = ("IMAGE", "AUDIO", "VIDEO", "DOCUMENT")


def _say(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: a file check must come first
    return subprocess.run(
        [sys.executable, "-m", "clawbus.cli", "say", *args, "--url", url, "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "CLAWBUS_WEBCHAT__TOKEN": "say-files-token-0123456789abcdef", **(env or {})},
    )


def test_a_missing_file_is_named_and_nothing_is_sent(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pdf"
    result = _say("see attached", "--file", str(missing))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: no such file: {missing}"


def test_a_file_over_the_largest_media_cap_is_refused_with_both_sizes(tmp_path: Path) -> None:
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"x" * 3000)
    caps = {f"CLAWBUS_MEDIA__{kind}_MAX_BYTES": "2048" for kind in CAPS}
    result = _say("--file", str(big), env=caps)
    assert result.returncode == 2
    assert f"{big} is 3 KB, over the 2 KB limit for files" in result.stderr
    assert "is 'clawbus up' running?" not in result.stderr  # refused before any connection


def test_say_with_neither_text_nor_file_says_what_to_give() -> None:
    result = _say("")
    assert result.returncode == 2
    assert "nothing to send" in result.stderr
