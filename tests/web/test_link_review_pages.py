"""The link review queue: the two records side by side with the waterfall; confirm or reject
with a reason and undo, recorded as the signed-in reviewer; refused without the scope or a
need to know."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.linkage.models import ReviewDecision, ReviewItem, ReviewStatus
from tests.web.pages import csrf_of, sign_in
from tests.web.picture import Picture, build_picture, queue_namesake_review


@pytest.fixture
def picture(db_session: Session) -> Picture:
    return build_picture(db_session, "review")


@pytest.fixture
def item(db_session: Session, picture: Picture) -> ReviewItem:
    return queue_namesake_review(db_session, picture)


def test_a_reviewer_confirms_then_undoes_with_reasons_as_themselves(
    app_client: TestClient, db_session: Session, picture: Picture, item: ReviewItem
) -> None:
    user = sign_in(app_client, db_session, role=Role.FRONT_DOOR, agency=picture.gp)
    queue = app_client.get("/linkage/review")
    assert queue.status_code == 200 and f'href="/linkage/review/{item.id}"' in queue.text
    page = app_client.get(f"/linkage/review/{item.id}")
    assert page.status_code == 200
    assert page.text.count("Amelia Okafor") >= 2  # both records, side by side
    assert "2016-03-14" in page.text and "2019-07-02" in page.text
    assert "different date of birth" in page.text and "-7.2" in page.text
    # The waterfall drawn: from the prior, each field's move, to the pair's 2.5, under 8.
    chart = page.text[page.text.index('<svg class="fp-waterfall-chart"') :]
    assert "date of birth −7.2 (different date of birth)" in chart
    assert "ends at a match weight of +2.5, under the link line 8." in chart
    assert ">−7.2 against</text>" in chart and ">link line 8</text>" in chart
    missing = app_client.post(
        f"/linkage/review/{item.id}",
        data={"csrf_token": csrf_of(page.text), "action": "confirm", "reason": ""},
    )
    assert missing.status_code == 422 and 'href="#reason"' in missing.text
    done = app_client.post(
        f"/linkage/review/{item.id}",
        data={
            "csrf_token": csrf_of(page.text),
            "action": "reject",
            "reason": "Different dates of birth; the surgery confirms two children.",
            "decided_by": "someone else",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    db_session.refresh(item)
    assert item.status is ReviewStatus.REJECTED
    decision = db_session.query(ReviewDecision).filter_by(review_item_id=item.id).one()
    assert decision.decided_by == f"user:{user.username}"
    undone = app_client.post(
        f"/linkage/review/{item.id}",
        data={"csrf_token": csrf_of(page.text), "action": "undo", "reason": "Rejected in error."},
        follow_redirects=False,
    )
    assert undone.status_code == 303
    db_session.refresh(item)
    assert item.status is ReviewStatus.OPEN
    assert "Rejected in error." in app_client.get(f"/linkage/review/{item.id}").text


def test_the_queue_is_refused_without_the_scope_or_a_need_to_know(
    app_client: TestClient, db_session: Session, picture: Picture, item: ReviewItem
) -> None:
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.gp)
    assert app_client.get("/linkage/review").status_code == 403
    assert app_client.get(f"/linkage/review/{item.id}").status_code == 403
    app_client.cookies.clear()
    sign_in(app_client, db_session, role=Role.FRONT_DOOR, agency=picture.stranger)
    assert f"/linkage/review/{item.id}" not in app_client.get("/linkage/review").text
    other = app_client.get(f"/linkage/review/{item.id}")
    assert other.status_code == 404 and "Okafor" not in other.text


def test_the_queue_and_the_pair_say_what_differed_not_the_models_labels(
    app_client: TestClient, db_session: Session, picture: Picture, item: ReviewItem
) -> None:
    """The model's last level ("All other comparisons") and its missing level ("nhs_number
    missing") are what linkage stores; a reviewer reads what they mean. Seen in the demo: a
    "Matilda" and "Tilly" pair listed "All other comparisons" under "What agreed"."""
    item.comparison_levels = {
        "date_of_birth": {"level": "same date of birth", "match_weight": 9.2},
        "given_name": {"level": "All other comparisons", "match_weight": -7.8},
        "nhs_number": {"level": "nhs_number missing", "match_weight": 0.0},
    }
    db_session.flush()
    sign_in(app_client, db_session, role=Role.FRONT_DOOR, agency=picture.gp)
    for path in ("/linkage/review", f"/linkage/review/{item.id}"):
        text = app_client.get(path).text
        assert "different given names" in text and "same date of birth" in text
        assert "NHS number not recorded on one record or both" in text
        assert "All other comparisons" not in text and "nhs_number missing" not in text
    assert "What agreed" not in app_client.get("/linkage/review").text
