"""R11 (other agencies involved) tells the writer's own agency from another's (referral_standard
2026.12.14): only the writer's own service involved is partial, one other service named is
present, as the annotation guide and the blind re-reading of R11 have it. Invented texts in the
corpus's forms (a letter's heading, a signature block, a form's labelled lines, phone notes)."""

from __future__ import annotations

import datetime as dt

from fullpicture.referrals.checker import (
    analyse_referral_text,
    check_from_analysis,
    check_referral_text,
)
from fullpicture.referrals.rulebook import default_rulebook
from fullpicture.referrals.writer_agency import find_writer

DAY = dt.date(2026, 11, 23)  # a Monday

HOSPITAL_ONLY = (
    "Referral from Ward 4, Riverside Hospital\n\n"
    "Maya (4) was admitted to the ward yesterday with a head injury. The paediatrician found "
    "bruising to both ears that mum could not explain.\n\n"
    "Dr Ana Reyes\nRegistrar, Paediatrics"
)

POLICE_ONLY = (
    "NORTHSHIRE POLICE - CHILD CONCERN REFERRAL TO CHILDREN'S SERVICES\n\n"
    "Officers attended 12 Elm Road at 22:10 after a neighbour reported shouting. Mum is a "
    "high-risk MARAC case. The children were asleep.\n\n"
    "PC 1123 Lee Grant"
)


def _r11(text: str) -> tuple[str, list[str], str | None]:
    finding = check_referral_text(text, referral_date=DAY).elements["R11"]
    return finding.status, [span.cue for span in finding.spans], finding.question


def test_two_words_for_the_writers_own_agency_are_partial() -> None:
    # The ward and the paediatrician are one agency, the writer's: two cues, not two agencies.
    status, cues, question = _r11(HOSPITAL_ONLY)
    assert status == "partial"
    assert cues and all(cue.endswith("(the writer's own)") for cue in cues)
    assert question is not None and "other than yours" in question


def test_police_officers_and_marac_from_the_police_are_partial() -> None:
    status, cues, _ = _r11(POLICE_ONLY)
    assert status == "partial"
    assert "police (the writer's own)" in cues


def test_one_other_service_named_beside_the_writers_own_is_present() -> None:
    status, cues, question = _r11(HOSPITAL_ONLY + "\n\nHer school, Oak Primary, has been told.")
    assert status == "present"
    assert "school (another service)" in cues
    assert "hospital (the writer's own)" in cues
    assert question is None


def test_a_school_nurse_naming_the_childs_school_is_present() -> None:
    # A school nurse's "School Nurse" is the school nursing service, not the child's school.
    text = (
        "Tegan came to my drop-in last week and said dad drinks most nights.\n\n"
        "I have spoken to the school DSL, who is aware.\n\n"
        "Amy Lau\nSchool Nurse, Sunbury 5-19 Team"
    )
    status, cues, _ = _r11(text)
    assert status == "present"
    assert "school_nursing (the writer's own)" in cues
    assert "school (another service)" in cues


def test_a_member_of_the_public_naming_one_agency_is_present() -> None:
    text = (
        "Caller: neighbour, did not want to give her name.\n"
        "Says the police came to the flat last month after shouting. Two children, ages unknown."
    )
    assert _r11(text)[0] == "present"


def test_an_agency_only_in_the_greeting_is_the_recipient_not_one_involved() -> None:
    text = (
        "Dear Early Help Team,\n\n"
        "I saw Poppy and her mum in surgery today. Mum is struggling since dad left.\n\n"
        "Dr Sam Hale\nGP, Millfield Surgery"
    )
    status, cues, _ = _r11(text)
    assert status == "partial"
    assert not any("another service" in cue for cue in cues)


def test_a_service_not_contacted_is_not_involved() -> None:
    text = (
        "From: Jo Bell, DSL, Cranmore High\n\n"
        "Kai told his form tutor he was hit by a man in the park. We have not called the police "
        "as his parents said they would."
    )
    assert _r11(text)[0] == "partial"


def test_a_caller_who_knows_of_no_professionals_gives_no_other_agencies() -> None:
    text = (
        "Caller: member of the public.\n"
        "Children left alone in the flat upstairs most evenings. Caller does not know of any "
        "professionals involved."
    )
    assert _r11(text)[0] == "present"


def test_without_who_writes_two_kinds_of_agency_are_still_needed() -> None:
    text = "Leo was seen by the health visitor on Monday, who noticed a bruise on his cheek."
    assert _r11(text)[0] == "partial"
    assert _r11(text + " The GP has examined him and referred him to the hospital.")[0] == "present"


def test_where_the_writer_is_named() -> None:
    rule = default_rulebook().standard.writer_agency
    assert rule is not None
    writer = find_writer(HOSPITAL_ONLY, rule)
    said = " | ".join(span.text for span in writer.said_by)
    assert "Referral from Ward 4, Riverside Hospital" in said
    assert "Registrar, Paediatrics" in said
    assert not writer.public
    heading = find_writer(POLICE_ONLY, rule)
    assert any("CHILDREN'S SERVICES" in span.text for span in heading.recipient)


# -- advice and the recipient are not involvement (2026.12.16) --------------------------------


def test_advice_to_go_to_a_service_is_not_involvement() -> None:
    text = (
        "KENT POLICE - CHILD CONCERN NOTIFICATION\n\n"
        "Officers attended after a youth was seen on a footbridge. Returned home to mother. "
        "Mother advised to contact GP / NHS 111."
    )
    status, cues, _ = _r11(text)
    assert status == "partial"
    assert not any("another service" in cue for cue in cues)
    told = text.replace("Mother advised to contact GP / NHS 111.", "The GP has been informed.")
    assert _r11(told)[0] == "present"


def test_the_referral_going_to_social_care_is_not_social_care_involved() -> None:
    text = (
        "KENT POLICE - CHILD CONCERN NOTIFICATION\n\n"
        "Officers attended the home address. Children present. Submitted for CSC information."
    )
    assert _r11(text)[0] == "partial"


# -- the signed-in writer's agency (API, stored referral) --------------------------------------

UNSIGNED = "Maya was admitted to the ward yesterday. The paediatrician found bruising to both ears."


def _r11_as(text: str, kind: str | None) -> str:
    book = default_rulebook()
    analysis = analyse_referral_text(text, referral_date=DAY, rulebook=book)
    check = check_from_analysis(analysis, referral_date=DAY, rulebook=book, writer_agency_kind=kind)
    return check.elements["R11"].status


def test_the_signed_in_writers_agency_is_their_own() -> None:
    # The text does not say who writes: one kind of agency found is partial as it was.
    assert _r11_as(UNSIGNED, None) == "partial"
    # Written by the hospital, the ward is its own; by the child's school, the ward is another's.
    assert _r11_as(UNSIGNED, "hospital") == "partial"
    assert _r11_as(UNSIGNED, "school") == "present"
    # A charity's worker: the cues know no kind of theirs, so the hospital is another service.
    assert _r11_as(UNSIGNED, "voluntary_sector") == "present"


def test_who_writes_is_read_whatever_the_case() -> None:
    # The patterns run on the lower-cased text: a form in capitals names its writer too.
    assert _r11("CALLER: NEIGHBOUR\nSays the police came to the flat last month.")[0] == "present"
