"""Planted harm trajectories and decoys, from the templates in ``synthesis.yaml``.

Children are picked per template with vectorised eligibility checks; the few thousand planted
trajectories are then unrolled one by one (each needs its own household at its own dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.draws import NO_DATE, NONE, YEAR, IntArray
from fullpicture.synth.population import Population
from fullpicture.synth.roster import Roster
from fullpicture.synth.schemas import (
    Participant,
    StepBase,
    SynthesisSettings,
    TrajectoryTemplate,
    Who,
    Wording,
)

MONTH = YEAR / 12


@dataclass
class PlantedEvents:
    """Column lists of planted events, and their participants, before record ids exist."""

    event_key: list[int] = field(default_factory=list)
    trajectory_id: list[str] = field(default_factory=list)
    agency_kind: list[str] = field(default_factory=list)
    household: list[int] = field(default_factory=list)
    subject_age: list[int] = field(default_factory=list)
    agency_day: list[int] = field(default_factory=list)
    day: list[int] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    severity: list[int | None] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    information_type: list[str] = field(default_factory=list)
    impact: list[str | None] = field(default_factory=list)
    action: list[str | None] = field(default_factory=list)
    subject: list[int] = field(default_factory=list)
    p_event: list[int] = field(default_factory=list)
    p_person: list[int] = field(default_factory=list)
    p_role: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Planted:
    trajectories: pl.DataFrame
    events: pl.DataFrame  # event_key, trajectory_id, agency_idx, day, code, wording, subject
    participants: pl.DataFrame  # event_key, person_idx, role, ordinal


def plant_trajectories(
    *,
    settings: SynthesisSettings,
    rng: np.random.Generator,
    population: Population,
    roster: Roster,
    children: int,
) -> Planted:
    persons = population.persons
    kind = persons["kind"].to_numpy()
    dob = persons["dob_days"].to_numpy()
    household = persons["household_idx"].to_numpy()
    family = population.family
    used = np.zeros(persons.height, dtype=bool)
    candidates = np.flatnonzero((kind == "child") | (kind == "unborn"))
    out = PlantedEvents()
    rows: list[dict[str, object]] = []
    for template in settings.trajectories:
        wanted = round(template.share_of_children * children)
        if wanted == 0:
            continue
        pool = candidates[~used[candidates]]
        hh = household[pool]
        duration = (
            rng.uniform(template.duration_months.low, template.duration_months.high, pool.size)
            * MONTH
        ).astype(np.int64)
        pad = max(
            (int(step.days_after.high) for o in template.outcomes for step in o.steps), default=0
        )
        low = np.maximum(
            dob[pool] + int(template.age_months_at_onset.low * MONTH), population.window_start
        )
        high = np.minimum(
            dob[pool] + int(template.age_months_at_onset.high * MONTH),
            population.as_of - duration - pad,
        )
        if template.age_months_at_onset.high >= 0:
            low = np.maximum(low, dob[pool])
            born = kind[pool] == "child"
        else:
            born = np.ones(pool.size, dtype=bool)
        onset = low + np.floor(rng.random(pool.size) * (np.maximum(high - low, 0) + 1)).astype(
            np.int64
        )
        if template.anchor == "new_partner_joined":
            onset = family.partner_joined_on[hh] + rng.integers(0, 30, pool.size)
            born &= family.partner_joined_on[hh] != NO_DATE
        ok = born & (low <= high) & (onset >= low) & (onset <= high)
        if "male_adult" in template.requires:
            ok &= (family.father[hh] != NONE) | (family.partner[hh] != NONE)
        if "new_partner" in template.requires:
            ok &= family.partner[hh] != NONE
        if "sibling" in template.requires:
            ok &= np.diff(family.child_offsets)[hh] >= 2
        eligible = np.flatnonzero(ok)
        chosen = np.sort(rng.choice(eligible, size=min(wanted, eligible.size), replace=False))
        for position in chosen:
            child = int(pool[position])
            used[child] = True
            trajectory_id = f"T{len(rows) + 1:06d}"
            start = int(onset[position])
            end = start + int(duration[position])
            outcome = template.outcomes[
                int(rng.choice(len(template.outcomes), p=_weights(template)))
            ]
            for step in template.steps:
                # Repeated entries of one step cycle through its wordings, as a practitioner
                # would not write the same sentence about every incident.
                first_wording = int(rng.integers(0, len(step.summaries)))
                count = int(rng.integers(int(step.count.low), int(step.count.high) + 1))
                for repeat in range(count):
                    fraction = rng.uniform(step.window.low, step.window.high)
                    _add_event(
                        out,
                        rng,
                        population,
                        step,
                        trajectory_id,
                        child,
                        min(start + int(fraction * (end - start)), population.as_of),
                        age_on=start if template.is_decoy else None,
                        wording=first_wording + repeat,
                    )
            for outcome_step in outcome.steps:
                day = end + int(
                    rng.integers(
                        int(outcome_step.days_after.low), int(outcome_step.days_after.high) + 1
                    )
                )
                _add_event(
                    out,
                    rng,
                    population,
                    outcome_step,
                    trajectory_id,
                    child,
                    min(day, population.as_of),
                    age_on=None,
                    wording=int(rng.integers(0, len(outcome_step.summaries))),
                )
            rows.append(
                {
                    "trajectory_id": trajectory_id,
                    "person_idx": child,
                    "kind": template.kind,
                    "is_decoy": template.is_decoy,
                    "onset_days": start,
                    "outcome_days": end,
                    "outcome": outcome.outcome,
                    "description": template.description,
                }
            )
    trajectories = pl.DataFrame(
        rows,
        schema={
            "trajectory_id": pl.String,
            "person_idx": pl.Int64,
            "kind": pl.String,
            "is_decoy": pl.Boolean,
            "onset_days": pl.Int64,
            "outcome_days": pl.Int64,
            "outcome": pl.String,
            "description": pl.String,
        },
    )
    events = pl.DataFrame(
        {
            "event_key": out.event_key,
            "trajectory_id": out.trajectory_id,
            "agency_kind": out.agency_kind,
            "household": out.household,
            "subject_age": out.subject_age,
            "agency_day": out.agency_day,
            "day": out.day,
            "code": out.code,
            "severity": out.severity,
            "summary": out.summary,
            "information_type": out.information_type,
            "impact_on_child": out.impact,
            "action_taken": out.action,
            "subject_idx": out.subject,
        },
        schema_overrides={
            "severity": pl.Int64,
            "event_key": pl.Int64,
            "household": pl.Int64,
            "subject_age": pl.Int64,
            "agency_day": pl.Int64,
            "day": pl.Int64,
            "subject_idx": pl.Int64,
            "impact_on_child": pl.String,
            "action_taken": pl.String,
            "trajectory_id": pl.String,
            "agency_kind": pl.String,
            "code": pl.String,
            "summary": pl.String,
            "information_type": pl.String,
        },
    )
    agency_idx = np.zeros(events.height, dtype=np.int64)
    kinds = events["agency_kind"].to_numpy()
    for agency_kind in np.unique(kinds) if events.height else []:
        mask = kinds == agency_kind
        agency_idx[mask] = roster.agency_for(
            AgencyKind(agency_kind),
            events["household"].to_numpy()[mask],
            events["subject_age"].to_numpy()[mask],
            events["agency_day"].to_numpy()[mask],
        )
    events = events.with_columns(
        pl.Series("agency_idx", agency_idx), pl.lit(False).alias("month_precision")
    ).drop("agency_kind", "household", "subject_age", "agency_day")
    participants = pl.DataFrame(
        {"event_key": out.p_event, "person_idx": out.p_person, "role": out.p_role},
        schema={"event_key": pl.Int64, "person_idx": pl.Int64, "role": pl.String},
    ).with_columns(pl.int_range(pl.len()).over("event_key").alias("ordinal"))
    return Planted(trajectories=trajectories, events=events, participants=participants)


def _weights(template: TrajectoryTemplate) -> npt.NDArray[np.float64]:
    weights = np.array([o.weight for o in template.outcomes], dtype=np.float64)
    normalised: npt.NDArray[np.float64] = weights / weights.sum()
    return normalised


def _pick(rng: np.random.Generator, options: list[str]) -> str | None:
    return options[int(rng.integers(0, len(options)))] if options else None


def _resolve(
    who: Who, child: int, day: int, population: Population, dob: IntArray, household_of: IntArray
) -> list[int]:
    family = population.family
    household = int(household_of[child])
    if who is Who.SUBJECT:
        return [child]
    if who is Who.SIBLINGS:
        members = family.child_persons[
            family.child_offsets[household] : family.child_offsets[household + 1]
        ]
        return [int(m) for m in members if m != child and dob[m] <= day]
    if who is Who.MOTHER:
        found = int(family.mother[household])
    elif who is Who.FATHER:
        found = int(family.father[household])
    elif who is Who.NEW_PARTNER:
        found = int(family.partner[household])
    else:
        partner = int(family.partner[household])
        joined = int(family.partner_joined_on[household])
        found = partner if partner != NONE and joined <= day else int(family.father[household])
        if found == NONE:
            found = partner
    return [] if found == NONE else [found]


def _add_event(
    out: PlantedEvents,
    rng: np.random.Generator,
    population: Population,
    step: StepBase,
    trajectory_id: str,
    child: int,
    day: int,
    *,
    age_on: int | None,
    wording: int,
) -> None:
    """Add one event; ``age_on`` fixes the day the child's age (so school) is taken on, so a
    decoy stays with one school across the move to secondary."""
    dob, household_of = population.lookups()
    key = len(out.event_key)
    seen: set[int] = set()
    participants: list[tuple[int, str]] = []
    for participant in step.people:
        for person in _resolve(participant.who, child, day, population, dob, household_of):
            if person not in seen and (dob[person] <= day or _prebirth(participant, person, child)):
                seen.add(person)
                participants.append((person, participant.role.value))
    out.event_key.append(key)
    out.trajectory_id.append(trajectory_id)
    out.agency_kind.append(step.agency.value)
    out.household.append(int(household_of[child]))
    agency_day = day if age_on is None else age_on
    out.subject_age.append(int((agency_day - dob[child]) / YEAR))
    out.agency_day.append(agency_day)
    out.day.append(day)
    out.code.append(step.code)
    out.severity.append(step.severity)
    text: Wording = step
    out.summary.append(text.summaries[wording % len(text.summaries)])
    out.information_type.append(step.information_type.value)
    out.impact.append(_pick(rng, text.impacts))
    out.action.append(_pick(rng, text.actions))
    out.subject.append(child)
    for person, role in participants:
        out.p_event.append(key)
        out.p_person.append(person)
        out.p_role.append(role)


def _prebirth(participant: Participant, person: int, child: int) -> bool:
    """The subject may be unborn (pre-birth work); nobody else in an event can be."""
    return participant.who is Who.SUBJECT and person == child
