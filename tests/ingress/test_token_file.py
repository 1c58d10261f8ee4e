"""The run's WebChat token file: made once, 0600 from its first byte, kept, and refused when exposed."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from clawbus.bus.errors import ConfigError
from clawbus.ingress.http.token_file import ensure_token, read_token, token_path


@pytest.fixture
def no_umask() -> Iterator[None]:
    """A umask that masks nothing: the file's mode must come from how it is created, not from luck."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_the_token_is_made_once_private_and_kept_across_starts(tmp_path: Path, no_umask: None) -> None:
    path = token_path(tmp_path / "data")
    token, made = ensure_token(path)
    assert made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert ensure_token(path) == (token, False)  # a restart keeps it: open browsers stay signed in
    assert read_token(path) == token
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_two_starts_racing_agree_on_one_token(tmp_path: Path) -> None:
    path = token_path(tmp_path)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(ensure_token(path)[0])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(got)) == 1
    assert got[0] == read_token(path)


def test_a_token_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = token_path(tmp_path)
    ensure_token(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"may be read by others \(mode 0644\): delete it"):
        ensure_token(path)


def test_a_file_that_holds_no_token_is_refused(tmp_path: Path) -> None:
    path = token_path(tmp_path)
    path.write_text("hunter2\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="does not hold a token: delete it"):
        read_token(path)


def test_a_symlinked_token_file_is_not_followed(tmp_path: Path) -> None:
    real = token_path(tmp_path / "real")
    ensure_token(real)
    link = token_path(tmp_path)
    link.symlink_to(real)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        read_token(link)
