"""`clawbus up` starts its stages together and says how long each took; every stage's start path leaves
out what the stage does not use; `clawbus bench` reports the start figures (never asserted as limits:
this machine is shared and noisy, so a timed test would be flaky)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from clawbus.cli.bench_up import latency_figures, stage_ready_seconds
from clawbus.cli.up_start import ready_line
from tests.helpers import free_port, start_up

EMBEDDED_STAGES = {"local-aws", "agentcore", "agent", "dispatcher", "egress-webchat", "ingress", "scheduler"}


def loaded_by(module: str, argv: tuple[str, ...] = ()) -> set[str]:
    """The modules a fresh interpreter holds after importing `module` (and, with `argv`, after running
    `clawbus <argv>` through `cli.main.main`, e.g. a `--help` that stops right after parsing)."""
    code = f"import json, sys, {module}\n"
    if argv:
        code += f"from {module} import main\ntry:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
    code += "print(json.dumps(sorted(sys.modules)))"
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(ran.stdout.splitlines()[-1]))


def said_by(argv: tuple[str, ...]) -> tuple[str, set[str]]:
    """What `clawbus <argv>` printed last, run in a fresh interpreter, and the modules it had loaded."""
    code = (
        "import json, sys\nfrom clawbus.cli.main import main\n"
        f"try:\n    main({list(argv)!r})\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    *printed, modules = ran.stdout.splitlines()
    return printed[-1], set(json.loads(modules))


def test_every_stage_process_starts_without_boto3_httpx_or_the_agent_runtime() -> None:
    # Each stage is `python -m clawbus.cli <stage>`: what cli.main imports, every stage pays for.
    loaded = loaded_by("clawbus.cli.main")
    assert not {"boto3", "httpx", "clawbus.agent.runtime", "clawbus.channels.registry"} & loaded
    # The loopback AgentCore endpoint forwards bytes: it needs the agent's fault rules, not its runtime.
    assert "clawbus.agent.runtime" not in loaded_by("clawbus.local.agentcore")


def test_a_stage_command_line_is_parsed_without_the_tools_modules() -> None:
    # Building `bench`'s, `state`'s and `dashboard`'s parsers imports their modules (channel SDKs,
    # aiobotocore): a stage's or `up`'s command line does without them.
    heavy = {
        "aiobotocore",
        "clawbus.channels.registry",
        "clawbus.cli.bench_pipeline",
        "clawbus.cli.state_sinks",
    }
    for command in (("local-aws", "--help"), ("scheduler", "--help"), ("up", "--help")):
        assert not heavy & loaded_by("clawbus.cli.main", command), command
    assert "clawbus.cli.bench" in loaded_by("clawbus.cli.main", ("--help",))  # the full list still


def test_the_ready_line_names_the_stage_and_its_seconds() -> None:
    assert ready_line("dispatcher", 1.234) == "  dispatcher ready in 1.2 s"
    assert stage_ready_seconds(["• starting …\n", "  dispatcher ready in 1.2 s\n", "  ok\n"]) == {
        "dispatcher": 1.2
    }


def test_turn_latency_percentiles_are_nearest_rank() -> None:
    figures = latency_figures([300.0, 100.0, 200.0])
    assert figures == {"turn_latency_p50_ms": 200.0, "turn_latency_p99_ms": 300.0}
    assert latency_figures([]) == {"turn_latency_p50_ms": None, "turn_latency_p99_ms": None}


def test_up_prints_one_start_line_per_stage_and_say_answers_without_the_aws_sdk(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    up, shown = start_up(tmp_path, ports)
    try:
        started = stage_ready_seconds(shown.splitlines())
        assert set(started) == EMBEDDED_STAGES, shown
        assert re.search(r"every stage ready in [0-9.]+ s since `clawbus up` started", shown), shown
        # `clawbus say`'s own start is part of the wait for the first reply: it talks HTTP to ingress and
        # reads the run's files, and never loads botocore (a third of a second of its start)
        url = f"http://127.0.0.1:{ports['ingress']}"
        said = ("say", "hello", "--url", url, "--data-dir", str(tmp_path), "--json")
        reply, loaded = said_by(said)
        assert json.loads(reply)["text"], reply
        assert not {"botocore", "boto3", "aiobotocore", "moto", "clawbus.cli.up"} & loaded
    finally:
        up.send_signal(signal.SIGINT)
        up.communicate(timeout=90)
    assert up.returncode == 0


def test_bench_reports_the_start_figures() -> None:
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "clawbus.cli",
            "bench",
            "--up-only",
            "--up-turns",
            "2",
            "--visible-turns",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    figures = json.loads(ran.stdout.strip().splitlines()[-1])
    for name in ("up_to_healthy_s", "up_to_first_reply_s", "turn_latency_p50_ms", "turn_latency_p99_ms"):
        assert isinstance(figures[name], float)
        assert figures[name] > 0
    assert figures["up_to_first_reply_s"] > figures["up_to_healthy_s"]
    assert figures["turns_at_idle"] == 2
    assert set(figures["up_stage_ready_s"]) == EMBEDDED_STAGES
    assert set(figures["up_step_s"]) == {"provisioning", "configuration"}  # up's own steps, as printed
    assert 0 < figures["first_turn_ms"] < figures["up_to_first_reply_s"] * 1000
    # the first thing a Telegram user sees of a slow turn (its draft), and its answer, later
    assert isinstance(figures["first_visible_ms"], float)
    assert 0 < figures["first_visible_ms"] < figures["answer_visible_ms"]
    assert figures["first_visible_turns"] == 2


def test_up_imports_the_relay_only_when_an_enabled_channel_has_one() -> None:
    code = (
        "import json, sys\n"
        "from clawbus.bus.settings import Settings\n"
        "from clawbus.cli.up_start import relayed_of\n"
        "print(json.dumps([relayed_of(Settings()), 'clawbus.ingress.relay' in sys.modules]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")}
    polling = {"CLAWBUS_TELEGRAM__BOT_TOKEN": "1:x", "CLAWBUS_TELEGRAM__MODE": "polling"}
    for extra, expected in (({}, [[], False]), (polling, [["telegram"], True])):
        ran = subprocess.run(
            [sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True, check=True
        )
        assert json.loads(ran.stdout.splitlines()[-1]) == expected  # WebChat alone: 0.4 CPU-s saved
