"""The workspace sync plans (pure): what a pull writes, what a push changes, how two edits merge."""

from __future__ import annotations

from clawbus.agent.engines.openclaw_state.workspace_plan import (
    BaseFile,
    PushStep,
    merge_text,
    plan_pull,
    plan_push,
    resolve_delete_conflict,
    resolve_write_conflict,
)


def test_a_pull_writes_what_differs_and_removes_what_another_session_deleted() -> None:
    plan = plan_pull(
        {"SOUL.md": "calm", "MEMORY.md": "new"},
        {"MEMORY.md": "old", "stale.md": "x"},
        synced={"MEMORY.md": "old", "stale.md": "x"},
    )
    assert dict(plan.write) == {"SOUL.md": "calm", "MEMORY.md": "new"}
    assert plan.remove == ("stale.md",)


def test_a_pull_leaves_a_running_turns_unpushed_edits_alone() -> None:
    plan = plan_pull(
        {"MEMORY.md": "old", "notes.md": "n"},
        {"MEMORY.md": "edited by a running turn", "notes.md": "edited too"},
        synced={"MEMORY.md": "old", "notes.md": "n", "gone.md": "g"},
    )
    assert dict(plan.write) == {}
    assert plan.kept == ("MEMORY.md", "notes.md")


def test_a_pull_keeps_the_files_openclaw_made_that_were_never_synced() -> None:
    # OpenClaw writes its starter files at start; removing them makes it refuse turns ("workspace vanished")
    plan = plan_pull({"SOUL.md": "calm"}, {"AGENTS.md": "# starter", "BOOTSTRAP.md": "hi"}, synced={})
    assert dict(plan.write) == {"SOUL.md": "calm"}
    assert plan.remove == ()


def test_a_push_carries_only_the_turns_edits_creations_and_deletions() -> None:
    base = {
        "SOUL.md": BaseFile("calm", "v1"),
        "MEMORY.md": BaseFile("a", "v2"),
        "old.md": BaseFile("x", "v3"),
    }
    steps = plan_push(base, {"SOUL.md": "calm", "MEMORY.md": "a\nb", "new.md": "hi"})
    assert steps == [
        PushStep("write", "MEMORY.md", "a\nb", BaseFile("a", "v2")),
        PushStep("write", "new.md", "hi", None),
        PushStep("delete", "old.md", base=BaseFile("x", "v3")),
    ]


def test_edits_to_different_lines_merge_cleanly() -> None:
    base = "# Memory\n- likes tea\n\n- lives in Oslo\n"
    ours = "# Memory\n- likes green tea\n\n- lives in Oslo\n"
    theirs = "# Memory\n- likes tea\n\n- lives in Bergen\n"
    assert merge_text(base, ours, theirs) == ("# Memory\n- likes green tea\n\n- lives in Bergen\n", True)


def test_overlapping_edits_keep_both_sides() -> None:
    merged, clean = merge_text("- likes tea\n", "- likes green tea\n", "- likes coffee\n")
    assert not clean
    assert "- likes green tea\n" in merged
    assert "- likes coffee\n" in merged


def test_a_lost_write_is_retried_as_a_merge_on_the_stores_version() -> None:
    step = PushStep("write", "MEMORY.md", "a\nB\nc\n", BaseFile("a\nb\nc\n", "v1"))
    retry = resolve_write_conflict(step, BaseFile("a\nb\nc\nd\n", "v2"))
    assert retry == PushStep("write", "MEMORY.md", "a\nB\nc\nd\n", BaseFile("a\nb\nc\nd\n", "v2"))
    # Deleted meanwhile: the edit is recreated, not dropped.
    assert resolve_write_conflict(step, None) == PushStep("write", "MEMORY.md", "a\nB\nc\n", None)


def test_a_deletion_never_drops_another_sessions_edit() -> None:
    base = BaseFile("x", "v1")
    assert resolve_delete_conflict(BaseFile("x", "v1"), base)
    assert not resolve_delete_conflict(BaseFile("x edited", "v2"), base)
    assert not resolve_delete_conflict(None, base)
