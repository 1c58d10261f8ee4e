"""`clawbus bench`'s `first_visible_ms`: from a message's POST to the first thing its user sees.

On a channel with progress drafts (Telegram's default) that is the turn's draft ("working…", posted once
the turn is `CLAWBUS_DISPATCHER__DRAFT_AFTER_MS` old, 700 ms by default), else the answer. The phase runs
`clawbus up` on an empty data dir with Telegram configured against a Bot API stand-in on loopback
(`cli/bench_telegram.py`, which records when each `sendMessage`/`editMessageText` arrives), every other
setting as a new user has it. The loopback AgentCore endpoint holds every invocation for `SLOW_TURN_S`
(its fault seam), so a turn is slow enough to get a draft, as a turn with a real model is. Then, one at a
time in one chat (an idle session each time), a signed Telegram webhook is posted to ingress and timed:

- `first_visible_ms` — POST to the first `sendMessage` in that chat (p50 over the turns; `_p99_ms` too);
- `answer_visible_ms` — POST to the answer's text appearing (edited into the draft, or sent), p50.

Absolute milliseconds on whatever machine runs them: reported, never asserted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from clawbus.channels.telegram.inbound import signed_headers
from clawbus.cli.bench_telegram import Shown, TelegramStandIn
from clawbus.cli.bench_up import RunningUp, latency_figures, running_up
from clawbus.local.credentials import credentials_path, read_credentials

BOT_TOKEN = "9999:bench-first-visible"  # noqa: S105  # the stand-in's, no real bot
WEBHOOK_SECRET = "bench-first-visible"  # noqa: S105  # checked by this run's ingress only
OWNER = 70001  # not the bot: a message from the bot itself is ignored
SLOW_TURN_S = 1.5  # longer than the draft's 700 ms, shorter than the 2 s "waking up…" threshold
_TIMEOUT_S = 60.0


def visible_figures(workdir: Path, turns: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Run `clawbus up` with Telegram against the stand-in, time `turns` slow turns; the figures above."""
    say(f"first visible: `clawbus up` with Telegram (a loopback stand-in), {turns} turns of {SLOW_TURN_S} s")
    firsts: list[float] = []
    answers: list[float] = []
    with TelegramStandIn() as telegram:
        env = {
            "CLAWBUS_TELEGRAM__BOT_TOKEN": BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": WEBHOOK_SECRET,
            "CLAWBUS_TELEGRAM__API_BASE": telegram.api_base,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{OWNER}"]),
        }
        with running_up(workdir, env) as up, httpx.Client(timeout=_TIMEOUT_S) as http:
            _slow_every_turn(http, up, workdir)
            for n in range(turns):
                first, answer = _one_turn(http, up, telegram, n)
                firsts.append(first)
                answers.append(answer)
    shown = latency_figures(firsts)
    return {
        "first_visible_ms": shown["turn_latency_p50_ms"],
        "first_visible_p99_ms": shown["turn_latency_p99_ms"],
        "answer_visible_ms": latency_figures(answers)["turn_latency_p50_ms"],
        "first_visible_turns": len(firsts),
        "first_visible_turn_s": SLOW_TURN_S,
    }


def _slow_every_turn(http: httpx.Client, up: RunningUp, workdir: Path) -> None:
    """Make the loopback AgentCore endpoint hold every invocation for `SLOW_TURN_S` (its fault seam, which
    takes this run's secret access key)."""
    credentials = read_credentials(credentials_path(workdir))
    if credentials is None:
        raise RuntimeError(f"clawbus up wrote no credentials in {workdir}")
    url = f"http://127.0.0.1:{up.ports['agentcore']}/_clawbus/faults"
    bearer = {"Authorization": f"Bearer {credentials.secret_access_key.get_secret_value()}"}
    http.post(url, json={"delay_s": SLOW_TURN_S, "times": -1}, headers=bearer).raise_for_status()


def _one_turn(http: httpx.Client, up: RunningUp, telegram: TelegramStandIn, n: int) -> tuple[float, float]:
    """Post one owner's message as Telegram would; (ms to the first message shown, ms to the answer)."""
    chat, marker = str(OWNER), f"first visible {n}"
    update = {
        "update_id": 1000 + n,
        "message": {
            "message_id": 1000 + n,
            "date": int(time.time()),
            "chat": {"id": OWNER, "type": "private"},
            "from": {"id": OWNER, "is_bot": False, "first_name": "Bench"},
            "text": marker,
        },
    }
    headers = {**signed_headers(WEBHOOK_SECRET), "Content-Type": "application/json"}
    posted = time.monotonic()
    http.post(f"{up.url}/webhooks/telegram", content=json.dumps(update), headers=headers).raise_for_status()
    answer = _wait(lambda: telegram.answered(chat, posted, f"You said: {marker}"), marker)
    first = telegram.first_visible(chat, posted) or answer
    return (first.at - posted) * 1000, (answer.at - posted) * 1000


def _wait(found: Callable[[], Shown | None], what: str) -> Shown:
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        if (shown := found()) is not None:
            return shown
        time.sleep(0.005)
    raise RuntimeError(f"no answer to {what!r} on the Telegram stand-in within {_TIMEOUT_S:.0f} s")
