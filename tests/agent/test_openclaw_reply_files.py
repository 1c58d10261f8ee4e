"""The OpenClaw engine's reply files (issue 20) are read from its workspace folder, never outside it;
the answer's `MEDIA:` references by the folder's absolute path are made workspace-relative. The whole
way, through a real gateway, is in tests/pipeline/test_openclaw_through_the_bus.py."""

from __future__ import annotations

from pathlib import Path

from clawbus.agent.engines.openclaw.reply_files import FolderBytes, workspace_ref
from clawbus.agent.media_lines import WorkspaceFile, classify


async def test_a_file_in_the_folder_is_read_and_one_outside_it_is_not(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    (root / "out").mkdir(parents=True)
    (root / "out" / "chart.png").write_bytes(b"\x89PNG" + b"x" * 100)
    (tmp_path / "secret.txt").write_text("not for you")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    folder = FolderBytes(root)

    chart = await folder.read_raw("out/chart.png")
    assert chart is not None
    assert (chart.data[:4], chart.size, chart.truncated) == (b"\x89PNG", 104, False)
    cut = await folder.read_raw("out/chart.png", max_bytes=10)
    assert cut is not None
    assert (len(cut.data), cut.truncated) == (10, True)
    assert await folder.read_raw("../secret.txt") is None
    assert await folder.read_raw("link.txt") is None  # a link out of the folder names no file
    assert await folder.read_raw("out") is None
    assert await folder.read_raw("missing.png") is None


def test_an_absolute_path_in_the_workspace_becomes_a_workspace_file(tmp_path: Path) -> None:
    root = tmp_path / "openclaw-state" / "workspace"
    assert classify(workspace_ref(f"{root}/out/chart.png", root)) == WorkspaceFile("out/chart.png")
    assert workspace_ref("/etc/passwd", root) == "/etc/passwd"  # still refused by the staging rules
    assert workspace_ref("./chart.png", root) == "./chart.png"
