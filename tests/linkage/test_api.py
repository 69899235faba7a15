"""The linkage API: runs, explanations, the review queue and a child's households."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import Agency
from fullpicture.linkage import repository as repo
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.engine import Engine, train_model
from fullpicture.linkage.models import ReviewItem, ReviewStatus
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import Person, PersonRecordLink
from tests.access.principals import authorise_client
from tests.linkage.population import build_population, store_population


def _linker(db_session: Session) -> SystemPrincipal:
    """The audited job a test reads linkage's own records as."""
    return access_service.system_principal(
        db_session=db_session, job="linkage test", operator="test"
    )


def test_run_explain_review_and_households(app_client: TestClient, db_session: Session) -> None:
    population = build_population(people=150, seed=21)
    store_population(db_session, population.records)
    # Trained here with fewer random pairs than production: the run below reuses it.
    rules = default_rules()
    quick = rules.model_copy(
        update={"training": rules.training.model_copy(update={"u_max_pairs": 100_000})}
    )
    linkage_service.save_model(
        db_session=db_session,
        model=train_model(prepare(population.records), rules=quick),
        rules=rules,
        engine=Engine.DUCKDB,
        trained_on_records=population.records.height,
        model_dir=None,
    )

    authorise_client(app_client, db_session, role=Role.ADMINISTRATOR)
    response = app_client.post("/api/v1/linkage/runs")
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["kind"] == "batch" and run["counts"]["records"] == population.records.height

    link = db_session.scalars(
        select(PersonRecordLink).where(
            PersonRecordLink.method == "probabilistic", PersonRecordLink.ended_at.is_(None)
        )
    ).first()
    assert link is not None
    other = link.evidence["linked_via"]
    codes = repo.agency_codes(db_session=db_session)
    other_agency, other_ref = repo.split_record_key(other)
    pair = {
        "left": f"{codes[link.agency_id]}:{link.record_ref}",
        "right": f"{codes[other_agency]}:{other_ref}",
    }

    # The waterfall shows both records' names: a reviewer whose agency is not involved with
    # the child gets the 404 an unknown record gets.
    authorise_client(app_client, db_session, role=Role.FRONT_DOOR)
    assert app_client.get("/api/v1/linkage/explain", params=pair).status_code == 404

    # A run needs linkage:run; a reviewer cannot start one.
    reviewer = authorise_client(
        app_client, db_session, role=Role.FRONT_DOOR, agency=db_session.get(Agency, link.agency_id)
    )
    assert app_client.post("/api/v1/linkage/runs").status_code == 403

    response = app_client.get("/api/v1/linkage/explain", params=pair)
    assert response.status_code == 200, response.text
    explanation = response.json()
    assert explanation["decision"] == "link"
    assert {s["comparison"] for s in explanation["steps"]} >= {"given_name", "date_of_birth"}
    # ... and is audited as a read of the child both records are about.
    explained = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "person.read", AuditEntry.actor == f"user:{reviewer.username}"
        )
    ).all()
    assert [(e.person_id, e.target) for e in explained] == [(link.person_id, "linkage explanation")]

    left, right = sorted((repo.record_key(link.agency_id, link.record_ref), other))
    item = ReviewItem(
        record_key_l=left,
        record_key_r=right,
        match_weight=explanation["match_weight"],
        match_probability=explanation["match_probability"],
        comparison_levels={},
    )
    db_session.add(item)
    db_session.flush()
    queue = app_client.get("/api/v1/linkage/review").json()
    assert item.id in [entry["id"] for entry in queue]
    response = app_client.post(
        f"/api/v1/linkage/review/{item.id}/decisions",
        json={"action": "reject", "reason": "different people: checked with school"},
    )
    assert response.status_code == 201, response.text
    decided = response.json()
    assert decided["status"] == ReviewStatus.REJECTED.value
    assert reviewer.username in decided["decisions"][0]["decided_by"]
    again = app_client.post(
        f"/api/v1/linkage/review/{item.id}/decisions",
        json={"action": "confirm", "reason": "changed my mind"},
    )
    assert again.status_code == 409
    active = repo.active_links(
        db_session=db_session, linker=_linker(db_session), keys=[left, right]
    )
    assert active[left].person_id != active[right].person_id

    # The household view needs a need to know the child: an unrelated practitioner gets 404.
    authorise_client(app_client, db_session, role=Role.PRACTITIONER)
    child = db_session.get(Person, active[left].person_id)
    assert child is not None
    response = app_client.get(f"/api/v1/linkage/children/{child.public_id}/households")
    assert response.status_code == 404

    # A practitioner whose agency holds the child's record sees the households.
    holder = db_session.get(Agency, active[left].agency_id)
    authorise_client(app_client, db_session, role=Role.PRACTITIONER, agency=holder)
    response = app_client.get(f"/api/v1/linkage/children/{child.public_id}/households")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["child_public_id"] == child.public_id
    assert view["households"], "the population gives everyone an address"
