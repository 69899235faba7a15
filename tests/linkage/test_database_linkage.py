"""Linking the database: batch, re-runs, review decisions, incremental = batch, explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.subject import AuthSubject, SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.linkage import explain as linkage_explain
from fullpicture.linkage import repository as repo
from fullpicture.linkage import review as linkage_review
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.engine import Engine, train_model
from fullpicture.linkage.models import ReviewAction, ReviewItem, ReviewStatus
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import default_rules
from fullpicture.linkage.schemas import RecordRef, ReviewDecisionIn
from fullpicture.people.models import PersonRecordLink
from tests.access.principals import make_user, subject_of
from tests.linkage.population import build_population, db_truth, pairwise_scores, store_population

RULES = default_rules()


def _linker(db_session: Session) -> SystemPrincipal:
    """The audited job a test reads linkage's own records as."""
    return access_service.system_principal(
        db_session=db_session, job="linkage test", operator="test"
    )


def _partition(db_session: Session) -> dict[str, int]:
    return {
        key: link.person_id
        for key, link in repo.active_links(
            db_session=db_session, linker=_linker(db_session)
        ).items()
    }


def _groups(partition: dict[str, int]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for key, person in partition.items():
        groups.setdefault(person, set()).add(key)
    return {frozenset(g) for g in groups.values()}


POPULATION = build_population(people=400, seed=11)


@pytest.fixture(scope="module")
def trained_model() -> dict[str, Any]:
    """Trained once for the module: the tests here are about what runs do with a model."""
    quick = RULES.model_copy(
        update={"training": RULES.training.model_copy(update={"u_max_pairs": 200_000})}
    )
    return train_model(prepare(POPULATION.records), rules=quick)


@pytest.fixture
def linked(db_session: Session, trained_model: dict[str, Any]) -> tuple[Session, dict[str, str]]:
    agencies = store_population(db_session, POPULATION.records)
    linkage_service.save_model(
        db_session=db_session,
        model=trained_model,
        rules=RULES,
        engine=Engine.DUCKDB,
        trained_on_records=POPULATION.records.height,
        model_dir=None,
    )
    linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")
    return db_session, db_truth(POPULATION.truth, agencies)


def test_first_run_trains_and_saves_a_versioned_model(db_session: Session, tmp_path: Path) -> None:
    population = build_population(people=120, seed=3)
    store_population(db_session, population.records)
    # Fewer random pairs for u than in production: this test is about versions, not accuracy.
    rules = RULES.model_copy(
        update={"training": RULES.training.model_copy(update={"u_max_pairs": 100_000})}
    )
    run = linkage_service.link_database(
        db_session=db_session, rules=rules, started_by="test", model_dir=tmp_path
    )
    assert run.counts["model_version"] == 1
    saved = repo.latest_model(db_session=db_session)
    assert saved is not None and saved.file_path is not None
    assert json.loads(Path(saved.file_path).read_text()) == saved.model
    again = linkage_service.link_database(
        db_session=db_session, rules=rules, started_by="test", retrain=True, model_dir=tmp_path
    )
    assert again.counts["model_version"] == 2


def test_batch_links_every_current_record_accurately(
    linked: tuple[Session, dict[str, str]],
) -> None:
    db_session, truth = linked
    partition = _partition(db_session)
    assert set(partition) == set(truth)
    precision, recall, f1 = pairwise_scores(truth, {k: str(v) for k, v in partition.items()})
    assert f1 >= 0.95, (precision, recall)
    link = db_session.scalars(
        select(PersonRecordLink).where(PersonRecordLink.method == "probabilistic")
    ).first()
    assert link is not None
    assert link.evidence["match_weight"] >= RULES.link_threshold_match_weight
    assert "date_of_birth" in link.evidence["comparison_levels"]


def test_rerun_changes_nothing(linked: tuple[Session, dict[str, str]]) -> None:
    db_session, _truth = linked
    before = _partition(db_session)
    run = linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")
    assert _partition(db_session) == before
    assert run.counts["moved"] == 0 and run.counts["linked"] == 0
    assert run.counts["model_version"] == 1  # the saved model was reused, not retrained
    assert run.counts["pairs_scored"] > 0


def _front_door_holding(db_session: Session, record_key: str) -> AuthSubject:
    """A front-door reviewer at the agency holding this record (a need to know its pairs)."""
    agency_id, _ref = repo.split_record_key(record_key)
    return subject_of(
        make_user(db_session, role=Role.FRONT_DOOR, agency=db_session.get(Agency, agency_id))
    )


def _linked_pair(db_session: Session) -> tuple[str, str]:
    """Two records currently in the same person."""
    by_person: dict[int, list[str]] = {}
    for key, person in _partition(db_session).items():
        by_person.setdefault(person, []).append(key)
    return tuple(sorted(next(g for g in by_person.values() if len(g) == 2)))  # type: ignore[return-value]


def test_rejection_survives_reruns_and_can_be_undone(
    linked: tuple[Session, dict[str, str]],
) -> None:
    db_session, _truth = linked
    left, right = _linked_pair(db_session)
    pair = repo.pair(db_session=db_session, left=left, right=right)
    assert pair is not None
    item = ReviewItem(
        record_key_l=left,
        record_key_r=right,
        match_weight=pair.match_weight,
        match_probability=pair.match_probability,
        comparison_levels=pair.comparison_levels,
    )
    db_session.add(item)
    db_session.flush()
    linkage_review.decide(
        db_session=db_session,
        item=item,
        decision_in=ReviewDecisionIn(
            action=ReviewAction.REJECT, reason="twins", decided_by="A Worker"
        ),
        rules=RULES,
    )
    assert _partition(db_session)[left] != _partition(db_session)[right]
    for _ in range(2):
        linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")
        assert _partition(db_session)[left] != _partition(db_session)[right]

    with pytest.raises(linkage_review.ReviewError):
        linkage_review.decide(
            db_session=db_session,
            item=item,
            decision_in=ReviewDecisionIn(
                action=ReviewAction.CONFIRM, reason="again", decided_by="B"
            ),
            rules=RULES,
        )
    undone = linkage_review.decide(
        db_session=db_session,
        item=item,
        decision_in=ReviewDecisionIn(action=ReviewAction.UNDO, reason="wrong pair", decided_by="B"),
        rules=RULES,
    )
    assert undone.status is ReviewStatus.OPEN
    assert [d.action for d in undone.decisions] == [ReviewAction.REJECT, ReviewAction.UNDO]
    assert _partition(db_session)[left] == _partition(db_session)[right]


def test_confirmation_links_a_separate_pair_for_good(
    linked: tuple[Session, dict[str, str]],
) -> None:
    db_session, _truth = linked
    partition = _partition(db_session)
    singles = sorted(k for k, p in partition.items() if list(partition.values()).count(p) == 1)
    left, right = singles[0], singles[-1]
    item = ReviewItem(
        record_key_l=min(left, right),
        record_key_r=max(left, right),
        match_weight=0.0,
        match_probability=0.5,
        comparison_levels={},
    )
    db_session.add(item)
    db_session.flush()
    linkage_review.decide(
        db_session=db_session,
        item=item,
        decision_in=ReviewDecisionIn(
            action=ReviewAction.CONFIRM, reason="same child, checked", decided_by="A"
        ),
        rules=RULES,
    )
    linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")
    after = _partition(db_session)
    assert after[left] == after[right]
    link = repo.active_links(db_session=db_session, linker=_linker(db_session), keys=[left])[left]
    assert link.method == "confirmed"


def test_uncertain_pairs_are_queued(linked: tuple[Session, dict[str, str]]) -> None:
    db_session, _truth = linked
    queued = db_session.scalar(select(func.count()).select_from(ReviewItem))
    band = RULES.review_band
    in_band = [
        p
        for p in repo.pairs_touching(db_session=db_session, keys=_partition(db_session))
        if band.lower_match_weight <= p.match_weight < band.upper_match_weight
    ]
    assert queued == len({(p.record_key_l, p.record_key_r) for p in in_band})
    first = db_session.scalars(select(ReviewItem).order_by(ReviewItem.id).limit(1)).first()
    assert first is not None
    reviewer = _front_door_holding(db_session, first.record_key_l)
    listed = linkage_review.list_items(db_session=db_session, subject=reviewer, limit=5)
    assert listed
    assert all(item.status is ReviewStatus.OPEN for item in listed)


def test_incremental_equals_batch(db_session: Session) -> None:
    population = build_population(people=200, seed=5)
    records = population.records
    late = records.filter(
        pl.col("record_id").is_in(records["record_id"].sample(15, seed=2).to_list())
    )
    early = records.join(late.select("unique_id"), on="unique_id", how="anti")
    agencies = store_population(db_session, early)
    linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")

    agencies = store_population(db_session, late, agencies=agencies)

    for row in late.iter_rows(named=True):
        outcome = linkage_service.link_record(
            db_session=db_session,
            linker=_linker(db_session),
            agency_id=agencies[row["source"]],
            record_ref=row["record_id"],
            rules=RULES,
            started_by="test",
        )
        assert outcome.record == f"{agencies[row['source']]}:{row['record_id']}"
    incremental = _groups(_partition(db_session))

    run = linkage_service.link_database(db_session=db_session, rules=RULES, started_by="test")
    assert _groups(_partition(db_session)) == incremental
    assert run.counts["moved"] == 0


def test_explain_two_database_records(linked: tuple[Session, dict[str, str]]) -> None:
    db_session, _truth = linked
    left, right = _linked_pair(db_session)
    codes = repo.agency_codes(db_session=db_session)
    refs = []
    for key in (left, right):
        agency_id, record_ref = repo.split_record_key(key)
        refs.append(RecordRef(agency=codes[agency_id], record_id=record_ref))
    explanation = linkage_explain.explain_records(
        db_session=db_session,
        subject=_front_door_holding(db_session, left),
        left=refs[0],
        right=refs[1],
        rules=RULES,
    )
    total = explanation.prior_match_weight + sum(s.match_weight for s in explanation.steps)
    assert total == pytest.approx(explanation.match_weight, abs=1e-3)
    stored = repo.pair(db_session=db_session, left=left, right=right)
    assert stored is not None
    assert explanation.match_weight == pytest.approx(stored.match_weight, abs=1e-3)
    assert explanation.decision == "link"
