"""Find a child and the child's page: only children (and entries) the signed-in user may see,
the rest counted; another agency's user and a role without the scope are refused."""

from __future__ import annotations

import datetime as dt
import re
import zlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import AuditEntry, Role
from fullpicture.chronology import export
from fullpicture.chronology.models import InformationType
from fullpicture.linkage import search as child_search
from fullpicture.linkage.households import rebuild_households
from fullpicture.people.models import PersonRecordLink
from fullpicture.web.children import ENTRIES_PER_PAGE
from tests.access.principals import front_door_with_a_routed_alert
from tests.web.pages import named_child, sign_in
from tests.web.picture import Picture, build_picture, entry, index_for_linkage


@pytest.fixture
def picture(db_session: Session) -> Picture:
    return build_picture(db_session, "pages")


def test_a_misspelt_name_finds_the_child_through_the_linkage_comparisons(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    page = app_client.get("/children", params={"name": "Amelya Okafur"})
    assert page.status_code == 200, page.text
    assert f'href="/children/{picture.child.public_id}"' in page.text
    assert "given name sounds alike" in page.text and "family name sounds alike" in page.text
    # The namesake at another GP is counted, never shown.
    assert picture.namesake.public_id not in page.text
    held = re.search(r'id="held-elsewhere">(\d+) other child', page.text)
    assert held and held.group(1) == "1"


def test_a_typing_slip_the_sound_alike_codes_miss_still_finds_the_child(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    # "Okafo" sounds unlike "Okafor" to the phonetic code; it is one letter dropped.
    page = app_client.get("/children", params={"name": "Amelia Okafo"})
    assert f'href="/children/{picture.child.public_id}"' in page.text
    assert "family name spelt very closely (a typing slip)" in page.text
    # Another name entirely is not a slip: nothing is found.
    far = app_client.get("/children", params={"name": "Amelia Obama"})
    assert f'href="/children/{picture.child.public_id}"' not in far.text


def test_a_nickname_and_a_date_of_birth_find_the_child(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    page = app_client.get(
        "/children",
        params={"name": "Millie Okafor", "dob_day": "14", "dob_month": "3", "dob_year": "2016"},
    )
    assert f'href="/children/{picture.child.public_id}"' in page.text
    assert "known variant (nickname / short form)" in page.text
    assert "same date of birth" in page.text
    assert 'id="held-elsewhere"' not in page.text  # the namesake was born in 2019
    by_nhs = app_client.get("/children", params={"nhs_number": "943 476 5919"})
    assert f'href="/children/{picture.child.public_id}"' in by_nhs.text
    by_postcode = app_client.get("/children", params={"postcode": "cr01aa"})
    assert f'href="/children/{picture.child.public_id}"' in by_postcode.text


def test_tilly_finds_a_matilda(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    """The issue 14 audit: the nickname list lacked Tilly for Matilda."""
    matilda, records = named_child(
        db_session,
        held_by=[picture.school],
        given_name="Matilda",
        family_name="Brennan",
        date_of_birth=dt.date(2017, 9, 4),
    )
    index_for_linkage(db_session, records)
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    page = app_client.get(
        "/children",
        params={"name": "Tilly Brennan", "dob_day": "4", "dob_month": "9", "dob_year": "2017"},
    )
    assert f'href="/children/{matilda.public_id}"' in page.text
    assert "known variant (nickname / short form)" in page.text


def test_more_matches_than_are_listed_says_how_many_and_how_to_narrow(
    app_client: TestClient,
    db_session: Session,
    picture: Picture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Three of the school's children share the postcode; the page lists at most two here.
    records = []
    for given in ("Leo", "Isla"):
        _person, held = named_child(
            db_session,
            held_by=[picture.school],
            given_name=given,
            family_name="Okafor",
            date_of_birth=dt.date(2017, 5, 5),
            postcode="CR0 1AA",
        )
        records.extend(held)
    index_for_linkage(db_session, records)
    monkeypatch.setattr(child_search, "MAX_SHOWN", 2)
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    page = app_client.get("/children", params={"postcode": "CR0 1AA"})
    assert page.status_code == 200, page.text
    listed = page.text.split('id="find-results"', 1)[1].split("</ul>", 1)[0]
    assert listed.count('href="/children/') == 2
    heading = page.text.split('id="results-heading">', 1)[1].split("</h2>", 1)[0]
    assert "3 children you may see" in heading  # every match counted, not only those listed
    narrow = page.text.split('id="narrow-search">', 1)[1].split("</div>", 1)[0]
    assert "1 more matched than are listed here: the 2 closest matches are shown" in narrow
    assert "add their name, date of birth or NHS number" in narrow  # not the postcode again
    surname = app_client.get("/children", params={"name": "Okafor"})
    assert "add their full name, date of birth, NHS number or postcode" in surname.text
    # Few enough to list: no such message.
    one = app_client.get("/children", params={"name": "Isla Okafor"})
    assert 'id="narrow-search"' not in one.text


def test_find_a_child_explains_what_to_fix(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    bad_date = app_client.get(
        "/children",
        params={"name": "Okafor", "dob_day": "31", "dob_month": "2", "dob_year": "2016"},
    )
    assert bad_date.status_code == 422
    assert "govuk-error-summary" in bad_date.text and "must be a real date" in bad_date.text
    assert 'value="Okafor"' in bad_date.text  # what was typed is kept
    vague = app_client.get("/children", params={"name": "A"})
    assert vague.status_code == 422 and "at least two letters" in vague.text


def test_another_agencys_user_finds_nothing_and_is_refused_the_page(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.stranger)
    found = app_client.get("/children", params={"name": "Amelia Okafor"})
    assert (
        picture.child.public_id not in found.text
        and "Amelia" not in found.text.split("</form>")[-1].split('id="held-elsewhere"')[0]
    )
    assert re.search(r'id="held-elsewhere">2 other children', found.text)
    page = app_client.get(f"/children/{picture.child.public_id}")
    assert page.status_code == 404 and "Okafor" not in page.text
    for export_path in ("chronology.csv", "chronology.pdf"):
        refused = app_client.get(f"/children/{picture.child.public_id}/{export_path}")
        assert refused.status_code == 404 and b"Okafor" not in refused.content
    alert = app_client.get(f"/alerts/{picture.alert.public_id}")
    assert alert.status_code == 404 and "Okafor" not in alert.text


def test_a_role_without_children_read_is_refused_every_child_page(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.AUDITOR, agency=None)
    for path in (
        "/children?name=Okafor",
        f"/children/{picture.child.public_id}",
        f"/children/{picture.child.public_id}/chronology.csv",
        "/alerts",
        f"/alerts/{picture.alert.public_id}",
    ):
        response = app_client.get(path)
        assert response.status_code == 403, path
        assert "Okafor" not in response.text


def test_the_child_page_shows_what_the_school_holds_and_counts_the_rest(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    page = app_client.get(f"/children/{picture.child.public_id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="child-name">Amelia Okafor<' in text
    assert "Not brought to the school nurse" in text
    # The GP's entry is not the school's to see: counted, not shown.
    assert "Untreated tooth decay" not in text
    assert "1 further entry held by 1 other agency" in text
    # The school's record is shown with how it was linked; the GP's record is not.
    assert picture.school_record.record_ref in text
    assert picture.gp_record.record_ref not in text
    assert "<svg" in text and 'role="img"' in text and "Timeline of entries by agency" in text
    # The open alert rests on the GP's entry too: the school is told it exists and that an
    # entry held elsewhere is behind it, not what the GP recorded (issue 12, finding 2).
    assert "1 further entry held by 1 other agency is behind this alert" in text
    assert "Neglect of health and repeated was-not-brought" not in text
    # A curiosity prompt with its evidence: was not brought twice.
    assert "repeated was-not-brought" in text and "not brought 2 times" in text


def test_the_household_names_the_agencies_and_shows_the_address_as_recorded(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    """The audit of issue 14: "Known to" listed agency codes, and the address heading was the
    linkage's normalised key ("100 willow road, CR73BH")."""
    willow = [{"line": "100 Willow Road", "postcode": "CR7 3BH", "date_from": "2022-01-01"}]
    picture.school.name = "Rowan Primary School"
    picture.school_record.addresses = willow
    [mother] = named_child(
        db_session,
        held_by=[picture.school],
        given_name="Grace",
        family_name="Okafor",
        date_of_birth=dt.date(1988, 5, 2),
    )[1]
    mother.addresses = willow
    db_session.flush()
    linker = access_service.system_principal(
        db_session=db_session, job="household page test", operator="test"
    )
    rebuild_households(db_session=db_session, linker=linker, as_of=dt.date.today())
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    text = app_client.get(f"/children/{picture.child.public_id}").text
    households = text[text.index('id="households"') : text.index('id="timeline"')]
    assert "100 Willow Road, CR7 3BH" in households
    assert "willow road" not in households and "CR73BH" not in households
    assert "Grace Okafor" in households
    cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>', households)
    assert cells[-1].strip() == "Rowan Primary School", cells
    assert picture.school.code not in households
    # Known to the school alone, Grace raises a prompt whose household evidence says which
    # record puts her there: the school by its name, as the household table gives it, where
    # the words once began with its code ("school-pages record …").
    prompts = text[text.index('id="curiosity-prompts"') : text.index('id="identity"')]
    assert (
        f"Rowan Primary School record {mother.record_ref} gives this address: 100 Willow Road"
        in prompts
    )
    assert picture.school.code not in prompts


def test_record_an_entry_is_offered_only_to_an_agency_holding_a_record_of_the_child(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    """The issue 14 audit: a front door that opened a child through an alert routed to it was
    offered "Record an entry", and the form then said its agency holds no record of the child."""
    csc = front_door_with_a_routed_alert(db_session, picture.child, "csc-pages")
    new_entry = f"/children/{picture.child.public_id}/entries/new"
    sign_in(app_client, db_session, role=Role.FRONT_DOOR, agency=csc)
    page = app_client.get(f"/children/{picture.child.public_id}")
    assert page.status_code == 200, page.text
    assert new_entry not in page.text
    assert 'id="no-own-record"' in page.text and "holds no record of Amelia Okafor" in page.text
    # The school holds a record of the child: offered the form, and no such sentence.
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    page = app_client.get(f"/children/{picture.child.public_id}")
    assert new_entry in page.text and 'id="no-own-record"' not in page.text


def test_why_a_record_was_linked_says_what_differed_not_the_models_labels(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    """The waterfall of the school's record: the model's last level and missing level, as
    linkage stores them, are said in words (the demo showed "All other comparisons")."""
    link = db_session.scalars(
        select(PersonRecordLink).where(
            PersonRecordLink.agency_id == picture.school_record.agency_id,
            PersonRecordLink.record_ref == picture.school_record.record_ref,
        )
    ).one()
    link.evidence = {
        "comparison_levels": {
            "given_name": {"level": "All other comparisons", "match_weight": -7.8},
            "upn": {"level": "upn missing", "match_weight": 0.0},
            "date_of_birth": {"level": "same date of birth", "match_weight": 9.2},
        }
    }
    db_session.flush()
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    text = app_client.get(f"/children/{picture.child.public_id}").text
    assert "different given names" in text and "same date of birth" in text
    assert "UPN not recorded on one record or both" in text
    assert "All other comparisons" not in text and "upn missing" not in text
    # No total stored with these levels: the table alone, no chart made up without one.
    assert "fp-waterfall-chart" not in text
    link.evidence = {**link.evidence, "match_weight": 11.4, "match_probability": 0.9996}
    db_session.flush()
    drawn = app_client.get(f"/children/{picture.child.public_id}").text
    chart = drawn[
        drawn.index('<svg class="fp-waterfall-chart"') : drawn.index(
            "</svg>", drawn.index('<svg class="fp-waterfall-chart"')
        )
    ]
    assert 'role="img"' in chart and "How the match weight was reached" in chart
    assert "given name −7.8 (different given names)" in chart
    assert "ends at a match weight of +11.4, at or over the link line 8." in chart


def test_front_door_sees_the_combined_chronology_filters_it_and_compares_one_agency(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    # The GP's user sees its own entries; filters narrow what is shown.
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.gp)
    page = app_client.get(f"/children/{picture.child.public_id}", params={"concern": "NEG"})
    assert "Untreated tooth decay" in page.text
    only_opinion = app_client.get(
        f"/children/{picture.child.public_id}", params={"info": "opinion"}
    )
    assert "Untreated tooth decay" not in only_opinion.text
    assert "No entries match these filters" in only_opinion.text
    side = app_client.get(f"/children/{picture.child.public_id}", params={"view": picture.gp.code})
    assert 'id="side-by-side"' in side.text and 'id="agency-chronology"' in side.text
    # One agency's view has no agency column (every row is that agency's); the combined has.
    own = side.text[
        side.text.index('id="agency-chronology"') : side.text.index('id="combined-heading"')
    ]
    combined = side.text[side.text.index('id="combined-chronology"') :]
    assert ">Agency</th>" not in own and ">Agency</th>" in combined
    bad = app_client.get(f"/children/{picture.child.public_id}", params={"from": "yesterday"})
    assert bad.status_code == 422 and "govuk-error-summary" in bad.text


def test_the_csv_export_is_what_the_page_shows(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    csv = app_client.get(f"/children/{picture.child.public_id}/chronology.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "Not brought to the school nurse" in csv.text
    assert "Untreated tooth decay" not in csv.text


def _pdf_text(pdf: bytes) -> str:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S)
    return "".join(zlib.decompress(s).decode("latin-1", "replace") for s in streams)


def test_every_page_of_the_pdf_names_the_child_and_carries_the_marking(
    app_client: TestClient,
    db_session: Session,
    picture: Picture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The core font writes text as plain strings, so the test can read it back.
    monkeypatch.setattr(export, "UNICODE_FONTS", [])
    user = sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.school)
    pdf = app_client.get(
        f"/children/{picture.child.public_id}/chronology.pdf",
        params={"for_whom": "Strategy meeting"},
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = len(re.findall(rb"/Type /Page\b", pdf.content))
    text = _pdf_text(pdf.content)
    assert pages >= 1
    # Top and foot of every page.
    assert text.count("OFFICIAL-SENSITIVE") == 2 * pages
    assert text.count("Amelia Okafor, born 14 March 2016") >= 2 * pages
    assert text.count(f"produced by {user.username} for Strategy meeting") == 2 * pages


def _rows(html: str, table_id: str) -> list[str]:
    """The body rows of one chronology table, as text."""
    start = html.index(f'id="{table_id}"')
    body = html[html.index("<tbody", start) : html.index("</tbody>", start)]
    return re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', body, flags=re.S)


def test_a_long_chronology_is_paged_with_its_filters_and_exported_whole(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    start = dt.date(2019, 1, 1)
    for n in range(230):
        entry(
            db_session,
            picture.gp_record,
            code="WNB",
            summary=f"Paged entry {n:03d}",
            day=start + dt.timedelta(days=n),
            information_type=InformationType.FACT if n % 2 else InformationType.REPORTED,
        )
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.gp)
    path = f"/children/{picture.child.public_id}"
    whole = app_client.get(path)
    assert len(_rows(whole.text, "combined-chronology")) == ENTRIES_PER_PAGE
    shown = re.search(r"Showing entries 1 to 100 of (\d+)", whole.text)
    assert shown is not None
    total = int(shown.group(1))
    assert total >= 230 + len(picture.gp_events)
    assert 'class="govuk-pagination"' in whole.text
    last_page = -(-total // ENTRIES_PER_PAGE)
    seen: list[str] = []
    for number in range(1, last_page + 1):
        page = app_client.get(path, params={"page": str(number)})
        seen += _rows(page.text, "combined-chronology")
    assert len(seen) == total and len(set(seen)) == total  # every entry once
    paged = [m for row in seen for m in re.findall(r"Paged entry \d+", row)]
    assert sorted(paged) == [f"Paged entry {n:03d}" for n in range(230)]
    beyond = app_client.get(path, params={"page": "99"})
    assert f"page {last_page} of {last_page}" in beyond.text

    # Filters are kept across pages: the links carry them, and the page counts what they show.
    reported = app_client.get(path, params={"info": "reported", "page": "2"})
    range_shown = re.search(r"Showing entries 101 to (\d+) of (\d+)", reported.text)
    assert range_shown is not None and range_shown.group(1) == range_shown.group(2)
    assert 115 <= int(range_shown.group(2)) < total
    assert "info=reported&amp;page=1#chronology" in reported.text
    assert all("reported" in row for row in _rows(reported.text, "combined-chronology"))

    # One agency's view beside it covers the same entries as the combined page.
    side = app_client.get(path, params={"view": picture.gp.code, "page": "2"})
    combined = _rows(side.text, "combined-chronology")
    own = _rows(side.text, "agency-chronology")
    assert len(own) == len(combined) == ENTRIES_PER_PAGE
    assert [re.findall(r"Paged entry \d+", r) for r in own] == [
        re.findall(r"Paged entry \d+", r) for r in combined
    ]

    # The exports take every entry the filters show, on every page.
    assert 'chronology.csv?info=reported"' in reported.text
    csv = app_client.get(f"{path}/chronology.csv", params={"info": "reported", "page": "2"})
    assert csv.text.count("Paged entry") == 115  # the odd ones are facts


def _range(html: str) -> tuple[int, int, int]:
    """(first, last, total) from "Showing entries 1 to 100 of 2,000"."""
    found = re.search(r"Showing entries ([\d,]+) to ([\d,]+) of ([\d,]+)", html)
    assert found is not None, "the page does not say which entries it shows"
    first, last, total = (int(n.replace(",", "")) for n in found.groups())
    return first, last, total


def test_a_school_user_never_sees_another_agencys_entry_on_any_page(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    # The GP's entries fall between the school's on every page: paging the record must not
    # let one through, and the school's every entry is reachable once.
    start = dt.date(2019, 1, 1)
    for n in range(130):
        entry(db_session, picture.gp_record, code="WNB", summary=f"GP only {n:03d}",
              day=start + dt.timedelta(days=2 * n))  # fmt: skip
        entry(db_session, picture.school_record, code="EDU-ATT", summary=f"School own {n:03d}",
              day=start + dt.timedelta(days=2 * n + 1))  # fmt: skip
    sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    path = f"/children/{picture.child.public_id}"
    first = app_client.get(path)
    _, _, total = _range(first.text)
    assert total == 130 + len(picture.school_events)
    held = 130 + len(picture.gp_events)
    assert f"{held} further entries held by 1 other agency" in first.text
    seen: list[str] = []
    for number in range(1, -(-total // ENTRIES_PER_PAGE) + 1):
        page = app_client.get(path, params={"page": str(number)})
        assert "GP only" not in page.text and "Untreated tooth decay" not in page.text
        seen += _rows(page.text, "combined-chronology")
    own = sorted(m for row in seen for m in re.findall(r"School own \d+", row))
    assert own == [f"School own {n:03d}" for n in range(130)]
    assert len(seen) == len(set(seen)) == total


def test_filters_apply_before_paging_and_count_what_they_show(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    start = dt.date(2019, 1, 1)
    for n in range(230):
        entry(db_session, picture.gp_record, code="WNB", summary=f"Severity entry {n:03d}",
              day=start + dt.timedelta(days=n), severity=n % 5 + 1)  # fmt: skip
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.gp)
    path = f"/children/{picture.child.public_id}"
    _, _, total = _range(app_client.get(path, params={"severity": "4"}).text)
    seen: list[str] = []
    for number in range(1, -(-total // ENTRIES_PER_PAGE) + 1):
        page = app_client.get(path, params={"severity": "4", "page": str(number)})
        first, last, shown_total = _range(page.text)
        assert shown_total == total and first == (number - 1) * ENTRIES_PER_PAGE + 1
        rows = _rows(page.text, "combined-chronology")
        assert len(rows) == last - first + 1
        seen += rows
    assert len(seen) == len(set(seen)) == total
    kept = sorted(m for row in seen for m in re.findall(r"Severity entry \d+", row))
    # Severity 4 or 5: the 4th and 5th of every five; none below it on any page.
    assert kept == [f"Severity entry {n:03d}" for n in range(230) if n % 5 >= 3]


def test_the_incidents_counted_are_those_among_the_entries_shown(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    # Two of the GP's entries on each of ten days with one code: ten incidents of two.
    for n in range(10):
        day = dt.date(2020, 3, 1) + dt.timedelta(days=n)
        for _ in range(2):
            entry(db_session, picture.gp_record, code="WNB", summary="Twice", day=day)
    entry(db_session, picture.gp_record, code="WNB", summary="A view", day=dt.date(2020, 5, 1),
          information_type=InformationType.OPINION)  # fmt: skip
    sign_in(app_client, db_session, role=Role.PRACTITIONER, agency=picture.gp)
    path = f"/children/{picture.child.public_id}"
    whole = app_client.get(path, params={"from": "2020-03-01", "to": "2020-03-31"})
    assert "Combined chronology: 20 entries, 10 incidents" in whole.text
    opinion = app_client.get(path, params={"info": "opinion", "from": "2020-01-01"})
    assert "Combined chronology: 1 entry, 1 incident<" in opinion.text


def test_one_view_of_the_child_page_is_one_audited_read(
    app_client: TestClient, db_session: Session, picture: Picture
) -> None:
    user = sign_in(app_client, db_session, role=Role.DESIGNATED_LEAD, agency=picture.school)
    assert app_client.get(f"/children/{picture.child.public_id}").status_code == 200
    reads = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.actor_user_id == user.id,
            AuditEntry.action == "person.read",
            AuditEntry.person_id == picture.child.id,
        )
    ).all()
    assert [entry.target for entry in reads] == ["child page"]
