"""Case replay: what the engine would have raised, day by day, for one child's events.

Used for learning reviews and for evaluation (../shared/eval/README.md). Reads the case
format unchanged; ``outcome`` and any other extra field are never read.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from fullpicture.agencies.models import AgencyKind
from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.harm.engine import RaisedAlert, ScoringEvent, assess_child
from fullpicture.harm.entry_reading import (
    CaseEntry,
    ConcernClassifier,
    EntryReading,
    read_entries,
)
from fullpicture.harm.harm_model import HarmModel, default_harm_model
from fullpicture.harm.schemas import (
    CaseFile,
    CodeInference,
    EntryRead,
    ReplayAlert,
    ReplayResult,
    ReplayView,
    ReplayWarning,
)

# The agency names of the evaluation case format (../shared/eval/README.md) and the
# project's own agency kinds. "other" covers nurseries, education welfare, the NSPCC and
# relatives' reports: the voluntary sector is the nearest kind.
CASE_AGENCY_KINDS: dict[str, AgencyKind] = {
    "school": AgencyKind.SCHOOL,
    "health_visitor": AgencyKind.HEALTH_VISITING,
    "gp": AgencyKind.GP,
    "hospital": AgencyKind.HOSPITAL,
    "police": AgencyKind.POLICE,
    "housing": AgencyKind.HOUSING,
    "social_care": AgencyKind.CHILDRENS_SOCIAL_CARE,
    "probation": AgencyKind.PROBATION,
    "other": AgencyKind.VOLUNTARY_SECTOR,
}

# Codes that may be dated before birth: a pregnancy is known before the child is born.
PREGNANCY_CODES = frozenset({"PRE-UNB"})


class ReplayError(ValueError):
    """A case file that cannot be replayed; the message says what to fix."""


def find_concern_classifier() -> tuple[ConcernClassifier, str] | None:
    """The referral capability's rule-based classifier (text → codes with spans), if installed.

    Looked up at run time because it is built in its own issue; until it exists, blank codes
    are treated as process events and the replay result says so.
    """
    try:
        module = importlib.import_module("fullpicture.referrals.classifier")
    except ImportError:
        return None
    for name in ("classify_concerns", "classify_text", "classify"):
        function = getattr(module, name, None)
        if callable(function) and len(inspect.signature(function).parameters) >= 1:
            return _adapt_classifier(function), f"fullpicture.referrals.classifier.{name}"
    return None


def _adapt_classifier(function: Callable[..., Any]) -> ConcernClassifier:
    def classify(text: str) -> list[tuple[str, list[str]]]:
        found: list[tuple[str, list[str]]] = []
        suggestions = list(function(text) or [])
        # Most confident first, where the classifier says how confident it is.
        suggestions.sort(key=lambda item: -float(getattr(item, "confidence", 0.0) or 0.0))
        for item in suggestions:
            code = getattr(item, "code", None) or (
                item.get("code") if isinstance(item, dict) else None
            )
            if not code:
                continue
            spans = getattr(item, "spans", None)
            if spans is None and isinstance(item, dict):
                spans = item.get("spans", [])
            found.append((str(code), [_span_text(text, span) for span in spans or []]))
        return found

    return classify


def _span_text(text: str, span: object) -> str:
    if isinstance(span, str):
        return span
    if isinstance(span, tuple | list) and len(span) == 2 and all(isinstance(x, int) for x in span):
        return text[span[0] : span[1]]
    start = getattr(span, "start", None)
    end = getattr(span, "end", None)
    if isinstance(start, int) and isinstance(end, int):
        return text[start:end]
    return str(getattr(span, "text", span))


def replay_case(
    case: CaseFile,
    *,
    today: dt.date | None = None,
    model: HarmModel | None = None,
    taxonomy: Taxonomy | None = None,
    classifier: tuple[ConcernClassifier, str] | bool | None = True,
) -> ReplayResult:
    """Replay a case in date order, combined and for each agency's own events.

    ``classifier=True`` looks the referral classifier up; ``None``/``False`` disables it.
    """
    model = model or default_harm_model()
    taxonomy = taxonomy or default_taxonomy()
    today = today or dt.date.today()
    if not case.events:
        raise ReplayError("the case has no events: give at least one event to replay")
    found_classifier = find_concern_classifier() if classifier is True else classifier or None

    warnings: list[ReplayWarning] = []
    inferences: list[CodeInference] = []
    entries: list[CaseEntry] = []
    birth = case.child.date_of_birth
    for index, event in enumerate(case.events):
        code = event.concern_code.strip().upper()
        if not code:
            code = _infer(index, event.summary, found_classifier, taxonomy, inferences)
            if not code:
                continue
        elif code not in taxonomy:
            warnings.append(
                ReplayWarning(
                    event=index,
                    problem=f"unknown concern code {event.concern_code!r}; the event is not scored",
                )
            )
            continue
        if event.date > today:
            warnings.append(
                ReplayWarning(
                    event=index,
                    problem=f"dated {event.date} in the future; the event is not scored",
                )
            )
            continue
        if event.date < birth and code not in PREGNANCY_CODES:
            warnings.append(
                ReplayWarning(
                    event=index,
                    problem=(
                        f"dated {event.date}, before the child's birth on {birth}, and {code} "
                        "is not a pregnancy code; the event is not scored"
                    ),
                )
            )
            continue
        given = event.concern_code.strip().upper()
        entries.append(
            CaseEntry(
                ref=index,
                day=event.date,
                agency=event.agency,
                code=given,
                summary=event.summary,
                inferred_code="" if given else code,
                inferred_words=() if given else tuple(inferences[-1].spans),
            )
        )
    readings = read_entries(
        entries,
        date_of_birth=birth,
        model=model,
        taxonomy=taxonomy,
        classify=found_classifier[0] if found_classifier else None,
    )
    read_by_ref = {r.ref: _entry_read(r) for r in readings}
    entry_by_ref = {e.ref: e for e in entries}
    scoring = [
        ScoringEvent(
            ref=r.ref,
            agency=entry_by_ref[r.ref].agency,
            day=entry_by_ref[r.ref].day,
            code=r.code,
            severity=r.severity,
        )
        for r in readings
        if r.code is not None
    ]

    agency_kinds: dict[str, str] = {}
    for name in sorted({e.agency for e in case.events}):
        kind = CASE_AGENCY_KINDS.get(name)
        if kind is None:
            warnings.append(
                ReplayWarning(
                    event=None,
                    problem=(
                        f"agency {name!r} is not one of {', '.join(CASE_AGENCY_KINDS)}; "
                        "it is replayed as an agency of its own (kind voluntary_sector)"
                    ),
                )
            )
            kind = AgencyKind.VOLUNTARY_SECTOR
        agency_kinds[name] = kind.value

    combined = _replay_view(scoring, birth, model, taxonomy, read_by_ref)
    by_agency = {
        name: _replay_view(
            [e for e in scoring if e.agency == name], birth, model, taxonomy, read_by_ref
        )
        for name in agency_kinds
    }
    return ReplayResult(
        combined=combined,
        by_agency=by_agency,
        model_version=model.version,
        taxonomy_version=taxonomy.version,
        warnings=warnings,
        blank_codes=inferences,
        agency_kinds=agency_kinds,
        readings=[read_by_ref[r.ref] for r in readings if r.rule is not None],
    )


def _entry_read(reading: EntryReading) -> EntryRead:
    return EntryRead(
        event=reading.ref,
        scored_as=reading.code,
        severity=reading.severity,
        rule=reading.rule,
        words=list(reading.words),
        note=reading.note,
    )


def _infer(
    index: int,
    summary: str,
    classifier: tuple[ConcernClassifier, str] | None,
    taxonomy: Taxonomy,
    inferences: list[CodeInference],
) -> str:
    if classifier is not None:
        classify, name = classifier
        for code, spans in classify(summary):
            if code in taxonomy:
                inferences.append(
                    CodeInference(
                        event=index, summary=summary, treated_as=code, method=name, spans=spans
                    )
                )
                return code
        method = f"{name} found no concern code"
    else:
        method = "no concern classifier is installed (fullpicture.referrals)"
    inferences.append(
        CodeInference(
            event=index,
            summary=summary,
            treated_as="process",
            method=f"{method}: treated as a process event, which carries no score",
        )
    )
    return ""


def _replay_view(
    events: Sequence[ScoringEvent],
    birth: dt.date,
    model: HarmModel,
    taxonomy: Taxonomy,
    read_by_ref: dict[int, EntryRead],
) -> ReplayView:
    """Alerts raised on each day with only the events known by the end of that day."""
    raised: list[RaisedAlert] = []
    for day in sorted({e.day for e in events}):
        known = [e for e in events if e.day <= day]
        assessment = assess_child(
            known, date_of_birth=birth, as_of=day, model=model, taxonomy=taxonomy
        )
        raised.extend(a for a in assessment.alerts if a.day == day)
    alerts = [
        ReplayAlert(
            date=a.day,
            kind=a.kind,
            score=a.score,
            reason=a.reason,
            evidence=[int(r) for r in a.evidence],
            evidence_read=[read_by_ref[int(r)] for r in a.evidence if int(r) in read_by_ref],
        )
        for a in raised
    ]
    return ReplayView(first_alert_date=min((a.date for a in alerts), default=None), alerts=alerts)


def load_case(raw: dict[str, Any]) -> CaseFile:
    """Validate a case file's JSON; raises ``ReplayError`` naming each problem."""
    from pydantic import ValidationError

    try:
        return CaseFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ReplayError(f"the case file is not valid: {problems}") from exc
