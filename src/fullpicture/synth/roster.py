"""The agencies around the synthetic population, scaled to its size, and who uses which."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fullpicture.agencies.models import AgencyKind
from fullpicture.synth.draws import NO_DATE, NONE, YEAR, IntArray
from fullpicture.synth.names import name_lists
from fullpicture.synth.population import Population
from fullpicture.synth.schemas import SynthesisSettings

_SCALED = (
    (AgencyKind.SCHOOL, "primary", "Primary School", 2000),
    (AgencyKind.SCHOOL, "secondary", "Academy", 4000),
    (AgencyKind.NURSERY, "nursery", "Day Nursery", 1000),
    (AgencyKind.GP, "gp", "Surgery", 0),
)


_SWITCHING = (AgencyKind.SCHOOL, AgencyKind.NURSERY, AgencyKind.GP)


@dataclass(frozen=True)
class Roster:
    """The agencies, and which school, nursery and GP practice each household uses. A household
    that moved may have changed school or GP at its last move: ``previous`` holds the one
    before (or NONE) and ``switched_on`` the day it changed."""

    agencies: pl.DataFrame  # agency_idx, code, name, kind, record_prefix, establishment
    primary_of_household: IntArray
    secondary_of_household: IntArray
    nursery_of_household: IntArray
    gp_of_household: IntArray
    single: dict[AgencyKind, int]
    previous: dict[str, IntArray]  # phase (primary, secondary, nursery, gp) -> agency or NONE
    switched_on: dict[AgencyKind, IntArray]  # school (all phases) and GP -> day or NO_DATE

    def agency_for(
        self,
        kind: AgencyKind,
        household: IntArray,
        age_years: IntArray,
        day: IntArray | None = None,
    ) -> IntArray:
        """The agency of ``kind`` a person of this household and age is known to (on ``day``,
        when given: before a change of school or GP, the earlier one)."""
        current = self._current(kind, household, age_years)
        if day is None or kind not in _SWITCHING:
            return current
        earlier = self.previous_for(kind, household, age_years)
        before = (earlier != NONE) & (day < self.switched_on[_switch_key(kind)][household])
        return np.where(before, earlier, current)

    def previous_for(self, kind: AgencyKind, household: IntArray, age_years: IntArray) -> IntArray:
        """The school, nursery or GP the household used before its last change (or NONE)."""
        if kind is AgencyKind.SCHOOL:
            return np.where(
                age_years >= 11,
                self.previous["secondary"][household],
                self.previous["primary"][household],
            )
        if kind is AgencyKind.NURSERY:
            return self.previous["nursery"][household]
        if kind is AgencyKind.GP:
            return self.previous["gp"][household]
        return np.full(household.size, NONE, dtype=np.int64)

    def _current(self, kind: AgencyKind, household: IntArray, age_years: IntArray) -> IntArray:
        if kind is AgencyKind.SCHOOL:
            return np.where(
                age_years >= 11,
                self.secondary_of_household[household],
                self.primary_of_household[household],
            )
        if kind is AgencyKind.NURSERY:
            return self.nursery_of_household[household]
        if kind is AgencyKind.GP:
            return self.gp_of_household[household]
        return np.full(household.size, self.single[kind], dtype=np.int64)


def _switch_key(kind: AgencyKind) -> AgencyKind:
    return AgencyKind.GP if kind is AgencyKind.GP else AgencyKind.SCHOOL


def build_roster(
    *, settings: SynthesisSettings, rng: np.random.Generator, population: Population
) -> Roster:
    """A realistic roster for this many children: several schools, nurseries and GP practices,
    and one of each borough-wide service."""
    roster = settings.roster
    persons = population.persons
    age = (population.as_of - persons["dob_days"].to_numpy()) / YEAR
    child = persons["kind"].to_numpy() == "child"
    counts = {
        "primary": max(
            2,
            round(
                float(((age >= 4) & (age < 11) & child).sum()) / roster.children_per_primary_school
            ),
        ),
        "secondary": max(
            1, round(float(((age >= 11) & child).sum()) / roster.children_per_secondary_school)
        ),
        "nursery": max(
            2, round(float(((age >= 2) & (age < 5) & child).sum()) / roster.children_per_nursery)
        ),
        "gp": max(2, round(persons.height / roster.patients_per_gp_practice)),
    }
    stems = name_lists().streets
    rows: list[dict[str, object]] = []
    index_of: dict[str, list[int]] = {}
    for kind, phase, suffix, establishment_base in _SCALED:
        picked = rng.permutation(len(stems))
        index_of[phase] = []
        for number in range(counts[phase]):
            stem = stems[int(picked[number % len(stems)])]
            repeat = number // len(stems)
            label = f"{stem} {suffix}" if repeat == 0 else f"{stem} {suffix} {repeat + 1}"
            slug = label.lower().replace(" ", "-")
            index_of[phase].append(len(rows))
            rows.append(
                {
                    "code": f"{phase}-{slug}" if kind is AgencyKind.GP else slug,
                    "name": label
                    if kind is not AgencyKind.SCHOOL or phase == "primary"
                    else f"{stem} Academy",
                    "kind": kind.value,
                    "record_prefix": roster.record_prefixes.get(kind, "R"),
                    "establishment": establishment_base + number if establishment_base else None,
                }
            )
    single: dict[AgencyKind, int] = {}
    for agency in roster.single_agencies:
        single[agency.kind] = len(rows)
        rows.append(
            {
                "code": agency.code,
                "name": agency.name,
                "kind": agency.kind.value,
                "record_prefix": agency.record_prefix,
                "establishment": None,
            }
        )
    missing = set(AgencyKind) - {AgencyKind.SCHOOL, AgencyKind.NURSERY, AgencyKind.GP} - set(single)
    if missing:
        raise ValueError(f"roster.single_agencies has no agency of kind {sorted(missing)}")
    agencies = (
        pl.DataFrame(rows, schema_overrides={"establishment": pl.Int64})
        .with_row_index("agency_idx")
        .with_columns(pl.col("agency_idx").cast(pl.Int64))
    )
    households = population.family_households + int(
        population.memberships.filter(pl.col("role") == "householder").height
    )

    def assign(phase: str) -> IntArray:
        choices = np.asarray(index_of[phase], dtype=np.int64)
        return choices[rng.integers(0, choices.size, households)]

    current = {phase: assign(phase) for phase in ("primary", "secondary", "nursery", "gp")}
    # The day of each family household's last move (NO_DATE if it never moved).
    last_move = np.full(households, NO_DATE, dtype=np.int64)
    moves = (
        population.household_addresses.filter(pl.col("period") > 0)
        .group_by("household_idx")
        .agg(pl.col("from_days").max())
    )
    last_move[moves["household_idx"].to_numpy()] = moves["from_days"].to_numpy()
    previous: dict[str, IntArray] = {}
    switched_on: dict[AgencyKind, IntArray] = {}
    for switch, phases, share in (
        (AgencyKind.SCHOOL, ("primary", "secondary", "nursery"), roster.change_school_on_move),
        (AgencyKind.GP, ("gp",), roster.change_gp_on_move),
    ):
        switched = (last_move != NO_DATE) & (rng.random(households) < share)
        switched_on[switch] = np.where(switched, last_move, NO_DATE)
        for phase in phases:
            choices = np.asarray(index_of[phase], dtype=np.int64)
            # The new one is another of the same phase, when there is another.
            offset = rng.integers(1, max(choices.size, 2), households)
            position = np.searchsorted(choices, current[phase])
            new = choices[(position + offset) % choices.size]
            moved = switched & (new != current[phase])
            previous[phase] = np.where(moved, current[phase], NONE)
            current[phase] = np.where(moved, new, current[phase])

    return Roster(
        agencies=agencies,
        primary_of_household=current["primary"],
        secondary_of_household=current["secondary"],
        nursery_of_household=current["nursery"],
        gp_of_household=current["gp"],
        single=single,
        previous=previous,
        switched_on=switched_on,
    )
