"""`clawbus bench`: the dispatcher's speed and memory, as ratios against baselines from the same run.

It starts its own loopback AWS API, a stub agent behind the loopback AgentCore endpoint and the real
dispatcher process, and measures on one endpoint with one client library:

1. the floor — a bare relay (receive 10 → PublishBatch → DeleteMessageBatch) over a workload;
2. the pipeline — the dispatcher over the same workload shape (`followup`, stub latency 0);
3. concurrency — 128 sessions x 4 turns at agent latency 1 s;
4. memory — the dispatcher's RSS with 1,000 turns in flight;
5. a naive sequential boto3 consumer at latency 1 s;
6. ingress — signed Telegram webhooks through the real `clawbus ingress` vs bare SQS sends, and the
   acknowledgement latency at a steady rate;
0. before all of these, `clawbus up` and `clawbus say` as a new user runs them (`bench_up`): seconds to
   healthy and to the first reply, and the idle turn latency; then `clawbus up` with Telegram against a
   loopback Bot API stand-in (`bench_visible`): `first_visible_ms`, from a message's POST to its draft
   (`--up-only` runs just these two).

Progress goes to stderr; the last line on stdout is one JSON object. Feeds keep queue depth bounded
(moto's per-call cost grows with depth), so floor and pipeline see the same depth profile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from clawbus.cli.console import Console


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`bench`'s flags."""
    parser.add_argument("--logs", type=Path, help="keep the stages' logs in this folder (default: discarded)")
    parser.add_argument("--sessions", type=int, default=64, help="sessions in the floor/pipeline workload")
    parser.add_argument("--turns", type=int, default=10, help="messages per session in that workload")
    parser.add_argument("--depth", type=int, default=100, help="most messages fed ahead of the collector")
    parser.add_argument(
        "--openclaw",
        action="store_true",
        help="bench the OpenClaw engine instead (Node 24 + OpenClaw from "
        "CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR): gateway start, warm-up, a turn direct vs through the agent, "
        "over --turns turns",
    )
    parser.add_argument(
        "--up-only",
        action="store_true",
        help="measure only `clawbus up` (to healthy, to the first reply), idle turn latency and "
        "first_visible_ms",
    )
    parser.add_argument(
        "--up-turns", type=int, default=10, help="idle turns timed after the first reply (default 10)"
    )
    parser.add_argument(
        "--visible-turns",
        type=int,
        default=5,
        help="slow Telegram turns timed for first_visible_ms (default 5; 0 skips that phase)",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=250,
        help="turns held in flight for the memory figure (default 250, extrapolated linearly to 1,000: "
        "the loopback API's FIFO receive cost grows with depth, so 1,000 at once takes minutes; "
        "pass 1000 to measure it directly)",
    )


def run_bench(args: argparse.Namespace, console: Console) -> int:
    """Run every phase; print the JSON figures as the last line. Exit 1 when something was lost or doubled."""
    if args.openclaw:
        from clawbus.bus.settings import Settings
        from clawbus.cli.bench_openclaw import openclaw_figures

        try:
            found = asyncio.run(openclaw_figures(Settings(), args.turns))
        except Exception as exc:  # one line, not a traceback
            console.error(f"bench --openclaw failed: {type(exc).__name__}: {exc}")
            return 1
        console.print(json.dumps(found))
        return 0
    # here, not at the top: every `clawbus` process (each stage too) imports this module for its flags
    from clawbus.cli.bench_pipeline import Bench, machine
    from clawbus.cli.bench_up import up_figures
    from clawbus.cli.bench_visible import visible_figures

    with tempfile.TemporaryDirectory(prefix="clawbus-bench-") as scratch:
        bench = Bench(args, console, args.logs or Path(scratch))
        started = time.monotonic()
        try:
            start = up_figures(Path(scratch) / "up", args.up_turns, bench.say)
            if args.visible_turns > 0:
                start |= visible_figures(Path(scratch) / "visible", args.visible_turns, bench.say)
            if args.up_only:
                console.print(json.dumps({**start, "machine": machine()}))
                return 0
            bench.start()
            figures = {**start, **asyncio.run(bench.run())}
        except Exception as exc:  # one line, not a traceback; logs are in the temp dir
            console.error(f"bench failed: {type(exc).__name__}: {exc}")
            return 1
        finally:
            bench.supervisor.stop_all(grace_s=5)
        figures["seconds"] = round(time.monotonic() - started, 1)
        console.print(json.dumps(figures))
    return 1 if figures["lost"] or figures["duplicates"] or figures["order_violations"] else 0
