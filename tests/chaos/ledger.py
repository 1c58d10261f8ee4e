"""The ledger a chaos scenario is judged by: pure bookkeeping, no I/O.

Every message a scenario sends carries a marker, `ck-<session>-<seq>`, in its text; the offline echo
model repeats the text, so each reply the fake platforms receive names the message it answers. The
ledger knows what the platforms delivered (at least one attempt reached ingress, whatever it answered),
which of those the user was shown as failed (a Discord interaction nobody acknowledged in time), and
what is expected to end in a dead-letter queue, and judges what arrived:

- lost: delivered, not shown as failed, not expected dead, and never answered (a platform that gave up
  retrying still shows the user's message in the chat: it is lost too);
- doubled: answered more than once, except a chunk egress announced it posted again because the
  platform cannot tell whether an interrupted send arrived (`egress.send.unknown_resent`: Telegram and
  WhatsApp, a worker killed between the platform's 200 and its receipt write; docs/reliability.md
  "Limits"): shown twice, never more, and counted as `announced`;
- reordered: a session's answers arrived out of the order its messages were sent;
- stray: an answer to a message never delivered, or to one expected dead;
- dead letters that should not be there, and expected ones missing or with the wrong reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

_MARKER = re.compile(r"\bck-([a-z]+[0-9]+)-([0-9]+)\b")


def marker(session: str, seq: int) -> str:
    """The marker of message `seq` of `session` (a lowercase name ending in digits, e.g. `tg3`)."""
    if not re.fullmatch(r"[a-z]+[0-9]+", session):
        raise ValueError(f"session names are letters then digits, like 'tg3', not {session!r}")
    return f"ck-{session}-{seq}"


def parse_marker(text: str) -> tuple[str, int] | None:
    """The (session, seq) a reply's text answers, or None when it carries no marker."""
    found = _MARKER.search(text)
    return (found.group(1), int(found.group(2))) if found else None


@dataclass(frozen=True)
class DeadLetter:
    """A message found on a dead-letter queue: which one (by marker) and the error type it carries."""

    session: str
    seq: int
    error_type: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check; `ok` when nothing was lost, doubled, reordered or misfiled."""

    sent: int
    answered: int
    lost: tuple[tuple[str, int], ...]
    doubled: tuple[tuple[str, int], ...]
    reordered: tuple[str, ...]
    stray: tuple[tuple[str, int], ...]  # answers to messages of our sessions never delivered (or doomed)
    dead_unexpected: tuple[DeadLetter, ...]
    dead_missing: tuple[tuple[str, int], ...]
    dead_wrong_reason: tuple[DeadLetter, ...]
    shown_failed: int = 0  # delivered, shown to the user as failed: answered or not, never twice
    announced: tuple[tuple[str, int], ...] = ()  # shown twice after egress warned it could not tell

    @property
    def ok(self) -> bool:
        """Every promise kept."""
        return not (
            self.lost
            or self.doubled
            or self.reordered
            or self.stray
            or self.dead_unexpected
            or self.dead_missing
            or self.dead_wrong_reason
        )

    @property
    def settled(self) -> bool:
        """Nothing is still missing (a check worth repeating until this holds or time runs out)."""
        return not self.lost and not self.dead_missing

    def summary(self, scenario: str, faults: int) -> str:
        """One line of figures for the run's report."""
        return (
            f"chaos {scenario}: sent={self.sent} faults={faults} answered={self.answered} "
            f"shown_failed={self.shown_failed} "
            f"lost={len(self.lost)} doubled={len(self.doubled)} announced_resends={len(self.announced)} "
            f"reordered={len(self.reordered)} "
            f"stray={len(self.stray)} "
            f"dead={len(self.dead_unexpected) + len(self.dead_wrong_reason)} unexpected, "
            f"{len(self.dead_missing)} missing"
        )


@dataclass
class Ledger:
    """What a scenario sent and what it expects; `judge` compares that with what arrived."""

    delivered: dict[str, list[int]] = field(default_factory=dict)  # session -> seqs in send order
    acknowledged: set[tuple[str, int]] = field(default_factory=set)  # ingress answered 2xx
    shown_failed: set[tuple[str, int]] = field(default_factory=set)  # the user saw these fail
    doomed: dict[tuple[str, int], str] = field(default_factory=dict)  # expected dead letter -> error type

    def deliver(self, session: str, seq: int) -> None:
        """The platform delivered message `seq` of `session` (an attempt reached ingress, or may have)."""
        seqs = self.delivered.setdefault(session, [])
        if seq not in seqs:
            seqs.append(seq)

    def accept(self, session: str, seq: int) -> None:
        """Ingress acknowledged message `seq` of `session` (2xx): it must be answered once."""
        self.deliver(session, seq)
        self.acknowledged.add((session, seq))
        self.shown_failed.discard((session, seq))

    def shown_as_failed(self, session: str, seq: int) -> None:
        """The platform gave up on message `seq` and told the user so: it may be answered, at most once
        (unless another delivery of it was acknowledged: then it must be answered)."""
        if (session, seq) not in self.acknowledged:
            self.shown_failed.add((session, seq))

    def expect_dead(self, session: str, seq: int, error_type: str) -> None:
        """Message `seq` must end in a dead-letter queue with `error_type`, and not be answered."""
        self.doomed[(session, seq)] = error_type

    def replayed(self, session: str, seq: int) -> None:
        """A dead letter was fixed and replayed: from now on it must be answered once instead."""
        self.doomed.pop((session, seq), None)

    def delivered_marks(self) -> list[tuple[str, int]]:
        """Every delivered message, session by session in send order."""
        return [(s, q) for s, seqs in self.delivered.items() for q in seqs]

    @property
    def sent(self) -> int:
        """How many messages the platforms delivered."""
        return sum(len(seqs) for seqs in self.delivered.values())

    def judge(
        self,
        replies: Iterable[tuple[str, int]],
        dead: Iterable[DeadLetter],
        announced: Collection[tuple[str, int]] = (),
    ) -> Verdict:
        """Judge `replies` (markers in arrival order) and the dead letters found; markers of sessions this
        ledger never sent on belong to another scenario and are left out. `announced`: the messages
        whose answer egress announced it was posting again without knowing whether the platform had it."""
        mine = set(self.delivered) | {s for s, _ in self.doomed}
        arrived = [m for m in replies if m[0] in mine]
        counts = Counter(arrived)
        known = {(s, q) for s, seqs in self.delivered.items() for q in seqs}
        expected_answers = known - set(self.doomed) - self.shown_failed
        lost = sorted(m for m in expected_answers if counts[m] == 0)
        doubled = sorted(m for m, n in counts.items() if n > 2 or (n == 2 and m not in announced))
        resent = sorted(m for m, n in counts.items() if n == 2 and m in announced)
        stray = sorted({m for m in arrived if m not in known} | {m for m in arrived if m in self.doomed})
        # An answer to a message shown to its user as failed is left out of the order: its user saw it
        # fail, and ingress, still busy with the request when the platform gave up, may have enqueued it
        # after the user's next message (Discord: the answer then comes as a channel message).
        reordered = sorted(
            session
            for session, seqs in self.delivered.items()
            if not _in_order(
                [q for s, q in dict.fromkeys(arrived) if s == session and (s, q) not in self.shown_failed],
                seqs,
            )
        )
        letters = [d for d in dead if d.session in mine]
        by_marker = {(d.session, d.seq): d for d in letters}
        return Verdict(
            sent=len(known),
            answered=len(set(arrived) & known),
            shown_failed=len(self.shown_failed & known),
            lost=tuple(lost),
            doubled=tuple(doubled),
            announced=tuple(resent),
            reordered=tuple(reordered),
            stray=tuple(stray),
            dead_unexpected=tuple(d for d in letters if (d.session, d.seq) not in self.doomed),
            dead_missing=tuple(sorted(m for m in self.doomed if m not in by_marker)),
            dead_wrong_reason=tuple(
                d
                for d in letters
                if (d.session, d.seq) in self.doomed and self.doomed[(d.session, d.seq)] != d.error_type
            ),
        )


def _in_order(answered: list[int], sent: list[int]) -> bool:
    """Whether the first answers of a session follow the order its messages were sent in."""
    rank = {seq: i for i, seq in enumerate(sent)}
    ranks = [rank[q] for q in answered if q in rank]
    return ranks == sorted(ranks)
