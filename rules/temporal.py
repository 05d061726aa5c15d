"""FEEL's time, date and time, and the two durations, as exact values (DMN 1.5, 10.3.2.3 and table 57).

Seconds are Decimals, so ``12:00:00.123456789`` keeps its nanoseconds and a duration's
arithmetic is exact. A time or date and time has an offset (seconds east of UTC), a zone
name (a date and time only: a time of day has no fixed offset in a named zone), or
neither (local). Local and zoned values are not ordered or subtracted: FEEL leaves that
to the engine, so here it is an ``undefined-temporal`` decision error, never a guess (their
difference is null: DMN 1.5 defines that one).

``parse_*`` give None for a text FEEL reads as no value (FEEL's null) and raise
``TemporalUnsupported`` for a valid FEEL text this module cannot hold exactly (a year
outside 1..9999, a time in a named zone): the caller refuses rather than answer null.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rules.decimals import CTX
from rules.errors import DecisionError

DAY = 86400
MAX_OFFSET = 14 * 3600  # FEEL's offsets run from -14:00 to +14:00


class TemporalUnsupported(ValueError):
    """A valid FEEL text or operation whose exact meaning this module cannot give."""


def undefined(what: str) -> DecisionError:
    return DecisionError("undefined-temporal", f"{what} is not defined in FEEL without an engine's choice; not answered")


def _seconds_text(second: Decimal) -> str:
    whole = int(second)
    fraction = second - whole
    text = f"{whole:02d}"
    if fraction:
        text += format(fraction.normalize(), "f")[1:]
    return text


def _offset_text(offset: int) -> str:
    if offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


class _Span:
    """A duration's order: by its size, within its own kind (the checker never lets two kinds meet)."""

    def size(self) -> Decimal | int:
        raise NotImplementedError

    def __lt__(self, other: _Span) -> bool:
        return self.size() < other.size()

    def __le__(self, other: _Span) -> bool:
        return self.size() <= other.size()

    def __gt__(self, other: _Span) -> bool:
        return self.size() > other.size()

    def __ge__(self, other: _Span) -> bool:
        return self.size() >= other.size()


@dataclass(frozen=True)
class DaysTimeDuration(_Span):
    """``days and time duration``: an exact number of seconds (negative for a negative duration)."""

    seconds: Decimal

    def __str__(self) -> str:
        if not self.seconds:
            return "PT0S"
        sign = "-" if self.seconds < 0 else ""
        total = abs(self.seconds)
        whole = int(total)
        days, rest = divmod(whole, DAY)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        second = Decimal(seconds) + (total - whole)
        clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        clock += f"{format(second.normalize(), 'f')}S" if second else ""
        return f"{sign}P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")

    def __add__(self, other: Any) -> Any:
        if isinstance(other, DaysTimeDuration):
            return DaysTimeDuration(CTX.add(self.seconds, other.seconds))
        if isinstance(other, (Time, DateTime)):
            return other + self
        if isinstance(other, dt.date):  # FEEL: the date of its midnight moved by the duration
            return _date(other.toordinal() + int((self.seconds / DAY).to_integral_value(rounding="ROUND_FLOOR")))
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, DaysTimeDuration):
            return DaysTimeDuration(CTX.subtract(self.seconds, other.seconds))
        return NotImplemented

    def __radd__(self, other: Any) -> Any:
        return self.__add__(other)

    def __rsub__(self, other: Any) -> Any:
        return (-self).__add__(other)

    def __neg__(self) -> DaysTimeDuration:
        return DaysTimeDuration(CTX.minus(self.seconds))

    def size(self) -> Decimal:
        return self.seconds

    def properties(self) -> dict[str, Any]:
        sign = -1 if self.seconds < 0 else 1
        total = abs(self.seconds)
        whole = int(total)
        return {"days": sign * (whole // DAY), "hours": sign * (whole % DAY // 3600),
                "minutes": sign * (whole % 3600 // 60), "seconds": sign * (Decimal(whole % 60) + total - whole)}


@dataclass(frozen=True)
class YearsMonthsDuration(_Span):
    """``years and months duration``: a whole number of months."""

    months: int

    def __str__(self) -> str:
        if not self.months:
            return "P0M"
        years, months = divmod(abs(self.months), 12)
        text = (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        return ("-P" if self.months < 0 else "P") + text

    def __add__(self, other: Any) -> Any:
        if isinstance(other, YearsMonthsDuration):
            return YearsMonthsDuration(self.months + other.months)
        if isinstance(other, DateTime):
            return other + self
        if isinstance(other, dt.date):
            return add_months(other, self.months)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, YearsMonthsDuration):
            return YearsMonthsDuration(self.months - other.months)
        return NotImplemented

    def __radd__(self, other: Any) -> Any:
        return self.__add__(other)

    def __rsub__(self, other: Any) -> Any:
        return (-self).__add__(other)

    def __neg__(self) -> YearsMonthsDuration:
        return YearsMonthsDuration(-self.months)

    def size(self) -> int:
        return self.months

    def properties(self) -> dict[str, Any]:
        sign = -1 if self.months < 0 else 1
        return {"years": sign * (abs(self.months) // 12), "months": sign * (abs(self.months) % 12)}


class _Ordered:
    """Equality and order by ``key()``: the instant for zoned values, the wall clock for local ones.

    FEEL compares times and dates and times to the second (the TCK's ``time("10:30:00.0001")
    = time("10:30:00.0002")`` is true), so equality ignores the fraction; two values within
    one second that differ in it are not ordered (``undefined-temporal``), as ``<`` and ``=``
    would otherwise disagree. A local value is not compared with one with an offset
    (``undefined-temporal``: the TCK leaves it out); their difference is null, as DMN 1.5 says.
    """

    def key(self) -> tuple[bool, Decimal]:
        raise NotImplementedError

    def _pair(self, other: Any) -> tuple[Decimal, Decimal]:
        if type(other) is not type(self):
            raise TypeError(f"cannot compare a {type(self).__name__} with {type(other).__name__}")
        (zoned, a), (other_zoned, b) = self.key(), other.key()
        if zoned != other_zoned:
            raise undefined(f"comparing {self} with {other} (one has an offset, one does not)")
        return a, b

    def _difference(self, other: Any) -> DaysTimeDuration | None:
        """``self - other``; null where one has an offset and the other not (DMN 1.5: both or neither, the TCK's 0100)."""
        (zoned, a), (other_zoned, b) = self.key(), other.key()
        return DaysTimeDuration(CTX.subtract(a, b)) if zoned == other_zoned else None

    def _ordered(self, other: Any) -> tuple[Decimal, Decimal]:
        a, b = self._pair(other)
        if a != b and _whole(a) == _whole(b):
            raise undefined(f"ordering {self} against {other}, which FEEL takes to the second")
        return a, b

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        a, b = self._pair(other)
        return _whole(a) == _whole(b)

    def __hash__(self) -> int:
        zoned, value = self.key()
        return hash((zoned, _whole(value)))

    def __lt__(self, other: Any) -> bool:
        a, b = self._ordered(other)
        return bool(a < b)

    def __le__(self, other: Any) -> bool:
        a, b = self._ordered(other)
        return bool(a <= b)

    def __gt__(self, other: Any) -> bool:
        a, b = self._ordered(other)
        return bool(a > b)

    def __ge__(self, other: Any) -> bool:
        a, b = self._ordered(other)
        return bool(a >= b)


def _whole(seconds: Decimal) -> Decimal:
    return seconds.to_integral_value(rounding="ROUND_FLOOR")


@dataclass(frozen=True, eq=False)
class Time(_Ordered):
    """A time of day: hour, minute, exact second, and an offset in seconds (None: local)."""

    hour: int
    minute: int
    second: Decimal
    offset: int | None = None

    def __str__(self) -> str:
        text = f"{self.hour:02d}:{self.minute:02d}:{_seconds_text(self.second)}"
        return text if self.offset is None else text + _offset_text(self.offset)

    def of_day(self) -> Decimal:
        return Decimal(self.hour * 3600 + self.minute * 60) + self.second

    def key(self) -> tuple[bool, Decimal]:
        # FEEL's valuet: the seconds since midnight less the offset, not wrapped at midnight (the TCK's 0100:
        # 10:10:10+11:00 - 11:10:10+11:00 is -PT1H)
        if self.offset is None:
            return False, self.of_day()
        return True, self.of_day() - self.offset

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, DaysTimeDuration):
            return NotImplemented
        return _time_of(_floormod(CTX.add(self.of_day(), other.seconds)), self.offset)

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, DaysTimeDuration):
            return self + -other
        if isinstance(other, Time):
            return self._difference(other)
        return NotImplemented

    def properties(self) -> dict[str, Any]:
        return {"hour": self.hour, "minute": self.minute, "second": self.second,
                "time offset": None if self.offset is None else DaysTimeDuration(Decimal(self.offset)), "timezone": None}


def _floormod(seconds: Decimal) -> Decimal:
    """Seconds into one day, wrapping below zero as a clock does (Decimal's ``%`` keeps the dividend's sign)."""
    return seconds - DAY * (seconds / DAY).to_integral_value(rounding="ROUND_FLOOR")


def _time_of(seconds: Decimal, offset: int | None) -> Time:
    whole = int(seconds)
    return Time(whole // 3600, whole % 3600 // 60, Decimal(whole % 60) + (seconds - whole), offset)


@dataclass(frozen=True, eq=False)
class DateTime(_Ordered):
    """A date and time: a date of years 1 to 9999, a time, and an optional zone name (which fixes the offset)."""

    date: dt.date
    time: Time
    zone: str | None = None

    def __str__(self) -> str:
        if self.zone is not None:
            return f"{self.date.isoformat()}T{Time(self.time.hour, self.time.minute, self.time.second)}@{self.zone}"
        return f"{self.date.isoformat()}T{self.time}"

    def key(self) -> tuple[bool, Decimal]:
        local = Decimal(self.date.toordinal() * DAY) + self.time.of_day()
        return (False, local) if self.time.offset is None else (True, local - self.time.offset)

    def _shift(self, seconds: Decimal) -> DateTime:
        """The same zone (or offset, or none) ``seconds`` later; a named zone's offset taken anew."""
        _, value = self.key()
        if self.zone is not None:
            return _zoned(value + seconds, self.zone)
        local = value + seconds + (self.time.offset or 0)
        whole = int(local.to_integral_value(rounding="ROUND_FLOOR"))
        days, rest = divmod(whole, DAY)
        return DateTime(_date(days), _time_of(Decimal(rest) + (local - whole), self.time.offset))

    def __add__(self, other: Any) -> Any:
        if isinstance(other, DaysTimeDuration):
            return self._shift(other.seconds)
        if isinstance(other, YearsMonthsDuration):
            moved = DateTime(add_months(self.date, other.months), Time(self.time.hour, self.time.minute, self.time.second,
                                                                       self.time.offset), None)
            if self.zone is None:
                return moved
            try:
                return with_zone(moved, self.zone)
            except TemporalUnsupported as exc:
                raise DecisionError("unsupported-value", str(exc)) from None
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, (DaysTimeDuration, YearsMonthsDuration)):
            return self + -other
        if isinstance(other, DateTime):
            return self._difference(other)
        return NotImplemented

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def month(self) -> int:
        return self.date.month

    @property
    def day(self) -> int:
        return self.date.day

    def properties(self) -> dict[str, Any]:
        return {"year": self.date.year, "month": self.date.month, "day": self.date.day,
                "weekday": self.date.isoweekday(), **self.time.properties(), "timezone": self.zone}


def _date(ordinal_days: int) -> dt.date:
    try:
        return dt.date.fromordinal(ordinal_days)
    except (ValueError, OverflowError):
        raise DecisionError("date-out-of-range", "the date and time falls outside the years 1 to 9999") from None


def add_months(date: dt.date, months: int) -> dt.date:
    """A date moved by whole months, its day clipped to the month's end (FEEL: 2021-01-31 + P1M is 2021-02-28)."""
    import calendar

    total = date.year * 12 + date.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise DecisionError("date-out-of-range", "the date falls outside the years 1 to 9999")
    return dt.date(year, month + 1, min(date.day, calendar.monthrange(year, month + 1)[1]))


def _zoned(instant: Decimal, zone: str) -> DateTime:
    whole = int(instant.to_integral_value(rounding="ROUND_FLOOR"))
    try:
        utc = dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=whole // DAY - 1, seconds=whole % DAY)
        local = utc.astimezone(zoneinfo.ZoneInfo(zone))
    except OverflowError:
        raise DecisionError("date-out-of-range", "the date and time falls outside the years 1 to 9999") from None
    offset = local.utcoffset()
    assert offset is not None
    second = Decimal(local.second) + (instant - whole)
    return DateTime(local.date(), Time(local.hour, local.minute, second, int(offset.total_seconds())), zone)


def with_zone(value: DateTime, zone: str) -> DateTime:
    """A local date and time read in a named zone: the zone's offset on that day (the earlier one in a fold).

    A wall-clock time the zone skips (02:30 on a spring-forward night) is ``TemporalUnsupported``:
    engines move it by the gap, and FEEL does not say so.
    """
    t = value.time
    local = dt.datetime(value.date.year, value.date.month, value.date.day, t.hour, t.minute, int(t.second),
                        tzinfo=zoneinfo.ZoneInfo(zone))
    if local.astimezone(dt.UTC).astimezone(local.tzinfo).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise TemporalUnsupported(f"{value.date}T{Time(t.hour, t.minute, t.second)} does not exist in {zone} (a clock change skips it)")
    offset = local.utcoffset()
    assert offset is not None
    return DateTime(value.date, Time(t.hour, t.minute, t.second, int(offset.total_seconds())), zone)


# Reading FEEL's texts.

_CLOCK = re.compile(r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:(Z)|([+-])(\d{2}):(\d{2})(?::(\d{2}))?|@([A-Za-z][\w/+-]*))?")
_DAY = re.compile(r"(-?\d{4,9})-(\d{2})-(\d{2})")
_YM = re.compile(r"(-)?P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?")
_DT = re.compile(r"(-)?P(?=[\dT])(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?")


def _clock(text: str, *, zone_allowed: bool) -> tuple[Time, str | None] | None:
    m = _CLOCK.fullmatch(text)
    if m is None:
        return None
    hour, minute, second = int(m[1]), int(m[2]), Decimal(m[3] + (m[4] or ""))
    if hour > 23 or minute > 59 or second >= 60:
        return None
    offset = 0 if m[5] else None
    if m[6]:
        offset = (int(m[7]) * 3600 + int(m[8]) * 60 + int(m[9] or 0)) * (-1 if m[6] == "-" else 1)
        if abs(offset) > MAX_OFFSET or int(m[8]) > 59:
            return None
    if m[10] and not zone_allowed:
        raise TemporalUnsupported(f"the time {text!r} is in a named zone, which gives a time of day no fixed offset")
    return Time(hour, minute, second, offset), m[10]


def parse_time(text: str) -> Time | None:
    """FEEL's ``time("10:30:00+01:00")``; None where FEEL gives null."""
    found = _clock(text, zone_allowed=False)
    return None if found is None else found[0]


def parse_date(text: str) -> dt.date | None:
    m = _DAY.fullmatch(text)
    if m is None:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if len(m[1].lstrip("-")) > 4 and m[1].lstrip("-").startswith("0"):
        return None  # a year of more than four digits has no leading zero
    if not 1 <= year <= 9999:
        raise TemporalUnsupported(f"the year {year} (only years 1 to 9999 are held)")
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date_time(text: str) -> DateTime | None:
    """FEEL's ``date and time("2018-12-08T10:30:00@Europe/Paris")``; a date alone is its midnight, local."""
    day, sep, clock = text.partition("T")
    date = parse_date(day)
    if date is None:
        return None
    if not sep:
        return DateTime(date, Time(0, 0, Decimal(0)))
    found = _clock(clock, zone_allowed=True)
    if found is None:
        return None
    time, zone = found
    if zone is None:
        return DateTime(date, time)
    try:
        return with_zone(DateTime(date, time), zone)
    except TemporalUnsupported:
        raise
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # no such zone: FEEL's null
        return None


def parse_duration(text: str) -> DaysTimeDuration | YearsMonthsDuration | None:
    """FEEL's ``duration("P1DT2H")`` or ``duration("-P1Y2M")``: one kind or the other, never both."""
    if text in ("P", "-P", "PT", "-PT"):
        return None
    m = _YM.fullmatch(text)
    if m is not None:
        return YearsMonthsDuration((int(m[2] or 0) * 12 + int(m[3] or 0)) * (-1 if m[1] else 1))
    m = _DT.fullmatch(text)
    if m is None:
        if re.fullmatch(r"-?P\d+Y(\d+M)?\d+D.*|-?P(\d+Y)?\d+MT?.+", text):
            raise TemporalUnsupported(f"the duration {text!r} mixes years or months with days or time")
        return None
    try:
        seconds = (Decimal(int(m[2] or 0) * DAY + int(m[3] or 0) * 3600 + int(m[4] or 0) * 60)
                   + Decimal(m[5] or 0))
    except InvalidOperation:
        return None
    return DaysTimeDuration(-seconds if m[1] else seconds)


def scaled(duration: DaysTimeDuration | YearsMonthsDuration, factor: Decimal) -> DaysTimeDuration | YearsMonthsDuration:
    """A duration times a number: exact seconds, or whole months truncated toward zero (FEEL: -2.5 * P1Y11M is -P4Y9M)."""
    if isinstance(duration, DaysTimeDuration):
        return DaysTimeDuration(CTX.multiply(duration.seconds, factor))
    return YearsMonthsDuration(int(CTX.multiply(Decimal(duration.months), factor).to_integral_value(rounding="ROUND_DOWN")))


def divided(duration: DaysTimeDuration | YearsMonthsDuration, divisor: Any) -> Any:
    """A duration over a number (a duration, as ``scaled``) or over a duration of its kind (a number); null for zero."""
    if isinstance(divisor, (DaysTimeDuration, YearsMonthsDuration)):
        if type(divisor) is not type(duration):
            raise TypeError("durations of two kinds")
        a, b = (Decimal(d.months) if isinstance(d, YearsMonthsDuration) else d.seconds for d in (duration, divisor))
        return None if not b else CTX.divide(a, b)
    if not divisor:
        return None
    if isinstance(duration, DaysTimeDuration):
        return DaysTimeDuration(CTX.divide(duration.seconds, divisor))
    months = CTX.divide(Decimal(duration.months), divisor)
    return YearsMonthsDuration(int(months.to_integral_value(rounding="ROUND_DOWN")))


def parse_days_time(text: str) -> DaysTimeDuration | None:
    found = parse_duration(text)
    return found if isinstance(found, DaysTimeDuration) else None


def parse_years_months(text: str) -> YearsMonthsDuration | None:
    found = parse_duration(text)
    return found if isinstance(found, YearsMonthsDuration) else None


def years_and_months(start: dt.date | DateTime, end: dt.date | DateTime) -> YearsMonthsDuration:
    """FEEL's ``years and months duration(from, to)``: the whole months from one date to the other."""
    a = start.date if isinstance(start, DateTime) else start
    b = end.date if isinstance(end, DateTime) else end
    months = (b.year * 12 + b.month) - (a.year * 12 + a.month)
    if months > 0 and b.day < a.day:
        months -= 1
    elif months < 0 and b.day > a.day:
        months += 1
    return YearsMonthsDuration(months)


TEMPORAL_CLASSES = (Time, DateTime, DaysTimeDuration, YearsMonthsDuration)
CLASS_OF_KIND: dict[str, type] = {"time": Time, "date_time": DateTime, "days_time_duration": DaysTimeDuration,
                                  "years_months_duration": YearsMonthsDuration}  # by rules.types kind


def identical(a: Any, b: Any) -> bool:
    """Whether two temporal values are the same value as written: the same class and the same text (offset included)."""
    return type(a) is type(b) and str(a) == str(b)
