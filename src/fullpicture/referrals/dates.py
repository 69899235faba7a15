"""Dates and times in referral text: the entity ruler's DATE/TIME/RECENT/OLDER mentions resolved to
calendar days (against the referral date), with birth and delivery dates told apart from events.

Split out of ``language.py``: the date patterns themselves are data (``language_cues.yaml``
``date_regexes`` and ``entity_patterns``); this module scans for them and resolves what they name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fullpicture.referrals.regex_index import searchable
from fullpicture.referrals.spans import TextSpan, is_word_char

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_WEEKDAYS = {
    name: number
    for number, name in enumerate(
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    )
}
_FUTURE_DAYS_WITHOUT_YEAR = 60
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_NUMERIC_DAY_MONTH = re.compile(r"^(\d{1,2})/(\d{1,2})$")
_DAY_MONTH = re.compile(
    r"^(?:(?P<weekday>[a-z]+)\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]+)\.?(?:\s+(?P<year>\d{4}))?$"
)
# Words before a date that make it a birth or delivery date, not the date of an event.
_BIRTH_CONTEXT = re.compile(
    r"(?:\bdob\b|d\.o\.b\.?|\bborn\b|date of birth|\bedd\b|due date|expected date of delivery|\bdue\b)[\s:,(]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date or time expression the entity ruler found, resolved to a calendar day when it can be."""

    span: TextSpan
    label: str
    day: dt.date | None
    is_birth_date: bool
    recency: Literal["same_or_previous_day", "older", "none"]


class DateScan:
    """The matches of the alternation ``(?P<d0>r0)|(?P<d1>r1)|…`` over a text, found with one
    scan per regex instead: an alternation cannot use a regex's own fast search for its
    leading literal or character set, so it is the slower of the two (bench/referrals.py).

    The alternation's next match starts at the earliest position any regex matches, and there
    the first regex in file order wins; ``pending`` holds each regex's next match from the scan
    position, searched again only once the scan has passed its start.
    """

    def __init__(self, patterns: Sequence[tuple[str, str]]) -> None:
        # Each searched as written for the engine's fast scan (regex_index.searchable): the
        # same matches.
        self._regexes = [(re.compile(searchable(pattern)), label) for pattern, label in patterns]
        self._alternation = re.compile(
            "|".join(f"(?P<d{n}>{pattern})" for n, (pattern, _) in enumerate(patterns))
        )
        self._labels = {f"d{n}": label for n, (_, label) in enumerate(patterns)}

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, label) of each match, as the alternation's ``finditer`` gives them."""
        found: list[tuple[int, int, str]] = []
        pending = [regex.search(text) for regex, _ in self._regexes]
        while True:
            starts = [m.start() for m in pending if m is not None]
            if not starts:
                return found
            first = min(starts)
            winner = next(n for n, m in enumerate(pending) if m is not None and m.start() == first)
            match = pending[winner]
            assert match is not None
            if match.end() == first:
                # An empty match: the alternation's rule for what may follow it is subtle;
                # let the alternation itself answer.
                return self._by_alternation(text)
            found.append((first, match.end(), self._regexes[winner][1]))
            pending = [
                m if m is None or m.start() >= match.end() else regex.search(text, match.end())
                for m, (regex, _) in zip(pending, self._regexes, strict=True)
            ]

    def _by_alternation(self, text: str) -> list[tuple[int, int, str]]:
        return [
            (m.start(), m.end(), self._labels[str(m.lastgroup)])
            for m in self._alternation.finditer(text)
        ]


def date_mentions(
    entities: Sequence[tuple[int, int, str]],
    text: str,
    lowered: str,
    date_scan: DateScan,
    referral_date: dt.date,
) -> list[DateMention]:
    """The dates and times of a text: the date regexes' matches and the date phrases
    (``entities``: start and end character, label), resolved against the referral date."""
    found: list[tuple[int, int, str]] = []
    for start, end, label in date_scan.matches(lowered):
        if start > 0 and is_word_char(lowered[start - 1]):
            continue
        found.append((start, end, label))
    found.sort()
    kept: list[tuple[int, int, str]] = []
    for start, end, label in found:  # earliest first, longest of any overlap
        if kept and start < kept[-1][1]:
            if end - start > kept[-1][1] - kept[-1][0]:
                kept[-1] = (start, end, label)
            continue
        kept.append((start, end, label))
    spans = list(kept)
    for start, end, entity_label in entities:
        following = next((k for k in kept if k[0] >= end), None)
        if (
            entity_label == "DATE"
            and following
            and following[0] - end <= 2
            and not text[end : following[0]].strip()
        ):
            # "Friday 20 November": the weekday belongs to the date that follows
            spans = [k if k != following else (start, k[1], k[2]) for k in spans]
            continue
        if any(k[0] < end and start < k[1] for k in kept):
            continue
        spans.append((start, end, entity_label))
    mentions: list[DateMention] = []
    for start, end, label in sorted(spans):
        if label not in {"DATE", "TIME", "RECENT", "OLDER"}:
            continue
        before = text[max(0, start - 30) : start]
        recency: Literal["same_or_previous_day", "older", "none"] = "none"
        if label == "RECENT":
            recency = "same_or_previous_day"
        elif label == "OLDER":
            recency = "older"
        mentions.append(
            DateMention(
                span=TextSpan(start, end, text[start:end]),
                label=label,
                day=resolve_day(text[start:end], referral_date),
                is_birth_date=bool(_BIRTH_CONTEXT.search(before)),
                recency=recency,
            )
        )
    return mentions


def resolve_day(expression: str, referral_date: dt.date) -> dt.date | None:
    """The calendar day a date expression names, or None for times and periods."""
    value = expression.strip().lower().rstrip(".,")
    numeric = _NUMERIC_DATE.match(value)
    if numeric:
        day, month, year = (int(part) for part in numeric.groups())
        if year < 100:
            year += 2000
        return _safe_date(year, month, day)
    day_month = _NUMERIC_DAY_MONTH.match(value)
    if day_month:
        day, month = (int(part) for part in day_month.groups())
        return _without_year(day, month, referral_date)
    found = _DAY_MONTH.match(value.replace(",", ""))
    if found and found.group("month") in _MONTHS:
        month = _MONTHS[found.group("month")]
        if found.group("year"):
            return _safe_date(int(found.group("year")), month, int(found.group("day")))
        return _without_year(int(found.group("day")), month, referral_date)
    words = value.split()
    if words and words[-1] in _WEEKDAYS and len(words) <= 2:
        back = (referral_date.weekday() - _WEEKDAYS[words[-1]]) % 7
        return referral_date - dt.timedelta(days=back or 7 if words[0] == "last" else back)
    if value in {"today", "this morning", "this afternoon", "earlier today", "tonight"}:
        return referral_date
    if value in {"yesterday", "last night", "yesterday evening", "yesterday afternoon"}:
        return referral_date - dt.timedelta(days=1)
    return None


def _without_year(day: int, month: int, referral_date: dt.date) -> dt.date | None:
    """A day and month in the referral's year, or the year before when that would put it more than
    ``_FUTURE_DAYS_WITHOUT_YEAR`` days ahead: "15 December" in a January referral is last
    December; "27 November" in a 23 November referral is a future date (a plan, not an event)."""
    candidate = _safe_date(referral_date.year, month, day)
    if candidate and candidate > referral_date + dt.timedelta(days=_FUTURE_DAYS_WITHOUT_YEAR):
        candidate = _safe_date(referral_date.year - 1, month, day)
    return candidate


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
