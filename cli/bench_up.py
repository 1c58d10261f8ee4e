"""`clawbus bench`'s start figures: `clawbus up` on an empty data dir and `clawbus say`, as a new user runs
them (the README's first command), timed from outside.

- `up_to_healthy_s`: from spawning `clawbus up` to its "Ctrl-C stops everything" line (every stage ready);
- `up_to_first_reply_s`: from the same spawn to the first `clawbus say` printing its reply (the say
  process's own start included, as the user waits for it too);
- `turn_latency_p50_ms` / `turn_latency_p99_ms`: further turns of the same conversation one at a time
  (idle session, the offline echo model), each as `clawbus say --json` measures it: from its POST to
  the reply;
- `up_stage_ready_s`: each stage's own start, as `up` prints it (spawn to its ready event);
- `up_step_s`: each of `up`'s own steps between the waves (provisioning, the configuration document), as
  it prints them ("… ok (1.2s)");
- `first_turn_ms`: the first `clawbus say`'s own measure (its POST to the reply): `up_to_first_reply_s`
  less this, less `up_to_healthy_s`, is that process's start.

These are absolute seconds on whatever machine runs them (reported, never asserted): they run first,
before the bench's own processes, so the machine is as idle as the caller left it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawbus.bus.serve import free_loopback_port

READY_BANNER = "Ctrl-C stops everything"
_READY_LINE = re.compile(r"^\s+(?P<stage>\S+) ready in (?P<seconds>[0-9.]+) s\b")
_STEP_LINE = re.compile(r"^• (?P<step>.+?) … ok \((?P<seconds>[0-9.]+)s\)")


def stage_ready_seconds(lines: list[str]) -> dict[str, float]:
    """Each stage's start from `up`'s "<stage> ready in <s> s" lines."""
    found = {}
    for line in lines:
        if match := _READY_LINE.match(line.rstrip("\n")):
            found[match["stage"]] = float(match["seconds"])
    return found


def step_seconds(lines: list[str]) -> dict[str, float]:
    """Each of `up`'s steps from its "• <step> … ok (<s>s)" lines, by the step's first word."""
    found = {}
    for line in lines:
        if match := _STEP_LINE.match(line.strip()):
            found[match["step"].split()[0]] = float(match["seconds"])
    return found


def latency_figures(samples_ms: list[float]) -> dict[str, float | None]:
    """p50 and p99 (nearest rank) of the per-turn latencies, in milliseconds; None without samples."""
    if not samples_ms:
        return {"turn_latency_p50_ms": None, "turn_latency_p99_ms": None}
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"turn_latency_p50_ms": round(statistics.median(ordered), 1), "turn_latency_p99_ms": round(p99, 1)}


def _clawbus(*args: str) -> list[str]:
    return [sys.executable, "-m", "clawbus.cli", *args]


def _say(url: str, data_dir: Path, text: str) -> dict[str, Any]:
    ran = subprocess.run(  # noqa: S603  # our own interpreter and module
        _clawbus("say", text, "--url", url, "--data-dir", str(data_dir), "--conversation", "bench", "--json"),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    if ran.returncode != 0:
        raise RuntimeError(f"clawbus say exited {ran.returncode}: {ran.stderr.strip() or ran.stdout.strip()}")
    reply: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    return reply


@dataclass
class RunningUp:
    """A `clawbus up` the bench started: its ingress URL, ports, the lines it printed until ready, and the
    seconds from its spawn to ready."""

    url: str
    ports: dict[str, int]
    lines: list[str]
    started: float
    healthy_s: float = 0.0


@contextlib.contextmanager
def running_up(workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[RunningUp]:
    """`clawbus up` in `workdir` on its own ports, as a new user runs it (`CLAWBUS_*` variables left out,
    `extra_env` added), until it is ready; stopped with Ctrl-C when the block ends."""
    ports = {name: free_loopback_port() for name in ("ingress", "agent", "agentcore", "aws")}
    argv = _clawbus("up", "--data-dir", str(workdir))
    argv += [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWBUS_")}  # up's defaults, as a user
    running = RunningUp(f"http://127.0.0.1:{ports['ingress']}", ports, [], time.monotonic())
    up = subprocess.Popen(  # noqa: S603  # our own interpreter and module
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**env, **(extra_env or {})}
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:
            running.lines.append(line)
            if READY_BANNER in line:
                break
        else:
            raise RuntimeError("clawbus up ended before it was ready: " + "".join(running.lines[-5:]).strip())
        running.healthy_s = time.monotonic() - running.started
        yield running
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.communicate(timeout=90)  # read what it still prints, so its stop never blocks on the pipe
        except subprocess.TimeoutExpired:
            up.kill()
            up.communicate()


def up_figures(workdir: Path, turns: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Run `clawbus up` in `workdir` (its own ports), measure, stop it; the figures above."""
    say(f"up: `clawbus up` on an empty data dir, then {turns + 1} turns of `clawbus say`")
    with running_up(workdir) as up:
        first_turn = float(_say(up.url, workdir, "hello")["latency_ms"])
        first_reply = time.monotonic() - up.started
        latencies = [float(_say(up.url, workdir, f"turn {n}")["latency_ms"]) for n in range(turns)]
    return {
        "up_to_healthy_s": round(up.healthy_s, 2),
        "up_to_first_reply_s": round(first_reply, 2),
        "first_turn_ms": first_turn,
        **latency_figures(latencies),
        "turns_at_idle": len(latencies),
        "up_stage_ready_s": stage_ready_seconds(up.lines),
        "up_step_s": step_seconds(up.lines),
    }
