"""Partnership dashboard for a 100k-children authority: server time of the page, beside the
per-case Python loops it replaced.

Builds a PostgreSQL database of its own (``createdb bench_dash``; dropped at the end) holding
--children children with their agencies' records and entries, sharing decisions with the
entries they sent, cases with their dated steps, lead practitioners and levels of need,
submitted referrals with their check at submission, escalations with their stages and
cumulative-harm alerts. The big tables go in with COPY, the rest through SQLAlchemy Core
executemany (so the models' own defaults apply). It times each figure computed live, the same
figures computed the way they were before (ORM cases and per-row Python loops, kept below as
the baseline) and checks both give the same tables. The page shows the figures as last
computed and stored (``partnership.snapshots``), so it then times --refresh-runs refreshes
(computing and storing every figure, what the scheduler and an analyst's "compute again" do),
checks the stored figures equal the live ones, signs in a partnership analyst and times
--requests renders of ``/dashboard`` from those fresh figures in process (the app's own time,
no network).

    .venv/bin/python bench/dashboard.py [--children 100000] [--requests 10] [--refresh-runs 2]

Prints a table and, as its last line, one JSON object with every figure.

The generator here is its own rather than ``fullpicture synth``: the dashboard reads no names,
dates of birth or addresses, and ``synth`` writes agency feeds that would need linking before
they held a single person id; what the figures need (which agencies hold each child, entries
with severities and recording dates, shares, cases, referrals, escalations and alerts) is drawn
directly, with the entry mix weighted by the concern taxonomy's default severities.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl
from fastapi.testclient import TestClient
from polars.testing import assert_frame_equal
from pydantic import SecretStr
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.schemas import UserCreate
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core import migrations
from fullpicture.core.database import make_engine, session_factory, unit_of_work
from fullpicture.core.runtime import request_session
from fullpicture.harm.models import AlertStatus, HarmAlert
from fullpicture.partnership import dashboard, snapshots
from fullpicture.partnership.schemas import DashboardPeriod
from fullpicture.people.models import Person
from fullpicture.referrals.models import (
    Referral,
    ReferralChild,
    ReferralElementStatus,
    ReferralStatus,
    element_statuses,
)
from fullpicture.sharing import latency, receipts
from fullpicture.sharing.models import EntryReceipt
from fullpicture.web.app import create_app
from fullpicture.workflow import repository as workflow_repository
from fullpicture.workflow.models import (
    Case,
    CaseStep,
    Escalation,
    EscalationStage,
    LeadPractitionerAssignment,
    LevelOfNeedChange,
)
from fullpicture.workflow.service import clocks_of
from fullpicture.workflow.timescales import StepStatus

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AS_OF = dt.date(2026, 12, 4)
EPOCH = dt.date(1970, 1, 1)
UTC = dt.UTC
#: Agencies of a 100k-children authority: many schools and GP practices, one of the rest.
AGENCY_KINDS = (
    [("school", 80), ("gp", 25), ("nursery", 10)]
    + [(k, 1) for k in ("health_visiting", "hospital", "police", "housing", "camhs")]
    + [("childrens_social_care", 1), ("early_help", 1)]
)
ELEMENTS = [f"R{i}" for i in range(1, 21)]
SEVERITY_WEIGHT = {0: 6.0, 1: 6.0, 2: 4.0, 3: 2.0, 4: 1.0, 5: 0.5}


def _days(values: np.ndarray) -> list[dt.date]:
    return [EPOCH + dt.timedelta(days=int(v)) for v in values]


def _copy(connection: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> int:
    """COPY rows into a table through psycopg (explicit ids; sequences set afterwards)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    count = 0
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    _reset_sequence(connection, table)
    return count


def _reset_sequence(connection: Connection, table: str) -> None:
    """Rows went in with their ids; the table's sequence carries on after the last one."""
    last = f"(SELECT max(id) FROM {table})"  # noqa: S608 (a model's own table name)
    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))


def build(engine: Engine, args: argparse.Namespace, password: str) -> dict[str, int]:
    rng = np.random.default_rng(15)
    now = dt.datetime(2026, 12, 4, 12, tzinfo=UTC)
    counts: dict[str, int] = {}
    taxonomy = default_taxonomy()
    codes = [c.code for c in taxonomy.codes]
    weights = np.array([SEVERITY_WEIGHT[c.default_severity] for c in taxonomy.codes])
    weights /= weights.sum()
    factory = session_factory(engine)
    with unit_of_work(factory) as session:
        agencies = [
            Agency(code=f"{kind}-{i}", name=f"{kind} {i}", kind=AgencyKind(kind))
            for kind, many in AGENCY_KINDS
            for i in range(1, many + 1)
        ]
        session.add_all(agencies)
        session.flush()
        agency_ids = np.array([a.id for a in agencies])
        kinds = np.array([a.kind.value for a in agencies])
        by_kind = {k: agency_ids[kinds == k] for k in set(kinds)}
        csc = int(by_kind["childrens_social_care"][0])
        access_service.create_user(
            db_session=session,
            user_in=UserCreate(
                username="bench.analyst",
                display_name="Bench analyst",
                role=Role.PARTNERSHIP_ANALYST,
                password=SecretStr(password),
            ),
            actor="bench",
        )
    n = args.children
    with engine.begin() as connection:
        counts["children"] = _copy(
            connection,
            "person",
            ("id", "public_id", "created_at"),
            ((i, str(uuid.uuid4()), now) for i in range(1, n + 1)),
        )
        # Each child is known to a school (or nursery) and a GP; some to the rest.
        holders: list[np.ndarray] = [
            np.where(
                rng.random(n) < 0.85,
                rng.choice(by_kind["school"], n),
                rng.choice(by_kind["nursery"], n),
            ),
            rng.choice(by_kind["gp"], n),
        ]
        for kind, share in (
            ("health_visiting", 0.25),
            ("hospital", 0.3),
            ("police", 0.12),
            ("housing", 0.08),
            ("camhs", 0.05),
            ("childrens_social_care", 0.1),
            ("early_help", 0.08),
        ):
            holders.append(np.where(rng.random(n) < share, by_kind[kind][0], 0))
        person = np.tile(np.arange(1, n + 1), len(holders))
        agency = np.concatenate(holders)
        keep = agency != 0
        link_person, link_agency = person[keep], agency[keep]
        link_ref = [f"p{p}" for p in link_person]
        counts["record_links"] = _copy(
            connection,
            "person_record_link",
            ("id", "person_id", "agency_id", "record_ref", "method", "evidence", "created_at"),
            (
                (i + 1, int(p), int(a), ref, "probabilistic", "{}", now)
                for i, (p, a, ref) in enumerate(
                    zip(link_person, link_agency, link_ref, strict=True)
                )
            ),
        )
        # Entries: each on one of the child's records, over four years, recorded 0-10 days on.
        events = args.events
        which = rng.integers(0, link_person.size, events)
        event_person, event_agency = link_person[which], link_agency[which]
        # Nothing is dated after AS_OF, so the figures as of AS_OF count every row, as the
        # baseline (which knows no "as of") does.
        event_day = (AS_OF - EPOCH).days - rng.integers(10, 4 * 365, events)
        recorded_day = event_day + rng.integers(0, 11, events)
        event_code = rng.choice(np.array(codes), events, p=weights)
        # A practitioner sets the severity on a fifth of entries; the rest take the default.
        severity = np.where(rng.random(events) < 0.2, rng.integers(1, 6, events), 0)
        event_dates, recorded_dates = _days(event_day), _days(recorded_day)
        counts["entries"] = _copy(
            connection,
            "event",
            (
                "id",
                "agency_id",
                "event_ref",
                "version",
                "content_hash",
                "event_date",
                "date_precision",
                "date_recorded",
                "concern_code",
                "severity",
                "summary",
                "information_type",
                "recorded_at",
                "recorded_by",
            ),
            (
                (
                    i + 1,
                    int(event_agency[i]),
                    f"e{i + 1}",
                    1,
                    "0" * 64,
                    event_dates[i],
                    "day",
                    recorded_dates[i],
                    str(event_code[i]),
                    int(severity[i]) or None,
                    "Seen at the clinic; mother present throughout.",
                    "fact",
                    now,
                    "bench",
                )
                for i in range(events)
            ),
        )
        _copy(
            connection,
            "event_participant",
            ("id", "event_id", "record_ref", "role"),
            ((i + 1, i + 1, f"p{event_person[i]}", "subject") for i in range(events)),
        )
        # Shares: a third of the entries each send to another agency holding the child.
        holders_of: dict[int, list[int]] = {}
        for p, a in zip(link_person.tolist(), link_agency.tolist(), strict=True):
            holders_of.setdefault(p, []).append(a)
        shared = np.flatnonzero(rng.random(events) < 0.33)
        decisions: list[tuple[Any, ...]] = []
        entries: list[tuple[int, int, int]] = []
        for event_index in shared.tolist():
            p, a = int(event_person[event_index]), int(event_agency[event_index])
            others = [o for o in holders_of[p] if o != a]
            if not others:
                continue
            to = others[int(rng.integers(0, len(others)))]
            received = min(
                AS_OF, recorded_dates[event_index] + dt.timedelta(days=int(rng.integers(0, 40)))
            )
            at = dt.datetime.combine(received, dt.time(10), tzinfo=UTC)
            decision_id = len(decisions) + 1
            decisions.append(
                (
                    decision_id,
                    str(uuid.uuid4()),
                    p,
                    "shared",
                    a,
                    int(to),
                    "designated safeguarding lead",
                    "to keep the child safe",
                    "uk_gdpr",
                    "public_task",
                    False,
                    "[]",
                    True,
                    "[]",
                    at,
                    at,
                    1,
                    at,
                    "bench",
                )
            )
            entries.append((len(entries) + 1, decision_id, event_index + 1))
        counts["sharing_decisions"] = _copy(
            connection,
            "sharing_decision",
            (
                "id",
                "public_id",
                "person_id",
                "outcome",
                "from_agency_id",
                "to_agency_id",
                "recipient_role",
                "purpose",
                "regime",
                "basis",
                "special_category",
                "gateways",
                "family_informed",
                "documents",
                "decided_at",
                "shared_at",
                "rules_version",
                "recorded_at",
                "recorded_by",
            ),
            decisions,
        )
        _copy(connection, "shared_entry", ("id", "decision_id", "event_id"), entries)
    # COPY bypasses the sharing service, which keeps each entry's first receipts: derive them
    # from the decisions as the migration's backfill does.
    with unit_of_work(session_factory(engine)) as session:
        counts["entry_receipt"] = receipts.rebuild(session)
    counts.update(_workflow(engine, rng, n, csc, agency_ids, now))
    return counts


def _workflow(
    engine: Engine, rng: np.random.Generator, n: int, csc: int, agency_ids: np.ndarray, now: Any
) -> dict[str, int]:
    """Cases with dated steps, leads and levels; referrals; escalations; alerts."""
    counts: dict[str, int] = {}
    as_of = (AS_OF - EPOCH).days
    cases: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    leads: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    kinds = ["early_help", "child_in_need", "child_protection", "referral"]
    case_people = rng.choice(np.arange(1, n + 1), n // 10, replace=False)
    for case_id, person in enumerate(case_people.tolist(), start=1):
        kind = kinds[int(rng.integers(0, 4))]
        opened = as_of - int(rng.integers(5, 700))
        closed = opened + int(rng.integers(30, 400)) if rng.random() < 0.4 else None
        if closed is not None and closed >= as_of:
            closed = None
        cases.append(
            {
                "id": case_id,
                "person_id": person,
                "kind": kind,
                "agency_id": csc,
                "opened_on": EPOCH + dt.timedelta(days=opened),
                "review_by": None,
                "closed_on": None if closed is None else EPOCH + dt.timedelta(days=closed),
                "recorded_by": "bench",
            }
        )
        day = opened

        def step(kind: str, after: int, *, case_id: int = case_id) -> None:
            nonlocal day
            day += after
            if day < as_of:
                steps.append(
                    {
                        "case_id": case_id,
                        "kind": kind,
                        "occurred_on": EPOCH + dt.timedelta(days=day),
                        "recorded_by": "bench",
                    }
                )

        # A referral's path, each step sometimes late and sometimes never recorded.
        step("referral", 0)
        if rng.random() < 0.95:
            step("referral_decision", int(rng.integers(0, 4)))
        if rng.random() < 0.8:
            step("assessment_completed", int(rng.integers(10, 80)))
        if kind == "child_protection":
            step("strategy_discussion", int(rng.integers(0, 10)))
            if rng.random() < 0.9:
                step("icpc", int(rng.integers(10, 30)))
                for _ in range(int(rng.integers(0, 6))):
                    step("core_group", int(rng.integers(10, 60)))
                if rng.random() < 0.7:
                    step("review_conference", int(rng.integers(60, 120)))
                if rng.random() < 0.2:
                    step("plan_ended", int(rng.integers(30, 200)))
        for _ in range(int(rng.integers(0, 4))):
            step("contact_with_child", int(rng.integers(5, 60)))
        for change in range(1 + int(rng.random() < 0.3)):
            named = rng.random() > 0.08
            leads.append(
                {
                    "case_id": case_id,
                    "name": f"Lead {case_id}-{change}" if named else None,
                    "agency_id": csc if named else None,
                    "starts_on": EPOCH + dt.timedelta(days=opened + 10 * change),
                    "reason": "allocated",
                    "recorded_by": "bench",
                }
            )
        levels.append(
            {
                "case_id": case_id,
                "level": int(rng.integers(1, 5)),
                "starts_on": EPOCH + dt.timedelta(days=opened),
                "reason": "assessed",
                "recorded_by": "bench",
            }
        )
    referrals: list[dict[str, Any]] = []
    referred: list[dict[str, Any]] = []
    statuses = ["present", "partial", "absent"]
    referral_people = rng.choice(np.arange(1, n + 1), n // 8, replace=True)
    for referral_id, person in enumerate(referral_people.tolist(), start=1):
        day = as_of - int(rng.integers(0, 730))
        picks = rng.choice(3, len(ELEMENTS), p=[0.6, 0.25, 0.15])
        referrals.append(
            {
                "id": referral_id,
                "status": ReferralStatus.SUBMITTED,
                "referrer_agency_id": int(rng.choice(agency_ids)),
                "submitted_at": dt.datetime.combine(
                    EPOCH + dt.timedelta(days=day), dt.time(11), tzinfo=UTC
                ),
                "created_by": "bench",
                "check_result": {
                    "elements": {
                        e: {"status": statuses[int(s)]}
                        for e, s in zip(ELEMENTS, picks, strict=True)
                    }
                },
            }
        )
        referred.append({"referral_id": referral_id, "person_id": person, "given_name": "Child"})
    alerts: list[dict[str, Any]] = []
    alert_people = rng.choice(np.arange(1, n + 1), n // 7, replace=True)
    raised: set[tuple[int, int]] = set()
    for person in alert_people.tolist():
        day = as_of - int(rng.integers(0, 730))
        if (person, day) in raised:  # one alert of a kind per child and day
            continue
        raised.add((person, day))
        status = [AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.CLOSED][
            int(rng.choice(3, p=[0.2, 0.3, 0.5]))
        ]
        alerts.append(
            {
                "person_id": person,
                "kind": "cumulative_threshold",
                "raised_on": EPOCH + dt.timedelta(days=day),
                "score": float(rng.random() * 10),
                "reason": "cumulative score over the threshold",
                "evidence": {"event_ids": []},
                "model_version": "bench",
                "status": status,
                "routed_to_agency_id": csc,
                "routing_reason": "lead agency",
            }
        )
    escalations: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    for escalation_id in range(1, n // 100 + 1):
        opened = dt.datetime.combine(
            EPOCH + dt.timedelta(days=as_of - int(rng.integers(0, 365))), dt.time(9), tzinfo=UTC
        )
        resolved = rng.random() < 0.5
        escalations.append(
            {
                "id": escalation_id,
                "person_id": int(rng.integers(1, n + 1)),
                "raised_by_agency_id": int(rng.choice(agency_ids)),
                "with_agency_id": csc,
                "disagreement": "threshold not met",
                "status": "resolved" if resolved else "open",
                "opened_at": opened,
                "rules_version": 1,
            }
        )
        for stage in range(1, int(rng.integers(1, 6)) + 1):
            stages.append(
                {
                    "escalation_id": escalation_id,
                    "stage": stage,
                    "raised_by": "bench",
                    "raised_with": "team manager",
                    "started_at": opened + dt.timedelta(days=5 * (stage - 1)),
                    "escalated_itself": stage > 1 and rng.random() < 0.3,
                }
            )
    with engine.begin() as connection:
        for model, rows in (
            (Case, cases),
            (CaseStep, steps),
            (LeadPractitionerAssignment, leads),
            (LevelOfNeedChange, levels),
            (Referral, referrals),
            (ReferralChild, referred),
            (HarmAlert, alerts),
            (Escalation, escalations),
            (EscalationStage, stages),
        ):
            for start in range(0, len(rows), 20_000):
                connection.execute(insert(model), rows[start : start + 20_000])
            counts[model.__tablename__] = len(rows)
            if rows and "id" in rows[0]:
                _reset_sequence(connection, model.__tablename__)
        # Core inserts bypass the model's hook that keeps each submitted check's element
        # statuses: write them as it does.
        statuses = [
            {"referral_id": referral["id"], "element": element, "status": status}
            for referral in referrals
            for element, status in element_statuses(referral["check_result"])
        ]
        for start in range(0, len(statuses), 50_000):
            connection.execute(insert(ReferralElementStatus), statuses[start : start + 50_000])
        counts["referral_element_status"] = len(statuses)
        connection.execute(text("ANALYZE"))
    return counts


# The baseline: the figures as they were computed before (ORM objects and per-row Python
# loops), kept verbatim so the bench can show what moving them into SQL and polars bought.
def _baseline_referral_quality(db_session: Session, today: dt.date) -> pl.DataFrame:
    codes = {i: c for i, c in db_session.execute(select(Agency.id, Agency.code))}
    rows: list[dict[str, Any]] = []
    for submitted_at, agency_id, result in db_session.execute(
        select(Referral.submitted_at, Referral.referrer_agency_id, Referral.check_result).where(
            Referral.status == ReferralStatus.SUBMITTED, Referral.check_result.is_not(None)
        )
    ):
        month = f"{submitted_at:%Y-%m}" if submitted_at else ""
        agency = codes.get(agency_id, "") if agency_id else ""
        for element, finding in (result or {}).get("elements", {}).items():
            rows.append(
                {
                    "month": month,
                    "agency": agency,
                    "element": element,
                    "status": finding.get("status", ""),
                }
            )
    schema = {"month": pl.String, "agency": pl.String, "element": pl.String, "status": pl.String}
    return (
        pl.DataFrame(rows, schema=schema)
        .group_by("month", "agency", "element")
        .agg(
            pl.len().alias("referrals"),
            (pl.col("status") == "present").sum().alias("present"),
            (pl.col("status") == "partial").sum().alias("partial"),
            (pl.col("status") == "absent").sum().alias("absent"),
        )
        .with_columns((pl.col("present") / pl.col("referrals")).round(3).alias("present_share"))
        .sort("month", "agency", "element")
    )


def _baseline_sharing_latency(db_session: Session, today: dt.date) -> pl.DataFrame:
    rows = [
        {"from_agency": r.from_agency_code, "to_agency": r.to_agency_code, "days": r.days}
        for r in latency.entry_sharing(db_session)
    ]
    frame = pl.DataFrame(
        rows, schema={"from_agency": pl.String, "to_agency": pl.String, "days": pl.Int64}
    )
    return (
        frame.group_by("from_agency", "to_agency")
        .agg(
            pl.len().alias("significant_entries"),
            pl.col("days").is_not_null().sum().alias("received"),
            pl.col("days").is_null().sum().alias("never_shared"),
            pl.col("days").median().alias("median_days"),
            pl.col("days").mean().round(1).alias("mean_days"),
        )
        .sort("from_agency", "to_agency")
    )


def _baseline_drift(db_session: Session, today: dt.date) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for case in workflow_repository.open_cases_among(db_session, select(Person.id)):
        latest = case.leads[-1] if case.leads else None
        if latest is None or latest.name is None:
            rows.append({"finding": "case_without_lead", "kind": case.kind.value})
        for clock in clocks_of(case, today):
            if clock.status is StepStatus.OVERDUE:
                rows.append({"finding": f"overdue:{clock.timescale}", "kind": case.kind.value})
    frame = pl.DataFrame(rows, schema={"finding": pl.String, "kind": pl.String})
    return frame.group_by("finding", "kind").agg(pl.len().alias("cases")).sort("finding", "kind")


def _baseline_escalations(db_session: Session, today: dt.date) -> pl.DataFrame:
    rows = [
        {
            "stage": item.stages[-1].stage if item.stages else 0,
            "status": item.status.value,
            "escalated_itself": any(s.escalated_itself for s in item.stages),
        }
        for item in db_session.scalars(select(Escalation)).unique()
    ]
    frame = pl.DataFrame(
        rows, schema={"stage": pl.Int64, "status": pl.String, "escalated_itself": pl.Boolean}
    )
    return (
        frame.group_by("stage", "status")
        .agg(
            pl.len().alias("escalations"), pl.col("escalated_itself").sum().alias("self_escalated")
        )
        .sort("stage", "status")
    )


def _baseline_alert_outcomes(db_session: Session, today: dt.date) -> pl.DataFrame:
    outcomes = dashboard.ALERT_OUTCOMES
    submitted: dict[int, list[dt.date]] = {}
    for person_id, submitted_at in db_session.execute(
        select(ReferralChild.person_id, Referral.submitted_at)
        .join(Referral, Referral.id == ReferralChild.referral_id)
        .where(Referral.status == ReferralStatus.SUBMITTED, ReferralChild.person_id.is_not(None))
    ):
        if person_id is not None and submitted_at is not None:
            submitted.setdefault(person_id, []).append(submitted_at.date())
    rows = []
    for status, person_id, raised_on in db_session.execute(
        select(HarmAlert.status, HarmAlert.person_id, HarmAlert.raised_on)
    ):
        if status is AlertStatus.NEW:
            outcome = outcomes[0]
        elif status is AlertStatus.ACKNOWLEDGED:
            outcome = outcomes[1]
        elif any(day >= raised_on for day in submitted.get(person_id, ())):
            outcome = outcomes[2]
        else:
            outcome = outcomes[3]
        rows.append({"status": status.value, "outcome": outcome})
    frame = pl.DataFrame(rows, schema={"status": pl.String, "outcome": pl.String})
    return (
        frame.group_by("status", "outcome").agg(pl.len().alias("alerts")).sort("status", "outcome")
    )


BASELINE = {
    "referral_quality": _baseline_referral_quality,
    "sharing_latency": _baseline_sharing_latency,
    "drift": _baseline_drift,
    "escalations": _baseline_escalations,
    "alert_outcomes": _baseline_alert_outcomes,
}


def _reset_password(engine: Engine) -> str:
    """A fresh analyst password for a reused database (the first run's is not kept)."""
    password = "Bench-" + uuid.uuid4().hex
    with unit_of_work(session_factory(engine)) as session:
        user = access_repository.user_by_username(session, "bench.analyst")
        assert user is not None
        access_service.set_password(db_session=session, user=user, password=password, actor="bench")
    return password


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _timed(runs: int, work: Any) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        begun = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - begun)
    return times, result


def _machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()} {model}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}"
    )


def _loadavg() -> str:
    with open("/proc/loadavg", encoding="utf-8") as load:
        return " ".join(load.read().split()[:3])


def _per_figure(engine: Engine, figures: dict[str, Any], today: dt.date) -> dict[str, float]:
    factory = session_factory(engine)
    seconds: dict[str, float] = {}
    for name, work in figures.items():
        with factory() as session:
            begun = time.perf_counter()
            work(session, today)
            seconds[name] = round(time.perf_counter() - begun, 3)
    return seconds


def _run(engine: Engine, args: argparse.Namespace, password: str) -> dict[str, Any]:
    load_before = _loadavg()
    begun = time.perf_counter()
    counts = {} if args.reuse else build(engine, args, password)
    build_seconds = time.perf_counter() - begun
    if args.reuse:
        password = _reset_password(engine)
    factory = session_factory(engine)
    with factory() as session:
        # The first receipts kept (or backfilled by the migration, on a database built before
        # it) are those the decisions give, or the bench stops.
        kept = select(
            EntryReceipt.person_id,
            EntryReceipt.from_agency_id,
            EntryReceipt.event_ref,
            EntryReceipt.to_agency_id,
            EntryReceipt.first_shared_at,
        )
        for one, other in ((kept, receipts.computed()), (receipts.computed(), kept)):
            differing = one.except_(other).subquery()
            assert session.scalar(select(func.count()).select_from(differing)) == 0
        # So are the element statuses kept (or backfilled by migration 0501) those of the
        # checks stored with the referrals.
        from_checks = {
            (referral_id, element, status)
            for referral_id, check in session.execute(
                select(Referral.id, Referral.check_result).where(
                    Referral.status == ReferralStatus.SUBMITTED
                )
            )
            for element, status in element_statuses(check)
        }
        kept_statuses = set(
            session.execute(
                select(
                    ReferralElementStatus.referral_id,
                    ReferralElementStatus.element,
                    ReferralElementStatus.status,
                )
            )
        )
        assert kept_statuses == from_checks
        now_tables = dashboard.all_figures(session, today=AS_OF)
    baseline_seconds = _per_figure(engine, BASELINE, AS_OF)
    with factory() as session:
        for name, work in BASELINE.items():
            # Same rows, columns and types as the per-row loops gave, or the bench stops.
            assert_frame_equal(now_tables[name], work(session, AS_OF))
    figure_seconds = _per_figure(
        engine,
        {
            name: (lambda session, today, name=name: dashboard.figure(session, name, today=today))
            for name in dashboard.FIGURES
        },
        AS_OF,
    )

    def baseline_all() -> None:
        with factory() as session:
            for work in BASELINE.values():
                work(session, AS_OF)

    baseline_times, _ = _timed(max(1, args.baseline_runs), baseline_all)
    # The page shows the stored figures: time computing and storing them (what the scheduler
    # and an analyst's "compute again" do), then the page from those fresh figures.
    period = DashboardPeriod(as_of=AS_OF)

    def refresh() -> snapshots.StoredFigures:
        with factory.begin() as session:
            return snapshots.refresh(session, period, actor="bench")

    refresh_times, _ = _timed(max(1, args.refresh_runs), refresh)
    with factory() as session:
        found = snapshots.stored(session, period)
        assert found is not None
        for name, frame in found.frames.items():
            assert_frame_equal(frame, now_tables[name])
    app = create_app()

    def _session() -> Iterator[Session]:
        with factory.begin() as session:
            yield session

    app.dependency_overrides[request_session] = _session
    with TestClient(app) as client:
        form = client.get("/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf
        client.post(
            "/sign-in",
            data={"username": "bench.analyst", "password": password, "csrf_token": csrf.group(1)},
        )
        path = f"/dashboard?as_of={AS_OF.isoformat()}"
        first = client.get(path)
        assert first.status_code == 200, first.text[:500]
        page_bytes = len(first.content)

        def render() -> None:
            response = client.get(path)
            assert response.status_code == 200

        page_times, _ = _timed(args.requests, render)
    page = _percentiles(page_times)
    baseline = _percentiles(baseline_times)
    return {
        "children": args.children,
        "counts": counts,
        "build_seconds": round(build_seconds, 1),
        "page": page,
        "page_bytes": page_bytes,
        "requests": args.requests,
        "figure_seconds": figure_seconds,
        "live_figures_seconds": round(sum(figure_seconds.values()), 3),
        "refresh": _percentiles(refresh_times),
        "refresh_runs": len(refresh_times),
        "baseline_figures": baseline,
        "baseline_figure_seconds": baseline_seconds,
        "baseline_runs": args.baseline_runs,
        # The page against the per-row figures, and the live figures (what a refresh
        # computes) against them: the second is the like-for-like one.
        "speed_up_p50": round(baseline["p50_ms"] / page["p50_ms"], 1),
        "live_speed_up": round(baseline["p50_ms"] / 1000 / sum(figure_seconds.values()), 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": _machine(),
        "load_before": load_before,
        "load_after": _loadavg(),
        "date": dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=0, help="entries (default 10 per child)")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument(
        "--refresh-runs", type=int, default=2, help="times to compute and store the figures"
    )
    parser.add_argument("--database", default="bench_dash")
    parser.add_argument("--keep", action="store_true", help="leave the database behind")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time an existing database (built with --keep), migrated to the current heads first",
    )
    args = parser.parse_args()
    args.events = args.events or args.children * 10
    password = "Bench-" + uuid.uuid4().hex
    host = ["-h", "127.0.0.1", "-U", "postgres"]
    if not args.reuse:
        subprocess.run(["createdb", *host, args.database], check=True)
    engine = make_engine(ADMIN.rsplit("/", 1)[0] + f"/{args.database}")
    try:
        # A reused database built before a migration is brought up to date first (a no-op
        # when it is).
        migrations.upgrade(engine)
        summary = _run(engine, args, password)
    finally:
        engine.dispose()
        if not args.keep:
            subprocess.run(["dropdb", *host, "--if-exists", args.database], check=True)
    page, base = summary["page"], summary["baseline_figures"]
    print(
        f"children {summary['children']:,}  build {summary['build_seconds']} s  {summary['counts']}"
    )
    print(
        f"dashboard page (stored figures) p50 {page['p50_ms']} ms  p95 {page['p95_ms']} ms  "
        f"max {page['max_ms']} ms  ({summary['requests']} requests)"
    )
    refreshed = summary["refresh"]
    print(
        f"computing and storing the figures (refresh)  p50 {refreshed['p50_ms']} ms  "
        f"max {refreshed['max_ms']} ms  ({summary['refresh_runs']} runs); live figures one run "
        f"{summary['live_figures_seconds']} s"
    )
    print(
        f"figures, per-row Python loops   p50 {base['p50_ms']} ms  p95 {base['p95_ms']} ms  "
        f"({summary['baseline_runs']} runs; figures only, no page)"
    )
    print(
        f"speed-up (p50): page {summary['speed_up_p50']}x, live figures "
        f"{summary['live_speed_up']}x   load {summary['load_before']} -> {summary['load_after']}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
