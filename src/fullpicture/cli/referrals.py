"""``fullpicture referral``: check a referral text, classify concerns, keep referrals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.roles import Scope
from fullpicture.access.subject import AuthSubject
from fullpicture.cli.console import console, err_console
from fullpicture.cli.principal import acting_user
from fullpicture.core.database import unit_of_work
from fullpicture.core.runtime import get_session_factory
from fullpicture.referrals import service
from fullpicture.referrals.checker import check_referral_text
from fullpicture.referrals.classifier import classify_concerns
from fullpicture.referrals.models import ReferralImmutableError
from fullpicture.referrals.rulebook import default_rulebook
from fullpicture.referrals.schemas import ReferralCheck, ReferralCreate
from fullpicture.referrals.text_input import (
    ReferralTextError,
    TextProblem,
    decode_referral_bytes,
)

app = typer.Typer(
    help="Check referrals against the 20-element standard and keep them (drafts, submission, corrections).",
    no_args_is_help=True,
)

EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4


AS_USER_HELP = (
    "Your username: the same need-to-know rule applies as on the web (a referral your agency "
    "made, or about children you may all see), and it is audited."
)


def _read_text(path: Path) -> str:
    limits = default_rulebook().standard.limits
    size = path.stat().st_size
    if size > limits.max_characters * 4:  # UTF-8 is at most 4 bytes a character
        raise ReferralTextError(
            TextProblem.TOO_LONG,
            f"The file is {size:,} bytes; the checker reads at most {limits.max_characters:,} characters.",
        )
    return decode_referral_bytes(path.read_bytes(), limits=limits)


def _fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code=code)


@app.command("check")
def check(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The referral as a UTF-8 .txt file."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the check as JSON (the API's shape)."
    ),
    child: str | None = typer.Option(
        None, "--child", help="The child's person id: adds cross-checks against the record."
    ),
    referral_date: str | None = typer.Option(
        None, "--referral-date", help="Date of the referral, YYYY-MM-DD (default today), for R20."
    ),
    as_user: str | None = typer.Option(
        None,
        "--as",
        help="Your username; needed with --child: the cross-checks use what you may see, "
        "and the read is audited.",
    ),
) -> None:
    """Check a referral text against R1–R20 and highlight vague language (a prompt, never a gate).

    With --child (and --as) the record cross-checks use the entries you have a need to know
    about; front-door roles see every agency's.

    Example: fullpicture referral check referral.txt --json --child 3f2b... --as dsl.oakfield
    """
    try:
        day = dt.date.fromisoformat(referral_date) if referral_date else None
    except ValueError as exc:
        raise _fail(
            f"--referral-date must be YYYY-MM-DD, not {referral_date!r}", EXIT_BAD_INPUT
        ) from exc
    try:
        text = _read_text(path)
        if child is None:
            result = check_referral_text(text, referral_date=day)
        elif as_user is None:
            raise _fail(
                "--child reads the child's record: say who you are with --as USERNAME",
                EXIT_BAD_INPUT,
            )
        else:
            with unit_of_work(get_session_factory()) as session:
                reader = acting_user(session, as_user, refused_exit_code=EXIT_REFUSED)
                access_service.open_person(
                    db_session=session,
                    subject=reader,
                    person_public_id=child,
                    purpose="referral check against the record",
                )
                result = service.check_text_with_record(
                    db_session=session,
                    text=text,
                    child_public_id=child,
                    referral_date=day,
                    viewer=reader,
                )
    except access_service.PersonNotVisible as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    except access_service.AccessError as exc:
        raise _fail(str(exc), EXIT_REFUSED) from exc
    except ReferralTextError as exc:
        raise _fail(f"Cannot check {path.name}: {exc.message}", EXIT_BAD_INPUT) from exc
    except service.ChildNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    if as_json:
        typer.echo(json.dumps(result.public(), ensure_ascii=False, indent=2))
        return
    _print_check(result)


def _print_check(result: ReferralCheck) -> None:
    book = default_rulebook().standard.elements
    table = Table("element", "status", "evidence / question to ask", show_lines=False)
    colours = {"present": "green", "partial": "yellow", "absent": "red"}
    for element, finding in result.elements.items():
        evidence = "; ".join(f"“{s.text}”" for s in finding.spans[:3])
        detail = evidence if finding.status == "present" else (finding.question or "")
        if finding.adjusted is not None:  # the learned adjustment, not the rules, chose it
            detail = f"{detail}\n{finding.adjusted.explanation}"
            if finding.adjusted.rule_question:
                detail = f"{detail}\nThe rules' question: {finding.adjusted.rule_question}"
        table.add_row(
            f"{element} {book[element].title}",
            f"[{colours[finding.status]}]{finding.status}[/]",
            detail,
        )
    console.print(table)
    score = result.score
    console.print(
        f"Score {score.value}/100 ({score.present} present, {score.partial} partial, "
        f"{score.absent} absent). {score.note}"
    )
    if result.vague_phrases:
        console.print(
            f"\nVague phrases: {score.vague_phrase_count} "
            f"({score.vague_density_per_100_words} per 100 words)"
        )
        for phrase in result.vague_phrases:
            console.print(f"  “{phrase.text}” ({phrase.kind}) — {phrase.question}")
    if result.cross_checks is not None:
        console.print("\nFrom the record:")
        for record_finding in result.cross_checks.findings:
            console.print(f"  [{record_finding.element}] {record_finding.message}")
        if not result.cross_checks.findings:
            console.print("  nothing in the record that the referral leaves out")
        for note in result.cross_checks.notes:
            console.print(f"  note: {note}")


@app.command("classify")
def classify(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A UTF-8 .txt file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Suggest taxonomy concern codes for a text, with the words behind each (to be confirmed).

    Example: fullpicture referral classify event-summary.txt --json
    """
    try:
        text = _read_text(path)
    except ReferralTextError as exc:
        raise _fail(f"Cannot read {path.name}: {exc.message}", EXIT_BAD_INPUT) from exc
    suggestions = [s.as_dict() for s in classify_concerns(text)]
    if as_json:
        typer.echo(json.dumps(suggestions, ensure_ascii=False, indent=2))
        return
    table = Table("code", "category", "confidence", "because")
    for s in suggestions:
        table.add_row(
            str(s["code"]), str(s["category"]), f"{s['confidence']:.2f}", str(s["reason"])
        )
    console.print(table)


def _referrer(session: Session, as_user: str, *, refusal_prefix: str = "") -> AuthSubject:
    """The user a referral is written as: the scopes the API's referral routes need."""
    return acting_user(
        session,
        as_user,
        Scope.CHILDREN_READ,
        Scope.REFERRALS_WRITE,
        refused_exit_code=EXIT_REFUSED,
        refusal_prefix=refusal_prefix,
    )


@app.command("create")
def create(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="The referral fields as JSON."
    ),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Save a draft referral from a JSON file of its fields (every field may be blank).

    The referrer's agency is yours; linked children must be ones you may see.

    Example: fullpicture referral create draft.json --as s.okafor
    """
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        referral_in = ReferralCreate.model_validate(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(f"{path.name} is not a JSON file: {exc}", EXIT_BAD_INPUT) from exc
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(f"Nothing saved. {path.name}: {reasons}", EXIT_BAD_INPUT) from exc
    try:
        with unit_of_work(get_session_factory()) as session:
            author = _referrer(session, as_user, refusal_prefix="Nothing saved. ")
            referral = service.create_draft(
                db_session=session, referral_in=referral_in, author=author
            )
            ref = referral.referral_ref
            access_service.record_write(
                db_session=session,
                subject=author,
                action="referral.create",
                target=f"referral:{ref}",
            )
    except (service.ChildNotFoundError, service.ReferralStateError) as exc:
        raise _fail(f"Nothing saved. {exc}", EXIT_BAD_INPUT) from exc
    except (access_service.AccessError, service.ReferralAgencyError) as exc:
        raise _fail(f"Nothing saved. {exc}", EXIT_REFUSED) from exc
    console.print(f"Saved draft referral {ref} (version 1).")


@app.command("submit")
def submit(
    referral_ref: str = typer.Argument(..., help="The referral's reference."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Send the draft to the children's social care front door, whatever its score.

    The check stored with it uses what you may see, as on the web.

    Example: fullpicture referral submit 3f6c…-uuid --as s.okafor
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            sender = _referrer(session, as_user)
            referral = service.submit(db_session=session, referral_ref=referral_ref, author=sender)
            access_service.record_write(
                db_session=session,
                subject=sender,
                action="referral.submit",
                target=f"referral:{referral_ref}",
                detail={"version": referral.version},
            )
            version, destination, score = (
                referral.version,
                referral.destination,
                referral.check_score,
            )
    except service.ReferralNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    except (
        service.ReferralStateError,
        service.ReferralAgencyError,
        ReferralImmutableError,
        access_service.AccessError,
    ) as exc:
        raise _fail(str(exc), EXIT_REFUSED) from exc
    console.print(
        f"Submitted {referral_ref} v{version} to {destination}"
        + (f" (check score {score}, stored with it)." if score is not None else ".")
    )


@app.command("show")
def show(
    referral_ref: str = typer.Argument(..., help="The referral's reference."),
    as_user: str = typer.Option(..., "--as", help=AS_USER_HELP),
) -> None:
    """Show the latest version of a referral as JSON.

    Example: fullpicture referral show 3f6c…-uuid --as dsl.oakfield
    """
    try:
        with unit_of_work(get_session_factory()) as session:
            reader = acting_user(session, as_user, refused_exit_code=EXIT_REFUSED)
            referral = service.get_latest(
                db_session=session, referral_ref=referral_ref, viewer=reader, purpose="referral"
            )
            read = service.to_read(session, referral, reader=reader)
    except service.ReferralNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    except access_service.AccessError as exc:
        raise _fail(str(exc), EXIT_REFUSED) from exc
    typer.echo(read.model_dump_json(indent=2))
