"""Business calendars: the days an action skips, or is limited to (pure).

An action names calendars in two keys, `skipDays` and `onlyDays`. A calendar is a set of days:
- `holidays:CC` or `holidays:CC-SUB`: the public holidays of a country or one of its
  subdivisions (`holidays:JP`, `holidays:DE-BY`, `holidays:US-CA`), from the `holidays` package,
  observed days included;
- any other name: a team calendar, a key of the calendars' ConfigMap, whose value lists dates
  (`2026-12-24`) and inclusive ranges (`2026-12-28..2027-01-03`), one per line, `#` comments.

The rule, here and nowhere else (`DayRule.allows`): a fire happens when its day, the calendar date
of the fire's instant in the action's own zone, is in none of the `skipDays` calendars and, if the
action names `onlyDays` calendars, in at least one of them. A fire on any other day does not
happen at all, so the value of the most recent fire that did happen stands. `CalendarTimeline`
answers "the last fire at or before t" and "the next fire after t" with that rule; catch-up, the
fire agenda, `scalers plan` and `validate` and the demo all ask it.

A search looks at most `HORIZON` back or ahead: an action with no allowed fire in a year has no
value scheduled (back), or no next fire (ahead) until its calendars change or time passes."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from scalers.schedule.cron import Timeline, timeline

PUBLIC = "holidays:"
HORIZON = timedelta(days=366)
MAX_NAMES = 10  # calendars in one key of one action
MAX_ENTRIES = 10_000  # dates and ranges in one team calendar
QUOTED = 80
_TEAM_NAME = re.compile(r"[-._a-zA-Z0-9]{1,253}")  # a ConfigMap key
_ENTRY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:\s*\.\.\s*([0-9]{4}-[0-9]{2}-[0-9]{2}))?")
_ONE_DAY = timedelta(days=1)


class Days(Protocol):
    @property
    def name(self) -> str: ...

    def __contains__(self, day: object) -> bool: ...

    def between(self, first: date, last: date) -> Iterable[date]:
        """The calendar's days from `first` to `last`, both included, in any order."""
        ...


def _quoted(text: str) -> str:
    return repr(text if len(text) <= QUOTED else text[: QUOTED - 1] + "…")


# -- public holidays ------------------------------------------------------------------------------


@cache
def _countries() -> frozenset[str]:
    from holidays.registry import COUNTRIES  # imported only when a schedule names a country

    return frozenset(codes[1] for codes in COUNTRIES.values())


def public_problem(name: str) -> str | None:
    """Why `holidays:CC[-SUB]` names no calendar of the `holidays` package, or None."""
    code = name[len(PUBLIC) :]
    country, dash, subdivision = code.partition("-")
    if country.upper() not in _countries():
        return (
            f"unknown country {_quoted(country)} in {_quoted(name)}: give an ISO 3166-1 alpha-2 "
            "code the holidays package knows, e.g. holidays:JP, holidays:DE-BY, holidays:US-CA"
        )
    known = _subdivisions(country.upper())
    if dash and subdivision.upper() not in {s.upper() for s in known}:
        return (
            f"unknown subdivision {_quoted(subdivision)} of {country.upper()} in "
            f"{_quoted(name)}; it has: {', '.join(known)[:200] or 'none'}"
        )
    return None


@cache
def _subdivisions(country: str) -> tuple[str, ...]:
    import holidays

    return tuple(getattr(holidays.country_holidays(country), "subdivisions", ()))


class PublicHolidays:
    """The public holidays of one country or subdivision, a year at a time, each year computed
    once (the package's own objects fill their years lazily: they are not shared here)."""

    def __init__(self, name: str, country: str, subdivision: str | None) -> None:
        self.name = name
        self._country, self._subdivision = country, subdivision
        self._years: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    def _year(self, year: int) -> frozenset[date]:
        days = self._years.get(year)
        if days is None:
            import holidays

            found = holidays.country_holidays(self._country, subdiv=self._subdivision, years=year)
            days = frozenset(found)
            with self._lock:
                self._years[year] = days
        return days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in self._year(day.year)

    def between(self, first: date, last: date) -> Iterable[date]:
        for year in range(first.year, last.year + 1):
            yield from (d for d in self._year(year) if first <= d <= last)


def public_holidays(name: str) -> PublicHolidays:
    """One shared calendar per country and subdivision: `holidays:de-by` is `holidays:DE-BY`."""
    country, _, subdivision = name[len(PUBLIC) :].partition("-")
    country = country.upper()
    if subdivision:
        known = {s.upper(): s for s in _subdivisions(country)}
        subdivision = known.get(subdivision.upper(), subdivision)
    return _public(country, subdivision or None)


@cache
def _public(country: str, subdivision: str | None) -> PublicHolidays:
    name = f"{PUBLIC}{country}" + (f"-{subdivision}" if subdivision else "")
    return PublicHolidays(name, country, subdivision)


# -- team calendars -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TeamCalendar:
    """Dates and inclusive ranges, merged and sorted: membership is a bisection."""

    name: str
    starts: tuple[date, ...]
    ends: tuple[date, ...]

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        index = bisect.bisect_right(self.starts, day) - 1
        return index >= 0 and day <= self.ends[index]

    def between(self, first: date, last: date) -> Iterable[date]:
        index = bisect.bisect_left(self.ends, first)  # the first range not over by `first`
        while index < len(self.starts) and self.starts[index] <= last:
            day, stop = max(self.starts[index], first), min(self.ends[index], last)
            while day <= stop:
                yield day
                day += _ONE_DAY
            index += 1

    def same_days(self, other: TeamCalendar) -> bool:
        return (self.starts, self.ends) == (other.starts, other.ends)


def parse_team_calendar(name: str, text: Any) -> TeamCalendar | str:
    """A team calendar from its ConfigMap value, or why it is not one (a line number and what
    is wrong there)."""
    if not isinstance(text, str):
        return f"calendar {_quoted(name)} must be text, one date or range per line"
    spans: list[tuple[date, date]] = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip().removeprefix("- ").strip().strip("'\"")
        if not entry:
            continue
        where = f"calendar {_quoted(name)} line {number}"
        found = _ENTRY.fullmatch(entry)
        if found is None:
            return (
                f"{where}: {_quoted(entry)} is neither a date (2026-12-24) nor a range of dates "
                "(2026-12-28..2027-01-03)"
            )
        try:
            first = date.fromisoformat(found[1])
            last = date.fromisoformat(found[2] or found[1])
        except ValueError as error:
            return f"{where}: {_quoted(entry)}: {error}"
        if last < first:
            return f"{where}: {_quoted(entry)} ends before it starts"
        spans.append((first, last))
        if len(spans) > MAX_ENTRIES:
            return f"calendar {_quoted(name)} has more than {MAX_ENTRIES} dates and ranges"
    merged: list[list[date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + _ONE_DAY:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return TeamCalendar(name, tuple(s for s, _ in merged), tuple(e for _, e in merged))


@dataclass(frozen=True)
class Calendars:
    """The team calendars as one version of their ConfigMap declares them. `found` is False
    while the ConfigMap does not exist; `problems` holds each calendar that is not valid, by
    name, with why; `problem` a ConfigMap that is bad as a whole."""

    source: str  # "namespace/name" of the ConfigMap
    found: bool = False
    read: bool = True  # False until the watch has listed the ConfigMap (or its absence)
    unread: str = "is not read yet"  # what `read` False means, said of the ConfigMap
    calendars: Mapping[str, TeamCalendar] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None

    def lookup(self, name: str) -> Days | str:
        """The calendar named `name`, or why there is none: for a public holiday calendar, the
        name is the problem's subject; for a team calendar, the ConfigMap."""
        if name.startswith(PUBLIC):
            return public_problem(name) or public_holidays(name)
        if not self.read:
            return f"the calendars' ConfigMap {self.source} {self.unread}"
        if not self.found:
            return f"the calendars' ConfigMap {self.source} does not exist"
        if self.problem is not None:
            return f"the calendars' ConfigMap {self.source} is not valid: {self.problem}"
        if name in self.problems:
            return f"calendar {_quoted(name)} in {self.source} is not valid: {self.problems[name]}"
        found = self.calendars.get(name)
        if found is None:
            known = ", ".join(sorted(self.calendars)) or "none"
            return f"no calendar {_quoted(name)} in {self.source} (it has: {known[:200]})"
        return found

    def state(self, name: str) -> object:
        """What `name` resolves to, for telling whether an edit changed it: the calendar, or
        why it cannot be read; an absent one is absent whatever else the ConfigMap lists."""
        if not self.unavailable(name) and name not in self.calendars:
            return ABSENT
        return self.lookup(name)

    def unavailable(self, name: str) -> bool:
        """True when `name` may exist but cannot be read now (the ConfigMap missing or bad, or
        that calendar bad): actions that need it are held. False for a name that is simply
        unknown to a valid ConfigMap, which rejects the action."""
        if name.startswith(PUBLIC):
            return False
        return not self.read or not self.found or self.problem is not None or name in self.problems

    def said(self) -> str | None:
        """What is wrong with the ConfigMap itself or any calendar in it, in one line."""
        if not self.read or not self.found:
            return None
        problems = [self.problem] if self.problem else list(self.problems.values())
        return "; ".join(problems) if problems else None


ABSENT = "absent"
NO_CALENDARS = Calendars("(none)")  # where no ConfigMap is read: team calendars are unknown


def parse_calendars(
    source: str, configmap: Mapping[str, Any] | None, previous: Calendars | None = None
) -> Calendars:
    """The calendars of a ConfigMap (None: it does not exist). A calendar whose days did not
    change is the same object as in `previous`, so the fires computed with it still hold."""
    if configmap is None:
        return Calendars(source)
    data = configmap.get("data") or {}
    if not isinstance(data, Mapping):
        return Calendars(source, found=True, problem="its data is not a map of names to calendars")
    calendars, problems = {}, {}
    for name, text in data.items():
        if not (isinstance(name, str) and _TEAM_NAME.fullmatch(name)) or name.startswith(
            "holidays"
        ):
            problems[str(name)] = (
                f"calendar {_quoted(str(name))}: a team calendar's name may not start with "
                "'holidays' (public holidays are named holidays:CC in the actions)"
            )
            continue
        parsed = parse_team_calendar(name, text)
        if isinstance(parsed, str):
            problems[name] = parsed
            continue
        old = previous.calendars.get(name) if previous else None
        calendars[name] = old if old is not None and old.same_days(parsed) else parsed
    return Calendars(source, found=True, calendars=calendars, problems=problems)


def name_problem(name: Any) -> str | None:
    """Why a name in `skipDays`/`onlyDays` cannot name a calendar, before any ConfigMap is read:
    not a string, a team calendar's name that no ConfigMap key can be, or an unknown country."""
    if not isinstance(name, str) or not name:
        return "a calendar's name must be a non-empty string"
    if name.startswith(PUBLIC):
        return public_problem(name)
    if name.lower().startswith("holidays"):
        return f"{_quoted(name)}: public holidays are named holidays:CC or holidays:CC-SUB"
    if not _TEAM_NAME.fullmatch(name):
        return (
            f"{_quoted(name)} cannot be a team calendar's name (letters, digits, '-', '_' and "
            "'.', as a ConfigMap key)"
        )
    return None


# -- the rule -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRule:
    """An action's calendars, resolved: the days it skips and the days it is limited to."""

    skip: tuple[Days, ...] = ()
    only: tuple[Days, ...] = ()

    def allows(self, day: date) -> bool:
        if any(day in days for days in self.skip):
            return False
        return not self.only or any(day in days for days in self.only)

    def nearest(self, day: date, limit: date, forward: bool) -> date | None:
        """The nearest day after (or before) `day` that the rule allows, not past `limit`."""
        if self.only:
            low, high = (day + _ONE_DAY, limit) if forward else (limit, day - _ONE_DAY)
            candidates = {d for days in self.only for d in days.between(low, high)}
            allowed = (d for d in sorted(candidates, reverse=not forward) if self.allows(d))
            return next(allowed, None)
        step = _ONE_DAY if forward else -_ONE_DAY
        day += step
        while (day <= limit) if forward else (day >= limit):
            if self.allows(day):
                return day
            day += step
        return None


def start_of(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone` (where midnight does not exist, the transition)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


class Fires(Protocol):
    def last_at_or_before(self, at: datetime) -> datetime | None: ...

    def next_after(self, at: datetime) -> datetime | None: ...


class CalendarTimeline:
    """The fires of one (expression, zone) that a `DayRule` allows.

    The shared `Timeline` answers first; only when its fire falls on a day the rule refuses does
    a search run, from day to allowed day (a fresh croniter for each, never the shared span
    stretched over a year). The answer for each of the shared timeline's fires, searched or
    not, is kept against that fire: thousands of objects with the same schedule and calendars,
    at any instant until the next fire, share it with a dictionary lookup."""

    KEEP = 4096

    def __init__(self, expression: str, zone: ZoneInfo, days: DayRule) -> None:
        self._expression, self._zone, self._days = expression, zone, days
        self._base = timeline(expression, zone)
        self._back: dict[datetime, datetime | None] = {}
        self._ahead: dict[datetime, datetime | None] = {}
        self._lock = threading.Lock()

    def _day(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def last_at_or_before(self, at: datetime) -> datetime | None:
        fired = self._base.last_at_or_before(at)
        if fired is None:
            return None
        found = self._back.get(fired, _UNKNOWN)  # a dict's get is atomic: no lock to read
        return self._kept(self._back, fired, self._search_back) if found is _UNKNOWN else found

    def next_after(self, at: datetime) -> datetime | None:
        fire = self._base.next_after(at)
        found = self._ahead.get(fire, _UNKNOWN)
        return self._kept(self._ahead, fire, self._search_ahead) if found is _UNKNOWN else found

    def _kept(self, memo: dict[datetime, Any], fire: datetime, search: Any) -> Any:
        """The answer for one of the shared timeline's fires: itself on an allowed day, else
        what the search finds."""
        found = fire if self._days.allows(self._day(fire)) else search(fire)
        with self._lock:
            if len(memo) >= self.KEEP:
                memo.clear()
            memo[fire] = found
        return found

    def _search_back(self, refused: datetime) -> datetime | None:
        floor = refused - HORIZON
        day: date | None = self._day(refused)
        while True:
            assert day is not None
            day = self._days.nearest(day, floor.date(), forward=False)
            if day is None:
                return None
            end = start_of(day + _ONE_DAY, self._zone) - timedelta(microseconds=1)
            fired = Timeline(self._expression, self._zone).last_at_or_before(end)
            if fired is None or fired < floor:
                return None
            day = self._day(fired)
            if self._days.allows(day):
                return fired

    def _search_ahead(self, refused: datetime) -> datetime | None:
        ceiling = refused + HORIZON
        day: date | None = self._day(refused)
        while True:
            assert day is not None
            day = self._days.nearest(day, ceiling.date(), forward=True)
            if day is None:
                return None
            start = start_of(day, self._zone) - timedelta(microseconds=1)
            fire = Timeline(self._expression, self._zone).next_after(start)
            if fire > ceiling:
                return None
            day = self._day(fire)
            if self._days.allows(day):
                return fire


_UNKNOWN: Any = object()  # not in a memo yet
_calendar_timelines: dict[tuple[str, ZoneInfo, DayRule], CalendarTimeline] = {}
_calendar_timelines_lock = threading.Lock()


def fires(expression: str, zone: ZoneInfo, days: DayRule | None) -> Fires:
    """The fires of an action: its cron's own, or those its calendars allow."""
    if days is None:
        return timeline(expression, zone)
    key = (expression, zone, days)
    found = _calendar_timelines.get(key)
    if found is None:
        with _calendar_timelines_lock:
            if len(_calendar_timelines) >= 1024:  # bounded, as the plain timelines are
                _calendar_timelines.clear()
            found = _calendar_timelines.setdefault(key, CalendarTimeline(*key))
    return found
