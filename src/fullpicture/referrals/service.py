"""Referral rules: drafts, submission to the front door, corrections as new versions, and checks.

Services never commit; the CLI or request boundary does. Nothing here ever refuses or delays a
referral because of its check score (research-notes §3.1: absence of information must not
delay a referral) — the check is stored with the submitted version as a prompt and a record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.schemas import HeldElsewhere
from fullpicture.access.subject import AuthSubject, Reader
from fullpicture.agencies.models import Agency
from fullpicture.core.database import utc_now
from fullpicture.referrals import repository
from fullpicture.referrals.checker import analyse_referral_text, check_from_analysis
from fullpicture.referrals.cross_checks import OpenEscalation, cross_check
from fullpicture.referrals.models import (
    FRONT_DOOR,
    ParentsAwareness,
    Referral,
    ReferralChild,
    ReferralImmutableError,
    ReferralStatus,
    RequestedResponse,
)
from fullpicture.referrals.rulebook import Rulebook, default_rulebook
from fullpicture.referrals.schemas import (
    ReferralCheck,
    ReferralCorrection,
    ReferralCreate,
    ReferralFields,
    ReferralRead,
    ReferralUpdate,
)
from fullpicture.referrals.text_input import ReferralTextError, validate_referral_text
from fullpicture.workflow.escalation import visible_escalations
from fullpicture.workflow.rules import escalation_route

__all__ = [
    "ChildNotFoundError",
    "ReferralAgencyError",
    "ReferralImmutableError",
    "ReferralNotFoundError",
    "ReferralStateError",
    "ReferralTextError",
    "check_referral",
    "check_text_with_record",
    "correct",
    "create_draft",
    "open_referral",
    "referral_text",
    "submit",
    "to_read",
    "update_draft",
]


class ReferralNotFoundError(LookupError):
    """No referral with that reference, or none the caller has a need to know about: one
    error for both, so a refusal never confirms that a referral exists."""


class ChildNotFoundError(LookupError):
    """No person with that public id (or none the caller may see)."""


class ReferralAgencyError(PermissionError):
    """A signed-in referrer named another agency as the referrer's agency, or tried to change,
    submit or correct a referral another agency made (issue 12, finding 3)."""


def _not_found(referral_ref: str) -> ReferralNotFoundError:
    return ReferralNotFoundError(
        f"no referral {referral_ref}, or you have no need to know about it"
    )


def open_referral(
    *,
    db_session: Session,
    subject: AuthSubject,
    referral_ref: str,
    purpose: str,
    now: dt.datetime | None = None,
) -> Sequence[Referral]:
    """Every version of a referral the subject may read, oldest first; the read is audited.

    The subject may read a referral their own agency made (the referrer's agency of any
    version), or one whose linked children — in every version — they all have a need to know
    about (``access.repository.readable_person_ids``). A referral about a child they may not
    see is "not found", as the child would be.
    """
    now = now or utc_now()
    access_service.require_scopes(subject, Scope.CHILDREN_READ)
    rows = repository.versions(db_session, reader=subject, referral_ref=referral_ref, now=now)
    if not rows:
        raise _not_found(referral_ref)
    child_ids = sorted({c.person_id for r in rows for c in r.children if c.person_id is not None})
    detail = {"purpose": purpose, "referral_ref": referral_ref, "method": subject.method.value}
    # A referral is part of each linked child's record, so its reads show in "who has looked".
    people: list[int | None] = [*child_ids] or [None]
    for person_id in people:
        audit.record(
            db_session=db_session,
            actor=subject.actor,
            actor_user_id=subject.user_id,
            action="person.read" if person_id is not None else "referral.read",
            person_id=person_id,
            target=f"referral:{referral_ref}",
            detail=detail,
            occurred_at=now,
        )
    return rows


def writer_agency_kind_of(db_session: Session, agency_id: int | None) -> str | None:
    """The kind of a signed-in writer's agency (None for a user tied to no agency)."""
    if agency_id is None:
        return None
    agency = db_session.get(Agency, agency_id)
    return agency.kind.value if agency is not None else None


class ReferralStateError(ValueError):
    """The action does not fit the referral's state (e.g. submitting twice); the message says why."""


def check_text_with_record(
    *,
    db_session: Session,
    text: str,
    child_public_id: str | None = None,
    referral_date: dt.date | None = None,
    child_names: Iterable[str] = (),
    rulebook: Rulebook | None = None,
    viewer: Reader,
    writer_agency_kind: str | None = None,
) -> ReferralCheck:
    """Check a referral text; with a child, add the record cross-checks (R9, R10, R11).
    ``writer_agency_kind`` is the kind of the writer's agency when it is known (R11 then reads
    that agency as the writer's own, beside what the text says; ``writer_agency_kind_of``).

    The cross-checks use only the entries the ``viewer`` may see
    (``chronology.visibility.event_visibility``) and a note counts the rest; a job reading the
    whole record passes an audited ``access.service.system_principal``.
    """
    book = rulebook or default_rulebook()
    validate_referral_text(text, limits=book.standard.limits)
    as_of = referral_date or dt.date.today()
    analysis = analyse_referral_text(
        text, referral_date=as_of, child_names=child_names, rulebook=book
    )
    check = check_from_analysis(
        analysis, referral_date=as_of, rulebook=book, writer_agency_kind=writer_agency_kind
    )
    if child_public_id is None:
        return check
    now = utc_now()
    child_id = repository.readable_person_id(
        db_session, reader=viewer, public_id=child_public_id, now=now
    )
    if child_id is None:
        raise ChildNotFoundError(
            f"no child with id {child_public_id}, or you have no need to know about them"
        )
    rows = repository.current_events_for_child_and_household(
        db_session, reader=viewer, child_id=child_id, as_of=as_of, now=now
    )
    events = [e for e in rows if e.visible]
    check.cross_checks = cross_check(
        analysis=analysis,
        child_public_id=child_public_id,
        child_events=[e for e in events if e.person_id == child_id],
        household_events=[e for e in events if e.person_id != child_id],
        as_of=as_of,
        rulebook=book,
        open_escalations=open_escalations_about(db_session, viewer=viewer, person_id=child_id),
        disagreement_mentioned=check.elements["R17"].status != "absent",
    )
    hidden = [e for e in rows if not e.visible]
    held = HeldElsewhere.of(
        entries=len(hidden),
        agencies=len({e.agency_id for e in hidden}),
        what="{were} not checked against this referral",
    )
    # The child was found among the people the reader may see, so saying more exists
    # confirms nothing they could not already know.
    if held is not None:
        check.cross_checks.notes.append(held.message)
    return check


def open_escalations_about(
    db_session: Session, *, viewer: Reader, person_id: int
) -> list[OpenEscalation]:
    """The open escalations about the child the viewer may see (a system job: all of them)."""
    rows = visible_escalations(db_session, subject=viewer, person_id=person_id, open_only=True)
    if not rows:  # most children have none: the agencies' names are not needed
        return []
    codes = {i: name for i, name in db_session.execute(select(Agency.id, Agency.name))}
    route = escalation_route()
    found = []
    for escalation in rows:
        stage = escalation.stages[-1]
        rule = route.stage(min(stage.stage, route.last))
        found.append(
            OpenEscalation(
                stage=stage.stage,
                stage_name=rule.name,
                formal=rule.formal,
                raised_by_agency=codes[escalation.raised_by_agency_id],
                with_agency=codes[escalation.with_agency_id],
                opened_on=escalation.opened_at.date(),
                disagreement=escalation.disagreement,
            )
        )
    return found


def _apply_fields(
    db_session: Session,
    referral: Referral,
    fields: ReferralFields,
    author: AuthSubject,
) -> None:
    """Copy a referrer's fields onto a draft. The referrer's agency is the signed-in
    ``author``'s (blank means theirs) and linked children must be ones they may see, so linking
    cannot be used to learn whether a child is known, nor a referral filed as another agency's."""
    agency_id = None
    if fields.referrer_agency_code:
        agency = repository.agency_by_code(db_session, code=fields.referrer_agency_code)
        if agency is None:
            raise ReferralStateError(
                f"no agency with code {fields.referrer_agency_code!r}; register it first "
                "(fullpicture agency add) or leave the code blank"
            )
        agency_id = agency.id
    if author.agency_id is not None:
        if agency_id is not None and agency_id != author.agency_id:
            raise ReferralAgencyError(
                "you can refer only on behalf of your own agency: leave referrer_agency_code "
                "blank or give your agency's code"
            )
        agency_id = author.agency_id
    people = repository.readable_people(
        db_session,
        reader=author,
        public_ids=[c.person_id for c in fields.children if c.person_id],
        now=utc_now(),
    )
    unknown = [c.person_id for c in fields.children if c.person_id and c.person_id not in people]
    if unknown:
        raise ChildNotFoundError(
            f"no person with id {', '.join(str(u) for u in unknown)}, "
            "or you have no need to know about them"
        )
    referral.referrer_name = fields.referrer_name
    referral.referrer_role = fields.referrer_role
    referral.referrer_agency_id = agency_id
    referral.referrer_phone = fields.referrer_phone
    referral.referrer_email = fields.referrer_email
    referral.relationship_to_child = fields.relationship_to_child
    referral.household = [m.model_dump(mode="json") for m in fields.household]
    referral.child_location = fields.child_location
    referral.immediate_safety = fields.immediate_safety
    referral.concern_narrative = fields.concern_narrative
    referral.child_voice = fields.child_voice
    referral.referrer_analysis = fields.referrer_analysis
    referral.request = fields.request
    referral.requested_response = fields.requested_response
    referral.level_of_need = fields.level_of_need
    referral.parents_awareness = fields.parents_awareness
    referral.reason_not_informed = fields.reason_not_informed
    referral.lawful_basis = fields.lawful_basis
    referral.lawful_basis_reason = fields.lawful_basis_reason
    referral.agencies_involved = [a.model_dump(mode="json") for a in fields.agencies_involved]
    referral.professional_disagreement = fields.professional_disagreement
    referral.communication_needs = fields.communication_needs
    referral.attachments = [a.model_dump(mode="json") for a in fields.attachments]
    referral.children = [
        ReferralChild(
            person_id=people[c.person_id].id if c.person_id else None,
            given_name=c.given_name,
            family_name=c.family_name,
            other_names=list(c.other_names),
            date_of_birth=c.date_of_birth,
            expected_date_of_delivery=c.expected_date_of_delivery,
            sex=c.sex,
            address=c.address,
            school_or_nursery=c.school_or_nursery,
            gp_practice=c.gp_practice,
        )
        for c in fields.children
    ]


def get_latest(
    *, db_session: Session, referral_ref: str, viewer: AuthSubject, purpose: str = ""
) -> Referral:
    """The latest version, if the ``viewer`` may read it (``open_referral``; audited)."""
    return open_referral(
        db_session=db_session,
        subject=viewer,
        referral_ref=referral_ref,
        purpose=purpose or "referral",
    )[-1]


def _open_for_change(
    *, db_session: Session, author: AuthSubject, referral_ref: str, purpose: str
) -> Referral:
    """The latest version, for a change by its own agency only (issue 12, finding 3).

    Reading a referral is wider (``open_referral``: a need to know every linked child); only
    users of the agency that made it — the first version's referrer agency — may edit,
    submit or correct it, so another agency can neither rewrite it nor take it over.
    """
    access_service.require_scopes(author, Scope.REFERRALS_WRITE)
    rows = open_referral(
        db_session=db_session, subject=author, referral_ref=referral_ref, purpose=purpose
    )
    made_by = rows[0].referrer_agency_id
    if made_by is None or made_by != author.agency_id:
        raise ReferralAgencyError(
            f"referral {referral_ref} was made by another agency; only that agency may change, "
            "submit or correct it. You may read it; to add what you know, make a referral of "
            "your own."
        )
    return rows[-1]


def my_drafts(*, db_session: Session, author: AuthSubject, limit: int = 20) -> Sequence[Referral]:
    """Referrals the signed-in author started and has not yet submitted, latest change first
    (their own work, so no child's record is read to list them)."""
    return repository.drafts_created_by(db_session, author=author, limit=limit)


def create_draft(
    *, db_session: Session, referral_in: ReferralCreate, author: AuthSubject
) -> Referral:
    """Save a new draft (version 1). Every field may be blank."""
    now = utc_now()
    referral = Referral(
        version=1,
        status=ReferralStatus.DRAFT,
        destination=FRONT_DOOR,
        created_by=author.actor,
        created_at=now,
        updated_at=now,
        household=[],
        agencies_involved=[],
        attachments=[],
    )
    _apply_fields(db_session, referral, referral_in, author)
    db_session.add(referral)
    db_session.flush()
    return referral


def update_draft(
    *,
    db_session: Session,
    referral_ref: str,
    referral_in: ReferralUpdate,
    author: AuthSubject,
) -> Referral:
    """Replace a draft's content (its own agency only). A submitted referral is refused: make
    a correction instead."""
    referral = _open_for_change(
        db_session=db_session, author=author, referral_ref=referral_ref, purpose="referral edit"
    )
    if referral.status is ReferralStatus.SUBMITTED:
        raise ReferralImmutableError(
            f"referral {referral_ref} v{referral.version} was submitted on "
            f"{referral.submitted_at:%d/%m/%Y %H:%M} and cannot change; make a correction instead"
        )
    _apply_fields(db_session, referral, referral_in, author)
    referral.updated_at = utc_now()
    db_session.flush()
    return referral


def submit(
    *,
    db_session: Session,
    referral_ref: str,
    author: AuthSubject,
    now: dt.datetime | None = None,
) -> Referral:
    """Send the latest draft to the children's social care front door, whatever its score.

    The check (with record cross-checks for the first linked child) is stored with the version
    as a record of what the referrer was prompted about — so with the submitting ``author``'s
    need-to-know, never more than they could see; it never holds the referral back. Only the
    agency that made the referral submits it.
    """
    referral = _open_for_change(
        db_session=db_session, author=author, referral_ref=referral_ref, purpose="referral submit"
    )
    if referral.status is ReferralStatus.SUBMITTED:
        raise ReferralStateError(
            f"referral {referral_ref} v{referral.version} is already submitted; "
            "to change it, make a correction"
        )
    now = now or utc_now()
    check = check_referral(
        db_session=db_session, referral=referral, as_of=now.date(), viewer=author
    )
    referral.check_result = check.public() if check is not None else None
    referral.check_score = check.score.value if check is not None else None
    referral.status = ReferralStatus.SUBMITTED
    referral.destination = FRONT_DOOR
    referral.submitted_by = author.actor
    referral.submitted_at = now
    referral.updated_at = now
    db_session.flush()
    return referral


def correct(
    *,
    db_session: Session,
    referral_ref: str,
    correction: ReferralCorrection,
    author: AuthSubject,
) -> Referral:
    """Start a correction of a submitted referral (its own agency only): a new draft version
    that names what it corrects."""
    latest = _open_for_change(
        db_session=db_session,
        author=author,
        referral_ref=referral_ref,
        purpose="referral correction",
    )
    if latest.status is not ReferralStatus.SUBMITTED:
        raise ReferralStateError(
            f"referral {referral_ref} v{latest.version} is still a draft; edit it instead"
        )
    now = utc_now()
    referral = Referral(
        referral_ref=latest.referral_ref,
        version=latest.version + 1,
        status=ReferralStatus.DRAFT,
        supersedes_id=latest.id,
        correction_reason=correction.correction_reason,
        destination=FRONT_DOOR,
        created_by=author.actor,
        created_at=now,
        updated_at=now,
        household=[],
        agencies_involved=[],
        attachments=[],
    )
    _apply_fields(db_session, referral, correction, author)
    db_session.add(referral)
    db_session.flush()
    return referral


_RESPONSE_WORDS = {
    RequestedResponse.INFORMATION: "This referral is for information.",
    RequestedResponse.ADVICE: "I request advice.",
    RequestedResponse.EARLY_HELP: "I request an early help assessment.",
    RequestedResponse.ASSESSMENT_S17: "I request an assessment under s17.",
    RequestedResponse.STRATEGY_DISCUSSION_S47: "I request a strategy discussion (s47).",
    RequestedResponse.IMMEDIATE_PROTECTION: "I request immediate protection and a strategy discussion.",
}
_AWARENESS_WORDS = {
    ParentsAwareness.AWARE_AND_AGREE: "The parents are aware of this referral and agree with it.",
    ParentsAwareness.AWARE_AND_DISAGREE: "The parents are aware of this referral and do not agree with it.",
    ParentsAwareness.AWARE: "The parents are aware of this referral.",
    ParentsAwareness.NOT_INFORMED: "The parents have not been told about this referral.",
    ParentsAwareness.UNKNOWN: "",
}


def _day(value: dt.date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else ""


def referral_text(referral: Referral, *, agency_name: str | None = None) -> str:
    """The referral as one text, section by section, for the checker (labels included)."""
    lines: list[str] = []
    referrer = ", ".join(
        part for part in (referral.referrer_name, referral.referrer_role, agency_name) if part
    )
    if referrer:
        lines.append(f"Referrer: {referrer}.")
    contact = " ".join(
        part
        for part in (
            f"Phone {referral.referrer_phone}." if referral.referrer_phone else "",
            f"Email {referral.referrer_email}." if referral.referrer_email else "",
        )
        if part
    )
    if contact:
        lines.append(contact)
    if referral.relationship_to_child:
        lines.append(f"Relationship to the child: {referral.relationship_to_child}")
    for child in referral.children:
        details = [f"Child: {child.given_name} {child.family_name or ''}".rstrip()]
        if child.date_of_birth:
            details.append(f"DOB {_day(child.date_of_birth)}")
        if child.expected_date_of_delivery:
            details.append(f"EDD {_day(child.expected_date_of_delivery)}")
        for label, value in (
            ("address", child.address),
            ("school or nursery", child.school_or_nursery),
            ("GP", child.gp_practice),
        ):
            if value:
                details.append(f"{label} {value}")
        lines.append(", ".join(details) + ".")
    for member in referral.household:
        lives_with = member.get("lives_with_child")
        where = (
            ""
            if lives_with is None
            else "lives with the child"
            if lives_with
            else "does not live with the child"
        )
        born = f" (DOB {member['date_of_birth']})" if member.get("date_of_birth") else ""
        sentence = f"Household: {member['relationship']}, {member['name']}{born}"
        lines.append(", ".join(p for p in (sentence, where, member.get("notes") or "") if p) + ".")
    for label, value in (
        ("Where the child is now", referral.child_location),
        ("Immediate safety", referral.immediate_safety),
        ("The concern", referral.concern_narrative),
        ("The child's voice", referral.child_voice),
        ("My analysis", referral.referrer_analysis),
        ("Request", referral.request),
    ):
        if value:
            lines.append(f"{label}: {value}")
    if referral.requested_response:
        lines.append(_RESPONSE_WORDS[referral.requested_response])
    if referral.level_of_need:
        lines.append(f"I believe this is level {referral.level_of_need}.")
    if referral.parents_awareness:
        lines.append(_AWARENESS_WORDS[referral.parents_awareness])
    if referral.reason_not_informed:
        lines.append(f"Reason the parents were not informed: {referral.reason_not_informed}")
    if referral.lawful_basis:
        basis = referral.lawful_basis.value.replace("_", " ")
        reason = f" — {referral.lawful_basis_reason}" if referral.lawful_basis_reason else ""
        lines.append(f"Lawful basis for sharing: {basis}{reason}.")
    for agency in referral.agencies_involved:
        extra = ", ".join(
            p for p in (agency.get("kind"), agency.get("role"), agency.get("contact")) if p
        )
        lines.append(f"Agency involved: {agency['name']}" + (f" ({extra})." if extra else "."))
    if referral.professional_disagreement:
        lines.append(f"Professional disagreement: {referral.professional_disagreement}")
    if referral.communication_needs:
        lines.append(f"Communication needs and language: {referral.communication_needs}")
    for attachment in referral.attachments:
        lines.append(f"Attached: {attachment['filename']}.")
    return "\n".join(lines)


def check_referral(
    *,
    db_session: Session,
    referral: Referral,
    as_of: dt.date | None = None,
    viewer: Reader,
) -> ReferralCheck | None:
    """Check a stored referral (cross-checks for its first linked child); None if it has no text yet."""
    agency_name = None
    agency_kind = None
    if referral.referrer_agency_id is not None:
        agency = db_session.get(Agency, referral.referrer_agency_id)
        agency_name = agency.name if agency else None
        agency_kind = agency.kind.value if agency else None
    text = referral_text(referral, agency_name=agency_name)
    try:
        validate_referral_text(text, limits=default_rulebook().standard.limits)
    except ReferralTextError:
        return None
    linked = next((c.person_id for c in referral.children if c.person_id is not None), None)
    child_public_id = None
    if linked is not None:
        # Cross-checked only against a record the viewer may see: the agency that made a
        # referral may read it after its need to know a linked child has ended.
        found = repository.readable_people_by_id(
            db_session, reader=viewer, person_ids=[linked], now=utc_now()
        )
        child_public_id = found[0].public_id if found else None
    names = [f"{c.given_name} {c.family_name or ''}".strip() for c in referral.children]
    return check_text_with_record(
        db_session=db_session,
        text=text,
        child_public_id=child_public_id,
        referral_date=as_of or (referral.submitted_at or utc_now()).date(),
        child_names=names,
        viewer=viewer,
        writer_agency_kind=agency_kind,
    )


def to_read(
    db_session: Session,
    referral: Referral,
    *,
    reader: AuthSubject,
    now: dt.datetime | None = None,
) -> ReferralRead:
    """A version as the reader may read it (opened through ``open_referral``); a linked
    child's id is given as ``referrals.repository.versions`` lets the reader read it."""
    agency_code = None
    if referral.referrer_agency_id is not None:
        agency = db_session.get(Agency, referral.referrer_agency_id)
        agency_code = agency.code if agency else None
    public_ids = repository.linked_public_ids(
        db_session, reader=reader, referral=referral, now=now or utc_now()
    )
    children = []
    for child in referral.children:
        children.append(
            {
                "person_id": public_ids.get(child.person_id) if child.person_id else None,
                "given_name": child.given_name,
                "family_name": child.family_name,
                "other_names": child.other_names,
                "date_of_birth": child.date_of_birth,
                "expected_date_of_delivery": child.expected_date_of_delivery,
                "sex": child.sex,
                "address": child.address,
                "school_or_nursery": child.school_or_nursery,
                "gp_practice": child.gp_practice,
            }
        )
    return ReferralRead.model_validate(
        {
            "referral_ref": referral.referral_ref,
            "version": referral.version,
            "status": referral.status,
            "destination": referral.destination,
            "supersedes_version": repository.version_number(
                db_session, referral_id=referral.supersedes_id
            ),
            "correction_reason": referral.correction_reason,
            "created_by": referral.created_by,
            "created_at": referral.created_at,
            "updated_at": referral.updated_at,
            "submitted_by": referral.submitted_by,
            "submitted_at": referral.submitted_at,
            "check_score": referral.check_score,
            "check_result": referral.check_result,
            "referrer_name": referral.referrer_name,
            "referrer_role": referral.referrer_role,
            "referrer_agency_code": agency_code,
            "referrer_phone": referral.referrer_phone,
            "referrer_email": referral.referrer_email,
            "relationship_to_child": referral.relationship_to_child,
            "children": children,
            "household": referral.household,
            "child_location": referral.child_location,
            "immediate_safety": referral.immediate_safety,
            "concern_narrative": referral.concern_narrative,
            "child_voice": referral.child_voice,
            "referrer_analysis": referral.referrer_analysis,
            "request": referral.request,
            "requested_response": referral.requested_response,
            "level_of_need": referral.level_of_need,
            "parents_awareness": referral.parents_awareness,
            "reason_not_informed": referral.reason_not_informed,
            "lawful_basis": referral.lawful_basis,
            "lawful_basis_reason": referral.lawful_basis_reason,
            "agencies_involved": referral.agencies_involved,
            "professional_disagreement": referral.professional_disagreement,
            "communication_needs": referral.communication_needs,
            "attachments": referral.attachments,
        }
    )
