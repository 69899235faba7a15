"""Feed row rules: identifiers, dates, codes, people, and messages that say what to fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fullpicture.chronology.models import DatePrecision, ParticipantRole
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.imports.identifiers import (
    UPN_ALPHABET,
    nhs_number_is_valid,
    upn_check_letter,
    upn_is_valid,
)
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.rows import EventRow, RecordRow, RelationshipRow
from fullpicture.imports.schemas import reasons_from_error
from tests.imports.feeds import event, record, relationship

CONTEXT = ValidationContext(today=dt.date(2026, 11, 25), taxonomy=default_taxonomy())


def reasons(model: type[Any], row: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(row, context=CONTEXT)
    return {reason.field: reason.message for reason in reasons_from_error(caught.value)}


class TestNhsNumber:
    def test_published_example_is_valid(self) -> None:
        assert nhs_number_is_valid("9434765919")

    def test_wrong_check_digit_is_invalid(self) -> None:
        assert not nhs_number_is_valid("9434765918")

    def test_check_digit_ten_is_never_valid(self) -> None:
        # 000000001x: weights give 1*2 = 2, 11 - 2 = 9; find a stem whose check would be 10.
        stem = next(
            f"{n:09d}"
            for n in range(1, 10_000)
            if 11 - sum(int(d) * w for d, w in zip(f"{n:09d}", range(10, 1, -1), strict=True)) % 11
            == 10
        )
        assert not any(nhs_number_is_valid(stem + str(d)) for d in range(10))

    @given(
        st.lists(st.integers(0, 9), min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9)
    )
    def test_one_changed_digit_is_always_caught(
        self, stem: list[int], position: int, change: int
    ) -> None:
        total = sum(d * w for d, w in zip(stem, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check == 10:
            return
        number = "".join(map(str, stem)) + str(check)
        assert nhs_number_is_valid(number)
        digits = list(number)
        digits[position] = str((int(digits[position]) + change) % 10)
        assert not nhs_number_is_valid("".join(digits))

    def test_spaces_allowed_and_normalised(self) -> None:
        row = RecordRow.model_validate(record("C1", nhs_number=" 943 476 5919 "), context=CONTEXT)
        assert row.nhs_number == "9434765919"

    def test_bad_checksum_is_explained(self) -> None:
        found = reasons(RecordRow, record("C1", nhs_number="943 476 5918"))
        assert "modulus 11" in found["nhs_number"]

    def test_wrong_length_is_explained(self) -> None:
        found = reasons(RecordRow, record("C1", nhs_number="12345"))
        assert "10 digits" in found["nhs_number"]


class TestUpn:
    @pytest.mark.parametrize("upn", ["B801200005001", "P207000016049"])
    def test_valid_upns(self, upn: str) -> None:
        assert upn_is_valid(upn)

    def test_wrong_check_letter(self) -> None:
        assert not upn_is_valid("A801200005001")
        assert "DfE check gives B" in reasons(RecordRow, record("C1", upn="A801200005001"))["upn"]

    def test_temporary_upn_letter_counts_by_its_place_in_the_alphabet(self) -> None:
        # The final letter counts as its position in A..Z without I, O, S (GDSC UPN v2.0).
        trailing = "80120000500" + "C"
        total = sum(int(c) * w for c, w in zip(trailing[:11], range(2, 13), strict=True))
        expected = UPN_ALPHABET[(total + 2 * 13) % 23]
        assert upn_check_letter(trailing) == expected
        assert upn_is_valid(expected + trailing)

    @pytest.mark.parametrize("letter", ["I", "O", "S"])
    def test_letters_never_used_are_refused(self, letter: str) -> None:
        found = reasons(RecordRow, record("C1", upn="A80120000500" + letter))
        assert "I, O and S" in found["upn"]

    @given(
        st.text(alphabet="0123456789", min_size=11, max_size=11),
        st.sampled_from(list(UPN_ALPHABET) + list("0123456789")),
    )
    def test_computed_check_letter_validates(self, digits: str, last: str) -> None:
        trailing = digits + last
        letter = upn_check_letter(trailing)
        assert letter in UPN_ALPHABET
        assert upn_is_valid(letter + trailing)
        other = UPN_ALPHABET[(UPN_ALPHABET.index(letter) + 1) % 23]
        assert not upn_is_valid(other + trailing)


class TestEventDates:
    @pytest.mark.parametrize(
        ("given_date", "stored", "precision"),
        [
            ("2024-03-05", dt.date(2024, 3, 5), DatePrecision.DAY),
            ("2024-02", dt.date(2024, 2, 29), DatePrecision.MONTH),
            ("2023-02", dt.date(2023, 2, 28), DatePrecision.MONTH),
            ("2021", dt.date(2021, 12, 31), DatePrecision.YEAR),
        ],
    )
    def test_precision_kept_and_period_stored_as_its_last_day(
        self, given_date: str, stored: dt.date, precision: DatePrecision
    ) -> None:
        row = EventRow.model_validate(
            event("E1", event_date=given_date, date_recorded=""), context=CONTEXT
        )
        assert row.event_date.day == stored
        assert row.event_date.precision is precision

    def test_impossible_date(self) -> None:
        assert (
            "not a real date"
            in reasons(EventRow, event("E1", event_date="2023-02-30"))["event_date"]
        )

    def test_impossible_month(self) -> None:
        assert (
            "not a real month" in reasons(EventRow, event("E1", event_date="2023-13"))["event_date"]
        )

    def test_future_event(self) -> None:
        found = reasons(EventRow, event("E1", event_date="2026-11-26", date_recorded=""))
        assert "in the future" in found["event_date"]

    def test_current_month_has_begun_so_is_not_future(self) -> None:
        row = EventRow.model_validate(
            event("E1", event_date="2026-11", date_recorded=""), context=CONTEXT
        )
        assert row.event_date.precision is DatePrecision.MONTH

    def test_next_year_is_future(self) -> None:
        assert (
            "in the future"
            in reasons(EventRow, event("E1", event_date="2027", date_recorded=""))["event_date"]
        )

    def test_recorded_before_event(self) -> None:
        found = reasons(EventRow, event("E1", event_date="2024-03-05", date_recorded="2024-03-01"))
        assert "before the event date" in found["row"]

    def test_not_a_date(self) -> None:
        assert "YYYY-MM-DD" in reasons(EventRow, event("E1", event_date="05/03/2024"))["event_date"]

    def test_future_date_of_birth(self) -> None:
        assert (
            "in the future"
            in reasons(RecordRow, record("C1", date_of_birth="2027-01-01"))["date_of_birth"]
        )

    def test_expected_date_of_delivery_may_be_ahead(self) -> None:
        row = RecordRow.model_validate(
            record("U1", date_of_birth="", expected_date_of_delivery="2027-02-01"), context=CONTEXT
        )
        assert row.expected_date_of_delivery == dt.date(2027, 2, 1)


class TestEventFields:
    def test_unknown_concern_code(self) -> None:
        assert (
            "concern taxonomy"
            in reasons(EventRow, event("E1", concern_code="XYZ-ABC"))["concern_code"]
        )

    def test_codes_are_case_insensitive(self) -> None:
        assert (
            EventRow.model_validate(
                event("E1", concern_code="dom-abu"), context=CONTEXT
            ).concern_code
            == "DOM-ABU"
        )

    def test_every_required_field_missing_is_reported(self) -> None:
        found = reasons(EventRow, {"agency": "gp-ashdown"})
        assert set(found) >= {
            "event_id",
            "event_date",
            "concern_code",
            "summary",
            "information_type",
            "people",
        }
        assert all("required" in message for message in found.values())

    def test_blank_counts_as_missing(self) -> None:
        assert "required" in reasons(EventRow, event("E1", summary="   "))["summary"]

    def test_severity_range(self) -> None:
        assert "1 to 5" in reasons(EventRow, event("E1", severity="7"))["severity"]

    def test_people_each_with_their_own_role(self) -> None:
        row = EventRow.model_validate(
            event("E1", people="C2:witness|C1:victim|A7:alleged_perpetrator"), context=CONTEXT
        )
        roles = {p.record_id: p.role for p in row.people}
        assert roles == {
            "C1": ParticipantRole.VICTIM,
            "C2": ParticipantRole.WITNESS,
            "A7": ParticipantRole.ALLEGED_PERPETRATOR,
        }

    def test_people_order_does_not_change_the_hash(self) -> None:
        one = EventRow.model_validate(event("E1", people="C1:victim|C2:witness"), context=CONTEXT)
        two = EventRow.model_validate(event("E1", people="C2:witness|C1:victim"), context=CONTEXT)
        assert one.content_hash() == two.content_hash()

    def test_person_without_role(self) -> None:
        assert "role" in reasons(EventRow, event("E1", people="C1"))["people"]

    def test_unknown_role(self) -> None:
        found = reasons(EventRow, event("E1", people="C1:boss"))
        assert "'boss' is not a role" in found["people.0.role"]

    def test_person_listed_twice(self) -> None:
        assert (
            "listed twice"
            in reasons(EventRow, event("E1", people="C1:victim|C1:witness"))["people"]
        )

    def test_json_people_objects(self) -> None:
        row = EventRow.model_validate(
            event("E1", people=[{"record_id": "C1", "role": "Victim"}]), context=CONTEXT
        )
        assert row.people[0].role is ParticipantRole.VICTIM

    def test_change_reason_is_not_content(self) -> None:
        one = EventRow.model_validate(event("E1"), context=CONTEXT)
        two = EventRow.model_validate(event("E1", change_reason="typo fixed"), context=CONTEXT)
        assert one.content_hash() == two.content_hash()

    def test_any_content_change_changes_the_hash(self) -> None:
        one = EventRow.model_validate(event("E1"), context=CONTEXT)
        two = EventRow.model_validate(
            event("E1", summary="Not brought to the appointment"), context=CONTEXT
        )
        assert one.content_hash() != two.content_hash()


class TestRecordsAndRelationships:
    def test_lists_and_booleans_in_csv_notation(self) -> None:
        row = RecordRow.model_validate(
            record(
                "C1",
                other_names="Millie| Mia ",
                interpreter_needed="Yes",
                addresses='[{"line": "1 High St", "postcode": "cr0 1aa", "date_from": "2024-01-01"}]',
            ),
            context=CONTEXT,
        )
        assert row.other_names == ["Millie", "Mia"]
        assert row.interpreter_needed is True
        assert row.addresses[0].postcode == "CR0 1AA"

    def test_bad_address_json(self) -> None:
        assert "JSON array" in reasons(RecordRow, record("C1", addresses="[{"))["addresses"]

    def test_relationship_to_self(self) -> None:
        assert "itself" in reasons(RelationshipRow, relationship("C1", "C1"))["row"]

    def test_unknown_relationship(self) -> None:
        assert (
            "not a relationship"
            in reasons(RelationshipRow, relationship("C1", "A1", "uncle"))["relationship"]
        )
