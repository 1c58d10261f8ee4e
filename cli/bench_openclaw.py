"""`clawbus bench --openclaw`: what the OpenClaw engine costs, and what clawbus adds to an OpenClaw turn.

In one process, as the agent container runs it: the agent app with `CLAWBUS_AGENT__ENGINE=openclaw` and
the offline echo as OpenClaw's model, so the figures are OpenClaw's and clawbus's own time, not a
model's. Figures: the gateway's start and warm-up, start-to-first-answer without a warm start (app
start to the first answered `/invocations`: what a session pays when the container starts cold) and
with one (a new session's first answer from a container whose initialisation already started and
warmed the gateway: what AgentCore's snapshot restore hands a new session, its ~2 s restore aside),
and the median turn sent straight to the gateway's `/v1/chat/completions`
versus through the agent's `/invocations` (the issue's target: overhead ≤ 10 % of a direct turn).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from clawbus.agent import create_app
from clawbus.agent.engines.openclaw.engine import OpenClawEngine
from clawbus.agent.runtime import open_runtime
from clawbus.bus.errors import ClawbusError
from clawbus.bus.settings import Settings
from clawbus.schemas import AgentRequest, EventKind, InboundEvent, TurnStatus, parse_agent_response


def _invocation(text: str, session_key: str, n: int) -> bytes:
    event = InboundEvent(
        event_id=f"webchat:bench-{n}",
        kind=EventKind.MESSAGE,
        channel="webchat",
        session_key=session_key,
        text=text,
    )
    return AgentRequest(session_key=session_key, reply_id=f"rp-bench-{n}", events=(event,)).to_wire().encode()


def _settings(settings: Settings, scratch: Path) -> Settings:
    data = settings.model_dump(mode="python")
    data["local"]["data_dir"] = scratch
    data["storage"].update({"config": "local", "local_dir": scratch / "state"})
    data["session"].update({"transcripts": "local", "dir": scratch / "sessions"})
    data["agent"].update({"engine": "openclaw", "model": "offline/echo"})
    data["agent"]["workspace"].update({"backend": "local", "dir": scratch / "workspace"})
    data["agent"]["openclaw"]["runtime_dir"] = settings.agent.openclaw.runtime_dir or (
        settings.local.data_dir / "openclaw-runtime"
    )
    data["agent"]["openclaw"]["state_dir"] = None
    return Settings.model_validate(data)


async def openclaw_figures(settings: Settings, turns: int) -> dict[str, Any]:
    """The engine's figures over `turns` turns each way (milliseconds)."""
    with tempfile.TemporaryDirectory(prefix="clawbus-bench-openclaw-") as scratch:
        started = time.monotonic()
        async with open_runtime(_settings(settings, Path(scratch))) as runtime:
            engine = runtime.engine
            assert isinstance(engine, OpenClawEngine)
            transport = httpx.ASGITransport(app=create_app(runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://agent", timeout=300) as client:

                async def through(n: int, key: str) -> float:
                    t = time.monotonic()
                    answer = await client.post("/invocations", content=_invocation(f"m{n}", key, n))
                    if parse_agent_response(answer.content).status is not TurnStatus.OK:
                        raise ClawbusError(f"the agent failed a turn: {answer.text[:300]}")
                    return (time.monotonic() - t) * 1000

                first = await through(0, "agent:main:bench:first")
                start_to_first = (time.monotonic() - started) * 1000
                direct, via_agent = [], []
                for n in range(1, turns + 1):
                    t = time.monotonic()
                    await engine.direct("agent:main:bench:direct", f"m{n}")
                    direct.append((time.monotonic() - t) * 1000)
                    via_agent.append(await through(n, "agent:main:bench:agent"))
                warm_first = await through(turns + 1, "agent:main:bench:new-session")
    direct_ms, agent_ms = statistics.median(direct), statistics.median(via_agent)
    return {
        "openclaw_gateway_start_ms": engine.timings.gateway_ms,
        "openclaw_warm_up_ms": engine.timings.warm_up_ms,
        "openclaw_start_to_first_answer_ms": round(start_to_first),
        "openclaw_first_turn_ms": round(first),
        "openclaw_warm_start_first_answer_ms": round(warm_first),
        "openclaw_direct_turn_ms": round(direct_ms, 1),
        "openclaw_agent_turn_ms": round(agent_ms, 1),
        "openclaw_agent_overhead_pct": round((agent_ms - direct_ms) / direct_ms * 100, 1),
        "openclaw_turns": turns,
    }
