"""What a turn's progress draft says, and when the dispatcher publishes it (issue 21). Pure: no clock.

While a turn runs on a channel that shows drafts, the user sees one status message: "working…" (or
"waking up…" while AgentCore has not sent the turn's first byte after `cold_after_s`, a cold start),
followed by the last few tool lines the agent reported ("🔎 fetching example.com"). The draft appears
once the turn is `show_after_s` old (a quick answer needs none, and is sent exactly as without drafts),
and changes at most once every `every_s` seconds: updates in between are coalesced, the latest wins, so
at most one progress message per second of turn is ever published for a chat, never a backlog. The
answer's first message then replaces the draft (egress edits it in).

`ProgressPlan` holds one turn's state; the caller tells it what happened (`first_byte`, `tool`) and
asks `due(now)` for the text to publish now, and `next_at(now)` for when to ask again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from clawbus.dispatcher.core.turns import Route
from clawbus.schemas import AgentRequest, OutboundReply, ReplyKind, ReplyPart

WORKING = "working…"
WAKING = "waking up…"
MAX_LINES = 5  # the draft shows the latest tool lines, not the whole log


@dataclass(frozen=True)
class ProgressNote:
    """One progress event of the agent's stream: a tool line, or "" (the turn has begun: its first byte)."""

    text: str


@dataclass(frozen=True)
class DraftTiming:
    """When a draft appears, how often it may change, and after how long without a first byte it says
    "waking up…" (seconds)."""

    show_after_s: float = 0.7
    every_s: float = 1.0
    cold_after_s: float = 2.0


@dataclass
class ProgressPlan:
    """One turn's draft: what it should say and what was last published (module docstring)."""

    started: float
    timing: DraftTiming = field(default_factory=DraftTiming)
    answered_at: float | None = None  # when the first byte came
    lines: list[str] = field(default_factory=list)
    shown: str | None = None
    shown_at: float = 0.0
    published: int = 0

    def first_byte(self, now: float) -> None:
        """The agent's stream began (AgentCore is warm, or woke up)."""
        if self.answered_at is None:
            self.answered_at = now

    def tool(self, line: str, now: float) -> None:
        """The agent started a tool (`line` is what the user sees); an empty line only marks liveness."""
        self.first_byte(now)
        if line:
            self.lines = [*self.lines, line][-MAX_LINES:]

    def text(self, now: float) -> str:
        """What the draft should say at `now`."""
        cold = self.answered_at is None and now - self.started >= self.timing.cold_after_s
        return "\n".join([WAKING if cold else WORKING, *self.lines])

    def due(self, now: float) -> str | None:
        """The text to publish now (and count as shown), or None: nothing new, too early, or too soon
        after the last update (the latest text goes out at `next_at`)."""
        wanted = self.text(now)
        if self.shown is None:
            if now - self.started < self.timing.show_after_s:
                return None
        elif wanted == self.shown or now - self.shown_at < self.timing.every_s:
            return None
        self.shown, self.shown_at = wanted, now
        self.published += 1
        return wanted

    def next_at(self, now: float) -> float | None:
        """When `due` may next have something to publish (None: only after news)."""
        times = []
        if self.shown is None:
            times.append(self.started + self.timing.show_after_s)
        elif self.text(now) != self.shown:
            times.append(self.shown_at + self.timing.every_s)
        if self.answered_at is None and now - self.started < self.timing.cold_after_s:
            times.append(self.started + self.timing.cold_after_s)
        return min(times) if times else None


def progress_reply(request: AgentRequest, route: Route, text: str, n: int) -> OutboundReply:
    """The `n`th progress message of the turn's draft (`<reply_id>-p<n>`: each its own deduplication id);
    one without `text` deletes the draft (the turn ended silent)."""
    last = request.events[-1]
    return OutboundReply(
        reply_id=f"{request.reply_id}-p{n}",
        in_reply_to=tuple(e.event_id for e in request.events),
        kind=ReplyKind.PROGRESS,
        session_key=request.session_key,
        channel=route.channel,
        account_id=route.account_id,
        target=route.target,
        parts=(ReplyPart(index=0, text=text),),
        final=False,
        created_at=last.received_at + timedelta(microseconds=n),
        draft=request.reply_id,
    )
