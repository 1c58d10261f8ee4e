"""EventBridge Scheduler expressions: checked up front, and evaluated to fire times. Pure.

Scheduler takes three kinds of `ScheduleExpression` (its user guide, "Schedule types"):

- `at(yyyy-mm-ddThh:mm:ss)`: one time, in `ScheduleExpressionTimezone` (no zone suffix);
- `rate(value unit)`: every `value` minutes/hours/days (a positive integer; at least one minute);
- `cron(minutes hours day-of-month month day-of-week year)`: six fields, one of day-of-month and
  day-of-week must be `?`; day-of-week counts 1-7 from Sunday; names (`JAN`, `MON`) are accepted.

`parse_expression` accepts exactly what this module can evaluate and raises `InvalidSchedule`, naming
the field, for anything else. Scheduler's `W`, `#` and `<n>L` day operators are valid in AWS but
refused here: the local firer could not fire them, and the same schedule must behave the same in both.

Fire times: a rate schedule fires at `anchor + k * period` for k >= 1 (anchor: its start date, else its
creation time); a cron schedule at every matching minute of its time zone (a local time skipped by a
daylight-saving jump does not fire; a repeated one fires once, at its first occurrence); an `at`
schedule once. Every function takes and returns aware UTC datetimes and never reads the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clawbus.bus.errors import InvalidSchedule

MAX_EXPRESSION = 256  # Scheduler's ScheduleExpression length
_SEARCH_DAYS = 366 * 5  # cron searches give up after five years (a year field may rule out the rest)
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


@dataclass(frozen=True)
class At:
    """A one-time schedule at a wall-clock time (naive; the schedule's time zone applies)."""

    when: datetime


@dataclass(frozen=True)
class Rate:
    """A recurring schedule every `minutes` minutes."""

    minutes: int


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression; `None` day sets mean `?` (any), `last_day` is day-of-month `L`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday, as Scheduler counts
    years: frozenset[int] | None

    def matches_date(self, day: date) -> bool:
        """Whether the schedule fires on some minute of `day` (local date)."""
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.weekdays is not None:
            return (day.isoweekday() % 7) + 1 in self.weekdays
        if self.last_day:
            return (day + timedelta(days=1)).month != day.month
        return self.days is None or day.day in self.days


Expression = At | Rate | Cron


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or `InvalidSchedule` (Scheduler's limit is 50 characters)."""
    problem = f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'"
    if not name or len(name) > 50:
        raise InvalidSchedule(problem)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(problem) from exc


def _field_values(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = _number(first, names), _number(last, names)
            else:
                start = _number(base, names)
                end = high if step_text else start
        except ValueError:
            raise InvalidSchedule(f"cron {name} field {text!r}: cannot read {part!r}") from None
        if not (low <= start <= high and low <= end <= high) or start > end or step < 1:
            raise InvalidSchedule(f"cron {name} field {text!r}: values must lie in {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(token: str, names: dict[str, int]) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit():
        raise ValueError(token)
    return int(token)


def _parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise InvalidSchedule(
            f"cron({body}) has {len(fields)} fields; Scheduler takes six: "
            "minutes hours day-of-month month day-of-week year"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
    odd_dom = dom.upper() != "L" and any(op in dom.upper() for op in "WL#")
    odd_dow = "#" in dow or any(part.upper().endswith("L") for part in dow.split(","))
    for odd, text, name in ((odd_dom, dom, "day-of-month"), (odd_dow, dow, "day-of-week")):
        if odd:
            raise InvalidSchedule(
                f"cron {name} field {text!r}: the W, # and <n>L operators are not supported by clawbus "
                "(its local firer cannot evaluate them); list the days instead"
            )
    return Cron(
        minutes=_field_values(minute, "minutes", 0, 59, {}),
        hours=_field_values(hour, "hours", 0, 23, {}),
        days=None if dom in ("?", "L") else _field_values(dom, "day-of-month", 1, 31, {}),
        last_day=dom.upper() == "L",
        months=_field_values(month, "month", 1, 12, _MONTHS),
        weekdays=None if dow == "?" else _field_values(dow, "day-of-week", 1, 7, _DAYS),
        years=None if year == "*" else _field_values(year, "year", 1970, 2199, {}),
    )


def parse_expression(text: str) -> Expression:
    """Parse a Scheduler `ScheduleExpression`; `InvalidSchedule` says what is wrong with it."""
    if not text or len(text) > MAX_EXPRESSION:
        raise InvalidSchedule(f"schedule expression must be 1-{MAX_EXPRESSION} characters")
    if match := _AT.match(text):
        try:
            return At(datetime.fromisoformat(match.group(1)))
        except ValueError:
            raise InvalidSchedule(f"{text}: not a valid date and time") from None
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2).removesuffix("s")
        if value < 1:
            raise InvalidSchedule(
                f"{text}: the rate must be a positive integer (Scheduler's minimum is 1 minute)"
            )
        if (value == 1) != (match.group(2) == unit):
            raise InvalidSchedule(f"{text}: write 'rate(1 {unit})' or 'rate({value} {unit}s)'")
        return Rate(value * _UNIT_MINUTES[unit])
    if match := _CRON.match(text):
        return _parse_cron(match.group(1).strip())
    raise InvalidSchedule(
        f"{text!r} is not a Scheduler expression: use at(yyyy-mm-ddThh:mm:ss), rate(<n> <unit>) "
        "or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)"
    )


def _local_to_utc(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, or None when a DST jump skips it."""
    aware = local.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        return None
    return utc


def _cron_times(expr: Cron, tz: ZoneInfo, day: date, *, reverse: bool) -> list[datetime]:
    times = []
    for hour in sorted(expr.hours, reverse=reverse):
        for minute in sorted(expr.minutes, reverse=reverse):
            utc = _local_to_utc(datetime(day.year, day.month, day.day, hour, minute), tz)
            if utc is not None:
                times.append(utc)
    return times


def next_fire(expr: Expression, tz: ZoneInfo, anchor: datetime, after: datetime) -> datetime | None:
    """The first fire time strictly after both `after` and `anchor`, or None when there is none."""
    after = max(after, anchor)
    if isinstance(expr, At):
        at = _local_to_utc(expr.when, tz) or expr.when.replace(tzinfo=tz).astimezone(UTC)
        return at if at > after else None
    if isinstance(expr, Rate):
        period = timedelta(minutes=expr.minutes)
        k = max(1, (after - anchor) // period + 1)
        return anchor + k * period
    day = after.astimezone(tz).date()
    for _ in range(_SEARCH_DAYS):
        if expr.matches_date(day):
            for utc in _cron_times(expr, tz, day, reverse=False):
                if utc > after:
                    return utc
        day += timedelta(days=1)
    return None


def latest_fire(expr: Expression, tz: ZoneInfo, anchor: datetime, now: datetime) -> datetime | None:
    """The last fire time at or before `now`.

    For recurring schedules only times after `anchor` count (a schedule does not fire for times before
    it existed); a one-time schedule's time counts whenever it has passed, so a missed one-shot is
    caught up.
    """
    if isinstance(expr, At):
        at = _local_to_utc(expr.when, tz) or expr.when.replace(tzinfo=tz).astimezone(UTC)
        return at if at <= now else None
    if now <= anchor:
        return None
    if isinstance(expr, Rate):
        period = timedelta(minutes=expr.minutes)
        k = (now - anchor) // period
        return anchor + k * period if k >= 1 else None
    day = now.astimezone(tz).date()
    first = anchor.astimezone(tz).date()
    while day >= first:
        if expr.matches_date(day):
            for utc in _cron_times(expr, tz, day, reverse=True):
                if anchor < utc <= now:
                    return utc
        day -= timedelta(days=1)
    return None


def scheduled_time_text(moment: datetime) -> str:
    """A fire time as Scheduler writes `<aws.scheduler.scheduled-time>`: `2025-01-01T09:30:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
