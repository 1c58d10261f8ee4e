"""Process control for chaos scenarios: the whole pipeline as real processes, watched by the same
`Watchdog` `clawbus up` uses, behind an outage proxy, answering to the fake platform APIs.

`ChaosPipeline` sends signed webhooks (retrying as the platforms do while ingress is down or busy),
injects faults (kill -9, SIGTERM, outages, AgentCore fault rules, platform cues), and collects what the
ledger judges: the markers of the replies the fake platforms received, and what sits on the DLQs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.topology import dlq_name, egress_queue_name, inbound_queue_name
from clawbus.local.supervisor import Stage
from clawbus.local.watchdog import StageBoard, Watchdog
from clawbus.schemas import attributes as attr
from clawbus.storage.cron.service import connect
from tests.chaos.ledger import DeadLetter, Ledger, Verdict, marker, parse_marker
from tests.chaos.proxy import OutageProxy
from tests.chaos.traffic import (
    CHANNEL_ENV,
    SHORT,
    WEBCHAT_PATH,
    agentcore_session,
    chat_of,
    conversation_of,
    delivery_of,
    interaction_token,
    signed,
)
from tests.conftest import ADMIN, Bus, Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import FakePlatforms
from tests.helpers import stage, wait_for
from tests.local_aws_process import LocalAwsProcess

WEBCHAT = "webchat"
CHANNELS = tuple(ch for ch in SHORT if ch != WEBCHAT)  # the platforms the fakes stand in for
ALL_CHANNELS = (*CHANNELS, WEBCHAT)

# Short timeouts so crashed work comes back within a scenario: a killed turn or send is visible again
# after its visibility timeout; a hung AgentCore call is cut by the read timeout and retried. The long
# form keeps AgentCore's read timeout long, as in production (`LONG_RUN_ENV`): under its sustained load
# an echo turn takes seconds, and a 4 s cut turned every slow turn into retries that only added load.
CHAOS_ENV = {
    "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",
    "CLAWBUS_DISPATCHER__VISIBILITY_TIMEOUT_S": "10",
    "CLAWBUS_EGRESS__VISIBILITY_TIMEOUT_S": "6",
    "CLAWBUS_AGENTCORE__READ_TIMEOUT_S": "4",
    "CLAWBUS_AWS__CONNECT_TIMEOUT_S": "2",
    "CLAWBUS_AWS__READ_TIMEOUT_S": "10",
    "CLAWBUS_EGRESS__REQUEST_TIMEOUT_S": "8",
    "CLAWBUS_EGRESS__MAX_INLINE_WAIT_S": "3",
}
# Progress drafts are off here: the stand-in platforms refuse a chat's messages by the marker in their
# text (`fail_next(match=…)`), which a "working…" draft does not carry, so a refused chat's answer came
# through as an edit of its draft. Drafts keep their own restart and no-second-copy tests
# (tests/egress/test_drafts.py); per-chat refusals in the stand-ins would let them run here too.
CHAOS_ENV |= {"CLAWBUS_TELEGRAM__STREAMING": "off", "CLAWBUS_SLACK__STREAMING": "off"}
LONG_RUN_ENV = {"CLAWBUS_AGENTCORE__READ_TIMEOUT_S": "120"}


@dataclass
class ChaosPipeline:
    """The running pipeline of a chaos module, and the faults and figures of the current scenario."""

    pipeline: Pipeline
    fake: FakePlatforms
    aws: LocalAwsProcess
    proxy: OutageProxy
    watchdog: Watchdog
    data_dir: Path
    said: list[str] = field(default_factory=list)  # what the watchdog printed
    watching: threading.Event = field(default_factory=threading.Event)  # set: the watchdog stops
    watched: threading.Event = field(default_factory=threading.Event)  # set: the watchdog stopped
    stopped: threading.Event = field(default_factory=threading.Event)  # set: the stages are stopped
    watcher: threading.Thread | None = None
    faults: int = 0
    first_attempt: dict[tuple[str, int], float] = field(default_factory=dict)  # message -> monotonic
    web_seen: dict[str, list[tuple[tuple[str, int], float]]] = field(default_factory=dict)  # as the page
    stage_names: frozenset[str] = frozenset()  # every stage the pipeline runs
    web_cursor: dict[str, str] = field(default_factory=dict)  # WebChat conversation -> the page's cursor
    _sessions: Iterator[int] = field(default_factory=lambda: iter(range(10_000)))

    @property
    def bus(self) -> Bus:
        """The topology the stages use (through the proxy)."""
        return self.pipeline.bus

    def sessions(self, count: int, channels: tuple[str, ...] = CHANNELS) -> list[str]:
        """`count` fresh session names spread over `channels` (never used by another scenario)."""
        return [f"{SHORT[channels[i % len(channels)]]}{next(self._sessions)}" for i in range(count)]

    # -- traffic -------------------------------------------------------------------------------------

    def send(self, ledger: Ledger, session: str, seq: int, *, retry_num: int | None = None) -> int:
        """Deliver message `seq` of `session` as its platform does (`traffic.PLATFORM_DELIVERY`): wait
        for the 2xx as long as the platform waits, retry on its schedule (Slack's retries numbered from
        `retry_num`), give up when it does. Whatever ingress answers, the user's message now exists
        (`ledger.deliver`); a 2xx is `ledger.accept`; a platform that shows its user the failure makes
        it `ledger.shown_as_failed`. The last status (0: no answer)."""
        model = delivery_of(session)
        waits = iter(model.retry_after_s)
        number = retry_num
        self.first_attempt.setdefault((session, seq), time.monotonic())
        while True:
            delivery = signed(session, seq, f"please echo {marker(session, seq)}", retry_num=number)
            headers = dict(delivery.headers)
            if delivery.path == WEBCHAT_PATH:
                headers["Authorization"] = f"Bearer {self.pipeline.webchat_token}"
            ledger.deliver(session, seq)
            try:
                response = httpx.post(
                    f"{self.pipeline.ingress_url}{delivery.path}",
                    content=delivery.body,
                    headers=headers,
                    timeout=model.ack_deadline_s,
                )
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            if 200 <= status < 300:
                ledger.accept(session, seq)
                return status
            wait = next(waits, None)
            if (status and status < 500) or wait is None:
                if model.failure_shown_to_user:
                    ledger.shown_as_failed(session, seq)
                    self.fake.expire_interaction(interaction_token(session, seq))
                return status
            if model.retry_header:
                number = (number or 0) + 1
            time.sleep(wait)

    def converse(
        self, ledger: Ledger, sessions: list[str], messages: int, think_s: float = 0.0, seed: int = 0
    ) -> None:
        """Each session sends `messages` messages in order, the sessions at once (one thread each); with
        `think_s`, a session pauses a random 0 to 2 `think_s` after each message, as people do (a burst of
        everything at once measures the loopback stack's capacity, which is `clawbus bench`'s job).
        Meanwhile the WebChat pages read their replies every half second, as the page's long poll does,
        so a WebChat reply's time is when it could first be seen."""

        def talk(session: str, rng: random.Random) -> None:
            for seq in range(messages):
                self.send(ledger, session, seq)
                if think_s:
                    time.sleep(rng.uniform(0, 2 * think_s))

        threads = [threading.Thread(target=talk, args=(s, random.Random(f"{seed}:{s}"))) for s in sessions]
        talking = threading.Event()
        reader = threading.Thread(target=self._keep_reading_webchat, args=(talking,))
        for thread in threads:
            thread.start()
        reader.start()
        for thread in threads:
            thread.join()
        talking.set()
        reader.join()

    def _keep_reading_webchat(self, done: threading.Event) -> None:
        while not done.wait(0.5):
            self._read_webchat()

    def schedule(self, ledger: Ledger, jobs: list[tuple[str, int, float]]) -> None:
        """One-shot cron jobs, each `(session, seq, after_s)` due `after_s` seconds from now, as the
        agent's `cron` tool or `clawbus cron add` makes them (the same cron service): its turn answers
        with message `seq`'s marker in `session`'s chat, once, whatever is killed around its fire (the
        local firer `clawbus scheduler` fires it). Added in process: a CLI start per job took longer
        than the nearest due time on a loaded machine."""
        settings = Settings.model_validate(
            {
                "aws": {"endpoint_url": self.bus.endpoint, "region": "us-east-1"},
                "bus": {"prefix": self.bus.prefix},
            }
        )

        async def add_all() -> None:
            async with open_stage_clients(settings, CronClients) as clients:
                service = await connect(settings, clients)
                for session, seq, after_s in jobs:
                    channel, chat = chat_of(session)
                    at = (datetime.now(UTC) + timedelta(seconds=after_s)).isoformat(timespec="seconds")
                    mark = marker(session, seq)
                    await service.add(
                        {
                            "name": mark,
                            "schedule": {"kind": "at", "at": at},
                            "payload": {"kind": "agentTurn", "message": f"please echo {mark}"},
                            "delivery": {"mode": "announce", "channel": channel, "to": chat},
                        }
                    )
                    ledger.accept(session, seq)

        asyncio.run(add_all())

    # -- what arrived --------------------------------------------------------------------------------

    def replies(self) -> list[tuple[str, int]]:
        """The markers of every reply the platforms accepted, in arrival order."""
        return [mark for mark, _ in self.timed_replies()]

    def timed_replies(self) -> list[tuple[tuple[str, int], float]]:
        """Every reply's marker with the moment (monotonic) its platform received it, in arrival order."""
        calls = sorted((c for ch in CHANNELS for c in self.fake.shown(ch)), key=lambda c: c.at)
        shown = [(m, c.at) for c in calls if (m := parse_marker(c.text)) is not None]
        self._read_webchat()
        return sorted(shown + [seen for page in self.web_seen.values() for seen in page], key=lambda s: s[1])

    def _read_webchat(self) -> None:
        """What the WebChat page of each WebChat session shows by now: it reads after its cursor, so a
        reply stored behind one it already showed never appears (and counts as lost)."""
        sessions = {s for s, _ in list(self.first_attempt) if s.startswith(SHORT[WEBCHAT])}  # copied at once
        headers = {"Authorization": f"Bearer {self.pipeline.webchat_token}"}
        for session in sorted(sessions):
            conversation = conversation_of(session)
            cursor = self.web_cursor.get(conversation, "")
            try:
                response = httpx.get(
                    f"{self.pipeline.ingress_url}/webchat/api/conversations/{conversation}/messages",
                    params={"after": cursor, "wait": 0},
                    headers=headers,
                    timeout=5,
                )
            except httpx.HTTPError:
                continue  # ingress restarting: the page reconnects
            if response.status_code != 200:
                continue
            page = response.json()
            now = time.monotonic()
            for message in page["messages"]:
                if (mark := parse_marker(message["text"])) is not None:
                    self.web_seen.setdefault(conversation, []).append((mark, now))
            self.web_cursor[conversation] = page["cursor"]

    def worst_wait(self, ledger: Ledger) -> tuple[float, tuple[str, int] | None]:
        """The longest a message of `ledger` waited from its platform's first attempt to its answer (s)."""
        answered: dict[tuple[str, int], float] = {}
        for mark, at in self.timed_replies():
            answered.setdefault(mark, at)
        waits = [
            (answered[m] - self.first_attempt[m], m)
            for m in ledger.delivered_marks()
            if m in answered and m in self.first_attempt
        ]
        return max(waits, default=(0.0, None))

    def dead_letters(self) -> list[DeadLetter]:
        """Every marked message on the inbound and egress DLQs (peeked, left in place)."""
        sqs = self.bus.client("sqs")
        queues = [inbound_queue_name(self.bus.prefix)] + [
            egress_queue_name(self.bus.prefix, ch) for ch in ALL_CHANNELS
        ]
        found: list[DeadLetter] = []
        for queue in queues:
            url = self.bus.queue_url(dlq_name(queue))
            seen: set[str] = set()
            while True:
                batch = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2, MessageAttributeNames=["All"]
                ).get("Messages", [])
                fresh = [m for m in batch if m["MessageId"] not in seen]
                for m in batch:
                    # its 2 s may run out first on a loaded machine: then it is visible again already
                    with contextlib.suppress(sqs.exceptions.ReceiptHandleIsInvalid):
                        sqs.change_message_visibility(
                            QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                        )
                if not fresh:
                    break
                for m in fresh:
                    seen.add(m["MessageId"])
                    mark = parse_marker(m["Body"])
                    kind = m.get("MessageAttributes", {}).get(attr.ERROR_TYPE, {}).get("StringValue", "?")
                    if mark is not None:
                        found.append(DeadLetter(mark[0], mark[1], kind))
        return found

    def announced_resends(self) -> set[tuple[str, int]]:
        """The messages whose answer an egress worker posted again warning that the platform could not
        tell whether it already had it (`egress.send.unknown_resent`), found through the dispatcher's
        log of which event each reply answered."""
        logs = self.data_dir / "logs"
        resent = {e["reply_id"] for e in _events(logs.glob("egress-*.log"), "egress.send.unknown_resent")}
        answered = _events([logs / "dispatcher.log"], "dispatcher.turn.completed")
        return {m for e in answered if e.get("reply_id") in resent and (m := _mark_of(e["event_id"]))}

    def settle(self, ledger: Ledger, timeout: float = 60, quiet_s: float = 1.5) -> Verdict:
        """Wait until nothing is missing, then a little longer (a late duplicate would land then)."""
        deadline = time.monotonic() + timeout
        verdict = ledger.judge(self.replies(), self.dead_letters())
        while not verdict.settled and time.monotonic() < deadline:
            time.sleep(0.5)
            verdict = ledger.judge(self.replies(), self.dead_letters())
        time.sleep(quiet_s)
        verdict = ledger.judge(self.replies(), self.dead_letters(), self.announced_resends())
        if not verdict.ok:
            self._keep_evidence()
        return verdict

    def _keep_evidence(self) -> None:
        """Every platform call, next to the stage logs, for whoever reads a failed verdict."""
        calls = [
            {"at": c.at, "platform": c.platform, "method": c.method, "status": c.status, "text": c.text}
            for c in self.fake.calls
        ]
        (self.data_dir / "platform-calls.json").write_text(json.dumps(calls, indent=1))

    def report(self, scenario: str, verdict: Verdict, ledger: Ledger, seed: int | None = None) -> str:
        """Print the scenario's one-line figures (also appended to `$CLAWBUS_CHAOS_REPORT`, if set): the
        verdict's, the longest wait for an answer (a crash's recovery time as a user sees it) and the
        seed that replays the scenario's choices (`--chaos-seed`)."""
        wait, slowest = self.worst_wait(ledger)
        line = f"{verdict.summary(scenario, self.faults)} worst_wait={wait:.1f}s"
        if slowest is not None:
            line += f" ({marker(*slowest)})"
        if seed is not None:
            line += f" seed={seed}"
        print(line)  # the run's figures, shown with -s and in the report file
        if path := os.environ.get("CLAWBUS_CHAOS_REPORT"):
            with Path(path).open("a") as out:
                out.write(line + "\n")
        return line

    # -- faults ----------------------------------------------------------------------------------------

    def kill_aws(self) -> None:
        """kill -9 the loopback AWS API (no save at stop) and start it again on its port, from its state
        file and journal, as `clawbus up` would be restarted; the stages see an outage meanwhile."""
        self.aws.kill()
        self.aws.start()
        self.faults += 1

    def stage(self, name: str) -> Stage:
        """The running stage called `name`."""
        return next(s for s in self.pipeline.supervisor.stages if s.name == name)

    def kill(self, name: str) -> None:
        """kill -9 a stage; the watchdog restarts it (wait with `until_restarted`)."""
        process = self.stage(name).process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        self.faults += 1

    def until_running(self, timeout: float = 60) -> None:
        """Wait until every stage runs and is ready again."""

        def all_up() -> bool:  # a stage the watchdog is restarting is briefly off the supervisor's list
            stages = list(self.pipeline.supervisor.stages)
            return {s.name for s in stages} >= self.stage_names and all(
                s.process and s.process.poll() is None and s.ready.is_set() for s in stages
            )

        wait_for(all_up, timeout=timeout, interval=0.2, what="every stage running again")

    def board(self) -> StageBoard:
        """The watchdog's board as `clawbus status` reads it."""
        return StageBoard.model_validate_json((self.data_dir / "stages.json").read_bytes())

    def rolling_restart(self, name: str) -> int:
        """SIGTERM a stage, wait for it to exit, start it again; its exit code."""
        old = self.stage(name)
        code = self.pipeline.supervisor.terminate(name)
        again = Stage(old.name, old.argv, old.ready_event, env=old.env, listen=old.listen)
        self.pipeline.supervisor.start(again)
        self.faults += 1
        return code

    def agent_fault(self, session: str, **rule: Any) -> None:
        """Add an AgentCore fault rule for one session (see agent/faults.py)."""
        rule["session_id"] = agentcore_session(session)
        response = httpx.post(
            f"{self.pipeline.agentcore_url}/_clawbus/faults", json=rule, headers=ADMIN, timeout=5
        )
        assert response.status_code == 201, response.text
        times = int(rule.get("times", 1))
        self.faults += times if times > 0 else 1

    def clear_agent_faults(self) -> None:
        """Remove every AgentCore fault rule (the fix)."""
        httpx.delete(
            f"{self.pipeline.agentcore_url}/_clawbus/faults", headers=ADMIN, timeout=5
        ).raise_for_status()


def _events(paths: Iterable[Path], event: str) -> list[dict[str, Any]]:
    """The structured log lines named `event` in the files `paths`."""
    found: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            lines = (json.loads(line) for line in path.read_text().splitlines() if line.startswith("{"))
            found += [line for line in lines if line.get("event") == event]
    return found


def _mark_of(event_id: str) -> tuple[str, int] | None:
    """The chaos message an inbound event id belongs to: every channel's id ends in `event_key`'s ten
    digits (Telegram's update id drops their leading zeros); None for other events (cron fires)."""
    channel = event_id.split(":", 1)[0]
    digits = re.search(r"([0-9]+)$", event_id)
    if channel not in SHORT or digits is None:
        return None
    key = digits.group(1)[-10:].zfill(10)
    return f"{SHORT[channel]}{int(key[:4])}", int(key[4:])


def start_chaos(data_dir: Path, extra_env: dict[str, str] | None = None) -> ChaosPipeline:
    """Start a loopback AWS API of its own and the pipeline with every channel against the fake
    platforms, through an outage proxy (`extra_env` over `CHAOS_ENV`)."""
    # A snapshot every 5 s, the journal in between; a FIFO deduplication id kept 2 s, not SQS's 5 minutes:
    # every retry that comes later than that must be caught by the ledgers, as after 5 minutes in AWS.
    aws = LocalAwsProcess(data_dir, interval_s=5, dedup_window_s=2)
    aws.start()
    bus = make_bus(aws.url)
    fake = FakePlatforms().__enter__()
    proxy = OutageProxy("127.0.0.1", aws.port).__enter__()
    env = {
        **CHAOS_ENV,
        **(extra_env or {}),
        **CHANNEL_ENV,
        **{f"CLAWBUS_{ch.upper()}__API_BASE": fake.api_base(ch) for ch in CHANNELS},
        "CLAWBUS_AWS__ENDPOINT_URL": proxy.url,
        "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),
    }
    pipeline = start_pipeline(bus, data_dir / "logs", env, channels=ALL_CHANNELS)
    firer = {"CLAWBUS_SCHEDULER__TICK_S": "0.5"}
    pipeline.supervisor.start(stage("scheduler", "scheduler.started", "scheduler", env=firer))
    said: list[str] = []
    watchdog = Watchdog(pipeline.supervisor, data_dir, said.append, said.append)
    chaos = ChaosPipeline(pipeline, fake, aws, proxy, watchdog, data_dir, said)
    chaos.stage_names = frozenset(s.name for s in pipeline.supervisor.stages)
    watchdog.write()  # the board exists before the first scenario reads it

    def watch() -> None:
        watchdog.run(chaos.watching, 0.1)
        chaos.watched.set()
        # Stages the watchdog restarted are children of this thread, and their parent-death signal
        # fires when the thread ends (prctl PR_SET_PDEATHSIG is per thread): outlive them.
        chaos.stopped.wait()

    chaos.watcher = threading.Thread(target=watch, daemon=True)
    chaos.watcher.start()
    return chaos


def stop_chaos(chaos: ChaosPipeline) -> list[tuple[str, int | None]]:
    """Stop the watchdog, then every stage (SIGTERM), the proxy and the fakes; the exit codes."""
    chaos.watching.set()
    chaos.watched.wait(timeout=60)  # a restart under way finishes first
    # a hung AgentCore call may still be open: each server cancels it after its 5 s grace
    codes = chaos.pipeline.supervisor.stop_all(grace_s=45)
    chaos.stopped.set()
    chaos.proxy.__exit__(None, None, None)
    chaos.fake.__exit__(None, None, None)
    chaos.aws.stop()
    return codes


def letters_json(chaos: ChaosPipeline) -> str:
    """The DLQ findings as JSON, for assertion messages."""
    return json.dumps([d.__dict__ for d in chaos.dead_letters()])
