"""Reading what an entry says before it is scored: the code and severity its words support.

A code alone made ordinary childhoods alert (issue 18): an end-of-year report of 96 % attendance
read as an attendance concern, a fracture-clinic visit as a second injury, a witnessed fall at
football scored like an unexplained bruise. The rules here read the entry's words, each from
``entry_reading`` in ``harm_model.yaml`` with its source, and say which rule decided and on
which words. They run per entry, before scoring, looking only at the entry and at earlier
entries, so the engine, the batch job and day-by-day replay all score the same events.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

from fullpicture.chronology.incidents import ScoringEvent
from fullpicture.chronology.taxonomy import CodeKind, Taxonomy, default_taxonomy
from fullpicture.harm.harm_model import HarmModel

# (code, spans) suggestions from the concern classifier, most confident first.
ConcernClassifier = Callable[[str], list[tuple[str, list[str]]]]

UNCODED = "uncoded_routine"
FOLLOW_UP = "follow_up"
PERSISTENT_ABSENCE = "persistent_absence"
SHORT_ILLNESS = "short_illness_absence"
STRENGTH = "strength_statement"
ACCIDENTAL_INJURY = "accidental_injury"
NON_MOBILE = "non_mobile_baby"
LATE_BOOKING = "late_booking_explained"


@dataclass(frozen=True, slots=True)
class CaseEntry:
    """One entry as written: its code (blank when the agency gave none) and its words."""

    ref: int
    day: dt.date
    agency: str
    code: str
    summary: str
    # For an uncoded entry, the code the concern classifier read in its words and those words.
    inferred_code: str = ""
    inferred_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EntryReading:
    """What the words decided: the code scored (None: not scored), severity, rule and words."""

    ref: int
    code: str | None
    severity: int | None
    rule: str | None
    words: tuple[str, ...]
    note: str


@lru_cache(maxsize=512)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words (or word beginnings where a phrase ends in a stem such as "bruis").
    parts = sorted((re.escape(p.lower()) for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")")


def found_words(text: str, phrases: Sequence[str]) -> list[str]:
    """The phrases of ``phrases`` in ``text`` (case-insensitive), as written in the text."""
    if not phrases:
        return []
    return [text[m.start() : m.end()] for m in _pattern(tuple(phrases)).finditer(text.lower())]


_PERCENT = re.compile(
    r"(?P<what>attendance|attended|absence|absent|missed)[^.;%\d]{0,25}?"
    r"(?P<value>\d{1,3}(?:\.\d+)?)\s?%"
)
_DAYS = re.compile(
    r"\b(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:school\s+)?days?\b"
)
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


def missed_percent(text: str) -> tuple[float, str] | None:
    """The share of sessions missed an entry states ("attendance 96%" → 4), with its words."""
    match = _PERCENT.search(text.lower())
    if match is None:
        return None
    value = float(match.group("value"))
    if value > 100:
        return None
    words = text[match.start() : match.end()]
    if match.group("what") in ("attendance", "attended"):
        return 100.0 - value, words
    return value, words


def _days_absent(text: str) -> int | None:
    match = _DAYS.search(text.lower())
    if match is None:
        return None
    n = match.group("n")
    return int(n) if n.isdigit() else _WORD_NUMBERS[n]


def read_entries(
    entries: Sequence[CaseEntry],
    *,
    date_of_birth: dt.date | None,
    model: HarmModel,
    taxonomy: Taxonomy,
    classify: ConcernClassifier | None,
) -> list[EntryReading]:
    """Read each entry, in date order, with only the entries before it; one reading per entry."""
    readings: dict[int, EntryReading] = {}
    scored_before: list[tuple[dt.date, str, int]] = []  # (day, code, ref) of concern incidents
    for entry in sorted(entries, key=lambda e: (e.day, e.ref)):
        reading = _read(entry, date_of_birth, model, taxonomy, classify, scored_before)
        readings[entry.ref] = reading
        if reading.code is not None or reading.rule == FOLLOW_UP:
            code = reading.code or _followed_code(reading)
            if code:
                scored_before.append((entry.day, code, entry.ref))
    return [readings[e.ref] for e in entries]


def _followed_code(reading: EntryReading) -> str:
    # A follow-up's note starts with the code it follows.
    return reading.note.split(" ", 1)[0]


def _read(
    entry: CaseEntry,
    birth: dt.date | None,
    model: HarmModel,
    taxonomy: Taxonomy,
    classify: ConcernClassifier | None,
    scored_before: list[tuple[dt.date, str, int]],
) -> EntryReading:
    rules = model.entry_reading
    text = entry.summary or ""
    code = entry.code.strip().upper()
    inferred_words: tuple[str, ...] = ()
    if not code:
        conclusion = found_words(text, rules.uncoded.routine_conclusions)
        if not entry.inferred_code or conclusion:
            why = (
                f"its words conclude it was routine ({conclusion[0]!r})"
                if conclusion
                else "no concern is asserted in its words"
            )
            return EntryReading(
                entry.ref,
                None,
                None,
                UNCODED,
                tuple(conclusion),
                f"an entry with no concern code is routine: {why} ({rules.uncoded.source})",
            )
        code, inferred_words = entry.inferred_code, entry.inferred_words
    entry_kind = taxonomy.get(code)
    if entry_kind is None or entry_kind.kind is not CodeKind.CONCERN:
        return EntryReading(entry.ref, code, None, None, inferred_words, "")
    inferred = not entry.code.strip()

    follow = _follow_up(entry, code, text, model, scored_before)
    if follow is not None:
        return follow

    severity: int | None = None
    rule: str | None = None
    words: list[str] = list(inferred_words)
    note = ""

    if code in rules.persistent_absence.codes:
        decided = _absence(entry, code, text, model, inferred)
        if decided is not None:
            if decided.code is None:
                return decided
            rule, words, note = decided.rule, [*words, *decided.words], decided.note
    if code in rules.accidental_injury.codes:
        decided = _injury(entry, code, text, model, birth)
        if decided is not None:
            if decided.code != code:
                return decided
            severity, rule, note = decided.severity, decided.rule, decided.note
            words += decided.words
    if code in rules.late_booking.codes:
        decided = _late_booking(entry, code, text, model, classify, taxonomy)
        if decided is not None:
            return decided

    if severity is None:
        strengths = found_words(text, rules.strengths.words)
        if strengths:
            base = entry_kind.default_severity
            severity = max(1, base - rules.strengths.lower_severity_by)
            rule = STRENGTH
            words += strengths
            note = (
                f"its own words record a strength ({strengths[0]!r}): scored at severity "
                f"{severity}, not {base}; a strength never adds ({rules.strengths.source})"
            )
    return EntryReading(entry.ref, code, severity, rule, tuple(words), note)


def _follow_up(
    entry: CaseEntry,
    code: str,
    text: str,
    model: HarmModel,
    scored_before: list[tuple[dt.date, str, int]],
) -> EntryReading | None:
    rule = model.entry_reading.follow_up
    words = found_words(text, rule.words)
    if not words or found_words(text, rule.unless):
        return None
    earlier = [
        ref
        for day, seen, ref in scored_before
        if seen == code and 0 <= (entry.day - day).days <= rule.within_days
    ]
    if not earlier:
        return None
    return EntryReading(
        entry.ref,
        None,
        None,
        FOLLOW_UP,
        tuple(words),
        f"{code} follow-up of entry {earlier[0]} ({words[0]!r}): the same episode, not a new "
        f"incident ({rule.source})",
    )


def _absence(
    entry: CaseEntry, code: str, text: str, model: HarmModel, inferred: bool
) -> EntryReading | None:
    rule = model.entry_reading.persistent_absence
    stated = missed_percent(text)
    if stated is not None:
        missed, words = stated
        if missed < rule.min_missed_percent:
            return EntryReading(
                entry.ref,
                None,
                None,
                PERSISTENT_ABSENCE,
                (words,),
                f"{words!r} is {missed:g}% of sessions missed, under the "
                f"{rule.min_missed_percent:g}% of persistent absence: not a concern ({rule.source})",
            )
        return EntryReading(
            entry.ref,
            code,
            None,
            PERSISTENT_ABSENCE,
            (words,),
            f"{words!r} is {missed:g}% of sessions missed: persistent absence ({rule.source})",
        )
    illness = found_words(text, rule.short_illness.words)
    days = _days_absent(text)
    concern = found_words(text, rule.concern_words)
    if illness and not concern and (days is None or days <= rule.short_illness.max_days):
        return EntryReading(
            entry.ref,
            None,
            None,
            SHORT_ILLNESS,
            tuple(illness),
            f"a short absence for illness or treatment ({', '.join(illness)}"
            + (f", {days} days" if days is not None else "")
            + f") is not a concern ({rule.source})",
        )
    if inferred and not concern:
        return EntryReading(
            entry.ref,
            None,
            None,
            PERSISTENT_ABSENCE,
            (),
            "an uncoded entry about attendance that does not say sessions were missed is not "
            f"persistent absence ({rule.source})",
        )
    if concern:
        return EntryReading(
            entry.ref,
            code,
            None,
            PERSISTENT_ABSENCE,
            tuple(concern),
            f"its words say education was missed ({concern[0]!r}) ({rule.source})",
        )
    return None


def _injury(
    entry: CaseEntry, code: str, text: str, model: HarmModel, birth: dt.date | None
) -> EntryReading | None:
    rule = model.entry_reading.accidental_injury
    non_mobile = found_words(text, rule.non_mobile_words)
    if non_mobile:
        return EntryReading(
            entry.ref,
            rule.non_mobile_code,
            None,
            NON_MOBILE,
            tuple(non_mobile),
            f"an injury to a baby who is not independently mobile ({non_mobile[0]!r}) is "
            f"{rule.non_mobile_code}, whatever the explanation ({rule.source})",
        )
    if found_words(text, rule.unexplained_words):
        return None
    explained = found_words(text, rule.explained_words)
    if not explained:
        return None
    age = (entry.day - birth).days if birth is not None else None
    for mechanism in rule.mechanisms:
        how = found_words(text, mechanism.words)
        if how and age is not None and age >= mechanism.min_age_days:
            return EntryReading(
                entry.ref,
                code,
                rule.severity,
                ACCIDENTAL_INJURY,
                (*how[:1], *explained[:1]),
                f"an accidental injury with an explanation ({explained[0]!r}) and a mechanism "
                f"that fits a child of {age // 365} ({mechanism.label}: {how[0]!r}) scores "
                f"severity {rule.severity} ({rule.source})",
            )
    return None


def _late_booking(
    entry: CaseEntry,
    code: str,
    text: str,
    model: HarmModel,
    classify: ConcernClassifier | None,
    taxonomy: Taxonomy,
) -> EntryReading | None:
    rule = model.entry_reading.late_booking
    late = found_words(text, rule.late_words)
    explained = found_words(text, rule.explanation_words)
    if not late or not explained or found_words(text, rule.unless):
        return None
    others = sorted(
        {
            c
            for c, _spans in (classify(text) if classify else [])
            if c not in rule.codes
            and (known := taxonomy.get(c)) is not None
            and known.kind is CodeKind.CONCERN
        }
    )
    if others:
        return None
    return EntryReading(
        entry.ref,
        None,
        None,
        LATE_BOOKING,
        (late[0], explained[0]),
        f"a late booking ({late[0]!r}) with a plain explanation ({explained[0]!r}) and no other "
        f"concern is not a concern on its own; missed care after it counts as WNB ({rule.source})",
    )


ScoringRow = tuple[int, int, str, dt.date, str, int | None]


WrittenRow = tuple[int, int, str, dt.date, str, int | None, str]
"""(child, entry id, agency code, day, concern code, practitioner's severity, words): one
scoring entry as the tables hold it, before its words are read."""


def read_written_rows(
    written: Iterable[WrittenRow],
    births: dict[int, dt.date | None],
    model: HarmModel,
    readings_out: dict[int, EntryReading] | None = None,
) -> list[ScoringRow]:
    """Scoring rows from written rows ordered by child: each entry's words read first (the
    readings a rule decided go into ``readings_out``, by entry id, when one is given)."""
    taxonomy = default_taxonomy()
    scored: list[ScoringRow] = []
    for child_id, group in groupby(written, lambda r: r[0]):
        rows = list(group)
        readings = read_entries(
            [
                CaseEntry(ref=r, day=d, agency=a, code=code, summary=text)
                for _, r, a, d, code, _s, text in rows
            ],
            date_of_birth=births.get(child_id),
            model=model,
            taxonomy=taxonomy,
            classify=None,
        )
        for (child, ref, agency, day, code, severity, _text), reading in zip(
            rows, readings, strict=True
        ):
            if severity is not None:
                # A severity the practitioner gave is their judgement of what the words say.
                scored.append((child, ref, agency, day, code, severity))
                continue
            if readings_out is not None and reading.rule is not None:
                readings_out[ref] = reading
            if reading.code is not None:
                scored.append((child, ref, agency, day, reading.code, reading.severity))
    return scored


def scoring_events_of(
    written: Sequence[WrittenRow],
    birth: dt.date | None,
    model: HarmModel,
    readings_out: dict[int, EntryReading] | None = None,
) -> list[ScoringEvent]:
    """One child's written rows (``harm.repository.child_written_rows``) as the engine scores
    them: a transformation of rows already read under the reader's access, reading nothing."""
    births = {row[0]: birth for row in written[:1]}
    return [
        ScoringEvent(ref=ref, agency=agency, day=day, code=code, severity=severity)
        for _child, ref, agency, day, code, severity in read_written_rows(
            written, births, model, readings_out
        )
    ]
