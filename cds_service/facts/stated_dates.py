"""When the prescriber's note says anakinra was last used: dates read from the words of a statement.

Initiation 1.b: "The prescriber states the member has been treated with anakinra (starting on samples is not
approvable) within the past 90 days AND is at risk if therapy is changed". A note does not have to say "within the
past 90 days": "treated with Kineret continuously since 10/06/2025" says it by its dates, and "treated with Kineret
from February to mid-July 2025 ... stopped" says the opposite. This module reads such dates, as ranges (earliest,
latest) because the words are often approximate ("mid-July 2025" is 11 to 20 July), so that the policy can tell
"certainly within the window", "certainly before it" and "cannot tell" apart.

Only a few explicit constructions are read, each close to the anakinra name (no other medication named between
them: "Kineret in 2023, Humira from 01/2026" says nothing recent about Kineret):
- a range: "from DATE to DATE", "DATE - DATE", "between DATE and DATE" (the second date is a use);
- an end: "stopped / discontinued / ended / held / last dose / last injection / until / through DATE";
- a start: "started / restarted / resumed / began / initiated / since DATE" (treatment on that date; with a word of
  continuing use, "has been", "continuously", "ongoing", "currently", "still", and no end, use up to the order date);
- a recent dose: "last dose / injection this morning / today / yesterday / last night / N days (weeks) ago".
A month without a year takes the year of the other end of its range ("from February to mid-July 2025"); alone it is
not read (the note's year is not guessed). Dates after the order date are not read.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .terminology.loader import data

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PART = r"(?:(?P<part>early|mid|late|end of|beginning of|start of)[- ]?)?"
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

# One date expression; every alternative has its own named groups (parsed by `_parse`).
_DATE = (
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"|(?P<us>(?P<um>\d{1,2})/(?P<ud>\d{1,2})/(?P<uy>\d{4}|\d{2}))(?![\d/])"
    r"|(?P<my>(?P<mym>\d{1,2})/(?P<myy>\d{4}))(?![\d/])"
    rf"|(?P<mdy>(?P<mdym>{_MONTH})\s+(?P<mdyd>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<mdyy>\d{{4}}))"
    rf"|(?P<dmy>(?P<dmyd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<dmym>{_MONTH}),?\s+(?P<dmyy>\d{{4}}))"
    rf"|(?P<mon>{_PART}(?P<monm>{_MONTH})(?:,?\s+(?P<mony>\d{{4}}))?)(?![a-z])"
    r"|(?P<rel>this morning|this afternoon|this evening|today|tonight|yesterday|last night"
    r"|(?P<reln>\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?P<relu>days?|weeks?)\s+ago)"
    r"|(?P<year>(?<![\d/-])(?:19|20)\d\d(?![\d/-]))"
)
_D = re.compile(_DATE, re.I)

_RANGE = re.compile(
    rf"(?:\b(?:from|between)\s+)?(?P<a>{_DATE.replace('?P<', '?P<a_')})\s*"
    rf"(?:-|\u2013|\u2014|\bto\b|\buntil\b|"  # hyphen, en dash, em dash, words
    rf"\btill\b|\bthrough\b|\bthru\b|\band\b)\s*(?P<b>{_DATE.replace('?P<', '?P<b_')})",
    re.I,
)
_NAME = r"(?:(?:anakinra|kineret)(?:\s*\([a-z]+\))?\s+)?"  # "stopped Kineret in July 2025"
_END = re.compile(
    r"\b(?:stopped|discontinued|ended|held|halted|interrupted|off since|until|till|through|thru|"
    r"last (?:dose|injection|shot|fill|filled|administration|administered|used|given|taken|syringe)"
    r"(?:\s+(?:was|on|in))?)\s+" + _NAME + r"(?:(?:on|in|at|around|about)\s+)?$",
    re.I,
)
_START = re.compile(
    r"\b(?:started|restarted|resumed|began|begun|initiated|commenced|since)\s+"
    + _NAME
    + r"(?:(?:on|in|at|around|about)\s+)?$",
    re.I,
)
_ONGOING = re.compile(
    r"\b(?:has been|have been|continuously|continuous|ongoing|currently|still|remains|continues|"
    r"continuing|to date|to (?:the )?present|until now|uninterrupted)\b",
    re.I,
)
_LAST_RECENT = re.compile(r"\blast (?:dose|injection|shot|syringe|administration)\b", re.I)


@dataclass(frozen=True)
class StatedUse:
    """The last anakinra use a statement's words show: between `earliest` and `latest` (inclusive)."""

    earliest: date
    latest: date
    words: str  # the words the dates were read from


def _month_range(year: int, month: int, part: str | None) -> tuple[date, date]:
    last = calendar.monthrange(year, month)[1]
    part = (part or "").lower()
    if part in ("early", "beginning of", "start of"):
        return date(year, month, 1), date(year, month, 10)
    if part == "mid":
        return date(year, month, 11), date(year, month, 20)
    if part in ("late", "end of"):
        return date(year, month, 21), date(year, month, last)
    return date(year, month, 1), date(year, month, last)


def _month(name: str) -> int:
    """The number of a month the date pattern matched by name (ValueError for any other word)."""
    month = _MONTHS.get(name.lower().rstrip("."))
    if month is None:
        raise ValueError(f"not a month name: {name}")
    return month


def _parse(m: re.Match[str], prefix: str, as_of: date | None, year_hint: int | None = None) -> tuple[date, date] | None:
    """(earliest, latest) of one date expression matched with group names prefixed `prefix`; None when it cannot
    be placed (a month with no year and no hint, a relative date without the order date, an impossible date)."""
    g = {k[len(prefix) :]: v for k, v in m.groupdict().items() if k.startswith(prefix) and v is not None}
    try:
        if "iso" in g:
            d = date(int(g["iy"]), int(g["im"]), int(g["id"]))
            return d, d
        if "us" in g:
            y = int(g["uy"])
            y = y + 2000 if y < 100 else y
            d = date(y, int(g["um"]), int(g["ud"]))
            return d, d
        if "my" in g:
            return _month_range(int(g["myy"]), int(g["mym"]), None)
        if "mdy" in g:
            d = date(int(g["mdyy"]), _month(g["mdym"]), int(g["mdyd"]))
            return d, d
        if "dmy" in g:
            d = date(int(g["dmyy"]), _month(g["dmym"]), int(g["dmyd"]))
            return d, d
        if "mon" in g:
            year = int(g["mony"]) if "mony" in g else year_hint
            if year is None:
                return None
            return _month_range(year, _month(g["monm"]), g.get("part"))
        if "rel" in g:
            if as_of is None:
                return None
            word = g["rel"].lower()
            if "reln" in g:
                n = _NUMBERS.get(g["reln"].lower()) or int(g["reln"])
                days = n * (7 if g["relu"].lower().startswith("week") else 1)
                d = as_of - timedelta(days=days)
                return (d - timedelta(days=6), d) if g["relu"].lower().startswith("week") else (d, d)
            d = as_of - timedelta(days=1) if word in ("yesterday", "last night") else as_of
            return d, d
        if "year" in g:
            y = int(g["year"])
            return date(y, 1, 1), date(y, 12, 31)
    except (ValueError, TypeError, OverflowError):
        return None
    return None


def _segments(sentence: str) -> list[str]:
    """The parts of the sentence about anakinra: from the end of the previous other medication named to the start of
    the next one, around each anakinra mention."""
    low = sentence.lower()
    names = data()["anakinra"]["names"]
    others = sorted({n for entry in data()["drugs"].values() for n in entry["names"]}, key=len, reverse=True)
    other_re = re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(n) for n in others) + r")(?![a-z])")
    ana_re = re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(n) for n in names) + r")(?![a-z])")
    cuts = [m.start() for m in other_re.finditer(low)]
    out = []
    for m in ana_re.finditer(low):
        before = [c for c in cuts if c < m.start()]
        after = [c for c in cuts if c > m.end()]
        start = before[-1] if before else 0
        if before:  # skip the other medication's own name
            start = next((o.end() for o in other_re.finditer(low, start) if o.start() == start), start)
        out.append(sentence[start : after[0] if after else len(sentence)])
    return out


def _uses(segment: str, as_of: date | None) -> list[tuple[date, date, str]]:
    """(earliest, latest, words) between which the segment's dates put the last anakinra use, one per date read.

    An end ("stopped in July 2025", the second date of a range, "last injection yesterday") bounds the last use.
    A start only shows use on or after it: with no later end it gives (start, order date), and with "since" or a
    word of continuing use ("has been", "continuously", "currently" ...) the use reaches the order date. A start
    never shows that the use is old ("started in 2023" says nothing of 2026)."""
    starts: list[tuple[date, date, str]] = []
    ends: list[tuple[date, date, str]] = []
    taken: list[tuple[int, int]] = []
    for r in _RANGE.finditer(segment):
        b = _parse(r, "b_", as_of)
        a = _parse(r, "a_", as_of, b[0].year if b else None)
        taken.append(r.span())
        if a is not None:
            starts.append((a[0], a[1], r.group(0).strip()))
        if b is not None:
            ends.append((b[0], b[1], r.group(0).strip()))
    since = False
    for m in _D.finditer(segment):
        if any(s <= m.start() < e for s, e in taken):
            continue
        when = _parse(m, "", as_of)
        if when is None:
            continue
        head = segment[: m.start()]
        words = segment[max(0, m.start() - 30) : m.end()].strip()
        if m.group("rel"):
            if _LAST_RECENT.search(head) or _END.search(head):
                ends.append((when[0], when[1], words))
        elif _END.search(head):
            ends.append((when[0], when[1], words))
        elif _START.search(head):
            starts.append((when[0], when[1], words))
            since = since or bool(re.search(r"\bsince\s+(?:(?:on|in|at|around|about)\s+)?$", head, re.I))
    out = list(ends)
    if as_of is not None:
        ongoing = since or bool(_ONGOING.search(segment))
        for s0, _s1, words in starts:
            if any(e[1] >= s0 for e in ends):
                continue  # closed by a later end: the end says when the use stopped
            out.append((as_of, as_of, segment.strip()) if ongoing else (s0, as_of, words))
        out = [u for u in out if u[0] <= as_of]
    return out


def last_use(sentences: Iterable[str], as_of: date | None) -> StatedUse | None:
    """The last anakinra use the statements' dates show (None when no date says it). It lies between the latest of
    the earliest bounds and the latest of the latest bounds over every use read."""
    uses = [u for s in sentences for seg in _segments(s) for u in _uses(seg, as_of)]
    if not uses:
        return None
    top = max(uses, key=lambda u: (u[1], u[0]))
    earliest = max(u[0] for u in uses)
    return StatedUse(earliest, top[1], top[2])


__all__ = ["StatedUse", "last_use"]
